"""Where a convolution's kernel taps land on the (padded) input: ``plot_kernel_footprint``.

The window arithmetic is :func:`cnnlessons.shapes.conv_geometry`'s; this module adds
only what the drawing needs on top of its :class:`~cnnlessons.shapes.WindowGeometry`:
the positions of one window's taps and the output-size formula written out with the
layer's numbers.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch, Patch, Rectangle

from cnnlessons.arguments import IntOrTuple, Padding, check_positive, ntuple
from cnnlessons.shapes import WindowGeometry, conv_geometry
from cnnlessons.viz.style import (
    MAX_CELLS,
    MAX_WIDTH,
    PADDING_COLOR,
    PALETTE,
    cell_labels,
    compact,
    grid_axes,
    hide_spines,
    new_figure,
    suptitle,
)

__all__ = ["plot_kernel_footprint"]

#: One output position: ``(i,)`` in 1-D, ``(i, j)`` in 2-D.
Index = tuple[int, ...]


def plot_kernel_footprint(input_size: IntOrTuple, kernel_size: IntOrTuple,
                          stride: IntOrTuple = 1, padding: Padding = 0,
                          dilation: IntOrTuple = 1,
                          output_index: int | Index | Sequence[int | Index] | None = None,
                          ) -> Figure:
    """Where a kernel's taps land on the (padded) input, for one or a few outputs.

    The padded input is drawn as a grid whose padding cells are grey and hatched.
    For each chosen output position, the kernel's taps (spaced ``dilation`` apart)
    are marked with dots of its colour, its window is outlined, and the output cell it
    produces is coloured the same; consecutive windows start ``stride`` cells apart.
    The title gives the parameters and PyTorch's output-size formula with the numbers
    filled in (``cnnlessons.shapes.conv_output_size``)::

        out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

    In 1-D the output row sits under the input row, each output cell centred under
    its window and joined to its taps by lines. In 2-D the input and output grids are
    side by side, with an arrow from each window to its output cell.

    Args:
        input_size: ``L`` (int) for a 1-D convolution, ``(H, W)`` for a 2-D one. At
            most 40 cells per side once padded.
        kernel_size, stride, dilation: int, or a tuple with one entry per dimension.
        padding: int, tuple, ``'valid'`` or ``'same'`` (as in ``torch.nn.Conv2d``;
            ``'same'`` may pad one more cell after than before).
        output_index: the output position(s) to show: an int (1-D) or ``(i, j)`` (2-D),
            or a list of them (at most 6; negative indices count from the end).
            Default: the first three outputs in 1-D, outputs ``(0, 0)`` and
            ``(0, 1)`` in 2-D.

    Returns:
        The figure: one axes in 1-D, two (input, output) in 2-D.

    Raises:
        ValueError: bad sizes (via ``conv_geometry``), a dilated kernel larger
            than the padded input, an output index outside the output.

    Shape:
        - input: :math:`(L)` or :math:`(H, W)`
        - output: :math:`(L_{out})` or :math:`(H_{out}, W_{out})`, as in
          ``torch.nn.Conv1d`` / ``Conv2d``

    >>> fig = plot_kernel_footprint((7, 7), 3, stride=2, padding=1, dilation=2)
    """
    size = _input_size(input_size)
    # conv_geometry checks every other argument and the "kernel larger than the padded
    # input" case, with the messages used everywhere in the package.
    geo = conv_geometry(size, kernel_size, stride, padding, dilation)
    if max(geo.padded_size) > MAX_CELLS:
        raise ValueError(f"the padded input {geo.padded_size} has more than {MAX_CELLS} "
                         "cells per side, too many to draw legibly; use a smaller input_size")
    indices = _output_indices(output_index, geo.output_size)
    parameters = _parameters_text(geo, padding)
    if len(size) == 1:
        return _footprint_1d(geo, indices, parameters)
    return _footprint_2d(geo, indices, parameters)


# --------------------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------------------

def _input_size(input_size: IntOrTuple) -> tuple[int, ...]:
    """``input_size`` as a tuple of 1 or 2 positive ints."""
    if isinstance(input_size, bool) or not isinstance(input_size, (int, Sequence)):
        raise TypeError(f"input_size={input_size!r} must be an int (1-D) "
                        "or a tuple of 2 ints (2-D)")
    size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
    if len(size) not in (1, 2):
        raise ValueError(f"input_size={input_size!r} must be an int (1-D) or a tuple "
                         f"of 2 ints (2-D); got {len(size)} dimensions")
    size = ntuple(size, len(size), "input_size")
    check_positive(size, "input_size")
    return size


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _default_indices(out: Index) -> list[Index]:
    """Neighbouring windows along the last dimension, which make the stride visible."""
    # In 1-D a third window shows the pattern repeating.
    n = len(out)
    count = min(out[-1], 3 if n == 1 else 2)
    return [(0,) * (n - 1) + (j,) for j in range(count)]


def _output_indices(output_index, out: Index) -> list[Index]:
    """Normalise ``output_index`` to a list of in-range index tuples for an output ``out``."""
    n = len(out)
    if output_index is None:
        return _default_indices(out)
    if n == 1:
        items = [output_index] if _is_int(output_index) else list(output_index)
        items = [(i,) for i in items]
    elif (isinstance(output_index, tuple) and len(output_index) == 2
          and all(isinstance(i, int) for i in output_index)):
        items = [output_index]
    else:
        items = [tuple(i) for i in output_index]
    if not items:
        raise ValueError("output_index is empty; give at least one output position")
    if len(items) > len(PALETTE):
        raise ValueError(f"output_index has {len(items)} positions; at most {len(PALETTE)} "
                         "can be told apart by colour")
    return [_checked_index(item, output_index, out) for item in items]


def _checked_index(item: Index, output_index, out: Index) -> Index:
    """One position of ``output_index``, checked and with negative entries wrapped."""
    n = len(out)
    if len(item) != n or not all(_is_int(i) for i in item):
        raise ValueError(f"output_index={output_index!r}: each position must be "
                         f"{'an int' if n == 1 else 'a tuple of 2 ints'}")
    if not all(-o <= i < o for i, o in zip(item, out)):
        shown = item[0] if n == 1 else item
        raise ValueError(f"output_index={shown} is outside the output of size "
                         f"{out[0] if n == 1 else out}")
    return tuple(i % o for i, o in zip(item, out))


# --------------------------------------------------------------------------------------
# What the drawing adds to the geometry
# --------------------------------------------------------------------------------------

def _start(geo: WindowGeometry, index: Index) -> Index:
    """Padded coordinate of the first tap of the window of output ``index``."""
    return tuple(i * s for i, s in zip(index, geo.stride))


def _taps(geo: WindowGeometry, index: Index, dim: int) -> list[int]:
    """Padded coordinates of the taps of output ``index`` along dimension ``dim``."""
    first = _start(geo, index)[dim]
    return [first + t * geo.dilation[dim] for t in range(geo.kernel_size[dim])]


def _formula(geo: WindowGeometry, dim: int, symbol: str) -> str:
    """PyTorch's output-size formula with this layer's numbers, as mathtext."""
    n, (a, b), k = geo.input_size[dim], geo.padding[dim], geo.kernel_size[dim]
    s, d, out = geo.stride[dim], geo.dilation[dim], geo.output_size[dim]
    pad = rf"2\cdot{a}" if a == b else f"{a} + {b}"
    return (rf"${symbol}_{{out}} = \lfloor({n} + {pad} - {d}\cdot({k}-1) - 1)"
            rf"\,/\,{s}\rfloor + 1 = {out}$")


def _parameters_text(geo: WindowGeometry, padding: Padding) -> str:
    """The layer's arguments as one would write them (``padding`` as the caller did)."""
    if isinstance(padding, str):
        padding_text = repr(padding)
    else:
        padding_text = compact([before for before, _ in geo.padding])
    return (f"kernel_size={compact(geo.kernel_size)}, stride={compact(geo.stride)}, "
            f"padding={padding_text}, dilation={compact(geo.dilation)}")


