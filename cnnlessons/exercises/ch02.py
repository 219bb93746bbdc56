"""Checkers for the exercises of chapter 2, *Multiple input and output channels*.

Each ``check_*`` function runs the reader's answer (or compares the reader's number)
against a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_conv2d_multi(conv2d_multi)``: ``conv2d_multi(X, weight, bias)``, a
  convolution layer's forward pass (many input and output channels, a batch, a bias)
  written by summing one-channel ``corr2d`` results (reference: the scratch
  ``conv2d``); a library convolution, torch's or the package's, fails the case;
* ``check_conv_cost(conv_cost)``: the predicted ``(parameters, MACs)`` of
  :data:`COST_LAYER` on a :data:`COST_INPUT` image (reference:
  :func:`cnnlessons.tables.layer_cost`);
* ``check_uses_per_weight(uses_per_weight)``: how many multiply-adds each weight of
  LeNet-5's ``c3`` and ``c5`` takes part in, per image: the number that explains why the
  small ``c3`` does most of the work (reference: :func:`cnnlessons.tables.cost_table`);
* ``check_merge_kernels(merge_kernels)``: ``merge_kernels(K1, K2)``, the one kernel
  that does what two stacked convolutions (no nonlinearity between) do.

Tensors hold small integers stored as float64, so failure messages show numbers one
can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import cnnlessons.scratch.functional as SF
from cnnlessons.exercises.checker import Case, Method, Verdict, check_value, integers, run_checks
from cnnlessons.models import LeNet5
from cnnlessons.scratch import conv as scratch_conv
from cnnlessons.scratch import conv_reference, conv_transpose
from cnnlessons.scratch.conv import conv2d
from cnnlessons.tables import cost_table, layer_cost

# The chapter's hand-checkable example: two 3x3 input channels and a 2-channel 2x2 kernel.
_X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                   [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]], dtype=torch.float64)
_K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64)

#: Where a library convolution could be reached from: torch's and the package's.
_LIBRARIES: tuple[ModuleType, ...] = (torch, F, SF, scratch_conv, conv_reference, conv_transpose)

#: The package's convolutions (torch's kernels are caught by the dispatch recorder,
#: family "convolution"); ``corr2d``, the one-channel building block, stays allowed.
_CONV_NAMES = ("conv1d", "conv2d", "conv2d_loop", "conv_transpose1d", "conv_transpose2d")

#: "Sum per-channel corr2d": no convolution kernel of torch, no package convolution.
_BY_CORR2D = Method("sum one-channel corr2d results, no library convolution",
                    families=("convolution",), names=_CONV_NAMES, modules=_LIBRARIES)


# --------------------------------------------------------------------------------------
# Exercise 1: the whole layer from corr2d
# --------------------------------------------------------------------------------------

def _conv2d_multi_reference(X: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return conv2d(X, weight, bias)


def check_conv2d_multi(conv2d_multi: Callable[[Tensor, Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``conv2d_multi(X, weight, bias)``: ``X (N, C_in, H, W)``, ``weight (C_out,
    C_in, kH, kW)``, ``bias (C_out,)``; stride 1, no padding; the result of
    ``torch.nn.functional.conv2d(X, weight, bias)``, shape ``(N, C_out, H-kH+1, W-kW+1)``,
    computed without a library convolution (``corr2d`` is allowed).

    Cases: the chapter's example (one image, three output channels ``K, K+1, K+2``, zero
    bias), then a nonzero bias, a batch of several images, more output than input
    channels and the reverse, a single channel in and out, a 1x1 kernel and a
    non-square kernel.
    """
    g = torch.Generator().manual_seed(2)
    K3 = torch.stack([_K, _K + 1, _K + 2])
    cases = [
        Case((_X[None], K3, torch.zeros(3, dtype=torch.float64))),        # [[56, 72], ...]
        Case((_X[None], K3, torch.tensor([1.0, -2.0, 10.0], dtype=torch.float64))),
        Case((integers(g, 3, 2, 4, 4), integers(g, 3, 2, 3, 3), integers(g, 3))),     # batch
        Case((integers(g, 2, 2, 5, 5), integers(g, 4, 2, 2, 2), integers(g, 4))),     # 2 -> 4
        Case((integers(g, 1, 4, 5, 4), integers(g, 2, 4, 3, 3), integers(g, 2))),     # 4 -> 2
        Case((integers(g, 2, 1, 4, 4), integers(g, 1, 1, 2, 2), integers(g, 1))),     # 1 -> 1
        Case((integers(g, 1, 3, 3, 3), integers(g, 2, 3, 1, 1), integers(g, 2))),     # 1x1
        Case((integers(g, 1, 2, 5, 6), integers(g, 3, 2, 2, 3), integers(g, 3))),     # 2x3
    ]
    return run_checks("conv2d_multi", conv2d_multi, _conv2d_multi_reference, cases,
                      method=_BY_CORR2D)


# --------------------------------------------------------------------------------------
# Exercise 2: predict a strided layer's cost
# --------------------------------------------------------------------------------------

