"""Figures for the course: convolution geometry, channels, learned features, training.

Every function draws one figure with pyplot and returns it as a
:class:`matplotlib.figure.Figure`; none of them calls ``plt.show()``. As with any
pyplot figure:

* in a notebook, Jupyter shows it at the end of the cell. End the call with a
  semicolon (``plot_history(history);``) or assign it (``fig = plot_history(history)``):
  a bare call on the last line would also display the returned value, so the figure
  would appear twice;
* in a script, ``plt.show()`` or ``fig.savefig("history.png")``, then ``plt.close(fig)``
  when drawing many figures.

Style, shared by every figure so that a colour means the same thing everywhere:

* one colormap family (ColorBrewer): ``RdBu_r`` centred on zero for anything with a
  sign (inputs of the channel-sum figure, kernels, feature maps: red positive, blue
  negative, white zero), ``Blues`` for rates and counts, ``Greys`` for images
  (ink dark on a white page);
* ``PALETTE`` colours the individual windows, runs or curves;
* figures are at most ``MAX_WIDTH`` inches wide (the width of a book page) and use
  matplotlib's constrained layout.

Arguments are torch tensors (NumPy arrays work too); they are detached and copied to
host memory as float64 for drawing, whatever their device or dtype.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.colors import Normalize, PowerNorm
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch, Patch, Rectangle
from matplotlib.textpath import text_to_path
from matplotlib.ticker import MaxNLocator

from cnnlessons.arguments import check_positive, ntuple
from cnnlessons.shapes import conv_output_size, pool_output_size, same_padding

__all__ = [
    "plot_kernel_footprint", "plot_channel_sum", "plot_feature_maps", "plot_kernels",
    "plot_history", "plot_confusion_matrix", "plot_misclassified", "plot_pooling",
    "plot_shift_tolerance",
]

#: Widest figure, in inches: the text width of the book.
MAX_WIDTH = 8.0
#: Signed values: zero is white, positive red, negative blue.
CMAP_SIGNED = "RdBu_r"
#: Non-negative rates and counts.
CMAP_RATE = "Blues"
#: Images: intensity 1 is black ink, 0 is the white page.
CMAP_IMAGE = "Greys"
#: Colours of individual windows, runs or curves (dark ColorBrewer hues).
PALETTE = ("#2166ac", "#b2182b", "#1b7837", "#762a83", "#e08214", "#01665e")
#: Fill of padding cells (drawn hatched on top).
PADDING_COLOR = "0.86"
#: Cell borders.
GRID_COLOR = "0.72"

# Grids larger than this many cells per side are unreadable at book width.
_MAX_CELLS = 40
# Matrices up to this size get their values written in the cells.
_MAX_ANNOTATED = 6


# --------------------------------------------------------------------------------------
# Shared helpers
# --------------------------------------------------------------------------------------

def _figure(width: float, height: float) -> Figure:
    """A new pyplot figure with constrained layout, at most ``MAX_WIDTH`` wide."""
    fig = plt.figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained")
    # A little more room than the default between titles and panels (inches).
    fig.get_layout_engine().set(h_pad=0.07, w_pad=0.05)
    return fig


def _suptitle(fig: Figure, text: str, fontsize: float = 10.5) -> None:
    """Set the figure title, widening the figure (up to MAX_WIDTH) if the title needs it."""
    fig.suptitle(text, fontsize=fontsize)
    prop = FontProperties(size=fontsize)

    def points(line: str) -> float:
        # Measured without a renderer (mathtext when the line has $...$); a line
        # that is not valid mathtext is estimated at 0.6 em per character.
        try:
            return text_to_path.get_text_width_height_descent(line, prop, ismath="$" in line)[0]
        except ValueError:
            return 0.6 * fontsize * len(line)

    # The renderer's hinting makes text about 7% wider than this measure.
    widest = 1.1 * max(points(line) for line in text.split("\n")) / 72
    width, height = fig.get_size_inches()
    if widest + 0.3 > width:
        # Whole tenths of an inch keep the figure's repr tidy ("<Figure size 610x340 ...>").
        fig.set_size_inches(min(math.ceil(10 * (widest + 0.3)) / 10, MAX_WIDTH), height)


def _as_array(x, name: str, ndims: tuple[int, ...], shape_doc: str) -> np.ndarray:
    """``x`` as a float64 NumPy array, after checking its type and number of dimensions."""
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_doc}, "
                        f"not {type(x).__name__}")
    t = torch.as_tensor(x)
    if t.dim() not in ndims:
        raise ValueError(f"{name} has shape {tuple(t.shape)} ({t.dim()}-D); "
                         f"expected shape {shape_doc}")
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


def _as_labels(x, name: str) -> np.ndarray:
    """A 1-D integer array of class labels."""
    if not isinstance(x, (torch.Tensor, np.ndarray, Sequence)):
        raise TypeError(f"{name} must be a 1-D tensor of class indices, not {type(x).__name__}")
    t = torch.as_tensor(x)
    if t.dim() != 1:
        raise ValueError(f"{name} has shape {tuple(t.shape)} ({t.dim()}-D); "
                         "expected a 1-D tensor of class indices (N,)")
    if t.is_floating_point() or t.is_complex():
        raise TypeError(f"{name} has dtype {t.dtype}; expected integer class indices")
    return t.detach().cpu().long().numpy()


def _formatter(a: np.ndarray):
    """A number formatter short enough for a cell: integers as such, else 1-2 decimals."""
    if np.allclose(a, np.round(a)):
        return lambda v: f"{int(round(v))}"
    decimals = 1 if np.abs(a).max() >= 10 else 2

    def fmt(v: float) -> str:
        # Adding 0.0 after rounding turns -0.0 into 0.0 (no cell reads "-0"); trailing
        # zeros go, so 2.50 reads 2.5 and 1.00 reads 1.
        text = f"{round(v, decimals) + 0.0:.{decimals}f}"
        return text.rstrip("0").rstrip(".")
    return fmt


def _text_color(cmap, norm, value: float) -> str:
    """Black on light cells, white on dark ones (perceived luminance of the cell colour)."""
    r, g, b, _ = plt.get_cmap(cmap)(norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def _signed_norm(*arrays: np.ndarray, headroom: float = 1.0) -> Normalize:
    """A colour scale centred on zero that covers every value of ``arrays``.

    ``headroom > 1`` stretches the scale so the extreme values get mid-dark colours,
    on which written numbers stay readable.
    """
    limit = max(float(np.nanmax(np.abs(a), initial=0.0)) for a in arrays) * headroom
    if not 0 < limit < math.inf:  # all zeros (or infinite values): any range will do
        limit = 1.0
    return Normalize(-limit, limit)


def _draw_matrix(ax, a: np.ndarray, cmap: str, norm, annotate: bool,
                 fontsize: float = 9) -> None:
    """Show a 2-D array cell by cell, with thin borders and optionally the values."""
    h, w = a.shape
    ax.imshow(a, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if max(h, w) <= _MAX_CELLS:
        # Minor ticks on the cell edges carry the grid, so white (zero) cells stay visible.
        ax.set_xticks(np.arange(-0.5, w), minor=True)
        ax.set_yticks(np.arange(-0.5, h), minor=True)
        ax.grid(which="minor", color=GRID_COLOR, linewidth=0.6)
        ax.tick_params(which="minor", length=0)
    if annotate:
        fmt = _formatter(a)
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, fmt(v), ha="center", va="center", fontsize=fontsize,
                    color=_text_color(cmap, norm, v))


def _grid_shape(n: int, max_cols: int = 8) -> tuple[int, int]:
    """Rows and columns for ``n`` small panels, at most ``max_cols`` per row."""
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def _check_count(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < 1:
        raise ValueError(f"{name}={value} must be at least 1")


# --------------------------------------------------------------------------------------
# Convolution geometry
# --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Geometry:
    """One convolution's sizes per spatial dimension (1 or 2 entries each)."""

    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    pads: tuple[tuple[int, int], ...]  # (before, after) per dimension
    dilation: tuple[int, ...]
    out: tuple[int, ...]
    padding_text: str  # the padding argument as the caller wrote it

    @classmethod
    def build(cls, input_size, kernel_size, stride, padding, dilation) -> "_Geometry":
        if isinstance(input_size, bool) or not isinstance(input_size, (int, Sequence)):
            raise TypeError(f"input_size={input_size!r} must be an int (1-D) "
                            "or a tuple of 2 ints (2-D)")
        size = (input_size,) if isinstance(input_size, int) else tuple(input_size)
        if len(size) not in (1, 2):
            raise ValueError(f"input_size={input_size!r} must be an int (1-D) or a tuple "
                             f"of 2 ints (2-D); got {len(size)} dimensions")
        size = ntuple(size, len(size), "input_size")
        check_positive(size, "input_size")
        n = len(size)
        # conv_output_size checks every argument and the "kernel larger than the
        # padded input" case, with the messages used everywhere in the package.
        out = conv_output_size(size, kernel_size, stride, padding, dilation)
        kernel, dil = ntuple(kernel_size, n, "kernel_size"), ntuple(dilation, n, "dilation")
        if isinstance(padding, str):
            pads = same_padding(kernel, dil) if padding == "same" else ((0, 0),) * n
            text = repr(padding)
        else:
            pads = tuple((p, p) for p in ntuple(padding, n, "padding"))
            text = _compact(ntuple(padding, n, "padding"))
        geo = cls(size, kernel, ntuple(stride, n, "stride"), pads, dil, tuple(out), text)
        if max(geo.padded) > _MAX_CELLS:
            raise ValueError(f"the padded input {geo.padded} has more than {_MAX_CELLS} "
                             "cells per side, too many to draw legibly; use a smaller "
                             "input_size")
        return geo

    @property
    def padded(self) -> tuple[int, ...]:
        return tuple(n + a + b for n, (a, b) in zip(self.size, self.pads))

    @property
    def span(self) -> tuple[int, ...]:
        """Cells covered by the dilated kernel: ``dilation * (kernel_size - 1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def start(self, index: tuple[int, ...]) -> tuple[int, ...]:
        """Padded coordinate of the first tap of the window of output ``index``."""
        return tuple(i * s for i, s in zip(index, self.stride))

    def taps(self, index: tuple[int, ...], dim: int) -> list[int]:
        """Padded coordinates of the taps of output ``index`` along dimension ``dim``."""
        first = self.start(index)[dim]
        return [first + t * self.dilation[dim] for t in range(self.kernel[dim])]

    def formula(self, dim: int, symbol: str) -> str:
        """PyTorch's output-size formula with this layer's numbers, as mathtext."""
        n, (a, b), k = self.size[dim], self.pads[dim], self.kernel[dim]
        s, d, out = self.stride[dim], self.dilation[dim], self.out[dim]
        pad = rf"2\cdot{a}" if a == b else f"{a} + {b}"
        return (rf"${symbol}_{{out}} = \lfloor({n} + {pad} - {d}\cdot({k}-1) - 1)"
                rf"\,/\,{s}\rfloor + 1 = {out}$")


def _output_indices(output_index, out: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Normalise ``output_index`` to a list of in-range index tuples."""
    n = len(out)
    if output_index is None:
        # Two neighbouring windows along the last dimension make the stride visible;
        # in 1-D a third one shows the pattern repeating.
        count = min(out[-1], 3 if n == 1 else 2)
        return [(0,) * (n - 1) + (j,) for j in range(count)]
    is_int = isinstance(output_index, int) and not isinstance(output_index, bool)
    if n == 1:
        items = [output_index] if is_int else list(output_index)
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
    result = []
    for item in items:
        if len(item) != n or not all(isinstance(i, int) and not isinstance(i, bool)
                                     for i in item):
            raise ValueError(f"output_index={output_index!r}: each position must be "
                             f"{'an int' if n == 1 else 'a tuple of 2 ints'}")
        if not all(-o <= i < o for i, o in zip(item, out)):
            shown = item[0] if n == 1 else item
            raise ValueError(f"output_index={shown} is outside the output of size "
                             f"{out[0] if n == 1 else out}")
        result.append(tuple(i % o for i, o in zip(item, out)))
    return result


