"""Checkers for the exercises of chapter 4, *Pooling*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_max_pool2d_stride(max_pool2d_stride)``: ``max_pool2d_stride(X, kernel_size,
  stride)``, max pooling of one 2-D channel written with loops (reference: the
  scratch ``max_pool2d``); a library pooling function, torch's or the package's,
  fails the case;
* ``check_pool_out_size(pool_out_size)``: ``pool_out_size(n, k, s, p, ceil_mode)``,
  the output length of a pooling layer, ``ceil_mode`` included (reference:
  :func:`cnnlessons.shapes.pool_output_size`);
* ``check_avg_pool1d_pad(avg_pool1d_pad)``: ``avg_pool1d_pad(x, kernel_size, stride,
  padding, count_include_pad)``, 1-D average pooling with zero padding and both
  divisors (reference: the scratch ``avg_pool1d``), without a library pooling function;
* ``check_unpool(unpool)``: ``unpool(values, indices, output_size)``, max unpooling
  from the flat indices max pooling returns (reference: the scratch ``max_unpool2d``),
  without a library unpooling function;
* ``check_stem_pool_shape(stem_pool_shape)``: the predicted output shape of ResNet's
  stem pooling, ``MaxPool2d(3, stride=2, padding=1)``, on a ``(8, 64, 112, 112)`` batch.

The test tensors hold small integers (stored as float64), so a failure message shows
numbers one can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor

import cnnlessons.scratch.functional as SF
from cnnlessons.arguments import IntOrTuple
from cnnlessons.exercises.checker import Case, Method, Verdict, check_value, integers, run_checks
from cnnlessons.scratch import pool as scratch_pool
from cnnlessons.scratch import pool_reference, unpool
from cnnlessons.scratch.functional import avg_pool1d, max_pool2d, max_unpool2d
from cnnlessons.shapes import pool_output_size

#: Where a library pooling function could be reached from: torch's and the package's.
_LIBRARIES: tuple[ModuleType, ...] = (torch, F, SF, scratch_pool, pool_reference, unpool)

#: The package's pooling and unpooling functions, refused while an answer runs (torch's
#: kernels are caught by the dispatch recorder, family "pooling").
_POOLING_NAMES = ("max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "max_pool2d_loop",
                  "avg_pool2d_loop", "max_unpool1d", "max_unpool2d")

#: "Use loops": no pooling kernel of torch (however reached), no package pooling.
_BY_LOOPS = Method("use loops, no library pooling", families=("pooling",),
                   names=_POOLING_NAMES, modules=_LIBRARIES)

#: "Scatter by hand": no unpooling kernel, no package unpooling.
_BY_SCATTER = Method("scatter the values yourself, no library unpooling", families=("pooling",),
                     names=_POOLING_NAMES, modules=_LIBRARIES)

# --------------------------------------------------------------------------------------
# Exercise 1: max pooling with a stride, by loops
# --------------------------------------------------------------------------------------

def _max_pool2d_stride_reference(X: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple) -> Tensor:
    return max_pool2d(X[None], kernel_size, stride)[0]


def check_max_pool2d_stride(max_pool2d_stride: Callable[[Tensor, IntOrTuple, IntOrTuple], Tensor]
                            ) -> Verdict:
    """Check ``max_pool2d_stride(X, kernel_size, stride)``: max pooling of ``X (h, w)``
    without padding, output ``(floor((h - kh) / sh) + 1, floor((w - kw) / sw) + 1)``;
    ``kernel_size`` and ``stride`` are ints or pairs.

    Cases: the 3x3 ``arange`` with 2x2 windows at stride 1 (``[[4, 5], [7, 8]]``), the
    usual stride 2, an odd size whose last row and column no window reaches,
    overlapping 3x3 windows, rectangular windows and strides, and an all-negative
    input (a running maximum started at 0 would return 0).
    """
    g = torch.Generator().manual_seed(4)
    cases = [
        Case((torch.arange(9, dtype=torch.float64).reshape(3, 3), 2, 1)),
        Case((integers(g, 4, 4), 2, 2)),
        Case((integers(g, 5, 5), 2, 2)),            # floor: row 4 and column 4 unused
        Case((integers(g, 5, 7), 3, 2)),            # overlapping windows
        Case((integers(g, 4, 6), (2, 3), (2, 3))),   # rectangular windows
        Case((integers(g, 6, 7), 2, (1, 3))),       # different strides per dimension
        Case((integers(g, 3, 4, low=-9, high=-1), 2, 1)),   # all negative
    ]
    return run_checks("max_pool2d_stride", max_pool2d_stride, _max_pool2d_stride_reference,
                      cases, method=_BY_LOOPS)


# --------------------------------------------------------------------------------------
# Exercise 2: the output size, ceil_mode included
# --------------------------------------------------------------------------------------

def _pool_out_size_reference(n: int, k: int, s: int, p: int, ceil_mode: bool) -> int:
    return pool_output_size(n, k, s, p, ceil_mode=ceil_mode)


def check_pool_out_size(pool_out_size: Callable[..., int]) -> Verdict:
    """Check ``pool_out_size(n, k, s, p, ceil_mode)``: the output length of a pooling
    layer (``MaxPool1d(k, s, p, ceil_mode=ceil_mode)``, dilation 1) on an input of
    length ``n``. With ``ceil_mode`` the division is rounded up, but a last window
    that would start in the right-hand padding is dropped. ``ceil_mode`` is passed by
    keyword.

    Cases: LeNet's 28 -> 14, the notes' ``MaxPool1d(3, stride=2)`` on 50 and 5, a
    length the stride does not divide (floor 2, ceil 3), one it does (both the same),
    padded inputs where ceil_mode's extra window would start in the padding, and a
    quotient of exactly one half (10 / 4) that Python's ``round`` takes down to 2.
    """
    cases = [
        Case((28, 2, 2, 0), {"ceil_mode": False}),   # LeNet's pooling: 14
        Case((50, 3, 2, 0), {"ceil_mode": False}),   # the notes' MaxPool1d(3, stride=2): 24
        Case((5, 3, 2, 0), {"ceil_mode": False}),    # the notes' (2, 3, 5) input: 2
        Case((5, 2, 2, 0), {"ceil_mode": False}),    # floor: 2
        Case((5, 2, 2, 0), {"ceil_mode": True}),     # ceil: 3, the last window hangs over
        Case((5, 3, 2, 0), {"ceil_mode": True}),     # the stride divides: still 2
        Case((50, 3, 2, 0), {"ceil_mode": True}),    # 25
        Case((5, 2, 2, 1), {"ceil_mode": True}),     # 4th window starts in the padding: 3
        Case((4, 3, 2, 1), {"ceil_mode": True}),     # 3, the last window starts on the input
        Case((7, 4, 3, 2), {"ceil_mode": True}),     # 4 by the formula, dropped: 3
        # round() for ceil: 10 / 4 = 2.5 rounds to the even 2, giving 3 instead of 4 (in
        # the other ceil cases round() agrees with ceil, or errs on a window that is dropped)
        Case((13, 3, 4, 0), {"ceil_mode": True}),
    ]
    return run_checks("pool_out_size", pool_out_size, _pool_out_size_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 3: average pooling with padding, both divisors
# --------------------------------------------------------------------------------------

def _avg_pool1d_pad_reference(x: Tensor, kernel_size: int, stride: int, padding: int,
                              count_include_pad: bool) -> Tensor:
    return avg_pool1d(x[None], kernel_size, stride, padding,
                      count_include_pad=count_include_pad)[0]


def check_avg_pool1d_pad(avg_pool1d_pad: Callable[..., Tensor]) -> Verdict:
    """Check ``avg_pool1d_pad(x, kernel_size, stride, padding, count_include_pad)``:
    average pooling of a 1-D ``x (L,)`` with ``padding`` zeros on each side, output
    length ``floor((L + 2*padding - kernel_size) / stride) + 1``. Each window's sum is
    divided by ``kernel_size`` if ``count_include_pad`` (the zeros count), else by
    the number of elements of ``x`` in the window. ``count_include_pad`` is passed by
    keyword.

    Cases: the notes' ``[1, ..., 7]`` with window 3 and stride 2 (``[2, 4, 6]``, no
    padding: both divisors agree), ``[1, 2, 3, 4]`` padded by 1 with each divisor,
    windows half in the padding, and longer random inputs.
    """
    g = torch.Generator().manual_seed(5)
    notes = torch.arange(1, 8, dtype=torch.float64)
    short = torch.arange(1, 5, dtype=torch.float64)
    cases = [
        Case((notes, 3, 2, 0), {"count_include_pad": True}),   # [2, 4, 6]
        Case((notes, 3, 2, 0), {"count_include_pad": False}),  # no padding: the same
        Case((short, 3, 1, 1), {"count_include_pad": True}),   # [1, 2, 3, 7/3]
        Case((short, 3, 1, 1), {"count_include_pad": False}),  # [3/2, 2, 3, 7/2]
        Case((short, 2, 2, 1), {"count_include_pad": True}),   # windows half in the padding
        Case((short, 2, 2, 1), {"count_include_pad": False}),
        Case((integers(g, 9), 5, 3, 2), {"count_include_pad": False}),
        Case((integers(g, 8), 4, 1, 2), {"count_include_pad": True}),
    ]
    return run_checks("avg_pool1d_pad", avg_pool1d_pad, _avg_pool1d_pad_reference, cases,
                      method=_BY_LOOPS)


# --------------------------------------------------------------------------------------
# Exercise 4: unpooling from the indices
# --------------------------------------------------------------------------------------

def _unpool_reference(values: Tensor, indices: Tensor, output_size: Sequence[int]) -> Tensor:
    # max_unpool2d only needs a pooling geometry whose inverse size is output_size:
    # stride 1 with a kernel of H - h + 1 rows and W - w + 1 columns is one.
    (h, w), (H, W) = values.shape[-2:], tuple(output_size)
    return max_unpool2d(values, indices, (H - h + 1, W - w + 1), stride=1,
                        output_size=(H, W))


def _pooled(x: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
            ceil_mode: bool = False) -> Case:
    """The case ``unpool(values, indices, x's size)`` for ``x (C, H, W)`` max-pooled."""
    values, indices = max_pool2d(x, kernel_size, stride, ceil_mode=ceil_mode,
                                 return_indices=True)
    return Case((values, indices, tuple(x.shape[-2:])))


def check_unpool(unpool: Callable[[Tensor, Tensor, Sequence[int]], Tensor]) -> Verdict:
    """Check ``unpool(values, indices, output_size)``: ``values`` and ``indices``
    ``(C, h, w)`` come from ``max_pool2d(x, ..., return_indices=True)`` on an
    ``x (C, H, W)``, and ``output_size`` is ``(H, W)``. Return the ``(C, H, W)`` tensor
    that holds each value at the position its index names (flat, ``row * W + col``,
    within its own channel) and zeros everywhere else, like ``F.max_unpool2d``.

    Cases: a 4x4 channel pooled 2x2, several channels of a non-square map (``W``, not
    ``H``, converts a flat index), a 5x5 map whose last row and column pooling never
    read (the output size is not twice the pooled one), overlapping windows that share
    a maximum, and ceil_mode's partial windows.
    """
    g = torch.Generator().manual_seed(6)
    cases = [
        _pooled(integers(g, 1, 4, 4, low=0, high=10), 2),
        _pooled(integers(g, 2, 4, 6, low=0, high=10), 2),       # non-square
        _pooled(integers(g, 1, 5, 5, low=0, high=10), 2),       # remainder dropped
        _pooled(integers(g, 3, 5, 5, low=0, high=10), 3, 2),    # overlapping windows
        _pooled(integers(g, 2, 5, 7, low=1, high=10), 2, ceil_mode=True),
    ]
    return run_checks("unpool", unpool, _unpool_reference, cases, method=_BY_SCATTER)


# --------------------------------------------------------------------------------------
# Exercise 5: predict the shape after ResNet's stem pooling
# --------------------------------------------------------------------------------------

#: The layer of the shape prediction: ``MaxPool2d(kernel_size, stride, padding)``.
STEM_POOL = dict(kernel_size=3, stride=2, padding=1)
#: Its input, ``(N, C, H, W)``: the output of ResNet's first convolution on 224x224 images.
STEM_INPUT = (8, 64, 112, 112)


def check_stem_pool_shape(stem_pool_shape: tuple[int, ...]) -> Verdict:
    """Check the predicted shape of ``nn.MaxPool2d(**STEM_POOL)(torch.zeros(STEM_INPUT))``,
    a tuple ``(N, C, H_out, W_out)``; the right one comes from running the layer.
    """
    expected = tuple(torch.nn.MaxPool2d(**STEM_POOL)(torch.zeros(STEM_INPUT)).shape)
    return check_value("stem_pool_shape", stem_pool_shape, expected,
                       why="pooling keeps N and C; apply the output-size formula, floor "
                           "included, to the height and the width")
