"""Checkers for the exercises of chapter 2, *Multiple input and output channels*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_conv2d_multi(conv2d_multi)``: ``conv2d_multi(X, weight, bias)``, a
  convolution layer's forward pass (many input and output channels, a batch, a bias)
  written with the one-channel ``corr2d`` (reference: the scratch ``conv2d``);
* ``check_conv_params(conv_params)``: ``conv_params(c_in, c_out, k, bias=True)``, the
  parameter count of ``nn.Conv2d(c_in, c_out, k, bias=bias)``
  (reference: :func:`cnnlessons.cost.conv2d_params`);
* ``check_conv_macs(conv_macs)``: ``conv_macs(h, w, c_in, c_out, k, stride=1,
  padding=0)``, the multiply-adds of that layer on one ``h x w`` image
  (reference: :func:`cnnlessons.cost.conv2d_macs`);
* ``check_receptive_field(receptive_field)``: ``receptive_field(layers)``, the
  receptive-field size of a 1-D stack of ``(kernel_size, stride)`` layers
  (reference: :func:`cnnlessons.receptive_field.receptive_fields`);
* ``check_merge_kernels(merge_kernels)``: ``merge_kernels(K1, K2)``, the one kernel
  that does what two stacked convolutions (no nonlinearity between) do.

Tensors hold small integers stored as float64, so failure messages show numbers one
can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from cnnlessons.arguments import IntOrTuple
from cnnlessons.cost import conv2d_macs, conv2d_params
from cnnlessons.exercises.checker import Case, Verdict, integers, run_checks
from cnnlessons.receptive_field import receptive_fields
from cnnlessons.scratch.conv import conv2d

# The chapter's hand-checkable example: two 3x3 input channels and a 2-channel 2x2 kernel.
_X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                   [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]], dtype=torch.float64)
_K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]], dtype=torch.float64)


# --------------------------------------------------------------------------------------
# Exercise 1: the whole layer from corr2d
# --------------------------------------------------------------------------------------

def _conv2d_multi_reference(X: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    return conv2d(X, weight, bias)


def check_conv2d_multi(conv2d_multi: Callable[[Tensor, Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``conv2d_multi(X, weight, bias)``: ``X (N, C_in, H, W)``, ``weight (C_out,
    C_in, kH, kW)``, ``bias (C_out,)``; stride 1, no padding; the result of
    ``torch.nn.functional.conv2d(X, weight, bias)``, shape ``(N, C_out, H-kH+1, W-kW+1)``.

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
    return run_checks("conv2d_multi", conv2d_multi, _conv2d_multi_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 2: parameters
# --------------------------------------------------------------------------------------

def _conv_params_reference(c_in: int, c_out: int, k: IntOrTuple, bias: bool = True) -> int:
    return conv2d_params(c_in, c_out, k, bias=bias)


def check_conv_params(conv_params: Callable[..., int]) -> Verdict:
    """Check ``conv_params(c_in, c_out, k, bias=True)``: the number of parameters of
    ``nn.Conv2d(c_in, c_out, k, bias=bias)``, where ``k`` is an int or ``(kh, kw)``.

    Cases: LeNet-5's three convolutions, the chapter's 2-in/3-out example, a 1x1
    convolution with and without bias, a non-square kernel and a large layer.
    """
    cases = [
        Case((1, 6, 5)),                         # LeNet-5 C1: 156
        Case((6, 16, 5)),                        # C3: 2,416
        Case((16, 120, 5)),                      # C5: 48,120
        Case((2, 3, 2)),                         # the chapter's example: 27
        Case((3, 2, 1)),                         # 1x1: 8
        Case((3, 2, 1), {"bias": False}),        # 1x1 without bias: 6
        Case((4, 5, (1, 3))),                    # non-square kernel: 65
        Case((256, 256, 3), {"bias": False}),    # 589,824
    ]
    return run_checks("conv_params", conv_params, _conv_params_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 3: multiply-adds
# --------------------------------------------------------------------------------------

def _conv_macs_reference(h: int, w: int, c_in: int, c_out: int, k: int, stride: int = 1,
                         padding: int = 0) -> int:
    return conv2d_macs((h, w), c_in, c_out, k, stride=stride, padding=padding)


def check_conv_macs(conv_macs: Callable[..., int]) -> Verdict:
    """Check ``conv_macs(h, w, c_in, c_out, k, stride=1, padding=0)``: the multiply-adds
    of ``nn.Conv2d(c_in, c_out, k, stride, padding)`` on one ``h x w`` image (bias
    additions not counted).

    Cases: LeNet-5's three convolutions (C1 keeps the size thanks to its padding), a
    1x1 convolution, a stride that fits and one that leaves a row unused, a
    non-square image, and a kernel as large as the padded input.
    """
    cases = [
        Case((28, 28, 1, 6, 5), {"padding": 2}),          # C1: 117,600
        Case((14, 14, 6, 16, 5)),                          # C3: 240,000
        Case((5, 5, 16, 120, 5)),                          # C5: 48,000
        Case((4, 4, 3, 2, 1)),                             # 1x1: 96
        Case((7, 7, 3, 4, 3), {"stride": 2, "padding": 1}),  # 4x4 outputs: 1,728
        Case((8, 8, 2, 2, 3), {"stride": 2}),              # 3x3 outputs, last row unused
        Case((6, 10, 2, 3, 3), {"padding": 1}),            # non-square image
        Case((3, 3, 2, 5, 5), {"padding": 1}),             # one output position
    ]
    return run_checks("conv_macs", conv_macs, _conv_macs_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 4: receptive field of a stack
# --------------------------------------------------------------------------------------

def _receptive_field_reference(layers: Sequence[tuple[int, int]]) -> int:
    if not layers:
        return 1  # no layer: an input element sees itself
    fields = receptive_fields([(k, s, 0, 1) for k, s in layers], ndim=1)
    return fields[-1].size[0]


def check_receptive_field(receptive_field: Callable[[Sequence[tuple[int, int]]], int]) -> Verdict:
    """Check ``receptive_field(layers)``: how many consecutive input elements one unit of
    the last layer sees, for a 1-D stack of layers given as ``(kernel_size, stride)``
    pairs (convolution or pooling, no dilation; padding does not change the size).

    Cases: the notes' two 2x2 kernels (3), stacks of 3-wide kernels with stride 1
    and stride 2, LeNet-5's convolution-pooling stages, kernels of size 1, a large
    first stride, and the empty stack (the input itself: 1).
    """
    cases = [
        Case(([(2, 1), (2, 1)],)),                    # X -> Y -> z: 3
        Case(([(3, 1)] * 3,)),                        # 7
        Case(([(3, 2)] * 3,)),                        # 15
        Case(([(5, 1), (2, 2), (5, 1), (2, 2)],)),    # LeNet-5 C1..S4: 16
        Case(([(3, 1), (2, 2), (3, 1), (2, 2), (3, 1)],)),  # 18
        Case(([(1, 1)] * 4,)),                        # 1x1 kernels: 1
        Case(([(7, 2), (3, 2), (3, 1)],)),            # 7, 11, 19
        Case(([],)),                                  # 1
    ]
    return run_checks("receptive_field", receptive_field, _receptive_field_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 5: two convolutions are one
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

    Cases: the notes' two 2x2 kernels on one channel, a 1x1 second kernel (only
    channels are mixed: a matrix product), a 1x1 first kernel, channels that change
    in both layers, kernels of different sizes, and non-square kernels.
    """
    g = torch.Generator().manual_seed(5)
    cases = [
        Case((_K[0][None, None], _K[1][None, None])),                 # the notes' X -> Y -> z
        Case((integers(g, 3, 2, 2, 2), integers(g, 4, 3, 1, 1))),     # second kernel 1x1
        Case((integers(g, 3, 2, 1, 1), integers(g, 2, 3, 2, 2))),     # first kernel 1x1
        Case((integers(g, 3, 2, 2, 2), integers(g, 4, 3, 2, 2))),     # 2 -> 3 -> 4 channels
        Case((integers(g, 2, 1, 3, 3), integers(g, 1, 2, 2, 2))),     # 3x3 then 2x2
        Case((integers(g, 2, 2, 1, 3), integers(g, 3, 2, 2, 1))),     # non-square
    ]
    return run_checks("merge_kernels", merge_kernels, _merge_kernels_reference, cases)
