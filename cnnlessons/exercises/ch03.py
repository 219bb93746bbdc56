"""Checkers for the exercises of chapter 3, *1x1 convolution*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_conv1x1_as_matmul(conv1x1_as_matmul)``: ``conv1x1_as_matmul(X, weight,
  bias)``, a batched 1x1 convolution computed as one matrix product
  (reference: the scratch ``conv2d``);
* ``check_linear_from_conv1x1(linear_from_conv1x1)``: ``linear_from_conv1x1(conv)``,
  the ``nn.Linear`` layer that applies a 1x1 ``Conv2d`` to one pixel's channel vector;
* ``check_bottleneck_cost(bottleneck_cost)``: ``bottleneck_cost(c, mid, h, w)``, the
  parameters and multiply-adds of a 1x1-3x3-1x1 bottleneck
  (reference: :mod:`cnnlessons.cost`).

Tensors hold small integers stored as float64, so failure messages show numbers one
can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from cnnlessons.cost import conv2d_macs, conv2d_params
from cnnlessons.exercises.checker import Case, Verdict, integers, run_checks
from cnnlessons.scratch.conv import conv2d

# The notes' example: 3 input channels, 2 output channels (on a 2x2 image, so that a
# failure message can print the whole output).
_X = torch.arange(12, dtype=torch.float64).reshape(1, 3, 2, 2)
_W = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], dtype=torch.float64).view(2, 3, 1, 1)


# --------------------------------------------------------------------------------------
# Exercise 1: a 1x1 convolution is a matrix product
# --------------------------------------------------------------------------------------

def _conv1x1_reference(X: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return conv2d(X, weight, bias)


def check_conv1x1_as_matmul(conv1x1_as_matmul: Callable[[Tensor, Tensor, Tensor], Tensor]
                            ) -> Verdict:
    """Check ``conv1x1_as_matmul(X, weight, bias)``: ``X (N, C_in, H, W)``, ``weight
    (C_out, C_in, 1, 1)``, ``bias (C_out,)``; the result of ``F.conv2d(X, weight, bias)``,
    shape ``(N, C_out, H, W)``.

    Cases: the notes' 3-in/2-out example (zero bias, then a bias), a batch, one input
    channel, one output channel, as many outputs as inputs (where a transposed weight
    still has the right shape), and a non-square image.
    """
    g = torch.Generator().manual_seed(3)
    cases = [
        Case((_X, _W, torch.zeros(2, dtype=torch.float64))),
        Case((_X, _W, torch.tensor([1.0, -1.0], dtype=torch.float64))),
        Case((integers(g, 3, 3, 2, 2), integers(g, 2, 3, 1, 1), integers(g, 2))),     # batch
        Case((integers(g, 2, 1, 3, 3), integers(g, 4, 1, 1, 1), integers(g, 4))),     # C_in = 1
        Case((integers(g, 1, 4, 2, 3), integers(g, 1, 4, 1, 1), integers(g, 1))),     # C_out = 1
        Case((integers(g, 2, 3, 3, 2), integers(g, 3, 3, 1, 1), integers(g, 3))),     # 3 -> 3
        Case((integers(g, 1, 2, 2, 5), integers(g, 3, 2, 1, 1), integers(g, 3))),     # 2x5 image
    ]
    return run_checks("conv1x1_as_matmul", conv1x1_as_matmul, _conv1x1_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 2: from Conv2d(1x1) to Linear
# --------------------------------------------------------------------------------------

def _conv1x1(generator: torch.Generator, c_in: int, c_out: int, bias: bool = True) -> nn.Conv2d:
    """A ``Conv2d(c_in, c_out, 1)`` with small integer weights (and bias), exact in the
    default float32, so that a reader's default ``nn.Linear`` matches its dtype.
    """
    # skip_init: no random initialisation, so checking leaves torch's global RNG alone.
    conv = nn.utils.skip_init(nn.Conv2d, c_in, c_out, 1, bias=bias)
    with torch.no_grad():
        conv.weight.copy_(integers(generator, c_out, c_in, 1, 1))
        if bias:
            conv.bias.copy_(integers(generator, c_out))
    return conv


def _pixels_through_conv(conv: nn.Conv2d, pixels: Tensor) -> Tensor:
    """Apply ``conv`` to ``pixels (P, C_in)`` laid out as a ``P x 1`` image: ``(P, C_out)``."""
    image = pixels.t()[None, :, :, None]                       # (1, C_in, P, 1)
    out = conv2d(image, conv.weight.detach(),
                 None if conv.bias is None else conv.bias.detach())
    return out[0, :, :, 0].t()


def _pixels_through_linear(linear_from_conv1x1: Callable[[nn.Conv2d], nn.Linear]):
    """The reader's function, made comparable: build the layer, check its type, apply it."""
    def apply(conv: nn.Conv2d, pixels: Tensor) -> Tensor:
        layer = linear_from_conv1x1(conv)
        if not isinstance(layer, nn.Linear):
            raise TypeError(f"expected an nn.Linear, got {type(layer).__name__}")
        with torch.no_grad():
            return layer(pixels)
    return apply


