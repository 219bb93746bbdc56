"""What a network's layers cost, as a table: output shape, parameters, multiply-adds.

The chapters count parameters and multiply-adds (MACs) with :mod:`cnnlessons.cost`
and check them against torch. This module does the bookkeeping around those
formulas, so that a chapter shows the numbers and not the loops that print them:

* :func:`layer_cost` gives ``(parameters, MACs)`` of one ``Conv2d`` or ``Linear`` from
  its hyper-parameters;
* :func:`cost_table` follows one sample through a model and returns a
  :class:`CostTable`, one row per layer call; print it for the table;
* :func:`measured_cost` asks torch for the same two numbers (the parameters it
  allocated, its FLOP counter halved), which a chapter asserts equal;
* :func:`format_table` lines up any small table of names and numbers;
* :func:`layer_label` names a layer in a table by its constructor call, short.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlessons import cost
from cnnlessons.arguments import IntOrTuple
from cnnlessons.devices import model_device
from cnnlessons.summary import trace_leaves

__all__ = ["CostRow", "CostTable", "cost_table", "format_table", "layer_cost", "layer_label",
           "measured_cost"]


def layer_cost(layer: nn.Module, input_size: IntOrTuple | None = None) -> tuple[int, int]:
    """``(parameters, MACs per sample)`` of a layer, from its hyper-parameters.

    A ``Conv2d`` (torch's or the scratch twin) needs the spatial size of its input; a
    ``Linear`` does not. Any other layer (ReLU, pooling, flatten...) has its parameter
    count and does no multiply-adds (a pooling window's comparisons or additions are
    not multiply-adds).

    Args:
        layer: the layer.
        input_size: the input's spatial size ``H`` or ``(H, W)``, for a ``Conv2d``.

    Returns:
        ``(parameters, multiply-adds on one sample)``, bias additions not counted.

    Raises:
        ValueError: a ``Conv2d`` without ``input_size``.

    >>> layer_cost(nn.Conv2d(1, 6, 5, padding=2), (28, 28))       # LeNet-5's C1
    (156, 117600)
    >>> layer_cost(nn.Linear(120, 84))
    (10164, 10080)
    """
    has_bias = getattr(layer, "bias", None) is not None
    if type(layer).__name__ == "Conv2d":
        if input_size is None:
            raise ValueError(f"input_size is needed for {layer}: a convolution's "
                             "multiply-adds depend on the size of its input")
        c_i, c_o, k = layer.in_channels, layer.out_channels, layer.kernel_size
        return (cost.conv2d_params(c_i, c_o, k, layer.groups, has_bias),
                cost.conv2d_macs(input_size, c_i, c_o, k, layer.stride, layer.padding,
                                 layer.dilation, layer.groups))
    if type(layer).__name__ == "Linear":
        return (cost.linear_params(layer.in_features, layer.out_features, has_bias),
                cost.linear_macs(layer.in_features, layer.out_features))
    return sum(p.numel() for p in layer.parameters()), 0


def layer_label(layer: nn.Module) -> str:
    """A ``Conv2d`` or ``Linear`` as its constructor call, default arguments left out.

    Square sizes are written as one number (``3`` for ``(3, 3)``), so a table row stays
    short; any other layer is its class name.

    >>> layer_label(nn.Conv2d(3, 16, kernel_size=3, stride=2, padding=1))
    'Conv2d(3, 16, 3, stride=2, padding=1)'
    >>> layer_label(nn.Conv2d(4, 6, (1, 3), groups=2, bias=False))
    'Conv2d(4, 6, (1, 3), groups=2, bias=False)'
    >>> layer_label(nn.Linear(120, 84))
    'Linear(120, 84)'
    """
    def short(value):
        if isinstance(value, tuple) and len(set(value)) == 1:
            return value[0]
        return value

    name = type(layer).__name__
    has_bias = getattr(layer, "bias", None) is not None
    if name == "Conv2d":
        args = [str(layer.in_channels), str(layer.out_channels), repr(short(layer.kernel_size))]
        for option, default in (("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1)):
            value = short(getattr(layer, option))
            if value != default:
                args.append(f"{option}={value!r}")
    elif name == "Linear":
        args = [str(layer.in_features), str(layer.out_features)]
    else:
        return name
    if not has_bias:
        args.append("bias=False")
    return f"{name}({', '.join(args)})"


def format_table(header: Sequence[str], rows: Iterable[Sequence], title: str | None = None
                 ) -> str:
    """Line up a small table: text left-aligned, numbers right-aligned.

    Integers get thousands separators, floats two decimals.

    Args:
        header: the column names.
        rows: the rows, each as long as ``header``.
        title: an optional first line.

    Returns:
        The table as one string, rows separated by newlines.

    >>> print(format_table(("layer", "params"), [("c1", 156), ("c3", 2416)]))
    layer  params
    c1        156
    c3      2,416
    """
    def cell(value) -> str:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return str(value)
        return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"

    rows = [list(row) for row in rows]
    for row in rows:
        if len(row) != len(header):
            raise ValueError(f"row {row!r} has {len(row)} cells, but the header has "
                             f"{len(header)}")
    numeric = [bool(rows) and all(isinstance(row[c], (int, float)) and not isinstance(
        row[c], bool) for row in rows) for c in range(len(header))]
    table = [list(header)] + [[cell(v) for v in row] for row in rows]
    widths = [max(len(line[c]) for line in table) for c in range(len(header))]
    lines = ["  ".join(text.rjust(w) if numeric[c] else text.ljust(w)
                       for c, (text, w) in enumerate(zip(line, widths))).rstrip()
             for line in table]
    return "\n".join(([title] if title else []) + lines)


@dataclass(frozen=True)
class CostRow:
    """One layer call of a :class:`CostTable`.

    Attributes:
        name: the layer's name in the model, e.g. ``"c3"``.
        output_shape: its output's shape, batch dimension (1) included.
        params: its parameters.
        macs: its multiply-adds on one sample (0 for a layer without weights).
    """

    name: str
    output_shape: tuple[int, ...]
    params: int
    macs: int


@dataclass(frozen=True)
class CostTable:
    """What :func:`cost_table` returns; ``str`` and ``repr`` print the table."""

    model: str
    input_shape: tuple[int, ...]
    rows: tuple[CostRow, ...]

    @property
    def total_params(self) -> int:
        return sum(row.params for row in self.rows)

    @property
    def total_macs(self) -> int:
        return sum(row.macs for row in self.rows)

    def __getitem__(self, name: str) -> CostRow:
        """The row of the layer called ``name``."""
        for row in self.rows:
            if row.name == name:
                return row
        raise KeyError(f"no layer called {name!r} in {self.model}; the layers are "
                       f"{[row.name for row in self.rows]}")

    def __str__(self) -> str:
        def numbers(row: CostRow) -> tuple[str, str]:
            # A layer without weights shows its shape only.
            return ((f"{row.params:,}", f"{row.macs:,}") if row.params or row.macs
                    else ("", ""))

        rows = [("input", str(self.input_shape), "", "")]
        rows += [(row.name, str(row.output_shape), *numbers(row)) for row in self.rows]
        rows += [("total", "", f"{self.total_params:,}", f"{self.total_macs:,}")]
        table = [("layer", "output shape", "params", "MACs")] + rows
        widths = [max(len(line[c]) for line in table) for c in range(4)]
        return "\n".join(
            "  ".join(text.rjust(w) if c >= 2 else text.ljust(w)
                      for c, (text, w) in enumerate(zip(line, widths))).rstrip()
            for line in table)

    __repr__ = __str__


def cost_table(model: nn.Module, input_size: Sequence[int]) -> CostTable:
    """Follow one sample through ``model`` and cost every layer call.

    One forward pass on zeros (no gradients, eval mode, restored afterwards), with a
    hook on every leaf module that records its input size and output shape; each
    call's cost is :func:`layer_cost` of the layer on that input.

    Args:
        model: the network; its ``Conv2d`` and ``Linear`` leaves are costed.
        input_size: one sample's shape ``(C, H, W)``.

    Returns:
        A :class:`CostTable`, one row per layer call, in the order the layers ran.

    >>> table = cost_table(nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU()), (1, 28, 28))
    >>> print(table)
    layer  output shape    params     MACs
    input  (1, 1, 28, 28)
    0      (1, 6, 28, 28)     156  117,600
    1      (1, 6, 28, 28)
    total                     156  117,600
    """
    shape = (1, *input_size)
    calls = [CostRow(name, tuple(output.shape),
                     *layer_cost(module, tuple(x.shape[2:]) if x.dim() == 4 else None))
             for name, module, x, output in trace_leaves(model, shape)]
    return CostTable(type(model).__name__, shape, tuple(calls))


def measured_cost(model: nn.Module, input_size: Sequence[int]) -> tuple[int, int]:
    """``(parameters, MACs per sample)`` as torch counts them, to check :func:`cost_table`.

    The parameters torch allocated, and half the FLOPs that
    ``torch.utils.flop_counter.FlopCounterMode`` counts on one sample of shape
    ``input_size`` (it counts two FLOPs per multiply-add).

    >>> measured_cost(nn.Conv2d(1, 6, 5, padding=2), (1, 28, 28))
    (156, 117600)
    """
    dtype = next((p.dtype for p in model.parameters()), None)
    x = torch.zeros((1, *input_size), dtype=dtype, device=model_device(model))
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(x)
    return sum(p.numel() for p in model.parameters()), counter.get_total_flops() // 2
