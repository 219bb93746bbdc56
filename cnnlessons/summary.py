"""A model's table, layer by layer: output shape, parameters, receptive field.

``summary(model)`` runs one forward pass with a hook on every leaf module and returns a
``ModelSummary``, one ``LayerSummary`` row per layer call; print it for the table. Any
chain of layers that ``cnnlessons.receptive_field`` knows can be summarised, from
``torch.nn`` or from ``cnnlessons.scratch``, e.g. the networks of ``cnnlessons.models``.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cnnlessons.arguments import check_count
from cnnlessons.devices import model_device
from cnnlessons.receptive_field import ReceptiveField, receptive_fields

__all__ = ["LayerSummary", "ModelSummary", "summary", "trace_leaves"]


@dataclass(frozen=True)
class LayerSummary:
    """One row of a ``ModelSummary``: a layer call in a forward pass.

    Attributes:
        name: the layer's name in the model, e.g. ``"c1"``.
        type: its class name, e.g. ``"Conv2d"``.
        output_shape: the shape of its output, batch dimension included.
        params: its number of parameters.
        receptive_field: the input box one unit of its output sees, from the
            layer hyper-parameters (``cnnlessons.receptive_field``).
    """

    name: str
    type: str
    output_shape: tuple[int, ...]
    params: int
    receptive_field: ReceptiveField


def _fmt(values: Sequence[float], sep: str) -> str:
    return sep.join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class ModelSummary:
    """The table ``summary`` returns; ``str`` and ``repr`` both print it."""

    model: str
    input_shape: tuple[int, ...]
    rows: tuple[LayerSummary, ...]
    total_params: int

    def __str__(self) -> str:
        header = ("Layer", "Type", "Output shape", "Params", "RF size", "Jump", "RF start")
        table = [header] + [
            (r.name, r.type, str(r.output_shape), f"{r.params:,}",
             _fmt(r.receptive_field.size, "x"), _fmt(r.receptive_field.jump, "x"),
             _fmt(r.receptive_field.start, ", "))
            for r in self.rows
        ]
        widths = [max(len(line[c]) for line in table) for c in range(len(header))]
        numeric = {3}  # right-align the parameter counts

        def line(cells):
            return "  ".join(cell.rjust(w) if c in numeric else cell.ljust(w)
                             for c, (cell, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "-" * len(line(["-" * w for w in widths]))
        lines = [f"{self.model}, input {self.input_shape}", rule, line(header), rule]
        lines += [line(cells) for cells in table[1:]]
        lines += [rule, f"Total params: {self.total_params:,}"]
        return "\n".join(lines)

    __repr__ = __str__


def summary(model: nn.Module, input_size: Sequence[int] | None = None,
            batch_size: int = 1) -> ModelSummary:
    """Tabulate a model layer by layer: output shape, parameters, receptive field.

    The shapes come from a real forward pass (on zeros, without gradients, in eval
    mode, which is restored afterwards) with a hook on every leaf module; the
    receptive fields from the layers' hyper-parameters, in the order the layers
    ran, which assumes they form a chain.

    Args:
        model: the network; its leaves must be layers that
            ``cnnlessons.receptive_field.receptive_fields`` knows.
        input_size: one sample's shape ``(C, H, W)``; defaults to
            ``model.input_size``.
        batch_size: the batch size of the forward pass (shown in the shapes).

    Returns:
        A ``ModelSummary``; print it for the table.

    >>> from cnnlessons.models import MNISTConvNet
    >>> print(summary(MNISTConvNet()))          # doctest: +NORMALIZE_WHITESPACE
    MNISTConvNet, input (1, 1, 28, 28)
    ----------------------------------------------------------------------
    Layer    Type       Output shape     Params  RF size  Jump  RF start
    ----------------------------------------------------------------------
    conv1    Conv2d     (1, 10, 24, 24)     260  5x5      1x1   2, 2
    relu1    ReLU       (1, 10, 24, 24)       0  5x5      1x1   2, 2
    pool1    MaxPool2d  (1, 10, 12, 12)       0  6x6      2x2   2.5, 2.5
    conv2    Conv2d     (1, 20, 8, 8)     5,020  14x14    2x2   6.5, 6.5
    relu2    ReLU       (1, 20, 8, 8)         0  14x14    2x2   6.5, 6.5
    pool2    MaxPool2d  (1, 20, 4, 4)         0  16x16    4x4   7.5, 7.5
    flatten  Flatten    (1, 320)              0  16x16    4x4   7.5, 7.5
    fc1      Linear     (1, 50)          16,050  28x28    4x4   13.5, 13.5
    fc2      Linear     (1, 10)             510  28x28    4x4   13.5, 13.5
    ----------------------------------------------------------------------
    Total params: 21,840
    """
    if input_size is None:
        input_size = getattr(model, "input_size", None)
        if input_size is None:
            raise ValueError(f"input_size is needed: {type(model).__name__} has no "
                             "input_size attribute")
    check_count(batch_size, "batch_size")
    calls = [(name, module, output) for name, module, _, output
             in trace_leaves(model, (batch_size, *input_size))]
    fields = receptive_fields([m for _, m, _ in calls], input_size=tuple(input_size[1:]))
    rows = tuple(
        LayerSummary(name, type(m).__name__, tuple(out.shape),
                     sum(p.numel() for p in m.parameters()), rf)
        for (name, m, out), rf in zip(calls, fields)
    )
    total = sum(p.numel() for p in model.parameters())
    return ModelSummary(type(model).__name__, (batch_size, *input_size), rows, total)


def trace_leaves(model: nn.Module, shape: Sequence[int]
                 ) -> list[tuple[str, nn.Module, torch.Tensor, torch.Tensor]]:
    """Run a batch of zeros of ``shape`` through ``model`` in evaluation mode, without
    gradients, and return ``(name, layer, input, output)`` for every call of a leaf
    layer, in the order they ran (a layer's name is its type for an unnamed root; the
    output of a layer returning ``(out, indices)`` is ``out``). The input follows the
    model's weights, their device and dtype; the model's mode is restored after.
    """
    calls = []

    def record(name: str):
        def hook(module, inputs, output):
            first = output[0] if isinstance(output, tuple) else output
            calls.append((name, module, inputs[0], first))
        return hook

    leaves = [(name, m) for name, m in model.named_modules() if not any(True for _ in m.children())]
    handles = [m.register_forward_hook(record(name or type(m).__name__)) for name, m in leaves]
    dtype = next((p.dtype for p in model.parameters()), None)
    x = torch.zeros(tuple(shape), dtype=dtype, device=model_device(model))
    was_training = model.training
    try:
        model.eval()
        with torch.no_grad():
            model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    return calls
