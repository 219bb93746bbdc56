"""Tests of cnnlessons.viz.backward: the figure draws headless and without warnings,
and the numbers it draws are the convolution's input gradient; torch's autograd is the
oracle.
"""
import io
import warnings

import matplotlib
import matplotlib.pyplot as plt
import pytest
import torch
import torch.nn.functional as F
from matplotlib.figure import Figure

from cnnlessons import viz
from cnnlessons.viz import MAX_WIDTH, input_gradient_steps, plot_input_gradient

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """Any warning while building or drawing a figure fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


def autograd_input_gradient(G, w, n, stride, padding, dilation):
    x = torch.zeros(1, 1, n, dtype=torch.float64, requires_grad=True)
    y = F.conv1d(x, w.view(1, 1, -1), stride=stride, padding=padding, dilation=dilation)
    (grad,) = torch.autograd.grad(y, x, G.view(1, 1, -1))
    return grad.view(-1)


SETTINGS = [(5, 1, 0, 1), (5, 2, 0, 1), (6, 2, 0, 1), (6, 2, 1, 1), (9, 3, 2, 2), (8, 1, 3, 1),
            (10, 2, 1, 3)]


@pytest.mark.parametrize("n, stride, padding, dilation", SETTINGS)
def test_steps_give_the_input_gradient(n, stride, padding, dilation):
    torch.manual_seed(0)
    w = torch.randn(3, dtype=torch.float64)
    m = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, 3), stride=stride, padding=padding,
                 dilation=dilation).shape[-1]
    G = torch.randn(m, dtype=torch.float64)
    steps = input_gradient_steps(G, w, n, stride, padding, dilation)
    expected = autograd_input_gradient(G, w, n, stride, padding, dilation)
    torch.testing.assert_close(torch.from_numpy(steps["grad_input"]), expected)
    assert steps["padded_grad"].shape == (n + 2 * padding,)
    # the dilated gradient holds G, every stride-th cell, and zeros elsewhere
    upstream = steps["kind"] == "upstream"
    assert upstream.sum() == m
    torch.testing.assert_close(torch.from_numpy(steps["dilated"][upstream]), G)
    assert (steps["dilated"][~upstream] == 0).all()
    assert steps["flipped"].tolist() == w.flip(0).tolist()


def test_the_chapter_example_by_hand():
    steps = input_gradient_steps(torch.tensor([1.0, 2.0]), torch.tensor([1.0, 10.0, 100.0]), 5,
                                 stride=2)
    assert steps["dilated"].tolist() == [0, 0, 1, 0, 2, 0, 0]
    assert list(steps["kind"][:4]) == ["border zero", "border zero", "upstream", "inserted zero"]
    assert steps["grad_input"].tolist() == [1, 10, 102, 20, 200]


@pytest.mark.parametrize("n, stride, padding, dilation", SETTINGS)
def test_figure_draws(n, stride, padding, dilation):
    m = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, 3), stride=stride, padding=padding,
                 dilation=dilation).shape[-1]
    fig = plot_input_gradient(torch.arange(1.0, m + 1), torch.tensor([1.0, 10.0, 100.0]), n,
                              stride, padding, dilation)
    assert isinstance(fig, Figure) and len(fig.axes) == 1
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    assert buffer.getvalue()[:4] == b"\x89PNG"
    assert fig.get_size_inches()[0] <= MAX_WIDTH + 1e-9
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert "100" in texts                          # the flipped kernel's first tap


def test_exported_from_viz():
    assert viz.plot_input_gradient is plot_input_gradient
    assert "plot_input_gradient" in viz.__all__ and "input_gradient_steps" in viz.__all__


@pytest.mark.parametrize("kwargs, message", [
    (dict(grad_output=torch.ones(2)), "grad_output has length 2; a convolution of length 5"),
    (dict(grad_output=torch.ones(3, 1)), "grad_output has shape (3, 1)"),
    (dict(stride=0), "stride=0 must be positive"),
    (dict(padding=-1), "padding=-1 must be an int, at least 0"),
    (dict(padding="same"), "padding='same' must be an int"),
    (dict(input_size=40, grad_output=torch.ones(38)), "at most 30 can be drawn"),
])
def test_errors_name_the_argument(kwargs, message):
    arguments = dict(grad_output=torch.ones(3), weight=torch.ones(3), input_size=5)
    arguments.update(kwargs)
    with pytest.raises(ValueError) as error:
        plot_input_gradient(**arguments)
    assert message in str(error.value)