def check_linear_from_conv1x1(linear_from_conv1x1: Callable[[nn.Conv2d], nn.Linear]) -> Verdict:
    """Check ``linear_from_conv1x1(conv)``: for a ``Conv2d(C_in, C_out, kernel_size=1)``
    (with or without bias), return an ``nn.Linear(C_in, C_out)`` that maps
    every pixel's ``C_in`` channel values to the ``C_out`` values the convolution
    computes there. The check applies your layer to a few pixels (rows of a
    ``(P, C_in)`` tensor) and compares with the convolution.

    Cases: the notes' 3-in/2-out layer, the same without bias, one input channel, one
    output channel, as many outputs as inputs (a transposed weight would still fit),
    and a wider layer.
    """
    g = torch.Generator().manual_seed(4)
    shapes = [(3, 2, True), (3, 2, False), (1, 4, True), (4, 1, True), (3, 3, True),
              (8, 5, True)]
    cases = [Case((_conv1x1(g, c_in, c_out, bias), integers(g, 5, c_in).float()))
             for c_in, c_out, bias in shapes]
    return run_checks("linear_from_conv1x1", _pixels_through_linear(linear_from_conv1x1),
                      _pixels_through_conv, cases)


# --------------------------------------------------------------------------------------
# Exercise 3: the cost of a bottleneck
# --------------------------------------------------------------------------------------

def _bottleneck_cost_reference(c: int, mid: int, h: int, w: int) -> tuple[int, int]:
    layers = [(c, mid, 1, 0), (mid, mid, 3, 1), (mid, c, 1, 0)]  # (in, out, kernel, padding)
    params = sum(conv2d_params(i, o, k, bias=False) for i, o, k, _ in layers)
    macs = sum(conv2d_macs((h, w), i, o, k, padding=p) for i, o, k, p in layers)
    return params, macs


def check_bottleneck_cost(bottleneck_cost: Callable[[int, int, int, int], tuple[int, int]]
                          ) -> Verdict:
    """Check ``bottleneck_cost(c, mid, h, w)``: the ``(parameters, multiply-adds)`` of
    ``Conv2d(c, mid, 1)``, ``Conv2d(mid, mid, 3, padding=1)``, ``Conv2d(mid, c, 1)``,
    all with ``bias=False``, on one ``c x h x w`` input (the size stays ``h x w``).

    Cases: ResNet's 256-64-256 block on a 56x56 map, a smaller one, a "bottleneck"
    that does not narrow (``mid = c``), a 1x1 map, and a non-square map.
    """
    cases = [
        Case((256, 64, 56, 56)),     # (69632, 218365952)
        Case((64, 16, 8, 8)),
        Case((32, 32, 4, 4)),        # no narrowing
        Case((16, 4, 1, 1)),         # one position: the 3x3 sees mostly padding
        Case((8, 2, 5, 7)),          # non-square map
    ]
    return run_checks("bottleneck_cost", bottleneck_cost, _bottleneck_cost_reference, cases)