def _legend_start(geo: WindowGeometry) -> list:
    """The legend's first entry, the padding swatch, when there is padding."""
    if not any(before + after for before, after in geo.padding):
        return []
    return [Patch(facecolor=PADDING_COLOR, edgecolor="0.55", hatch="///", label="padding")]


def _dot_offset(k: int, count: int) -> float:
    """Horizontal offset of window ``k``'s dots inside a cell, so shared taps all show."""
    return (k - (count - 1) / 2) * 0.22


# --------------------------------------------------------------------------------------
# 1-D: the output row under the input row
# --------------------------------------------------------------------------------------

_Y_IN, _Y_OUT = 3.0, 0.0  # bottom edges of the input and output rows (height 1)


def _footprint_1d(geo: WindowGeometry, indices: list[Index], parameters: str) -> Figure:
    (length,) = geo.padded_size
    fig = new_figure(max(0.42 * length + 1.6, 6.0), 3.4)
    ax = fig.add_subplot()
    _draw_input_row(ax, geo)
    centres = _draw_output_row(ax, geo, indices)
    handles = _legend_start(geo)
    for k, idx in enumerate(indices):
        handles.append(_draw_window_1d(ax, geo, idx, k, len(indices), centres[idx[0]]))
    _frame_rows(ax, length, len(indices))
    suptitle(fig, f"Conv1d, input length {geo.input_size[0]}: {parameters}\n"
             + _formula(geo, 0, "L"), 10.5)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2),
               fontsize=8, frameon=False)
    return fig


