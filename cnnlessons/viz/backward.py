"""The backward pass of a convolution: ``plot_input_gradient``.

The input gradient of a 1-D convolution is a *full* cross-correlation of the upstream
gradient, dilated with ``stride - 1`` zeros and padded, with the *flipped* (and
dilated) kernel; the input's padding is then cropped off. The figure draws those
steps with the numbers; the numbers come from the package's own convolution
(:func:`cnnlessons.scratch.functional.conv1d` on the dilated, padded gradient) and the
window arithmetic from :func:`cnnlessons.shapes.conv_geometry`.
"""
from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, Rectangle

import cnnlessons.scratch.functional as SF
from cnnlessons.arguments import check_count
from cnnlessons.shapes import WindowGeometry, conv_geometry
from cnnlessons.viz.inputs import as_array
from cnnlessons.viz.style import (
    GRID_COLOR,
    MAX_WIDTH,
    PADDING_COLOR,
    PALETTE,
    formatter,
    hide_spines,
    new_figure,
    suptitle,
)

__all__ = ["plot_input_gradient", "input_gradient_steps"]

# The widest strip drawn: cells of the dilated, padded upstream gradient.
_MAX_STRIP = 30

#: What each cell of the dilated, padded gradient is, and the colours used for it.
_UPSTREAM, _INSERTED, _BORDER = "upstream", "inserted zero", "border zero"
_FILL = {_UPSTREAM: "#fddbc7", _INSERTED: "white", _BORDER: PADDING_COLOR}


def input_gradient_steps(grad_output, weight, input_size: int, stride: int = 1,
                         padding: int = 0, dilation: int = 1) -> dict[str, np.ndarray]:
    r"""The steps from ``dL/dY`` to ``dL/dX`` for a one-channel 1-D convolution.

    With ``G = grad_output`` (length ``m``) and kernel ``w`` (length ``k``) of the
    convolution ``y = conv1d(x, w, stride=s, padding=p, dilation=d)`` on an input of
    length ``n``:

    1. ``dilated``: ``G`` with ``s - 1`` zeros between neighbours, then ``d (k - 1)``
       zeros in front and enough behind for ``n + 2p`` windows (the tail also holds
       the positions a strided convolution never reached);
    2. ``flipped``: ``w`` reversed (its taps are ``d`` apart, as in the forward pass);
    3. ``padded_grad``: the cross-correlation of ``dilated`` with ``flipped`` (dilation
       ``d``): the gradient of the padded input, length ``n + 2p``;
    4. ``grad_input``: ``padded_grad`` with ``p`` elements cropped at each end.

    Returns:
        A dict of float64 arrays: ``dilated``, ``kind`` (what each cell of ``dilated``
        is: ``"upstream"``, ``"inserted zero"`` or ``"border zero"``), ``flipped``,
        ``padded_grad`` and ``grad_input``.

    Shape:
        - grad_output: :math:`(m)` with :math:`m` the convolution's output length.
        - weight: :math:`(k)`.
        - grad_input: :math:`(n)`, ``n = input_size``.

    >>> steps = input_gradient_steps(torch.tensor([1., 2., 3.]), torch.tensor([1., 10., 100.]), 5)
    >>> steps["grad_input"].tolist()
    [1.0, 12.0, 123.0, 230.0, 300.0]
    """
    g = as_array(grad_output, "grad_output", (1,), "(L_out,)")
    w = as_array(weight, "weight", (1,), "(k,)")
    geometry = _geometry(input_size, w.size, stride, padding, dilation)
    (m,) = geometry.output_size
    if g.size != m:
        raise ValueError(f"grad_output has length {g.size}; a convolution of length "
                         f"{input_size} with these arguments has {m} outputs")
    (padded_size,) = geometry.padded_size
    front = dilation * (w.size - 1)                     # the full correlation's zeros
    dilated = np.zeros(padded_size + front)
    dilated[front:front + stride * (m - 1) + 1:stride] = g
    kind = np.full(dilated.size, _BORDER, dtype=object)
    kind[front:front + stride * (m - 1) + 1] = _INSERTED
    kind[front:front + stride * (m - 1) + 1:stride] = _UPSTREAM
    flipped = w[::-1].copy()
    # The package's convolution does the sliding: one output per padded-input element.
    padded_grad = SF.conv1d(torch.from_numpy(dilated).view(1, 1, -1),
                            torch.from_numpy(flipped).view(1, 1, -1), dilation=dilation)
    padded_grad = padded_grad.view(-1).numpy()
    return {"dilated": dilated, "kind": kind, "flipped": flipped, "padded_grad": padded_grad,
            "grad_input": padded_grad[padding:padding + input_size].copy()}