def plot_kernel_footprint(input_size, kernel_size, stride=1, padding=0, dilation=1,
                          output_index=None) -> Figure:
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
        ValueError: bad sizes (via ``conv_output_size``), a dilated kernel larger
            than the padded input, an output index outside the output.

    >>> fig = plot_kernel_footprint((7, 7), 3, stride=2, padding=1, dilation=2)
    """
    geo = _Geometry.build(input_size, kernel_size, stride, padding, dilation)
    indices = _output_indices(output_index, geo.out)
    if len(geo.size) == 1:
        return _footprint_1d(geo, indices)
    return _footprint_2d(geo, indices)


def _compact(values: tuple[int, ...]) -> str:
    """``3`` for ``(3, 3)``, ``(3, 5)`` otherwise: how one would write the argument."""
    return str(values[0]) if len(set(values)) == 1 else str(values)


def _parameters_text(geo: _Geometry) -> str:
    return (f"kernel_size={_compact(geo.kernel)}, stride={_compact(geo.stride)}, "
            f"padding={geo.padding_text}, dilation={_compact(geo.dilation)}")


def _padding_patch() -> Patch:
    return Patch(facecolor=PADDING_COLOR, edgecolor="0.55", hatch="///", label="padding")


def _footprint_1d(geo: _Geometry, indices: list[tuple[int, ...]]) -> Figure:
    (length,), (before, _), (out,) = geo.padded, geo.pads[0], geo.out
    span = geo.span[0]
    fig = _figure(max(0.42 * length + 1.6, 6.0), 3.4)
    ax = fig.add_subplot()
    y_in, y_out = 3.0, 0.0  # bottom edges of the input and output rows (height 1)

    for i in range(length):
        is_pad = not before <= i < before + geo.size[0]
        ax.add_patch(Rectangle((i, y_in), 1, 1, linewidth=0.8,
                               facecolor=PADDING_COLOR if is_pad else "white",
                               edgecolor="0.55" if is_pad else "0.35",
                               hatch="///" if is_pad else None))
        if not is_pad:
            ax.text(i + 0.5, y_in + 0.62, str(i - before), ha="center", va="center",
                    fontsize=8, color="0.35")

    # Output cell j sits under the middle of its window, so the spacing of the
    # output cells is the stride and their offset is half the span.
    centres = [j * geo.stride[0] + span / 2 for j in range(out)]
    chosen = {idx[0]: PALETTE[k] for k, idx in enumerate(indices)}
    for j, c in enumerate(centres):
        color = chosen.get(j)
        ax.add_patch(Rectangle((c - 0.5, y_out), 1, 1, linewidth=0.8, edgecolor="0.35",
                               facecolor="white" if color is None else color,
                               alpha=1.0 if color is None else 0.45))
        ax.text(c, y_out + 0.5, str(j), ha="center", va="center", fontsize=8, color="0.15")

    handles = [_padding_patch()] if any(before + after for before, after in geo.pads) else []
    for k, idx in enumerate(indices):
        color, taps = PALETTE[k], geo.taps(idx, 0)
        # Neighbouring windows often share input cells: each window's dots sit at
        # its own offset inside the cell so that every tap stays visible.
        dx = (k - (len(indices) - 1) / 2) * 0.22
        for t in taps:
            ax.plot([t + 0.5 + dx, centres[idx[0]]], [y_in + 0.25, y_out + 1], color=color,
                    linewidth=1.5, solid_capstyle="round", zorder=2)
        ax.plot([t + 0.5 + dx for t in taps], [y_in + 0.25] * len(taps), "o", color=color,
                markersize=5, zorder=3)
        # A bracket above the row marks the window; their left ends are `stride` apart.
        y = y_in + 1.25 + 0.3 * k
        start = geo.start(idx)[0]
        ax.plot([start + 0.05, start + 0.05, start + span - 0.05, start + span - 0.05],
                [y - 0.12, y, y, y - 0.12], color=color, linewidth=1.6)
        named = [str(t - before) if before <= t < before + geo.size[0] else "pad" for t in taps]
        handles.append(Line2D([], [], color=color, marker="o", markersize=4, linewidth=1.5,
                              label=f"output {idx[0]} \u2190 input [{', '.join(named)}]"))

    ax.set_xlim(-0.1, length + 0.1)
    ax.set_ylim(y_out - 0.1, y_in + 1.35 + 0.3 * len(indices))
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([y_out + 0.5, y_in + 0.5], ["output", "input"])
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)
    _suptitle(fig, f"Conv1d, input length {geo.size[0]}: {_parameters_text(geo)}\n"
              + geo.formula(0, "L"), 10.5)
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 2),
               fontsize=8, frameon=False)
    return fig


def _grid_axes(ax, rows: int, cols: int, row_labels, col_labels,
               frame: tuple[int, int] | None = None) -> None:
    """Cell borders, equal aspect, row 0 at the top, ticks at the cell centres.

    ``frame=(frame_rows, frame_cols)`` makes the axes span that many cells, with the
    grid at the top and centred horizontally: two panels side by side, with width
    ratios equal to their frame widths and the same frame height, then draw their
    cells at the same size.
    """
    frame_rows, frame_cols = frame or (rows, cols)
    ax.vlines(range(cols + 1), 0, rows, color=GRID_COLOR, linewidth=0.6, zorder=1.5)
    ax.hlines(range(rows + 1), 0, cols, color=GRID_COLOR, linewidth=0.6, zorder=1.5)
    margin = (frame_cols - cols) / 2
    ax.set_xlim(-margin, cols + margin)
    ax.set_ylim(frame_rows, 0)
    ax.set_aspect("equal")
    for axis, labels in ((ax.xaxis, col_labels), (ax.yaxis, row_labels)):
        # Thin the labels of long sides so they do not collide.
        step = max(1, math.ceil(len(labels) / 12))
        kept = [(pos, text) for n, (pos, text) in enumerate(labels) if n % step == 0]
        axis.set_ticks([p for p, _ in kept], [t for _, t in kept])
    ax.tick_params(labelsize=7, length=2)
    ax.xaxis.tick_top()
    for spine in ax.spines.values():
        spine.set_visible(False)


def _footprint_2d(geo: _Geometry, indices: list[tuple[int, ...]]) -> Figure:
    (rows, cols), (oh, ow) = geo.padded, geo.out
    (top, _), (left, _) = geo.pads
    h, w = geo.size
    ow_drawn = max(ow, 3)  # a 1x1 output still gets a panel wide enough for its title
    cell = min(0.32, (MAX_WIDTH - 1.4) / (cols + ow_drawn))
    fig = _figure(cell * (cols + ow_drawn) + 1.4, cell * rows + 1.5)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[cols, ow_drawn])

    # Padding: the whole padded area hatched, then the true input painted over it.
    ax_in.add_patch(Rectangle((0, 0), cols, rows, facecolor=PADDING_COLOR, edgecolor="0.55",
                              hatch="///", linewidth=0))
    ax_in.add_patch(Rectangle((left, top), w, h, facecolor="white", edgecolor="none"))
    _grid_axes(ax_in, rows, cols,
               [(top + i + 0.5, str(i)) for i in range(h)],
               [(left + j + 0.5, str(j)) for j in range(w)])
    ax_in.add_patch(Rectangle((left, top), w, h, fill=False, edgecolor="0.25", linewidth=1.2,
                              zorder=2))
    padded = f", padded to {rows}\u00d7{cols}" if (rows, cols) != (h, w) else ""
    ax_in.set_title(f"input {h}\u00d7{w}{padded}", fontsize=10)

    _grid_axes(ax_out, oh, ow, [(i + 0.5, str(i)) for i in range(oh)],
               [(j + 0.5, str(j)) for j in range(ow)], frame=(rows, ow_drawn))
    ax_out.yaxis.tick_right()  # keeps the row labels out of the arrows' way
    ax_out.add_patch(Rectangle((0, 0), ow, oh, fill=False, edgecolor="0.25", linewidth=1.2,
                               zorder=2))
    ax_out.set_title(f"output {oh}\u00d7{ow}", fontsize=10)

    handles = [_padding_patch()] if any(before + after for before, after in geo.pads) else []
    many = len(indices) > 1
    for k, idx in enumerate(indices):
        color = PALETTE[k]
        ys, xs = geo.taps(idx, 0), geo.taps(idx, 1)
        # Overlapping windows share cells: each window's dots sit at their own offset
        # in the cell and its outline at its own inset, so every tap and edge shows.
        dx = (k - (len(indices) - 1) / 2) * 0.22
        inset = 0.06 + 0.1 * k
        for y in ys:
            for x in xs:
                ax_in.add_patch(Rectangle((x, y), 1, 1, facecolor=color,
                                          alpha=0.12 if many else 0.25, linewidth=0, zorder=1.2))
        gx, gy = np.meshgrid(np.array(xs) + 0.5 + dx, np.array(ys) + 0.5)
        ax_in.plot(gx.ravel(), gy.ravel(), "o", color=color, markersize=min(5, cell * 16),
                   zorder=3)
        y0, x0 = geo.start(idx)
        sh, sw = geo.span
        ax_in.add_patch(Rectangle((x0 + inset, y0 + inset), sw - 2 * inset, sh - 2 * inset,
                                  fill=False, edgecolor=color, linewidth=2, zorder=2.5))
        i, j = idx
        ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=color, alpha=0.45, linewidth=0))
        ax_out.plot([j + 0.5], [i + 0.5], "o", color=color, markersize=min(5, cell * 16),
                    zorder=3)
        arrow = ConnectionPatch(xyA=(x0 + sw - inset, y0 + sh / 2), coordsA=ax_in.transData,
                                xyB=(j + 0.1, i + 0.5), coordsB=ax_out.transData,
                                arrowstyle="-|>", color=color, linewidth=1.2,
                                connectionstyle="arc3,rad=-0.15", zorder=4)
        arrow.set_in_layout(False)
        fig.add_artist(arrow)
        handles.append(Line2D([], [], color=color, marker="o", linewidth=2,
                              label=f"window of output ({i}, {j})"))

    formulas = [geo.formula(0, "H"), geo.formula(1, "W")]
    if geo.formula(0, "W") == formulas[1]:  # the same numbers in both dimensions
        formulas = [formulas[0].replace("H_{out}", "H_{out} = W_{out}")]
    _suptitle(fig, f"Conv2d: {_parameters_text(geo)}\n" + "    ".join(formulas), 10.5)
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8,
               frameon=False)
    return fig


# --------------------------------------------------------------------------------------
# Channels
# --------------------------------------------------------------------------------------

def _xcorr2d(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    """2-D cross-correlation of one channel, d2l style: one shifted slice per tap."""
    kh, kw = k.shape
    oh, ow = x.shape[0] - kh + 1, x.shape[1] - kw + 1
    out = np.zeros((oh, ow))
    for a in range(kh):
        for b in range(kw):
            out += k[a, b] * x[a:a + oh, b:b + ow]
    return out


def plot_channel_sum(x, k, annotate: bool | None = None) -> Figure:
    """How a multi-channel convolution adds up: one 2-D cross-correlation per channel.

    Row ``c`` shows input channel ``x[c]``, kernel channel ``k[c]`` and their
    cross-correlation ``x[c] ⋆ k[c]`` (no padding, stride 1); the last panel is the
    output, the sum of the rows, which is what ``conv2d(x[None], k[None])`` returns
    for a single output channel. Colours are centred on zero (red positive, blue
    negative), one scale per column.

    Args:
        x: input ``(C_in, H, W)``.
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
    xa = _as_array(x, "x", (3,), "(C_in, H, W)")
    ka = _as_array(k, "k", (3,), "(C_in, kH, kW)")
    if xa.shape[0] != ka.shape[0]:
        raise ValueError(f"x has {xa.shape[0]} channels but k has {ka.shape[0]}; the kernel "
                         "needs one channel per input channel")
    if ka.shape[1] > xa.shape[1] or ka.shape[2] > xa.shape[2]:
        raise ValueError(f"kernel size {ka.shape[1:]} is larger than the input size "
                         f"{xa.shape[1:]}: the output would be empty")
    if max(xa.shape[1:]) > _MAX_CELLS:
        raise ValueError(f"x has spatial size {xa.shape[1:]}; at most {_MAX_CELLS} cells per "
                         "side can be drawn legibly")
    channels, h, w = xa.shape
    kh, kw = ka.shape[1:]
    parts = [_xcorr2d(xa[c], ka[c]) for c in range(channels)]
    total = np.sum(parts, axis=0)
    oh, ow = total.shape

    if annotate is None:
        annotate = max(h, w) <= _MAX_ANNOTATED

    op = 1.4  # width of an operator column, in cells
    widths = [w, op, kw, op, ow, op + 0.6, ow]
    cell = min(0.42, (MAX_WIDTH - 0.4) / sum(widths))
    fig = _figure(cell * sum(widths) + 0.4, channels * (cell * max(h, 3) + 0.35) + 0.5)
    grid = fig.add_gridspec(channels, 7, width_ratios=widths)
    # Numbers are the point when annotated, so the colours are kept lighter.
    headroom = 1.6 if annotate else 1.0
    norms = [_signed_norm(a, headroom=headroom) for a in (xa, ka, np.stack(parts), total)]
    longest = max(len(_formatter(a)(v)) for a in (xa, ka, total) for v in a.ravel())
    # About 0.6 em per character has to fit in a cell of `cell` inches (72 pt each).
    fontsize = min(9.0, cell * 72 / (0.65 * max(longest, 2)))

    def operator(spec, symbol, size=16):
        ax = fig.add_subplot(spec)
        ax.axis("off")
        ax.text(0.5, 0.5, symbol, ha="center", va="center", fontsize=size, color="0.3")

    for c in range(channels):
        panels = [(0, xa[c], rf"$x_{{{c}}}$"), (2, ka[c], rf"$k_{{{c}}}$"),
                  (4, parts[c], rf"$x_{{{c}}} \star k_{{{c}}}$")]
        for (column, a, title), norm in zip(panels, norms):
            ax = fig.add_subplot(grid[c, column])
            _draw_matrix(ax, a, CMAP_SIGNED, norm, annotate, fontsize)
            ax.set_title(title, fontsize=10)
            if column == 0:
                ax.set_ylabel(f"channel {c}", fontsize=9)
        operator(grid[c, 1], r"$\star$", size=22)
        operator(grid[c, 3], "=")
    operator(grid[:, 5], r"$\sum_c \rightarrow$")
    ax = fig.add_subplot(grid[:, 6])
    _draw_matrix(ax, total, CMAP_SIGNED, norms[3], annotate, fontsize)
    ax.set_title("output\n" + r"$\Sigma_c\, x_c \star k_c$", fontsize=10)
    _suptitle(fig, f"A {channels}-channel input, one output channel: correlate channel by "
              "channel, then add", 11)
    return fig


