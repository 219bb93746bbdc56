"""Tests of cnnlessons.viz: every figure draws headless, without warnings, and shows
the right numbers; torch is the oracle for the numbers.

Figures are rendered to PNG in memory, because some errors (bad mathtext, layout
problems) only surface when the figure is drawn.
"""
import io
import math
import re
import warnings

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure

from cnnlessons import viz
from cnnlessons.data import MNIST_MEAN, MNIST_STD
from cnnlessons.viz import (
    MAX_WIDTH,
    plot_channel_sum,
    plot_confusion_matrix,
    plot_feature_maps,
    plot_history,
    plot_kernel_footprint,
    plot_kernels,
    plot_misclassified,
    plot_pooling,
    plot_shift_tolerance,
)

# Headless, whatever backend pyplot picked on import (matplotlib switches if it can).
matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def warnings_are_errors():
    """Any warning while building or drawing a figure fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
    plt.close("all")


def render(fig) -> bytes:
    """Draw the figure to PNG bytes (surfaces drawing-time errors and warnings)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=60)
    return buffer.getvalue()


def check(fig, n_axes: int) -> None:
    """A drawable Figure, with ``n_axes`` axes, at most a page wide."""
    assert isinstance(fig, Figure)
    assert len(fig.axes) == n_axes
    assert fig.get_size_inches()[0] <= MAX_WIDTH + 1e-9
    render(fig)
    plt.close(fig)


def numbers(ax) -> list[float]:
    """The numbers written in an axes' cells, in drawing order."""
    return [float(t.get_text()) for t in ax.texts
            if re.fullmatch(r"-?\d+(\.\d+)?", t.get_text())]


# --------------------------------------------------------------------------------------
# viz.footprint: plot_kernel_footprint
# --------------------------------------------------------------------------------------

def tap_cells(line, offset):
    """Input coordinates of the dots of one window (each dot lies inside its cell)."""
    xs = np.floor(np.asarray(line.get_xdata(), float)).astype(int) - offset[-1]
    if len(offset) == 1:
        return sorted(set(xs.tolist()))
    ys = np.floor(np.asarray(line.get_ydata(), float)).astype(int) - offset[0]
    return sorted(set(zip(ys.tolist(), xs.tolist())))


def torch_taps(size, kernel, stride, padding, dilation, index):
    """Input positions that output ``index`` reads, found by autograd through F.conv."""
    x = torch.ones((1, 1) + size, requires_grad=True)
    w = torch.ones((1, 1) + kernel)
    conv = F.conv1d if len(size) == 1 else F.conv2d
    out = conv(x, w, stride=stride, padding=padding, dilation=dilation)
    out[(0, 0) + index].backward()
    found = torch.nonzero(x.grad[0, 0]).tolist()
    return sorted(p[0] for p in found) if len(size) == 1 else sorted(map(tuple, found))


def dot_lines(ax):
    return [line for line in ax.lines
            if line.get_marker() == "o" and line.get_linestyle() == "None"]


def test_footprint_1d_smoke_and_title():
    fig = plot_kernel_footprint(7, 3, stride=2, padding=1, dilation=2)
    expected = F.conv1d(torch.zeros(1, 1, 7), torch.zeros(1, 1, 3), stride=2, padding=1,
                        dilation=2).shape[-1]
    title = fig._suptitle.get_text()
    assert "stride=2" in title and "padding=1" in title and "dilation=2" in title
    assert title.endswith(f"= {expected}$")
    labels = [t.get_text() for t in fig.legends[0].get_texts()]
    assert labels == ["padding", "output 0 \u2190 input [pad, 1, 3]",
                      "output 1 \u2190 input [1, 3, 5]", "output 2 \u2190 input [3, 5, pad]"]
    check(fig, 1)