def _geometry(input_size: int, kernel_size: int, stride: int, padding: int,
              dilation: int) -> WindowGeometry:
    """The convolution's geometry, after the checks this figure adds (ints, no 'same')."""
    for name, value in (("input_size", input_size), ("stride", stride), ("dilation", dilation)):
        check_count(value, name)
    if not isinstance(padding, int) or isinstance(padding, bool) or padding < 0:
        raise ValueError(f"padding={padding!r} must be an int, at least 0")
    return conv_geometry(input_size, kernel_size, stride, padding, dilation)


def plot_input_gradient(grad_output, weight, input_size: int, stride: int = 1,
                        padding: int = 0, dilation: int = 1) -> Figure:
    r"""How ``dL/dX`` of a 1-D convolution is computed from ``dL/dY``, step by step.

    Four strips, top to bottom, on a common scale of cells:

    * the upstream gradient ``dL/dY`` (one cell per output), spaced ``stride`` apart;
    * the same with the gaps filled by zeros and a border of ``dilation*(k-1)`` zeros
      in front (and the tail behind), the input of a *full* cross-correlation;
    * the kernel *flipped*, drawn under its first window (taps ``dilation`` apart),
      with an arrow: it slides one cell at a time;
    * ``dL/dX`` of the padded input, each cell under the window that computes it;
      the ``padding`` cells at each end are cropped off (hatched), the rest is
      ``dL/dX``.

    Args:
        grad_output: the upstream gradient ``(m,)`` of the convolution's output.
        weight: the kernel ``(k,)``.
        input_size: the length ``n`` of the convolution's input.
        stride, padding, dilation: the convolution's, as ints.

    Returns:
        The figure, with one axes.

    Shape:
        - grad_output: :math:`(\lfloor (n + 2p - d(k-1) - 1)/s \rfloor + 1)`
        - weight: :math:`(k)`
    """
    steps = input_gradient_steps(grad_output, weight, input_size, stride, padding, dilation)
    dilated, kind, flipped = steps["dilated"], steps["kind"], steps["flipped"]
    if dilated.size > _MAX_STRIP:
        raise ValueError(f"the dilated, padded gradient has {dilated.size} cells; at most "
                         f"{_MAX_STRIP} can be drawn with their values")
    front = dilation * (flipped.size - 1)
    cell = min(0.42, (MAX_WIDTH - 1.9) / dilated.size)
    fig = new_figure(cell * dilated.size + 1.9, 4 * cell * 1.9 + 1.0)
    ax = fig.subplots()
    fmt = formatter(np.concatenate([dilated, flipped, steps["padded_grad"]]))
    rows = {"dL/dY": 0.0, "dilated,\nzero-padded": 1.8, "flipped\nkernel": 3.6,
            "dL/dX\n(padded)": 5.4}
    upstream = [i for i in range(dilated.size) if kind[i] == _UPSTREAM]
    for i in upstream:
        _cell(ax, i, rows["dL/dY"], fmt(dilated[i]), "#fddbc7")
    for i, v in enumerate(dilated):
        _cell(ax, i, rows["dilated,\nzero-padded"], fmt(v), _FILL[kind[i]],
              hatch="///" if kind[i] == _BORDER else None)
    for t, v in enumerate(flipped):
        _cell(ax, t * dilation, rows["flipped\nkernel"], fmt(v), PALETTE[0], text_color="white")
    ax.add_patch(FancyArrowPatch((front + 1.1, rows["flipped\nkernel"] + 0.5),
                                 (front + 2.5, rows["flipped\nkernel"] + 0.5),
                                 arrowstyle="-|>", mutation_scale=12, color=PALETTE[0]))
    for q, v in enumerate(steps["padded_grad"]):
        cropped = q < padding or q >= padding + input_size
        _cell(ax, q, rows["dL/dX\n(padded)"], fmt(v), PADDING_COLOR if cropped else "#d1e5f0",
              hatch="///" if cropped else None)
    ax.set_xlim(-0.2, dilated.size + 0.2)
    ax.set_ylim(rows["dL/dX\n(padded)"] + 1.3, -0.3)
    ax.set_aspect("equal")
    ax.set_xticks([])
    ax.set_yticks([y + 0.5 for y in rows.values()], list(rows), fontsize=8)
    ax.tick_params(length=0)
    hide_spines(ax)
    suptitle(fig, f"Input gradient of conv1d, kernel {flipped.size}, stride {stride}, "
             f"padding {padding}, dilation {dilation}\n"
             r"$dL/dX$ = full cross-correlation of the dilated $dL/dY$ with the flipped "
             "kernel, padding cropped", fontsize=10)
    return fig


def _cell(ax: Axes, x: float, y: float, text: str, fill: str, hatch: str | None = None,
          text_color: str = "black") -> None:
    """One square cell with its value written in it."""
    ax.add_patch(Rectangle((x, y), 1, 1, facecolor=fill, edgecolor=GRID_COLOR, linewidth=0.8,
                           hatch=hatch))
    ax.text(x + 0.5, y + 0.5, text, ha="center", va="center", fontsize=8, color=text_color,
            zorder=3)
