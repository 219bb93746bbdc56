"""viz.plot_architecture: one box per layer, shapes and counts taken from the model."""
import matplotlib
import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure
from torch import nn

from cnnlessons import viz
from cnnlessons.models import LeNet5, MNISTConvNet

matplotlib.use("Agg", force=True)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_lenet5_boxes_follow_the_model():
    boxes = viz.architecture_boxes(LeNet5())
    assert [b.name for b in boxes] == ["input", "c1", "s2", "c3", "s4", "c5", "flatten",
                                       "f6", "output"]
    assert [b.output_shape for b in boxes] == [
        (1, 28, 28), (6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120, 1, 1),
        (120,), (84,), (10,)]
    assert sum(b.params for b in boxes) == 61_706
    assert boxes[1].folded == ("ReLU",) and boxes[-1].folded == ()
    assert boxes[1].label == "c1\nConv2d + ReLU\n6\u00d728\u00d728\n156 params"


def test_input_size_changes_the_shapes():
    net = nn.Sequential(nn.Conv2d(1, 6, 5), nn.ReLU(), nn.MaxPool2d(2))
    boxes = viz.architecture_boxes(net, (1, 36, 36))
    assert [b.output_shape for b in boxes] == [(1, 36, 36), (6, 32, 32), (6, 16, 16)]


def test_figure_draws_every_label_and_title():
    fig = viz.plot_architecture(MNISTConvNet())
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert len(texts) == len(viz.architecture_boxes(MNISTConvNet())) == 8
    assert texts[-1] == "fc2\nLinear\n10\n510 params"
    assert fig._suptitle.get_text() == "MNISTConvNet: 21,840 parameters"
    fig.canvas.draw()
    assert viz.plot_architecture(LeNet5(), title="LeNet")._suptitle.get_text() == "LeNet"


def test_model_without_input_size_needs_one():
    with pytest.raises(ValueError, match="input_size is needed"):
        viz.architecture_boxes(nn.Sequential())