def _is_padding(geo: WindowGeometry, t: int) -> bool:
    """Whether padded coordinate ``t`` (1-D) is a padding cell."""
    before = geo.padding[0][0]
    return not before <= t < before + geo.input_size[0]


def _draw_input_row(ax: Axes, geo: WindowGeometry) -> None:
    """The padded input: hatched padding cells, numbered input cells."""
    before = geo.padding[0][0]
    for i in range(geo.padded_size[0]):
        is_pad = _is_padding(geo, i)
        ax.add_patch(Rectangle((i, _Y_IN), 1, 1, linewidth=0.8,
                               facecolor=PADDING_COLOR if is_pad else "white",
                               edgecolor="0.55" if is_pad else "0.35",
                               hatch="///" if is_pad else None))
        if not is_pad:
            ax.text(i + 0.5, _Y_IN + 0.62, str(i - before), ha="center", va="center",
                    fontsize=8, color="0.35")


def _draw_output_row(ax: Axes, geo: WindowGeometry, indices: list[Index]) -> list[float]:
    """The output cells, the chosen ones coloured; returns their centres."""
    # Output cell j sits under the middle of its window, so the spacing of the
    # output cells is the stride and their offset is half the span.
    centres = [j * geo.stride[0] + geo.span[0] / 2 for j in range(geo.output_size[0])]
    chosen = {idx[0]: PALETTE[k] for k, idx in enumerate(indices)}
    for j, c in enumerate(centres):
        color = chosen.get(j)
        ax.add_patch(Rectangle((c - 0.5, _Y_OUT), 1, 1, linewidth=0.8, edgecolor="0.35",
                               facecolor="white" if color is None else color,
                               alpha=1.0 if color is None else 0.45))
        ax.text(c, _Y_OUT + 0.5, str(j), ha="center", va="center", fontsize=8, color="0.15")
    return centres


def _draw_window_1d(ax: Axes, geo: WindowGeometry, idx: Index, k: int, count: int,
                    centre: float) -> Line2D:
    """Window ``k`` of ``count``: its taps joined to output ``centre``, and its bracket."""
    color, taps = PALETTE[k], _taps(geo, idx, 0)
    dx = _dot_offset(k, count)
    for t in taps:
        ax.plot([t + 0.5 + dx, centre], [_Y_IN + 0.25, _Y_OUT + 1], color=color,
                linewidth=1.5, solid_capstyle="round", zorder=2)
    ax.plot([t + 0.5 + dx for t in taps], [_Y_IN + 0.25] * len(taps), "o", color=color,
            markersize=5, zorder=3)
    # A bracket above the row marks the window; their left ends are `stride` apart.
    y = _Y_IN + 1.25 + 0.3 * k
    start, span = _start(geo, idx)[0], geo.span[0]
    ax.plot([start + 0.05, start + 0.05, start + span - 0.05, start + span - 0.05],
            [y - 0.12, y, y, y - 0.12], color=color, linewidth=1.6)
    before = geo.padding[0][0]
    named = ["pad" if _is_padding(geo, t) else str(t - before) for t in taps]
    return Line2D([], [], color=color, marker="o", markersize=4, linewidth=1.5,
                  label=f"output {idx[0]} \u2190 input [{', '.join(named)}]")


def _frame_rows(ax: Axes, length: int, windows: int) -> None:
    """Limits that fit both rows and the brackets, row names instead of ticks."""
    ax.set_xlim(-0.1, length + 0.1)
    ax.set_ylim(_Y_OUT - 0.1, _Y_IN + 1.35 + 0.3 * windows)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([_Y_OUT + 0.5, _Y_IN + 0.5], ["output", "input"])
    ax.tick_params(length=0)
    hide_spines(ax)


# --------------------------------------------------------------------------------------
# 2-D: input and output grids side by side
# --------------------------------------------------------------------------------------

def _footprint_2d(geo: WindowGeometry, indices: list[Index], parameters: str) -> Figure:
    (rows, cols), (_, ow) = geo.padded_size, geo.output_size
    ow_drawn = max(ow, 3)  # a 1x1 output still gets a panel wide enough for its title
    cell = min(0.32, (MAX_WIDTH - 1.4) / (cols + ow_drawn))
    fig = new_figure(cell * (cols + ow_drawn) + 1.4, cell * rows + 1.5)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[cols, ow_drawn])
    _draw_input_grid(ax_in, geo)
    _draw_output_grid(ax_out, geo, ow_drawn)
    handles = _legend_start(geo)
    for k, idx in enumerate(indices):
        handles.append(_draw_window_2d(fig, ax_in, ax_out, geo, idx, k, len(indices), cell))
    suptitle(fig, f"Conv2d: {parameters}\n" + _formulas_2d(geo), 10.5)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8,
               frameon=False)
    return fig


