"""Architecture: a network drawn as a row of boxes, one per layer, with its output shape.

The shapes are not typed in: :func:`architecture_boxes` runs a dummy input through the
model (:func:`cnnlessons.summary.summary`) and reads every layer's output shape and
parameter count, so the figure always matches the model it draws.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from torch import nn

from cnnlessons.summary import summary
from cnnlessons.viz.style import MAX_WIDTH, PALETTE, hide_spines, new_figure, suptitle

__all__ = ["ArchitectureBox", "architecture_boxes", "plot_architecture"]

#: Layers drawn inside the box of the layer before them instead of a box of their own.
FOLDED = ("ReLU", "Tanh", "Sigmoid", "LeakyReLU", "GELU", "Dropout")

# Box colour by layer kind: convolutions, pooling, everything else (linear, flatten).
_COLORS = {"Conv": PALETTE[0], "Pool": PALETTE[2]}


@dataclass(frozen=True)
class ArchitectureBox:
    """One box of the figure: a layer and the folded activations after it.

    Attributes:
        name: the layer's name in the model (``"c1"``), or ``"input"``.
        type: its class name (``"Conv2d"``); ``""`` for the input.
        output_shape: one sample's output shape, without the batch dimension.
        params: its number of parameters.
        folded: class names of the layers drawn inside this box (``("ReLU",)``).
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    folded: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        """The box's text: name, type (+ folded layers), shape, parameters."""
        shape = "\u00d7".join(str(s) for s in self.output_shape)
        if not self.type:
            return f"{self.name}\n{shape}"
        kind = " + ".join((self.type, *self.folded))
        params = f"\n{self.params:,} params" if self.params else ""
        return f"{self.name}\n{kind}\n{shape}{params}"


def architecture_boxes(model: nn.Module, input_size: Sequence[int] | None = None
                       ) -> list[ArchitectureBox]:
    """The boxes of :func:`plot_architecture`: the input, then one per layer.

    Layers of the kinds in :data:`FOLDED` (activations, dropout) join the box before.

    Args:
        model: the network; its layers are the calls ``summary`` records.
        input_size: one sample's shape ``(C, H, W)``; defaults to ``model.input_size``.

    >>> from cnnlessons.models import LeNet5
    >>> [b.output_shape for b in architecture_boxes(LeNet5())][:3]
    [(1, 28, 28), (6, 28, 28), (6, 14, 14)]
    """
    table = summary(model, input_size)
    boxes = [ArchitectureBox("input", "", tuple(table.input_shape[1:]), 0)]
    for row in table.rows:
        last = boxes[-1]
        if row.type in FOLDED and last.type:
            boxes[-1] = ArchitectureBox(last.name, last.type, tuple(row.output_shape[1:]),
                                        last.params + row.params, (*last.folded, row.type))
        else:
            boxes.append(ArchitectureBox(row.name, row.type, tuple(row.output_shape[1:]),
                                         row.params))
    return boxes


def _color(box: ArchitectureBox) -> str:
    for kind, color in _COLORS.items():
        if kind in box.type:
            return color
    return "0.35" if box.type else "0.6"


def plot_architecture(model: nn.Module, input_size: Sequence[int] | None = None,
                      title: str | None = None) -> Figure:
    """A network as a row of boxes joined by arrows, each with its layer's output shape.

    Each box names the layer, its type (with the activation folded into it), the
    shape one sample has after it (``C×H×W`` or ``features``) and its parameter
    count. Convolutions are blue, pooling green, other layers grey; a box's height
    grows with the spatial size of its output, so the shrinking maps are visible.

    Args:
        model: the network, e.g. ``cnnlessons.models.LeNet5()``.
        input_size: one sample's shape; defaults to ``model.input_size``.
        title: the figure title; default: the model's class name and its total
            number of parameters.

    Returns:
        The figure, with one axes.
    """
    boxes = architecture_boxes(model, input_size)
    n = len(boxes)
    fig = new_figure(MAX_WIDTH, 2.6)
    ax = fig.subplots()
    largest = max(b.output_shape[-1] if len(b.output_shape) == 3 else 1 for b in boxes)
    width, gap = 0.82, 0.18
    for i, box in enumerate(boxes):
        spatial = box.output_shape[-1] if len(box.output_shape) == 3 else 1
        height = 0.45 + 0.55 * spatial / largest
        x = i * (width + gap)
        color = _color(box)
        ax.add_patch(FancyBboxPatch((x, -height / 2), width, height,
                                    boxstyle="round,pad=0.02,rounding_size=0.05",
                                    facecolor=color, alpha=0.15, edgecolor=color, lw=1.4))
        ax.text(x + width / 2, 0, box.label, ha="center", va="center", fontsize=6.5,
                linespacing=1.25)
        if i:
            ax.add_patch(FancyArrowPatch((x - gap + 0.02, 0), (x - 0.02, 0),
                                         arrowstyle="-|>", mutation_scale=8, color="0.3"))
    ax.set_xlim(-0.05, n * (width + gap) - gap + 0.05)
    ax.set_ylim(-0.55, 0.55)
    ax.set_xticks([])
    ax.set_yticks([])
    hide_spines(ax)
    total = sum(b.params for b in boxes)
    suptitle(fig, title or f"{type(model).__name__}: {total:,} parameters")
    return fig