def test_footprint_2d_smoke():
    fig = plot_kernel_footprint((7, 7), 3, stride=2, padding=1, dilation=2)
    assert "H_{out} = W_{out}" in fig._suptitle.get_text()
    check(fig, 2)
    fig = plot_kernel_footprint((6, 8), (2, 4), padding="same", output_index=[(0, 0), (-1, -1)])
    title = fig._suptitle.get_text()
    assert "padding='same'" in title and title.count("_{out}") == 2
    check(fig, 2)


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_footprint_taps_match_torch(data):
    two_d = data.draw(st.booleans())
    dims = 2 if two_d else 1
    kernel = tuple(data.draw(st.integers(1, 4)) for _ in range(dims))
    dilation = tuple(data.draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(data.draw(st.integers(0, 2)) for _ in range(dims))
    stride = tuple(data.draw(st.integers(1, 3)) for _ in range(dims))
    smallest = [max(1, d * (k - 1) + 1 - 2 * p) for k, d, p in zip(kernel, dilation, padding)]
    size = tuple(data.draw(st.integers(n, max(n, 9))) for n in smallest)
    out = tuple((n + 2 * p - d * (k - 1) - 1) // s + 1
                for n, k, s, p, d in zip(size, kernel, stride, padding, dilation))
    index = tuple(data.draw(st.integers(0, o - 1)) for o in out)
    fig = plot_kernel_footprint(size if two_d else size[0], kernel if two_d else kernel[0],
                                stride, padding, dilation,
                                output_index=index if two_d else index[0])
    (line,) = dot_lines(fig.axes[0])
    drawn = tap_cells(line, padding)
    inside = [t for t in drawn
              if all(0 <= c < n for c, n in zip((t,) if dims == 1 else t, size))]
    assert inside == torch_taps(size, kernel, stride, padding, dilation, index)
    assert len(drawn) == math.prod(kernel)  # every tap is drawn, padding ones too
    plt.close(fig)


def test_footprint_default_shows_neighbouring_windows():
    fig = plot_kernel_footprint((5, 5), 3, stride=2)
    first, second = (tap_cells(line, (0, 0)) for line in dot_lines(fig.axes[0]))
    assert [(y, x + 2) for y, x in first] == second  # shifted by the stride
    plt.close(fig)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_size=4, kernel_size=3, dilation=2), "output would be empty"),
    (dict(input_size=(3, 3), kernel_size=5, padding=0), "output would be empty"),
    (dict(input_size=(3, 3, 3), kernel_size=2), r"input_size=\(3, 3, 3\)"),
    (dict(input_size=0, kernel_size=1), "input_size=0 must be positive"),
    (dict(input_size=6, kernel_size=3, stride=0), "stride=0 must be positive"),
    (dict(input_size=6, kernel_size=3, output_index=4), "output_index=4 is outside"),
    (dict(input_size=(6, 6), kernel_size=3, output_index=(0, 4)), r"output_index=\(0, 4\)"),
    (dict(input_size=(60, 60), kernel_size=3), "too many to draw"),
    (dict(input_size=6, kernel_size=3, stride=2, padding="same"), "padding='same' needs stride=1"),
])
def test_footprint_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        plot_kernel_footprint(**kwargs)


# --------------------------------------------------------------------------------------
# viz.channels: plot_channel_sum
# --------------------------------------------------------------------------------------

def test_channel_sum_numbers_match_conv2d():
    torch.manual_seed(0)
    x = torch.randint(-2, 3, (3, 5, 5)).float()
    k = torch.randint(-1, 2, (3, 3, 3)).float()
    fig = plot_channel_sum(x, k)
    expected = F.conv2d(x[None], k[None])[0, 0]
    assert numbers(fig.axes[-1]) == expected.flatten().tolist()
    # Row c, third panel: the single-channel correlation x[c] * k[c].
    panels = [ax for ax in fig.axes
              if ax.get_title().startswith("$x_") and "star" in ax.get_title()]
    for c, ax in enumerate(panels):
        part = F.conv2d(x[None, c:c + 1], k[None, c:c + 1])[0, 0]
        assert numbers(ax) == part.flatten().tolist()
    check(fig, 5 * 3 + 2)