def _map_grid(fig, n: int, cols: int, rows: int):
    """``n`` axes in a ``rows × cols`` grid (unused trailing cells removed)."""
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return axes[:n]


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
    a = _as_array(maps, "maps", (3,), "(C, H, W); for a batch pass maps[0]")
    _check_count(max_maps, "max_maps")
    n = min(a.shape[0], max_maps)
    rows, cols = _grid_shape(n)
    panel = min(1.4, (MAX_WIDTH - 0.9) / cols)
    fig = _figure(panel * cols + 0.9, rows * (panel * a.shape[1] / a.shape[2] + 0.3) + 0.5)
    norm = _signed_norm(a[:n])
    axes = _map_grid(fig, n, cols, rows)
    for c, ax in enumerate(axes):
        image = ax.imshow(a[c], cmap=CMAP_SIGNED, norm=norm, interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"channel {c}", fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8, aspect=25 * min(rows, 2))
    shown = f"first {n} of {a.shape[0]}" if n < a.shape[0] else f"{n}"
    _suptitle(fig, title or f"Feature maps: {shown} channels, {a.shape[1]}\u00d7{a.shape[2]}",
              fontsize=11)
    return fig


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
    a = _as_array(weight, "weight", (4,), "(C_out, C_in, kH, kW)")
    _check_count(max_kernels, "max_kernels")
    c_out, c_in, kh, kw = a.shape
    if in_channel is not None:
        if isinstance(in_channel, bool) or not isinstance(in_channel, int):
            raise TypeError(f"in_channel={in_channel!r} must be an int or None")
        if not 0 <= in_channel < c_in:
            raise ValueError(f"in_channel={in_channel} must be in [0, {c_in}) for a weight "
                             f"with C_in={c_in}")
    n_out = min(c_out, max_kernels)
    grid = in_channel is None and c_in > 1
    if grid:
        n_in = min(c_in, 8)
        rows, cols = n_in, n_out
        tiles = [(i, o, o, i) for i in range(n_in) for o in range(n_out)]
    else:
        rows, cols = _grid_shape(n_out)
        tiles = [(o // cols, o % cols, o, in_channel or 0) for o in range(n_out)]

    # Coordinates are in kernel pixels; tiles are separated by gaps, and a wrapped
    # layout keeps extra room above each row for the labels.
    gap = max(0.5, 0.25 * kw)
    label = 0.0 if grid else max(gap, 0.3 * kh)
    step_x, step_y = kw + gap, kh + gap + label
    pixel = min(0.2, (MAX_WIDTH - 1.3) / (cols * step_x))  # inches per kernel pixel
    fig = _figure(pixel * cols * step_x + 1.3, pixel * rows * step_y + (1.0 if grid else 0.55))
    ax = fig.add_subplot()
    norm = _signed_norm(a[:n_out])
    for r, c, o, i in tiles:
        x0, y0 = c * step_x, r * step_y + label
        image = ax.imshow(a[o, i], cmap=CMAP_SIGNED, norm=norm, interpolation="nearest",
                          extent=(x0, x0 + kw, y0 + kh, y0))
        ax.add_patch(Rectangle((x0, y0), kw, kh, fill=False, edgecolor="0.55", linewidth=0.6))
        if not grid:
            ax.text(x0 + kw / 2, y0 - 0.15 * gap, f"{o}", ha="center", va="bottom", fontsize=8)
    ax.set_xlim(-gap / 2, cols * step_x - gap / 2)
    ax.set_ylim(rows * step_y - gap / 2, -gap / 2)
    ax.set_aspect("equal")
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.tick_params(length=0, labelsize=8)
    if grid:
        ax.xaxis.tick_top()
        ax.set_xticks([c * step_x + kw / 2 for c in range(cols)], [str(o) for o in range(cols)])
        ax.set_yticks([r * step_y + kh / 2 for r in range(rows)],
                      [f"in {i}" for i in range(rows)])
        ax.set_xlabel("output channel", fontsize=9)
        ax.xaxis.set_label_position("top")
    else:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.colorbar(image, ax=ax, shrink=0.9 if rows > 1 else 1.0, aspect=20 if rows > 2 else 10)
    shape = "\u00d7".join(map(str, a.shape))
    if grid:
        what = "rows: input channel" + (f", first 8 of {c_in}" if c_in > 8 else "")
    else:
        what = "numbered by output channel" + (f"; input channel {in_channel}" if c_in > 1 else "")
    more = f", first {n_out} of {c_out} filters" if n_out < c_out else ""
    _suptitle(fig, f"Kernels of a {shape} weight{more} ({what})", 10.5)
    return fig


# --------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------

_HISTORY_KEYS = ("train_loss", "train_acc", "test_loss", "test_acc", "lr")


def _series(history, key: str) -> list[float] | None:
    """``history[key]`` or ``history.key`` as floats, ``None`` when absent or empty."""
    values = history.get(key) if isinstance(history, Mapping) else getattr(history, key, None)
    if values is None or len(values) == 0:
        return None
    return [float(v) for v in values]


def _is_history(obj) -> bool:
    if isinstance(obj, Mapping):
        return any(key in obj for key in _HISTORY_KEYS)
    return any(hasattr(obj, key) for key in _HISTORY_KEYS)


def plot_history(history) -> Figure:
    """Loss and accuracy per epoch, training against test, for one run or several.

    Accuracies are shown in percent; a run whose accuracies are all at most 1 is read
    as fractions and multiplied by 100.

    Args:
        history: one run, a mapping or an object with per-epoch lists ``train_loss``,
            ``train_acc``, ``test_loss``, ``test_acc`` and optionally ``lr`` (missing or
            empty lists are skipped); or a mapping from run names to runs, e.g.
            ``{"torch": h1, "scratch": h2}``, to compare them.

    Returns:
        The figure: a loss panel, an accuracy panel and, when any run records a
        learning rate, a learning-rate panel. With one run, training is blue and
        test red; with several, each run has its colour, training solid and test
        dashed.
    """
    if _is_history(history):
        runs = {"": history}
    elif isinstance(history, Mapping) and history:
        runs = dict(history)
        for name, run in runs.items():
            if not _is_history(run):
                raise ValueError(f"history[{name!r}] has none of the keys {_HISTORY_KEYS}")
    else:
        raise ValueError(f"history must have some of the keys {_HISTORY_KEYS}, or map run "
                         f"names to such histories; got {type(history).__name__}")
    if len(runs) > len(PALETTE):
        raise ValueError(f"history has {len(runs)} runs; at most {len(PALETTE)} can be "
                         "told apart by colour")
    has_lr = any(_series(run, "lr") for run in runs.values())
    fig = _figure(MAX_WIDTH if has_lr else 7.0, 3.0)
    axes = fig.subplots(1, 3 if has_lr else 2)

    for r, (name, run) in enumerate(runs.items()):
        accs = [s for s in (_series(run, "train_acc"), _series(run, "test_acc")) if s]
        scale = 100.0 if accs and max(max(s) for s in accs) <= 1.0 else 1.0
        # Runs that agree (torch against scratch) draw on top of each other: each
        # later run is thinner, with its own marker, so the earlier ones stay visible.
        line = dict(linewidth=1.8, markersize=3.5, marker="o")
        if len(runs) > 1:
            line = dict(linewidth=max(1.2, 3.6 - 1.2 * r), markersize=max(3.0, 7.0 - 2.0 * r),
                        marker="os^Dv*"[r], alpha=0.55 if r == 0 else 1.0)
        for split, style in (("train", "-"), ("test", "--")):
            if len(runs) == 1:
                color, style, label = PALETTE[0 if split == "train" else 1], "-", split
            else:
                color, label = PALETTE[r], f"{name} {split}"
            loss, acc = _series(run, f"{split}_loss"), _series(run, f"{split}_acc")
            for ax, values, text in ((axes[0], loss, label),
                                     (axes[1], acc and [scale * v for v in acc], label)):
                if values is None:
                    continue
                if ax is axes[1]:
                    text = f"{label} ({values[-1]:.1f}%)"
                epochs = range(1, len(values) + 1)
                ax.plot(epochs, values, style, color=color, label=text,
                        **(line if len(values) <= 30 else {**line, "marker": None}))
        lr = _series(run, "lr")
        if has_lr and lr:
            axes[2].plot(range(1, len(lr) + 1), lr, color=PALETTE[r] if len(runs) > 1 else "0.25",
                         label=name or None, **line)

    titles = [("loss", "loss"), ("accuracy", "accuracy (%)"), ("learning rate", "learning rate")]
    for ax, (title, ylabel) in zip(axes, titles):
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, color="0.9", linewidth=0.8)
        ax.spines[["top", "right"]].set_visible(False)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8, frameon=False, handlelength=3)
    if has_lr:
        values = [v for run in runs.values() for v in (_series(run, "lr") or []) if v > 0]
        if values and max(values) / min(values) > 10:
            axes[2].set_yscale("log")
    names = ", ".join(runs) if len(runs) > 1 else ""
    _suptitle(fig, "Training history" + (f": {names}" if names else ""), 11)
    return fig


