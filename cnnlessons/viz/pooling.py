"""Pooling: the windows of a pooling layer, and how max pooling dampens small shifts.

The pooled values come from the package's own from-scratch pooling,
:func:`cnnlessons.scratch.functional.max_pool2d` and ``avg_pool2d``, and the windows'
positions from :func:`cnnlessons.shapes.pool_geometry`.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

import cnnlessons.scratch.functional as SF
from cnnlessons.arguments import IntOrTuple, check_count
from cnnlessons.shapes import WindowGeometry, pool_geometry
from cnnlessons.viz.inputs import as_array
from cnnlessons.viz.style import (
    CMAP_IMAGE,
    MAX_WIDTH,
    PALETTE,
    cell_labels,
    compact,
    formatter,
    grid_axes,
    image_axes,
    new_figure,
    suptitle,
)

__all__ = ["plot_pooling", "plot_shift_tolerance"]

# Inputs up to this size per side are drawn with their values written in the cells.
_MAX_POOLED = 12


# --------------------------------------------------------------------------------------
# plot_pooling
# --------------------------------------------------------------------------------------

def plot_pooling(x, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 mode: str = "max") -> Figure:
    r"""A pooling layer on a small 2-D input: the windows outlined, the outputs computed.

    Each window gets its colour in the input (outline and light fill) and in the
    output; with ``mode="max"`` the winning cell of each window is circled (the first
    one on ties, as ``torch.nn.functional.max_pool2d``'s indices). No padding,
    dilation 1, ``ceil_mode=False``.

    Args:
        x: input ``(H, W)``, at most 12×12 (values are written in the cells).
        kernel_size: window size, int or ``(kH, kW)``.
        stride: step between windows, int or tuple; default ``kernel_size``.
        mode: ``"max"`` or ``"avg"``.

    Returns:
        The figure, with two axes: input and output.

    Shape:
        - x: :math:`(H, W)`
        - output: :math:`(\lfloor (H - kH) / sH \rfloor + 1, \lfloor (W - kW) / sW \rfloor + 1)`
    """
    a = as_array(x, "x", (2,), "(H, W)")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode={mode!r} must be 'max' or 'avg'")
    if max(a.shape) > _MAX_POOLED:
        raise ValueError(f"x has shape {a.shape}; at most {_MAX_POOLED}×{_MAX_POOLED} can be "
                         "drawn with its values")
    geo = pool_geometry(a.shape, kernel_size, stride)
    out, winners = _pool(a, geo, mode)
    (h, w), (oh, ow) = a.shape, geo.output_size
    ow_drawn = max(ow, 2)  # room for the output panel's title
    cell = min(0.5, (MAX_WIDTH - 1.0) / (w + ow_drawn))
    fig = new_figure(cell * (w + ow_drawn) + 1.0, cell * h + 1.4)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[w, ow_drawn])
    _draw_values(ax_in, a, frame=(h, w))
    _draw_values(ax_out, out, frame=(h, ow_drawn))
    for i in range(oh):
        for j in range(ow):
            winner = None if winners is None else divmod(int(winners[i, j]), w)
            _draw_pool_window(ax_in, ax_out, geo, (i, j), winner, cell)
    ax_in.set_title(f"input {h}\u00d7{w}", fontsize=10)
    ax_out.set_title(f"output {oh}\u00d7{ow}", fontsize=10)
    what, how = ("Max", "max") if mode == "max" else ("Average", "mean")
    suptitle(fig, f"{what} pooling, kernel_size={compact(geo.kernel_size)}, "
             f"stride={compact(geo.stride)}\neach output is the {how} of its window",
             fontsize=10.5)
    return fig


def _pool(a: np.ndarray, geo: WindowGeometry,
          mode: str) -> tuple[np.ndarray, np.ndarray | None]:
    """Pool ``a`` ``(H, W)`` by the package's scratch pooling.

    Returns:
        The output ``(H_out, W_out)`` and, for max pooling, each window's winner as a
        flat index ``h * W + w`` into ``a`` (the first maximum on ties), else ``None``.
    """
    plane = torch.from_numpy(a)[None]  # one channel, unbatched
    if mode == "avg":
        return SF.avg_pool2d(plane, geo.kernel_size, geo.stride)[0].numpy(), None
    out, indices = SF.max_pool2d(plane, geo.kernel_size, geo.stride, return_indices=True)
    return out[0].numpy(), indices[0].numpy()


def _draw_values(ax: Axes, values: np.ndarray, frame: tuple[int, int]) -> None:
    """A grid of ``values`` ``(rows, cols)`` with each value written in its cell."""
    fmt = formatter(values)
    rows, cols = values.shape
    grid_axes(ax, rows, cols, cell_labels(rows), cell_labels(cols), frame=frame)
    for (i, j), v in np.ndenumerate(values):
        ax.text(j + 0.5, i + 0.5, fmt(v), ha="center", va="center", fontsize=9, zorder=4)


def _draw_pool_window(ax_in: Axes, ax_out: Axes, geo: WindowGeometry, index: tuple[int, int],
                      winner: tuple[int, int] | None, cell: float) -> None:
    """Window ``index``: outlined in the input, its output cell filled, its winner circled."""
    (i, j), (kh, kw), ow = index, geo.kernel_size, geo.output_size[1]
    color = PALETTE[(i * ow + j) % len(PALETTE)]
    r, c = i * geo.stride[0], j * geo.stride[1]
    overlapping = geo.stride[0] < kh or geo.stride[1] < kw
    # Overlapping windows are outlined only (fills would mix into grey), at different
    # insets, and rings around a shared winner get different sizes.
    inset = 0.07 + (0.08 * ((i + j) % 2) if overlapping else 0.0)
    ring = 1.0 + (0.25 * ((i * ow + j) % 3) if overlapping else 0.0)
    if not overlapping:
        ax_in.add_patch(Rectangle((c, r), kw, kh, facecolor=color, alpha=0.2, linewidth=0))
    ax_in.add_patch(Rectangle((c + inset, r + inset), kw - 2 * inset, kh - 2 * inset,
                              fill=False, edgecolor=color, linewidth=2, zorder=3))
    ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=color, alpha=0.3, linewidth=0))
    if winner is not None:
        wr, wc = winner
        ax_in.plot(wc + 0.5, wr + 0.5, "o", markersize=cell * 44 * ring, markerfacecolor="none",
                   markeredgecolor=color, markeredgewidth=1.5, zorder=3.5)


# --------------------------------------------------------------------------------------
# plot_shift_tolerance
# --------------------------------------------------------------------------------------

def plot_shift_tolerance(image, shifts: Sequence[int] = (0, 1, 2),
                         kernel_size: int = 2) -> Figure:
    r"""How max pooling dampens small shifts: shifted copies of an image, pooled.

    Column ``s`` shifts ``image`` right by ``s`` pixels (the background, the image's
    smallest value, enters on the left) and max-pools it with a ``kernel_size``
    window and stride. Each title gives how much the shift changed the picture,
    ``||f(shifted) - f(image)|| / ||f(image)||`` with ``f`` the identity (top row) or
    max pooling (bottom row), measured above the background. Pooling makes the
    change smaller, but not zero: the tolerance is partial.

    Args:
        image: one image ``(H, W)`` or ``(1, H, W)``, e.g. an MNIST digit.
        shifts: horizontal shifts in pixels, each in ``[0, W)``, at most 8.
        kernel_size: pooling window and stride.

    Returns:
        The figure: two rows (shifted image, pooled) of ``len(shifts)`` axes.

    Shape:
        - image: :math:`(H, W)` or :math:`(1, H, W)`
        - pooled maps: :math:`(\lfloor H / k \rfloor, \lfloor W / k \rfloor)`
    """
    a = _one_channel(as_array(image, "image", (2, 3), "(H, W) or (1, H, W)"))
    check_count(kernel_size, "kernel_size")
    shifts = _checked_shifts(shifts, a.shape[1])
    # Measuring above the background makes a blank area count as zero; max pooling
    # commutes with subtracting a constant, so the pooled maps are unaffected.
    ink = a - a.min()
    shifted = np.stack([_shift_right(ink, s) for s in shifts])
    # The shifted copies pooled at once, as the channels of one unbatched input.
    pooled = SF.max_pool2d(torch.from_numpy(shifted), kernel_size).numpy()
    cols = len(shifts)
    panel = min(1.8, (MAX_WIDTH - 0.3) / cols)
    fig = new_figure(max(panel * cols + 0.3, 4.5), 2 * panel + 1.1)
    axes = fig.subplots(2, cols, squeeze=False)
    vmax = float(ink.max()) or 1.0
    for k, s in enumerate(shifts):
        titles = _shift_titles(s, kernel_size, _change(shifted[k], ink),
                               _change(pooled[k], pooled[0]))
        for ax, values, title in zip(axes[:, k], (shifted[k], pooled[k]), titles):
            ax.imshow(values, cmap=CMAP_IMAGE, vmin=0.0, vmax=vmax, interpolation="nearest")
            image_axes(ax, title, fontsize=8.5)
    suptitle(fig, f"Shifting the input, then {kernel_size}\u00d7{kernel_size} max pooling\n"
             r"change $= \|f(\mathrm{shifted}) - f(\mathrm{original})\|\,/\,"
             r"\|f(\mathrm{original})\|$", 10.5)
    return fig


def _one_channel(a: np.ndarray) -> np.ndarray:
    """``(H, W)`` from ``(H, W)`` or ``(1, H, W)``."""
    if a.ndim == 3:
        if a.shape[0] != 1:
            raise ValueError(f"image has shape {a.shape}; expected one channel (1, H, W)")
        a = a[0]
    return a


def _checked_shifts(shifts: Sequence[int], width: int) -> list[int]:
    """``shifts`` as a list of 1 to 8 ints in ``[0, width)``."""
    shifts = list(shifts)
    if not shifts or not all(isinstance(s, int) and 0 <= s < width for s in shifts):
        raise ValueError(f"shifts={shifts!r} must be a non-empty list of ints in "
                         f"[0, {width}) (the image width)")
    if len(shifts) > 8:
        raise ValueError(f"shifts has {len(shifts)} entries; at most 8 fit across the page")
    return shifts


def _shift_right(ink: np.ndarray, s: int) -> np.ndarray:
    """``ink`` ``(H, W)`` moved ``s`` pixels right, zeros (background) entering on the left."""
    moved = np.zeros_like(ink)
    moved[:, s:] = ink[:, :ink.shape[1] - s]
    return moved


def _change(new: np.ndarray, old: np.ndarray) -> float:
    """``||new - old|| / ||old||`` (relative to 1 when ``old`` is blank)."""
    return np.linalg.norm(new - old) / (np.linalg.norm(old) or 1.0)


def _shift_titles(s: int, kernel_size: int, image_change: float,
                  pooled_change: float) -> tuple[str, str]:
    """The titles of shift ``s``'s two panels; shift 0 is the reference column."""
    if s == 0:
        return "original", f"{kernel_size}\u00d7{kernel_size} max pooled"
    return (f"shift {s}: {100 * image_change:.0f}% change",
            f"pooled: {100 * pooled_change:.0f}% change")