def test_channel_sum_large_input_is_not_annotated():
    fig = plot_channel_sum(torch.randn(2, 10, 10, dtype=torch.float64), torch.randn(2, 3, 3))
    assert numbers(fig.axes[-1]) == []
    check(fig, 5 * 2 + 2)


@pytest.mark.parametrize("x, k, match", [
    (torch.zeros(5, 5), torch.zeros(1, 3, 3), r"x has shape \(5, 5\)"),
    (torch.zeros(2, 5, 5), torch.zeros(3, 3, 3), "x has 2 channels but k has 3"),
    (torch.zeros(1, 3, 3), torch.zeros(1, 4, 2), "larger than the input"),
])
def test_channel_sum_bad_input(x, k, match):
    with pytest.raises(ValueError, match=match):
        plot_channel_sum(x, k)


def test_channel_sum_rejects_lists():
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        plot_channel_sum([[[1.0]]], torch.zeros(1, 1, 1))


# --------------------------------------------------------------------------------------
# viz.channels: plot_feature_maps, plot_kernels
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("channels, max_maps, shown", [(6, 16, 6), (32, 16, 16), (5, 3, 3)])
def test_feature_maps(channels, max_maps, shown):
    maps = torch.randn(channels, 12, 10)
    fig = plot_feature_maps(maps, max_maps=max_maps)
    images = [ax.images[0].get_array() for ax in fig.axes if ax.images]
    assert np.allclose(images[-1], maps[shown - 1].numpy())
    check(fig, shown + 1)  # one per map, plus the colour bar


def test_feature_maps_title_and_bad_input():
    fig = plot_feature_maps(torch.randn(4, 6, 6), title="conv1")
    assert fig._suptitle.get_text() == "conv1"
    check(fig, 5)
    with pytest.raises(ValueError, match=r"maps has shape \(1, 4, 6, 6\).*maps\[0\]"):
        plot_feature_maps(torch.randn(1, 4, 6, 6))
    with pytest.raises(ValueError, match=r"max_maps=0 must be positive \(at least 1\)"):
        plot_feature_maps(torch.randn(4, 6, 6), max_maps=0)


@pytest.mark.parametrize("shape, kwargs, tiles", [
    ((6, 1, 5, 5), {}, [(o, 0) for o in range(6)]),
    ((16, 6, 5, 5), {}, [(o, i) for i in range(6) for o in range(16)]),
    ((16, 6, 5, 5), {"in_channel": 2}, [(o, 2) for o in range(16)]),
    ((32, 12, 3, 3), {"max_kernels": 10}, [(o, i) for i in range(8) for o in range(10)]),
])
def test_kernels(shape, kwargs, tiles):
    conv = torch.nn.Conv2d(shape[1], shape[0], shape[2:])
    fig = plot_kernels(conv.weight, **kwargs)  # a Parameter that requires grad
    images = fig.axes[0].images
    assert len(images) == len(tiles)
    for image, (o, i) in zip(images, tiles):
        assert np.allclose(image.get_array(), conv.weight[o, i].detach().numpy())
    check(fig, 2)  # the tiles and the colour bar


def test_kernels_bad_input():
    with pytest.raises(ValueError, match=r"weight has shape \(6, 5, 5\)"):
        plot_kernels(torch.zeros(6, 5, 5))
    with pytest.raises(ValueError, match=r"in_channel=3 must be in \[0, 3\)"):
        plot_kernels(torch.zeros(4, 3, 5, 5), in_channel=3)


# --------------------------------------------------------------------------------------
# viz.training: plot_history
# --------------------------------------------------------------------------------------

HISTORY = {"train_loss": [0.9, 0.3, 0.2], "train_acc": [0.8, 0.9, 0.95],
           "test_loss": [0.4, 0.25, 0.2], "test_acc": [0.88, 0.93, 0.95]}


def test_history_single_run_in_percent():
    fig = plot_history(HISTORY)
    acc = fig.axes[1]
    plotted = sorted(tuple(np.round(line.get_ydata(), 6)) for line in acc.lines)
    assert plotted == [(80.0, 90.0, 95.0), (88.0, 93.0, 95.0)]
    assert acc.get_ylabel() == "accuracy (%)"
    assert list(fig.axes[0].lines[0].get_xdata()) == [1, 2, 3]  # epochs count from 1
    check(fig, 2)