def plot_confusion_matrix(labels, predictions, num_classes: int = 10,
                          class_names: Sequence[str] | None = None) -> Figure:
    """Counts of (true, predicted) class pairs, coloured by the share of each true class.

    Cell ``(i, j)`` is the number of samples of class ``i`` predicted as ``j``; its
    colour is that count divided by the number of samples of class ``i``, so the
    diagonal reads as per-class recall. A square-root colour scale keeps the rare
    mistakes visible next to a dark diagonal.

    Args:
        labels: true classes ``(N,)``, integers in ``[0, num_classes)``.
        predictions: predicted classes ``(N,)`` (e.g. ``logits.argmax(1)``).
        num_classes: number of classes.
        class_names: optional names for the tick labels, ``num_classes`` of them.

    Returns:
        The figure: the matrix and its colour bar (two axes).

    Shape:
        - labels, predictions: :math:`(N,)`
    """
    y = _as_labels(labels, "labels")
    p = _as_labels(predictions, "predictions")
    _check_count(num_classes, "num_classes")
    if y.shape != p.shape:
        raise ValueError(f"labels has {y.shape[0]} entries but predictions has {p.shape[0]}")
    for name, v in (("labels", y), ("predictions", p)):
        if v.size and (v.min() < 0 or v.max() >= num_classes):
            raise ValueError(f"{name} has values in [{v.min()}, {v.max()}]; expected "
                             f"classes in [0, {num_classes}) (num_classes={num_classes})")
    if class_names is not None and len(class_names) != num_classes:
        raise ValueError(f"class_names has {len(class_names)} names; expected "
                         f"num_classes={num_classes}")
    names = [str(c) for c in (class_names if class_names is not None else range(num_classes))]
    counts = np.bincount(y * num_classes + p, minlength=num_classes ** 2).reshape(
        num_classes, num_classes)
    totals = counts.sum(axis=1, keepdims=True)
    rates = counts / np.maximum(totals, 1)

    cell = min(0.46, 5.5 / num_classes)
    fig = _figure(cell * num_classes + 2.2, cell * num_classes + 1.6)
    ax = fig.add_subplot()
    norm = PowerNorm(gamma=0.5, vmin=0.0, vmax=1.0)
    image = ax.imshow(rates, cmap=CMAP_RATE, norm=norm, interpolation="nearest")
    if num_classes <= 20:
        for (i, j), count in np.ndenumerate(counts):
            ax.text(j, i, str(count), ha="center", va="center",
                    fontsize=8 if num_classes <= 12 else 6,
                    color=_text_color(CMAP_RATE, norm, rates[i, j]) if count else "0.7")
    ticks = np.arange(num_classes)
    rotate = max(len(n) for n in names) > 2
    ax.set_xticks(ticks, names, rotation=45 if rotate else 0, ha="right" if rotate else "center",
                  fontsize=8)
    ax.set_yticks(ticks, names, fontsize=8)
    ax.set_xticks(ticks - 0.5, minor=True)
    ax.set_yticks(ticks - 0.5, minor=True)
    ax.grid(which="minor", color="white", linewidth=1)
    ax.tick_params(which="both", length=0)
    ax.set_xlabel("predicted label")
    ax.set_ylabel("true label")
    accuracy = np.trace(counts) / max(counts.sum(), 1)
    ax.set_title(f"Confusion matrix: accuracy {100 * accuracy:.2f}% of {counts.sum()} samples",
                 fontsize=10.5)
    fig.colorbar(image, ax=ax, shrink=0.85, label="share of the true class")
    return fig