def _draw_input_grid(ax: Axes, geo: WindowGeometry) -> None:
    """The padded input: the whole area hatched, then the true input painted over it."""
    rows, cols = geo.padded_size
    (top, _), (left, _) = geo.padding
    h, w = geo.input_size
    ax.add_patch(Rectangle((0, 0), cols, rows, facecolor=PADDING_COLOR, edgecolor="0.55",
                           hatch="///", linewidth=0))
    ax.add_patch(Rectangle((left, top), w, h, facecolor="white", edgecolor="none"))
    grid_axes(ax, rows, cols, cell_labels(h, top), cell_labels(w, left))
    ax.add_patch(Rectangle((left, top), w, h, fill=False, edgecolor="0.25", linewidth=1.2,
                           zorder=2))
    padded = f", padded to {rows}\u00d7{cols}" if (rows, cols) != (h, w) else ""
    ax.set_title(f"input {h}\u00d7{w}{padded}", fontsize=10)


def _draw_output_grid(ax: Axes, geo: WindowGeometry, ow_drawn: int) -> None:
    """The output grid, in a frame as tall as the input's and ``ow_drawn`` cells wide."""
    oh, ow = geo.output_size
    grid_axes(ax, oh, ow, cell_labels(oh), cell_labels(ow),
              frame=(geo.padded_size[0], ow_drawn))
    ax.yaxis.tick_right()  # keeps the row labels out of the arrows' way
    ax.add_patch(Rectangle((0, 0), ow, oh, fill=False, edgecolor="0.25", linewidth=1.2,
                           zorder=2))
    ax.set_title(f"output {oh}\u00d7{ow}", fontsize=10)


def _draw_window_2d(fig: Figure, ax_in: Axes, ax_out: Axes, geo: WindowGeometry, idx: Index,
                    k: int, count: int, cell: float) -> Line2D:
    """Window ``k`` of ``count``: its taps and outline, its output cell, an arrow between."""
    color = PALETTE[k]
    ys, xs = _taps(geo, idx, 0), _taps(geo, idx, 1)
    # Overlapping windows share cells: each window's dots sit at their own offset
    # in the cell and its outline at its own inset, so every tap and edge shows.
    dx = _dot_offset(k, count)
    inset = 0.06 + 0.1 * k
    for y in ys:
        for x in xs:
            ax_in.add_patch(Rectangle((x, y), 1, 1, facecolor=color,
                                      alpha=0.12 if count > 1 else 0.25, linewidth=0,
                                      zorder=1.2))
    gx, gy = np.meshgrid(np.array(xs) + 0.5 + dx, np.array(ys) + 0.5)
    ax_in.plot(gx.ravel(), gy.ravel(), "o", color=color, markersize=min(5, cell * 16), zorder=3)
    (y0, x0), (sh, sw) = _start(geo, idx), geo.span
    ax_in.add_patch(Rectangle((x0 + inset, y0 + inset), sw - 2 * inset, sh - 2 * inset,
                              fill=False, edgecolor=color, linewidth=2, zorder=2.5))
    i, j = idx
    ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=color, alpha=0.45, linewidth=0))
    ax_out.plot([j + 0.5], [i + 0.5], "o", color=color, markersize=min(5, cell * 16), zorder=3)
    arrow = ConnectionPatch(xyA=(x0 + sw - inset, y0 + sh / 2), coordsA=ax_in.transData,
                            xyB=(j + 0.1, i + 0.5), coordsB=ax_out.transData,
                            arrowstyle="-|>", color=color, linewidth=1.2,
                            connectionstyle="arc3,rad=-0.15", zorder=4)
    arrow.set_in_layout(False)
    fig.add_artist(arrow)
    return Line2D([], [], color=color, marker="o", linewidth=2,
                  label=f"window of output ({i}, {j})")


def _formulas_2d(geo: WindowGeometry) -> str:
    """The formula for H and for W, or one for both when their numbers agree."""
    formulas = [_formula(geo, 0, "H"), _formula(geo, 1, "W")]
    if _formula(geo, 0, "W") == formulas[1]:  # the same numbers in both dimensions
        formulas = [formulas[0].replace("H_{out}", "H_{out} = W_{out}")]
    return "    ".join(formulas)