def test_history_object_and_comparison():
    class Run:  # an object with list attributes works as well as a mapping
        train_loss = [1.0, 0.5]
        train_acc = [70.0, 85.0]  # already in percent: kept as is
        test_loss = [0.8, 0.6]
        test_acc = [75.0, 80.0]
        lr = [0.1, 0.01]

    fig = plot_history({"torch": HISTORY, "scratch": Run()})
    assert len(fig.axes[0].lines) == 4  # two runs x (train, test)
    assert max(max(line.get_ydata()) for line in fig.axes[1].lines) == 95.0
    check(fig, 3)  # loss, accuracy, learning rate


def test_history_bad_input():
    with pytest.raises(ValueError, match="history must have some of the keys"):
        plot_history({})
    with pytest.raises(ValueError, match=r"history\['b'\] has none of the keys"):
        plot_history({"a": HISTORY, "b": {"loss": [1.0]}})


# --------------------------------------------------------------------------------------
# viz.training: plot_confusion_matrix, plot_misclassified
# --------------------------------------------------------------------------------------

def test_confusion_matrix_counts():
    g = torch.Generator().manual_seed(1)
    labels = torch.randint(0, 4, (200,), generator=g)
    predictions = torch.where(torch.rand(200, generator=g) < 0.7, labels,
                              torch.randint(0, 4, (200,), generator=g))
    fig = plot_confusion_matrix(labels, predictions, num_classes=4,
                                class_names=["zero", "one", "two", "three"])
    counts = torch.zeros(4, 4)
    for t, p in zip(labels.tolist(), predictions.tolist()):
        counts[t, p] += 1
    ax = fig.axes[0]
    assert numbers(ax) == counts.flatten().tolist()
    assert ax.get_xlabel() == "predicted label" and ax.get_ylabel() == "true label"
    accuracy = (labels == predictions).double().mean().item()
    assert f"{100 * accuracy:.2f}%" in ax.get_title()
    check(fig, 2)  # the matrix and its colour bar


@pytest.mark.parametrize("labels, predictions, match", [
    (torch.tensor([0, 1, 10]), torch.tensor([0, 1, 2]), r"labels has values in \[0, 10\]"),
    (torch.tensor([0, 1]), torch.tensor([0, 1, 2]), "labels has 2 entries but predictions has 3"),
    (torch.zeros(2, 2, dtype=torch.long), torch.zeros(4, dtype=torch.long), "labels has shape"),
])
def test_confusion_matrix_bad_input(labels, predictions, match):
    with pytest.raises(ValueError, match=match):
        plot_confusion_matrix(labels, predictions)


def test_misclassified_titles():
    images = torch.randn(20, 1, 28, 28)
    labels = torch.arange(20) % 10
    predictions = labels.clone()
    predictions[[3, 7, 11]] = torch.tensor([5, 0, 9])
    fig = plot_misclassified(images, labels, predictions)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["3 \u2192 5", "7 \u2192 0", "1 \u2192 9"]
    # The grey image is de-normalised with MNIST's statistics and clipped to [0, 1].
    shown = fig.axes[0].images[0].get_array()
    assert np.allclose(shown, (images[3, 0] * MNIST_STD + MNIST_MEAN).clamp(0, 1).numpy())
    check(fig, 3)


def test_misclassified_colour_cap_and_none():
    images = torch.randn(30, 3, 8, 8)
    labels = torch.zeros(30, dtype=torch.long)
    fig = plot_misclassified(images, labels, labels + 1, max_images=12,
                             mean=(0.5, 0.5, 0.5), std=(0.2, 0.2, 0.2))
    check(fig, 12)
    fig = plot_misclassified(images, labels, labels)
    check(fig, 1)  # a message that nothing is misclassified