def _denormalise(images: np.ndarray, mean, std) -> np.ndarray:
    """Undo ``transforms.Normalize(mean, std)`` and clip to [0, 1]: (N, C, H, W) -> same."""
    channels = images.shape[1]
    mean = np.broadcast_to(np.asarray(mean, dtype=float).reshape(-1), (channels,))
    std = np.broadcast_to(np.asarray(std, dtype=float).reshape(-1), (channels,))
    return np.clip(images * std[:, None, None] + mean[:, None, None], 0.0, 1.0)


def plot_misclassified(images, labels, predictions, max_images: int = 16,
                       mean=0.1307, std=0.3081,
                       class_names: Sequence[str] | None = None) -> Figure:
    """The first misclassified images, each titled "true → predicted".

    Only samples with ``labels != predictions`` are shown, in their original order,
    so passing a whole test batch is fine.

    Args:
        images: normalised images ``(N, 1, H, W)`` (grey) or ``(N, 3, H, W)`` (colour).
        labels: true classes ``(N,)``.
        predictions: predicted classes ``(N,)``.
        max_images: show at most this many images.
        mean, std: the ``Normalize`` statistics to undo (MNIST's by default); a float
            or one value per channel.
        class_names: optional names indexed by class.

    Returns:
        The figure: one axes per shown image (a single message axes if nothing is
        misclassified).

    Shape:
        - images: :math:`(N, C, H, W)` with :math:`C \\in \\{1, 3\\}`
        - labels, predictions: :math:`(N,)`
    """
    x = _as_array(images, "images", (4,), "(N, 1, H, W) or (N, 3, H, W)")
    if x.shape[1] not in (1, 3):
        raise ValueError(f"images has {x.shape[1]} channels; expected 1 (grey) or 3 (colour)")
    y = _as_labels(labels, "labels")
    p = _as_labels(predictions, "predictions")
    _check_count(max_images, "max_images")
    if not x.shape[0] == y.shape[0] == p.shape[0]:
        raise ValueError(f"images, labels and predictions must have the same length N; got "
                         f"{x.shape[0]}, {y.shape[0]} and {p.shape[0]}")
    wrong = np.flatnonzero(y != p)
    shown = wrong[:max_images]

    def name(c):
        return str(class_names[c]) if class_names is not None else str(c)

    if len(shown) == 0:
        fig = _figure(4.0, 1.0)
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, f"No misclassified images among {x.shape[0]}.", ha="center",
                va="center")
        return fig
    pictures = _denormalise(x[shown], mean, std)
    rows, cols = _grid_shape(len(shown))
    panel = min(1.1, (MAX_WIDTH - 0.2) / cols)
    fig = _figure(panel * cols + 0.2, rows * (panel + 0.3) + 0.5)
    axes = _map_grid(fig, len(shown), cols, rows)
    for ax, picture, n in zip(axes, pictures, shown):
        if picture.shape[0] == 1:
            ax.imshow(picture[0], cmap=CMAP_IMAGE, vmin=0, vmax=1, interpolation="nearest")
        else:
            ax.imshow(picture.transpose(1, 2, 0), interpolation="nearest")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(f"{name(y[n])} \u2192 {name(p[n])}", fontsize=9, color=PALETTE[1])
    _suptitle(fig, f"Misclassified (true \u2192 predicted): {len(shown)} of {len(wrong)} "
              f"errors among {x.shape[0]} images", 10.5)
    return fig