#: The layer of the cost prediction, ``nn.Conv2d(**COST_LAYER)``.
COST_LAYER = dict(in_channels=16, out_channels=32, kernel_size=3, stride=2, padding=1)
#: Its input's spatial size.
COST_INPUT = (15, 15)


def check_conv_cost(conv_cost: tuple[int, int]) -> Verdict:
    """Check the predicted ``(parameters, multiply-adds on one image)`` of
    ``nn.Conv2d(**COST_LAYER)`` on a ``COST_INPUT`` input, bias additions not counted.
    The right pair comes from :func:`cnnlessons.tables.layer_cost`, which the chapter
    checks against torch's parameters and FLOP counter.
    """
    expected = layer_cost(nn.Conv2d(**COST_LAYER), COST_INPUT)
    return check_value("conv_cost", conv_cost, expected,
                       why="a pair (params, MACs); the parameters do not depend on the "
                           "stride; for the MACs, compute the output size first (floor)")


# --------------------------------------------------------------------------------------
# Exercise 3: explain c3's share of the work by a number
# --------------------------------------------------------------------------------------

def _uses_per_weight(layer: str) -> int:
    """Multiply-adds per image divided by the weights (biases excluded) of a LeNet-5 layer."""
    model = LeNet5()
    row = cost_table(model, (1, 28, 28))[layer]
    weights = getattr(model, layer).weight.numel()
    return row.macs // weights


def check_uses_per_weight(uses_per_weight: tuple[int, int]) -> Verdict:
    """Check ``(c3, c5)``: in how many multiply-adds each weight of LeNet-5's ``c3``,
    and each weight of its ``c5``, takes part when one 28x28 image goes through.
    The right numbers are each layer's MACs (from :func:`cnnlessons.tables.cost_table`)
    divided by its weight count.
    """
    expected = (_uses_per_weight("c3"), _uses_per_weight("c5"))
    return check_value("uses_per_weight", uses_per_weight, expected,
                       why="a weight of output channel o multiplies one input value at "
                           "every position of channel o's output map")


# --------------------------------------------------------------------------------------
# Exercise 4: two convolutions are one
# --------------------------------------------------------------------------------------

def _merge_kernels_reference(K1: Tensor, K2: Tensor) -> Tensor:
    """``K[o, c] = sum_m K2[o, m] * K1[m, c]`` where ``*`` is the full (true) 2-D
    convolution: ``conv2d(conv2d(x, K1), K2) = conv2d(x, K)``.

    Derivation: ``Y[p] = sum_{m,i} K2[o,m,i] Z[m, p+i]`` and ``Z[m, t] = sum_{c,a}
    K1[m,c,a] X[c, t+a]``, so the coefficient of ``X[c, p+q]`` is ``sum_{m, i+a=q}
    K2[o,m,i] K1[m,c,a]``: a full convolution, i.e. a cross-correlation with the
    flipped ``K2`` over ``K1`` zero-padded by ``k2 - 1``. The ``C_in`` channels of
    ``K1`` play the batch, its ``C_mid`` kernels the channels.
    """
    kh, kw = K2.shape[-2:]
    return conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=(kh - 1, kw - 1)).transpose(0, 1)


def check_merge_kernels(merge_kernels: Callable[[Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``merge_kernels(K1, K2)``: ``K1 (C_mid, C_in, k1h, k1w)`` and ``K2 (C_out,
    C_mid, k2h, k2w)`` are two convolutions applied one after the other (stride 1, no
    padding, no bias, nothing between them); return the kernel ``K (C_out, C_in,
    k1h + k2h - 1, k1w + k2w - 1)`` of the single convolution that computes the same.

    Cases: the notes' two 2x2 kernels on one channel, the same kernels plus one (the
    chapter's gradient example, whose answer is ``dz/dX``), a 1x1 second kernel (only
    channels are mixed: a matrix product), a 1x1 first kernel, channels that change in
    both layers, kernels of different sizes, and non-square kernels.
    """
    g = torch.Generator().manual_seed(5)
    cases = [
        Case((_K[0][None, None], _K[1][None, None])),                 # the notes' X -> Y -> z
        Case(((_K[0] + 1)[None, None], (_K[1] + 1)[None, None])),     # the chapter's dz/dX
        Case((integers(g, 3, 2, 2, 2), integers(g, 4, 3, 1, 1))),     # second kernel 1x1
        Case((integers(g, 3, 2, 1, 1), integers(g, 2, 3, 2, 2))),     # first kernel 1x1
        Case((integers(g, 3, 2, 2, 2), integers(g, 4, 3, 2, 2))),     # 2 -> 3 -> 4 channels
        Case((integers(g, 2, 1, 3, 3), integers(g, 1, 2, 2, 2))),     # 3x3 then 2x2
        Case((integers(g, 2, 2, 1, 3), integers(g, 3, 2, 2, 1))),     # non-square
    ]
    return run_checks("merge_kernels", merge_kernels, _merge_kernels_reference, cases)
