"""Checkers for the exercises of chapter 1, *Convolution parameters*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_out_size(out_size)``: ``out_size(n, k, s, p, d)``, the output length of a
  convolution (reference: :func:`cnnlessons.shapes.conv_output_size`);
* ``check_corr2d_stride(corr2d_stride)``: ``corr2d_stride(X, K, stride)``, a strided
  2-D cross-correlation of one channel (reference: the scratch ``conv2d``);
* ``check_dilate_kernel(dilate_kernel)``: ``dilate_kernel(K, dilation)``, a 2-D kernel
  with ``dilation - 1`` zeros inserted between its elements;
* ``check_conv2d_groups(conv2d_groups)``: ``conv2d_groups(input, weight, groups)``, a
  grouped convolution computed group by group (reference: the scratch ``conv2d``).

The test tensors hold small integers (stored as float64), so a failure message shows
numbers one can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from cnnlessons.arguments import IntOrTuple, ntuple
from cnnlessons.exercises.checker import Case, Verdict, integers, run_checks
from cnnlessons.scratch.conv import conv2d
from cnnlessons.shapes import conv_output_size

# --------------------------------------------------------------------------------------
# Exercise 1: the output-size formula
# --------------------------------------------------------------------------------------

def _out_size_reference(n: int, k: int, s: int, p: int, d: int) -> int:
    return conv_output_size(n, k, stride=s, padding=p, dilation=d)


def check_out_size(out_size: Callable[[int, int, int, int, int], int]) -> Verdict:
    """Check ``out_size(n, k, s, p, d)``: the output length of a 1-D convolution of an
    input of length ``n`` with kernel size ``k``, stride ``s``, padding ``p`` (on each
    side) and dilation ``d``.

    Cases: the notes' layers (``Conv1d(16, 33, 3, stride=2)`` on length 50, the
    ``(3, 5)`` kernel with padding and dilation), a stride that leaves input elements
    unused (the floor matters), a kernel exactly as wide as the input (one output),
    padding that keeps the size, and a dilated kernel that only just fits.
    """
    cases = [
        Case((5, 3, 1, 0, 1)),       # the plain valid case: 3
        Case((50, 3, 2, 0, 1)),      # Conv1d(16, 33, 3, stride=2) on length 50: 24
        Case((6, 3, 2, 0, 1)),       # the last input element is never reached: 2
        Case((7, 7, 1, 0, 1)),       # the kernel covers the whole input: 1
        Case((7, 3, 1, 1, 1)),       # 'same'-style padding: 7
        Case((50, 3, 2, 4, 3)),      # Conv2d(16, 33, (3, 5), (2, 1), (4, 2), (3, 1)), height: 26
        Case((100, 5, 1, 2, 1)),     # the same layer, width: 100
        Case((9, 3, 3, 0, 4)),       # dilated span 9 fits the input exactly: 1
        Case((10, 4, 3, 2, 2)),      # everything at once: 3
    ]
    return run_checks("out_size", out_size, _out_size_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 2: strided cross-correlation
# --------------------------------------------------------------------------------------

def _corr2d_stride_reference(X: Tensor, K: Tensor, stride: IntOrTuple) -> Tensor:
    return conv2d(X[None, None], K[None, None], stride=stride)[0, 0]


def check_corr2d_stride(corr2d_stride: Callable[[Tensor, Tensor, IntOrTuple], Tensor]) -> Verdict:
    """Check ``corr2d_stride(X, K, stride)``: the valid cross-correlation of ``X (h, w)``
    with ``K (kh, kw)`` keeping every ``stride``-th window (int or ``(sh, sw)``).

    Cases: d2l's ``arange(9)`` example with stride 1, strides that fit the input
    exactly and strides that leave rows and columns unused, unequal strides, a
    non-square kernel, a stride larger than the kernel (windows skip input), and a
    kernel as large as the input (a 1x1 output).
    """
    g = torch.Generator().manual_seed(1)
    X3 = torch.arange(9, dtype=torch.float64).reshape(3, 3)
    K2 = torch.tensor([[0.0, 1.0], [2.0, 3.0]], dtype=torch.float64)
    cases = [
        Case((X3, K2, 1)),                                       # [[19, 25], [37, 43]]
        Case((integers(g, 5, 5), integers(g, 3, 3), 2)),         # fits exactly: 2x2
        Case((integers(g, 6, 6), integers(g, 3, 3), 2)),         # last row/column unused
        Case((integers(g, 5, 7), integers(g, 2, 3), (2, 1))),    # unequal strides
        Case((integers(g, 6, 5), integers(g, 3, 2), (1, 3))),    # non-square kernel
        Case((integers(g, 7, 7), integers(g, 2, 2), 3)),         # stride > kernel size
        Case((integers(g, 4, 3), integers(g, 4, 3), 2)),         # kernel = input: 1x1
    ]
    return run_checks("corr2d_stride", corr2d_stride, _corr2d_stride_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 3: a dilated kernel is a bigger kernel with zeros in it
# --------------------------------------------------------------------------------------

def _dilate_kernel_reference(K: Tensor, dilation: IntOrTuple) -> Tensor:
    """``K (kh, kw)`` spread out: ``out[i*dh, j*dw] = K[i, j]``, zeros elsewhere."""
    dh, dw = ntuple(dilation, 2, "dilation")
    kh, kw = K.shape
    out = K.new_zeros((dh * (kh - 1) + 1, dw * (kw - 1) + 1))
    out[::dh, ::dw] = K
    return out


def check_dilate_kernel(dilate_kernel: Callable[[Tensor, IntOrTuple], Tensor]) -> Verdict:
    """Check ``dilate_kernel(K, dilation)``: ``K (kh, kw)`` with ``dilation - 1`` zeros
    inserted between neighbouring elements (and none around the border), shape
    ``(dh*(kh-1) + 1, dw*(kw-1) + 1)``; ``dilation`` is an int or ``(dh, dw)``.

    Cases: dilation 1 (the kernel unchanged), dilation 2 and 3, unequal dilations,
    a 1x1 kernel (nothing to spread), a single row and a single column.
    """
    g = torch.Generator().manual_seed(3)
    cases = [
        Case((integers(g, 3, 3, low=1, high=10), 1)),         # unchanged
        Case((integers(g, 2, 2, low=1, high=10), 2)),         # 3x3 with a zero cross
        Case((integers(g, 3, 3, low=1, high=10), 3)),         # 7x7
        Case((integers(g, 2, 3, low=1, high=10), (3, 1))),    # unequal dilations
        Case((integers(g, 1, 1, low=1, high=10), 4)),         # 1x1 stays 1x1
        Case((integers(g, 1, 3, low=1, high=10), 2)),         # one row: 1x5
        Case((integers(g, 3, 1, low=1, high=10), (2, 5))),    # one column: 5x1
    ]
    return run_checks("dilate_kernel", dilate_kernel, _dilate_kernel_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 4: groups are convolutions side by side
# --------------------------------------------------------------------------------------

def _conv2d_groups_reference(input: Tensor, weight: Tensor, groups: int) -> Tensor:
    return conv2d(input, weight, groups=groups)


def check_conv2d_groups(conv2d_groups: Callable[[Tensor, Tensor, int], Tensor]) -> Verdict:
    """Check ``conv2d_groups(input, weight, groups)``: ``input (N, C_in, H, W)``,
    ``weight (C_out, C_in/groups, kH, kW)``, no bias, stride 1, no padding; the result
    of ``torch.nn.functional.conv2d(input, weight, groups=groups)``.

    Cases: ``groups=1`` (an ordinary convolution), ``groups=2`` as in the notes,
    several output channels per group, a depthwise convolution (``groups=C_in``),
    a depthwise convolution with two kernels per channel, and a non-square kernel.
    """
    g = torch.Generator().manual_seed(4)
    cases = [
        Case((integers(g, 1, 2, 4, 4), integers(g, 3, 2, 3, 3), 1)),     # ordinary
        Case((integers(g, 1, 4, 4, 4), integers(g, 2, 2, 3, 3), 2)),     # one output per group
        Case((integers(g, 2, 4, 5, 5), integers(g, 6, 2, 3, 3), 2)),     # three per group
        Case((integers(g, 1, 3, 4, 4), integers(g, 3, 1, 2, 2), 3)),     # depthwise
        Case((integers(g, 2, 3, 4, 4), integers(g, 6, 1, 3, 3), 3)),     # depthwise, x2
        Case((integers(g, 1, 6, 5, 4), integers(g, 4, 3, 3, 2), 2)),     # non-square kernel
    ]
    return run_checks("conv2d_groups", conv2d_groups, _conv2d_groups_reference, cases)