def test_misclassified_bad_input():
    with pytest.raises(ValueError, match=r"images has shape \(4, 28, 28\)"):
        plot_misclassified(torch.zeros(4, 28, 28), torch.zeros(4, dtype=torch.long),
                           torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="same length N; got 4, 3 and 4"):
        plot_misclassified(torch.zeros(4, 1, 5, 5), torch.zeros(3, dtype=torch.long),
                           torch.zeros(4, dtype=torch.long))


# --------------------------------------------------------------------------------------
# viz.pooling: plot_pooling, plot_shift_tolerance
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("size, kernel, stride", [((4, 4), 2, None), ((5, 5), 3, 2),
                                                  ((4, 6), (2, 3), (1, 3))])
def test_pooling_matches_torch(size, kernel, stride):
    g = torch.Generator().manual_seed(2)
    x = torch.randint(0, 9, size, generator=g).float()
    fig = plot_pooling(x, kernel, stride)
    expected, indices = F.max_pool2d(x[None], kernel, stride, return_indices=True)
    ax_in, ax_out = fig.axes
    assert numbers(ax_out) == expected.flatten().tolist()
    assert numbers(ax_in) == x.flatten().tolist()
    # The circled winners are torch's argmax indices (ties: the first one, as torch).
    circled = [int(line.get_ydata()[0]) * size[1] + int(line.get_xdata()[0])
               for line in ax_in.lines]
    assert circled == indices.flatten().tolist()
    check(fig, 2)
    fig = plot_pooling(x, kernel, stride, mode="avg")
    mean = F.avg_pool2d(x[None], kernel, stride)
    assert np.allclose(numbers(fig.axes[1]), mean.flatten().numpy(), atol=0.006)
    check(fig, 2)


def test_pooling_bad_input():
    with pytest.raises(ValueError, match=r"x has shape \(1, 4, 4\)"):
        plot_pooling(torch.zeros(1, 4, 4), 2)
    with pytest.raises(ValueError, match="mode='min' must be 'max' or 'avg'"):
        plot_pooling(torch.zeros(4, 4), 2, mode="min")
    with pytest.raises(ValueError, match="output would be empty"):
        plot_pooling(torch.zeros(3, 3), 4)


def test_shift_tolerance():
    image = torch.zeros(1, 12, 12)
    image[0, 2:10, 5:7] = 1.0
    fig = plot_shift_tolerance(image, shifts=(0, 1, 3))
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "original" and titles[1].startswith("shift 1:")
    check(fig, 6)
    with pytest.raises(ValueError, match=r"shifts=\[0, 12\]"):
        plot_shift_tolerance(image, shifts=[0, 12])


# --------------------------------------------------------------------------------------
# Conventions shared by every figure
# --------------------------------------------------------------------------------------

def test_package_reexports_every_topic_module():
    modules = (viz.footprint, viz.channels, viz.pooling, viz.architecture, viz.training,
               viz.backward, viz.style)
    assert viz.TOPIC_MODULES == modules
    names = [name for module in modules for name in module.__all__]
    assert viz.__all__ == names and len(set(names)) == len(names)  # no name twice
    for module in modules:
        for name in module.__all__:
            assert getattr(viz, name) is getattr(module, name)
    assert sorted(n for n in viz.__all__ if n.startswith("plot_")) == [
        "plot_architecture", "plot_channel_sum", "plot_confusion_matrix", "plot_feature_maps",
        "plot_history", "plot_input_gradient", "plot_kernel_footprint", "plot_kernels",
        "plot_misclassified", "plot_pooling", "plot_shift_tolerance"]
    assert viz.CMAP_RATE == "Blues"  # the style constants too (a notebook uses this one)


def test_one_pyplot_figure_per_call_drawn_deterministically():
    before = len(plt.get_fignums())
    first = plot_kernel_footprint((6, 6), 3, stride=2, padding=1)
    # A pyplot figure, so Jupyter shows it even after `plot_...(...);`.
    assert len(plt.get_fignums()) == before + 1 and plt.gcf() is first
    second = plot_kernel_footprint((6, 6), 3, stride=2, padding=1)
    assert render(first) == render(second)
