"""The look shared by every figure: colours, figure size, matrices drawn cell by cell.

A colour means the same thing in every figure of the course:

* one colormap family (ColorBrewer): ``CMAP_SIGNED`` (``RdBu_r``) centred on zero for
  anything with a sign (red positive, blue negative, white zero), ``CMAP_RATE``
  (``Blues``) for rates and counts, ``CMAP_IMAGE`` (``Greys``) for images (ink dark on
  a white page);
* ``PALETTE`` colours the individual windows, runs or curves;
* figures are at most ``MAX_WIDTH`` inches wide (the width of a book page) and use
  matplotlib's constrained layout.

The constants are public (``viz.CMAP_RATE`` in a notebook's own figure); the helpers
are the building blocks of the figure modules of this package.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.textpath import text_to_path

__all__ = ["MAX_WIDTH", "CMAP_SIGNED", "CMAP_RATE", "CMAP_IMAGE", "PALETTE", "PADDING_COLOR",
           "GRID_COLOR"]

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

#: Grids larger than this many cells per side are unreadable at book width.
MAX_CELLS = 40
#: Matrices up to this size get their values written in the cells.
MAX_ANNOTATED = 6


# --------------------------------------------------------------------------------------
# Figures and titles
# --------------------------------------------------------------------------------------

def new_figure(width: float, height: float) -> Figure:
    """A new pyplot figure with constrained layout, at most ``MAX_WIDTH`` wide."""
    fig = plt.figure(figsize=(min(width, MAX_WIDTH), height), layout="constrained")
    # A little more room than the default between titles and panels (inches).
    fig.get_layout_engine().set(h_pad=0.07, w_pad=0.05)
    return fig


def _text_points(line: str, prop: FontProperties) -> float:
    """Width of one line of text in points, measured without a renderer."""
    # Mathtext when the line has $...$; a line that is not valid mathtext is
    # estimated at 0.6 em per character.
    try:
        return text_to_path.get_text_width_height_descent(line, prop, ismath="$" in line)[0]
    except ValueError:
        return 0.6 * prop.get_size() * len(line)


def suptitle(fig: Figure, text: str, fontsize: float = 10.5) -> None:
    """Set the figure title, widening the figure (up to MAX_WIDTH) if the title needs it."""
    fig.suptitle(text, fontsize=fontsize)
    prop = FontProperties(size=fontsize)
    # The renderer's hinting makes text about 7% wider than this measure.
    widest = 1.1 * max(_text_points(line, prop) for line in text.split("\n")) / 72
    width, height = fig.get_size_inches()
    if widest + 0.3 > width:
        # Whole tenths of an inch keep the figure's repr tidy ("<Figure size 610x340 ...>").
        fig.set_size_inches(min(math.ceil(10 * (widest + 0.3)) / 10, MAX_WIDTH), height)


def compact(values: Sequence[int]) -> str:
    """``3`` for ``(3, 3)``, ``(3, 5)`` otherwise: how one would write the argument.

    >>> compact((3, 3)), compact((3, 5))
    ('3', '(3, 5)')
    """
    return str(values[0]) if len(set(values)) == 1 else str(tuple(values))


def hide_spines(ax: Axes) -> None:
    """Remove the frame of an axes that draws its own cells."""
    for spine in ax.spines.values():
        spine.set_visible(False)


# --------------------------------------------------------------------------------------
# Numbers and colours
# --------------------------------------------------------------------------------------

def formatter(a: np.ndarray) -> Callable[[float], str]:
    """A number formatter short enough for a cell: integers as such, else 1-2 decimals.

    >>> fmt = formatter(np.array([0.5, -1.25]))
    >>> fmt(2.5), fmt(-1.254), fmt(-0.001)
    ('2.5', '-1.25', '0')
    """
    if np.allclose(a, np.round(a)):
        return lambda v: f"{int(round(v))}"
    decimals = 1 if np.abs(a).max() >= 10 else 2

    def fmt(v: float) -> str:
        # Adding 0.0 after rounding turns -0.0 into 0.0 (no cell reads "-0"); trailing
        # zeros go, so 2.50 reads 2.5 and 1.00 reads 1.
        text = f"{round(v, decimals) + 0.0:.{decimals}f}"
        return text.rstrip("0").rstrip(".")
    return fmt


def text_color(cmap: str, norm: Normalize, value: float) -> str:
    """Black on light cells, white on dark ones (perceived luminance of the cell colour)."""
    r, g, b, _ = plt.get_cmap(cmap)(norm(value))
    return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"


def signed_norm(*arrays: np.ndarray, headroom: float = 1.0) -> Normalize:
    """A colour scale centred on zero that covers every value of ``arrays``.

    ``headroom > 1`` stretches the scale so the extreme values get mid-dark colours,
    on which written numbers stay readable.
    """
    limit = max(float(np.nanmax(np.abs(a), initial=0.0)) for a in arrays) * headroom
    if not 0 < limit < math.inf:  # all zeros (or infinite values): any range will do
        limit = 1.0
    return Normalize(-limit, limit)


# --------------------------------------------------------------------------------------
# Grids of cells and of panels
# --------------------------------------------------------------------------------------

def draw_matrix(ax: Axes, a: np.ndarray, cmap: str, norm: Normalize, annotate: bool,
                fontsize: float = 9) -> None:
    """Show a 2-D array ``(h, w)`` cell by cell, with thin borders and optionally the values."""
    h, w = a.shape
    ax.imshow(a, cmap=cmap, norm=norm, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if max(h, w) <= MAX_CELLS:
        # Minor ticks on the cell edges carry the grid, so white (zero) cells stay visible.
        ax.set_xticks(np.arange(-0.5, w), minor=True)
        ax.set_yticks(np.arange(-0.5, h), minor=True)
        ax.grid(which="minor", color=GRID_COLOR, linewidth=0.6)
        ax.tick_params(which="minor", length=0)
    if annotate:
        fmt = formatter(a)
        for (i, j), v in np.ndenumerate(a):
            ax.text(j, i, fmt(v), ha="center", va="center", fontsize=fontsize,
                    color=text_color(cmap, norm, v))


def grid_axes(ax: Axes, rows: int, cols: int, row_labels: list[tuple[float, str]],
              col_labels: list[tuple[float, str]],
              frame: tuple[int, int] | None = None) -> None:
    """Cell borders, equal aspect, row 0 at the top, ticks at the cell centres.

    ``frame=(frame_rows, frame_cols)`` makes the axes span that many cells, with the
    grid at the top and centred horizontally: two panels side by side, with width
    ratios equal to their frame widths and the same frame height, then draw their
    cells at the same size. Labels are ``(position, text)`` pairs.
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
    hide_spines(ax)


def cell_labels(count: int, offset: int = 0) -> list[tuple[float, str]]:
    """Tick labels ``0 .. count - 1`` at the centres of cells ``offset ..``."""
    return [(offset + i + 0.5, str(i)) for i in range(count)]


def grid_shape(n: int, max_cols: int = 8) -> tuple[int, int]:
    """Rows and columns for ``n`` small panels, at most ``max_cols`` per row.

    >>> grid_shape(5), grid_shape(20)
    ((1, 5), (3, 8))
    """
    cols = min(n, max_cols)
    return math.ceil(n / cols), cols


def panel_grid(fig: Figure, n: int, cols: int, rows: int) -> list[Axes]:
    """``n`` axes in a ``rows × cols`` grid (unused trailing cells removed)."""
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax in axes[n:]:
        fig.delaxes(ax)
    return list(axes[:n])


def image_axes(ax: Axes, title: str, **title_style) -> None:
    """No ticks, a small title (``title_style`` as for ``set_title``): a picture in a grid."""
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, **title_style)