# --------------------------------------------------------------------------------------
# Pooling
# --------------------------------------------------------------------------------------

def _pool2d(x: np.ndarray, kernel: tuple[int, int], stride: tuple[int, int], mode: str):
    """Pool a 2-D array window by window; also return each window's argmax (row, col)."""
    oh, ow = pool_output_size(x.shape, kernel, stride)
    out = np.zeros((oh, ow))
    winners = {}
    for i in range(oh):
        for j in range(ow):
            r, c = i * stride[0], j * stride[1]
            window = x[r:r + kernel[0], c:c + kernel[1]]
            out[i, j] = window.max() if mode == "max" else window.mean()
            a, b = np.unravel_index(np.argmax(window), window.shape)
            winners[i, j] = (r + a, c + b)
    return out, winners


def plot_pooling(x, kernel_size, stride=None, mode: str = "max") -> Figure:
    """A pooling layer on a small 2-D input: the windows outlined, the outputs computed.

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
        - output: :math:`(\\lfloor (H - kH) / sH \\rfloor + 1, \\lfloor (W - kW) / sW \\rfloor + 1)`
    """
    a = _as_array(x, "x", (2,), "(H, W)")
    if mode not in ("max", "avg"):
        raise ValueError(f"mode={mode!r} must be 'max' or 'avg'")
    if max(a.shape) > 12:
        raise ValueError(f"x has shape {a.shape}; at most 12×12 can be drawn with its values")
    kernel = ntuple(kernel_size, 2, "kernel_size")
    steps = kernel if stride is None else ntuple(stride, 2, "stride")
    out, winners = _pool2d(a, kernel, steps, mode)
    (h, w), (oh, ow) = a.shape, out.shape
    ow_drawn = max(ow, 2)  # room for the output panel's title
    cell = min(0.5, (MAX_WIDTH - 1.0) / (w + ow_drawn))
    fig = _figure(cell * (w + ow_drawn) + 1.0, cell * h + 1.4)
    ax_in, ax_out = fig.subplots(1, 2, width_ratios=[w, ow_drawn])
    for ax, values in ((ax_in, a), (ax_out, out)):
        fmt = _formatter(values)
        rows, cols = values.shape
        _grid_axes(ax, rows, cols, [(i + 0.5, str(i)) for i in range(rows)],
                   [(j + 0.5, str(j)) for j in range(cols)],
                   frame=(h, w) if ax is ax_in else (h, ow_drawn))
        for (i, j), v in np.ndenumerate(values):
            ax.text(j + 0.5, i + 0.5, fmt(v), ha="center", va="center", fontsize=9, zorder=4)
    overlapping = steps[0] < kernel[0] or steps[1] < kernel[1]
    for i in range(oh):
        for j in range(ow):
            color = PALETTE[(i * ow + j) % len(PALETTE)]
            r, c = i * steps[0], j * steps[1]
            # Overlapping windows are outlined only (fills would mix into grey), at
            # different insets, and rings around a shared winner get different sizes.
            inset = 0.07 + (0.08 * ((i + j) % 2) if overlapping else 0.0)
            ring = 1.0 + (0.25 * ((i * ow + j) % 3) if overlapping else 0.0)
            if not overlapping:
                ax_in.add_patch(Rectangle((c, r), kernel[1], kernel[0], facecolor=color,
                                          alpha=0.2, linewidth=0))
            ax_in.add_patch(Rectangle((c + inset, r + inset), kernel[1] - 2 * inset,
                                      kernel[0] - 2 * inset, fill=False, edgecolor=color,
                                      linewidth=2, zorder=3))
            ax_out.add_patch(Rectangle((j, i), 1, 1, facecolor=color, alpha=0.3, linewidth=0))
            if mode == "max":
                wr, wc = winners[i, j]
                ax_in.plot(wc + 0.5, wr + 0.5, "o", markersize=cell * 44 * ring,
                           markerfacecolor="none", markeredgecolor=color, markeredgewidth=1.5,
                           zorder=3.5)
    ax_in.set_title(f"input {h}\u00d7{w}", fontsize=10)
    ax_out.set_title(f"output {oh}\u00d7{ow}", fontsize=10)
    _suptitle(fig, f"{'Max' if mode == 'max' else 'Average'} pooling, "
              f"kernel_size={_compact(kernel)}, stride={_compact(steps)}\n"
              f"each output is the {'max' if mode == 'max' else 'mean'} of its window",
              fontsize=10.5)
    return fig


