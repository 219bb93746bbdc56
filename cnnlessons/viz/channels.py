"""Channels: how a multi-channel convolution adds up, feature maps and learned kernels.

The per-channel cross-correlations of :func:`plot_channel_sum` are computed by the
package's own :func:`cnnlessons.scratch.conv.corr2d`, the two-loop d2l reference that
the course introduces first.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.gridspec import GridSpec, SubplotSpec
from matplotlib.image import AxesImage
from matplotlib.patches import Rectangle

from cnnlessons.arguments import check_count
from cnnlessons.scratch.conv import corr2d
from cnnlessons.viz.inputs import as_array
from cnnlessons.viz.style import (
    CMAP_SIGNED,
    MAX_ANNOTATED,
    MAX_CELLS,
    MAX_WIDTH,
    draw_matrix,
    formatter,
    grid_shape,
    hide_spines,
    image_axes,
    new_figure,
    panel_grid,
    signed_norm,
    suptitle,
)

__all__ = ["plot_channel_sum", "plot_feature_maps", "plot_kernels"]


# --------------------------------------------------------------------------------------
# plot_channel_sum
# --------------------------------------------------------------------------------------

def plot_channel_sum(x, k, annotate: bool | None = None) -> Figure:
    """How a multi-channel convolution adds up: one 2-D cross-correlation per channel.

    Row ``c`` shows input channel ``x[c]``, kernel channel ``k[c]`` and their
    cross-correlation ``x[c] ⋆ k[c]`` (no padding, stride 1); the last panel is the
    output, the sum of the rows, which is what ``conv2d(x[None], k[None])`` returns
    for a single output channel. Colours are centred on zero (red positive, blue
    negative), one scale per column.

    Args:
        x: input ``(C_in, H, W)``, at most 40 cells per side.
        k: kernel of one output channel ``(C_in, kH, kW)``, ``kH <= H``, ``kW <= W``.
        annotate: write the values in the cells; by default only when the input is at
            most 6×6, so the sums can be checked by hand.

    Returns:
        The figure, with ``5 * C_in + 2`` axes: per channel input, kernel and
        correlation plus two operator columns (``⋆``, ``=``); then the ``Σ`` column and
        the output.

    Shape:
        - x: :math:`(C_{in}, H, W)`, k: :math:`(C_{in}, kH, kW)`
        - output map: :math:`(H - kH + 1, W - kW + 1)`
    """
    xa = as_array(x, "x", (3,), "(C_in, H, W)")
    ka = as_array(k, "k", (3,), "(C_in, kH, kW)")
    _check_channel_sum(xa, ka)
    parts = np.stack([corr2d(torch.from_numpy(xc), torch.from_numpy(kc)).numpy()
                      for xc, kc in zip(xa, ka)])
    total = parts.sum(axis=0)
    if annotate is None:
        annotate = max(xa.shape[1:]) <= MAX_ANNOTATED
    fig, grid, cell = _channel_sum_figure(xa.shape, ka.shape, total.shape)
    # Numbers are the point when annotated, so the colours are kept lighter.
    headroom = 1.6 if annotate else 1.0
    norms = [signed_norm(a, headroom=headroom) for a in (xa, ka, parts, total)]
    longest = max(len(formatter(a)(v)) for a in (xa, ka, total) for v in a.ravel())
    # About 0.6 em per character has to fit in a cell of `cell` inches (72 pt each).
    fontsize = min(9.0, cell * 72 / (0.65 * max(longest, 2)))
    for c in range(xa.shape[0]):
        _draw_channel_row(fig, grid, c, (xa[c], ka[c], parts[c]), norms, annotate, fontsize)
    _operator(fig, grid[:, 5], r"$\sum_c \rightarrow$")
    ax = fig.add_subplot(grid[:, 6])
    draw_matrix(ax, total, CMAP_SIGNED, norms[3], annotate, fontsize)
    ax.set_title("output\n" + r"$\Sigma_c\, x_c \star k_c$", fontsize=10)
    suptitle(fig, f"A {xa.shape[0]}-channel input, one output channel: correlate channel by "
             "channel, then add", 11)
    return fig


def _check_channel_sum(xa: np.ndarray, ka: np.ndarray) -> None:
    """Raise unless ``k`` has one channel per input channel and fits the input."""
    if xa.shape[0] != ka.shape[0]:
        raise ValueError(f"x has {xa.shape[0]} channels but k has {ka.shape[0]}; the kernel "
                         "needs one channel per input channel")
    if ka.shape[1] > xa.shape[1] or ka.shape[2] > xa.shape[2]:
        raise ValueError(f"kernel size {ka.shape[1:]} is larger than the input size "
                         f"{xa.shape[1:]}: the output would be empty")
    if max(xa.shape[1:]) > MAX_CELLS:
        raise ValueError(f"x has spatial size {xa.shape[1:]}; at most {MAX_CELLS} cells per "
                         "side can be drawn legibly")


def _channel_sum_figure(x_shape: tuple[int, ...], k_shape: tuple[int, ...],
                        out_shape: tuple[int, ...]) -> tuple[Figure, GridSpec, float]:
    """The figure, its 7-column grid (one row per channel) and the cell size in inches."""
    channels, h, w = x_shape
    kw, ow = k_shape[2], out_shape[1]
    op = 1.4  # width of an operator column, in cells
    widths = [w, op, kw, op, ow, op + 0.6, ow]
    cell = min(0.42, (MAX_WIDTH - 0.4) / sum(widths))
    fig = new_figure(cell * sum(widths) + 0.4, channels * (cell * max(h, 3) + 0.35) + 0.5)
    return fig, fig.add_gridspec(channels, 7, width_ratios=widths), cell


def _draw_channel_row(fig: Figure, grid: GridSpec, c: int, panels: tuple[np.ndarray, ...],
                      norms: list[Normalize], annotate: bool, fontsize: float) -> None:
    """Row ``c``: ``x[c] ⋆ k[c] = x[c] ⋆ k[c]`` drawn as input, kernel and correlation."""
    titles = (rf"$x_{{{c}}}$", rf"$k_{{{c}}}$", rf"$x_{{{c}}} \star k_{{{c}}}$")
    for column, a, title, norm in zip((0, 2, 4), panels, titles, norms):
        ax = fig.add_subplot(grid[c, column])
        draw_matrix(ax, a, CMAP_SIGNED, norm, annotate, fontsize)
        ax.set_title(title, fontsize=10)
        if column == 0:
            ax.set_ylabel(f"channel {c}", fontsize=9)
    _operator(fig, grid[c, 1], r"$\star$", size=22)
    _operator(fig, grid[c, 3], "=")


def _operator(fig: Figure, spec: SubplotSpec, symbol: str, size: float = 16) -> None:
    """An axes holding only an operator symbol between two panels."""
    ax = fig.add_subplot(spec)
    ax.axis("off")
    ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=size, color="0.3")


# --------------------------------------------------------------------------------------
# plot_feature_maps
# --------------------------------------------------------------------------------------

def plot_feature_maps(maps, title: str | None = None, max_maps: int = 16) -> Figure:
    """The channels of one activation tensor side by side, on one shared colour scale.

    Args:
        maps: activations of one sample ``(C, H, W)`` (e.g. ``conv(x)[0]``).
        title: figure title; by default the shape and how many channels are shown.
        max_maps: show at most this many channels (the first ones).

    Returns:
        The figure: one axes per shown channel (up to 8 per row) and a colour bar.

    Shape:
        - maps: :math:`(C, H, W)`
    """
    a = as_array(maps, "maps", (3,), "(C, H, W); for a batch pass maps[0]")
    check_count(max_maps, "max_maps")
    n = min(a.shape[0], max_maps)
    rows, cols = grid_shape(n)
    panel = min(1.4, (MAX_WIDTH - 0.9) / cols)
    fig = new_figure(panel * cols + 0.9, rows * (panel * a.shape[1] / a.shape[2] + 0.3) + 0.5)
    norm = signed_norm(a[:n])
    axes = panel_grid(fig, n, cols, rows)
    for c, ax in enumerate(axes):
        image = ax.imshow(a[c], cmap=CMAP_SIGNED, norm=norm, interpolation="nearest")
        image_axes(ax, f"channel {c}", fontsize=8)
    fig.colorbar(image, ax=axes, shrink=0.8, aspect=25 * min(rows, 2))
    shown = f"first {n} of {a.shape[0]}" if n < a.shape[0] else f"{n}"
    suptitle(fig, title or f"Feature maps: {shown} channels, {a.shape[1]}\u00d7{a.shape[2]}",
             fontsize=11)
    return fig


# --------------------------------------------------------------------------------------
# plot_kernels
# --------------------------------------------------------------------------------------

def plot_kernels(weight, max_kernels: int = 16, in_channel: int | None = None) -> Figure:
    """Learned convolution kernels as small tiles on one shared colour scale.

    With one input channel (or ``in_channel`` given) the kernels of the first
    ``max_kernels`` output channels are laid out 8 per row, each labelled with its
    output channel. Otherwise each column is an output channel (a filter) and each
    row one of its input-channel slices (at most 8 rows). All tiles share one axes,
    which keeps even a 16×6 grid quick to lay out.

    Args:
        weight: convolution weight ``(C_out, C_in, kH, kW)``, e.g. ``conv.weight``.
        max_kernels: show at most this many output channels (the first ones).
        in_channel: show only this input channel's slice of every filter.

    Returns:
        The figure, with two axes: the tiles and the colour bar.

    Shape:
        - weight: :math:`(C_{out}, C_{in}, kH, kW)`
    """
    a = as_array(weight, "weight", (4,), "(C_out, C_in, kH, kW)")
    check_count(max_kernels, "max_kernels")
    _check_in_channel(in_channel, a.shape[1])
    layout = _TileLayout.build(a.shape, min(a.shape[0], max_kernels), in_channel)
    fig = new_figure(layout.pixel * layout.cols * layout.step_x + 1.3,
                     layout.pixel * layout.rows * layout.step_y
                     + (1.0 if layout.by_input else 0.55))
    ax = fig.add_subplot()
    image = _draw_tiles(ax, a, layout, signed_norm(a[:layout.n_out]))
    _tile_axes(ax, layout)
    fig.colorbar(image, ax=ax, shrink=0.9 if layout.rows > 1 else 1.0,
                 aspect=20 if layout.rows > 2 else 10)
    suptitle(fig, _kernels_title(a.shape, layout, in_channel), 10.5)
    return fig


def _check_in_channel(in_channel: int | None, c_in: int) -> None:
    if in_channel is None:
        return
    if isinstance(in_channel, bool) or not isinstance(in_channel, int):
        raise TypeError(f"in_channel={in_channel!r} must be an int or None")
    if not 0 <= in_channel < c_in:
        raise ValueError(f"in_channel={in_channel} must be in [0, {c_in}) for a weight "
                         f"with C_in={c_in}")


@dataclass(frozen=True)
class _TileLayout:
    """Where the kernel tiles go, in kernel pixels.

    ``tiles`` holds ``(row, column, out_channel, in_channel)`` per tile. With
    ``by_input`` the rows are input channels and the columns output channels;
    otherwise the output channels wrap 8 per row, with room above each for a label.
    """

    by_input: bool
    rows: int
    cols: int
    n_out: int
    tiles: list[tuple[int, int, int, int]]
    kh: int
    kw: int
    gap: float
    label: float
    pixel: float  # inches per kernel pixel

    @classmethod
    def build(cls, shape: tuple[int, ...], n_out: int, in_channel: int | None) -> _TileLayout:
        _, c_in, kh, kw = shape
        by_input = in_channel is None and c_in > 1
        if by_input:
            rows, cols = min(c_in, 8), n_out
            tiles = [(i, o, o, i) for i in range(rows) for o in range(n_out)]
        else:
            rows, cols = grid_shape(n_out)
            tiles = [(o // cols, o % cols, o, in_channel or 0) for o in range(n_out)]
        # Tiles are separated by gaps; a wrapped layout keeps extra room above each
        # row for the labels.
        gap = max(0.5, 0.25 * kw)
        label = 0.0 if by_input else max(gap, 0.3 * kh)
        pixel = min(0.2, (MAX_WIDTH - 1.3) / (cols * (kw + gap)))
        return cls(by_input, rows, cols, n_out, tiles, kh, kw, gap, label, pixel)

    @property
    def step_x(self) -> float:
        return self.kw + self.gap

    @property
    def step_y(self) -> float:
        return self.kh + self.gap + self.label


def _draw_tiles(ax: Axes, a: np.ndarray, layout: _TileLayout, norm: Normalize) -> AxesImage:
    """Every tile of ``layout`` as an image with a thin border; returns the last image."""
    kh, kw, gap = layout.kh, layout.kw, layout.gap
    for r, c, o, i in layout.tiles:
        x0, y0 = c * layout.step_x, r * layout.step_y + layout.label
        image = ax.imshow(a[o, i], cmap=CMAP_SIGNED, norm=norm, interpolation="nearest",
                          extent=(x0, x0 + kw, y0 + kh, y0))
        ax.add_patch(Rectangle((x0, y0), kw, kh, fill=False, edgecolor="0.55", linewidth=0.6))
        if not layout.by_input:
            ax.text(x0 + kw / 2, y0 - 0.15 * gap, f"{o}", ha="center", va="bottom", fontsize=8)
    return image


def _tile_axes(ax: Axes, layout: _TileLayout) -> None:
    """Limits around the tiles; channel ticks for the input-by-output grid."""
    ax.set_xlim(-layout.gap / 2, layout.cols * layout.step_x - layout.gap / 2)
    ax.set_ylim(layout.rows * layout.step_y - layout.gap / 2, -layout.gap / 2)
    ax.set_aspect("equal")
    hide_spines(ax)
    ax.tick_params(length=0, labelsize=8)
    if not layout.by_input:
        ax.set_xticks([])
        ax.set_yticks([])
        return
    ax.xaxis.tick_top()
    ax.set_xticks([c * layout.step_x + layout.kw / 2 for c in range(layout.cols)],
                  [str(o) for o in range(layout.cols)])
    ax.set_yticks([r * layout.step_y + layout.kh / 2 for r in range(layout.rows)],
                  [f"in {i}" for i in range(layout.rows)])
    ax.set_xlabel("output channel", fontsize=9)
    ax.xaxis.set_label_position("top")


def _kernels_title(shape: tuple[int, ...], layout: _TileLayout, in_channel: int | None) -> str:
    c_out, c_in = shape[:2]
    if layout.by_input:
        what = "rows: input channel" + (f", first 8 of {c_in}" if c_in > 8 else "")
    else:
        what = "numbered by output channel" + (f"; input channel {in_channel}" if c_in > 1 else "")
    more = f", first {layout.n_out} of {c_out} filters" if layout.n_out < c_out else ""
    size = "\u00d7".join(map(str, shape))
    return f"Kernels of a {size} weight{more} ({what})"