def plot_shift_tolerance(image, shifts: Sequence[int] = (0, 1, 2),
                         kernel_size: int = 2) -> Figure:
    """How max pooling dampens small shifts: shifted copies of an image, pooled.

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
    """
    a = _as_array(image, "image", (2, 3), "(H, W) or (1, H, W)")
    if a.ndim == 3:
        if a.shape[0] != 1:
            raise ValueError(f"image has shape {a.shape}; expected one channel (1, H, W)")
        a = a[0]
    _check_count(kernel_size, "kernel_size")
    shifts = list(shifts)
    if not shifts or not all(isinstance(s, int) and 0 <= s < a.shape[1] for s in shifts):
        raise ValueError(f"shifts={shifts!r} must be a non-empty list of ints in "
                         f"[0, {a.shape[1]}) (the image width)")
    if len(shifts) > 8:
        raise ValueError(f"shifts has {len(shifts)} entries; at most 8 fit across the page")
    # Measuring above the background makes a blank area count as zero; max pooling
    # commutes with subtracting a constant, so the pooled maps are unaffected.
    ink = a - a.min()
    shifted = []
    for s in shifts:
        moved = np.zeros_like(ink)
        moved[:, s:] = ink[:, :ink.shape[1] - s]
        shifted.append(moved)
    window = (kernel_size, kernel_size)
    pooled = [_pool2d(m, window, window, "max")[0] for m in shifted]

    def change(new, old):
        return np.linalg.norm(new - old) / (np.linalg.norm(old) or 1.0)

    cols = len(shifts)
    panel = min(1.8, (MAX_WIDTH - 0.3) / cols)
    fig = _figure(max(panel * cols + 0.3, 4.5), 2 * panel + 1.1)
    axes = fig.subplots(2, cols, squeeze=False)
    vmax = float(ink.max()) or 1.0
    for k, s in enumerate(shifts):
        rows = ((axes[0, k], shifted[k],
                 f"shift {s}: {100 * change(shifted[k], ink):.0f}% change"),
                (axes[1, k], pooled[k],
                 f"pooled: {100 * change(pooled[k], pooled[0]):.0f}% change"))
        if s == 0:  # the reference column
            rows = ((axes[0, k], shifted[k], "original"),
                    (axes[1, k], pooled[k], f"{kernel_size}\u00d7{kernel_size} max pooled"))
        for ax, values, text in rows:
            ax.imshow(values, cmap=CMAP_IMAGE, vmin=0.0, vmax=vmax, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(text, fontsize=8.5)
    _suptitle(fig, f"Shifting the input, then {kernel_size}\u00d7{kernel_size} max pooling\n"
              r"change $= \|f(\mathrm{shifted}) - f(\mathrm{original})\|\,/\,"
              r"\|f(\mathrm{original})\|$", 10.5)
    return fig
