"""Checkers for the exercises of chapter 1, *Convolution parameters*.

Each ``check_*`` function compares the reader's answer with the right one (a number
computed by torch, or a reference function run on several inputs, edge cases
included) and returns a :class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_output_shape(output_shape)``: a prediction, the output shape of
  :data:`SHAPE_LAYER` on an input of shape :data:`SHAPE_INPUT`;
* ``check_dense_weights(dense_weights)``: a prediction, the pair (weights of the dense
  layer that computes what :data:`COUNT_LAYER` computes on a :data:`COUNT_INPUT` image,
  weights of the convolution itself);
* ``check_corr2d_stride(corr2d_stride)``: ``corr2d_stride(X, K, stride)``, a strided
  2-D cross-correlation of one channel, by loops (reference: the scratch ``conv2d``);
* ``check_dilate_kernel(dilate_kernel)``: ``dilate_kernel(K, dilation)``, a 2-D kernel
  with ``dilation - 1`` zeros inserted between its elements;
* ``check_conv2d_groups(conv2d_groups)``: ``conv2d_groups(input, weight, groups)``, a
  grouped convolution computed as one ordinary convolution per group (reference: the
  scratch ``conv2d``).

The methods are enforced: ``corr2d_stride`` may not call a library convolution, and
``conv2d_groups`` may not pass ``groups != 1`` to any convolution, torch's or the
package's, and must make exactly ``groups`` convolution calls; the verdict names the
call (``used F.conv2d(..., groups=2), but the exercise says: ...``). The test tensors
hold small integers (stored as float64), so a failure message shows numbers one can
check by hand.
"""
from __future__ import annotations

import contextlib
import inspect
import math
from collections.abc import Callable, Iterator
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

import cnnlessons.scratch.functional as SF
from cnnlessons.arguments import IntOrTuple, ntuple
from cnnlessons.exercises.checker import (
    Case,
    Method,
    MethodViolation,
    Verdict,
    check_value,
    integers,
    run_checks,
)
from cnnlessons.scratch import conv as scratch_conv
from cnnlessons.scratch import conv_reference
from cnnlessons.scratch.conv import conv2d
from cnnlessons.shapes import conv_output_size

# --------------------------------------------------------------------------------------
# Predictions: an output shape, and a dense layer's weight count
# --------------------------------------------------------------------------------------

#: The layer of the shape prediction: ``Conv2d(in, out, kernel_size, stride, padding, dilation)``.
SHAPE_LAYER = dict(in_channels=3, out_channels=8, kernel_size=(3, 5), stride=2,
                   padding=(1, 2), dilation=(2, 1))
#: The input of the shape prediction, ``(N, C, H, W)``.
SHAPE_INPUT = (4, 3, 15, 20)


def check_output_shape(output_shape: tuple[int, ...]) -> Verdict:
    """Check the predicted shape of ``nn.Conv2d(**SHAPE_LAYER)(torch.zeros(SHAPE_INPUT))``,
    a tuple ``(N, C_out, H_out, W_out)``; the right one comes from running the layer.
    """
    expected = tuple(torch.nn.Conv2d(**SHAPE_LAYER)(torch.zeros(SHAPE_INPUT)).shape)
    return check_value("output_shape", output_shape, expected,
                       why="apply the output-size formula to the height and the width "
                           "separately, each with its own kernel size, padding and dilation")


#: The convolution of the count prediction: ``Conv2d(3, 16, 3, padding=1)``.
COUNT_LAYER = dict(in_channels=3, out_channels=16, kernel_size=3, padding=1)
#: The input image of the count prediction, ``(C, H, W)``.
COUNT_INPUT = (3, 32, 32)


def check_dense_weights(dense_weights: tuple[int, int]) -> Verdict:
    """Check the predicted pair ``(dense, conv)``: the weights (biases left out) of the
    fully connected layer mapping the flattened :data:`COUNT_INPUT` image to the
    flattened output of :data:`COUNT_LAYER`, and of that convolution's kernel.
    """
    layer = torch.nn.Conv2d(**COUNT_LAYER)
    h, w = COUNT_INPUT[1:]
    out = conv_output_size((h, w), layer.kernel_size, layer.stride, layer.padding)
    dense = math.prod(COUNT_INPUT) * layer.out_channels * math.prod(out)
    return check_value("dense_weights", dense_weights, (dense, layer.weight.numel()),
                       why="a dense layer has one weight per (input number, output number) "
                           "pair; a convolution one per kernel tap, shared by all positions")


# --------------------------------------------------------------------------------------
# Strided cross-correlation, by loops
# --------------------------------------------------------------------------------------

#: Where a library convolution could be reached from: torch's and the package's.
_LIBRARIES: tuple[ModuleType, ...] = (torch, F, SF, scratch_conv, conv_reference)

#: "Use loops": no convolution kernel of torch (however reached), no package convolution.
_BY_LOOPS = Method("use loops, no library convolution", families=("convolution",),
                   names=("conv1d", "conv2d", "convolution", "conv2d_loop"), modules=_LIBRARIES)


def _corr2d_stride_reference(X: Tensor, K: Tensor, stride: IntOrTuple) -> Tensor:
    return conv2d(X[None, None], K[None, None], stride=stride)[0, 0]


def check_corr2d_stride(corr2d_stride: Callable[[Tensor, Tensor, IntOrTuple], Tensor]) -> Verdict:
    """Check ``corr2d_stride(X, K, stride)``: the valid cross-correlation of ``X (h, w)``
    with ``K (kh, kw)`` keeping every ``stride``-th window (int or ``(sh, sw)``), by
    loops: a library convolution (torch's or the package's) fails the case.

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
    return run_checks("corr2d_stride", corr2d_stride, _corr2d_stride_reference, cases,
                      method=_BY_LOOPS)


# --------------------------------------------------------------------------------------
# A dilated kernel is a bigger kernel with zeros in it
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

    Cases: dilation 1 (the kernel unchanged), dilation 2 and 3, unequal dilations
    (rows spread, then columns), a 1x1 kernel (nothing to spread), a single row and a
    single column.
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
        Case((integers(g, 2, 3, low=1, high=10), (1, 2))),    # a tuple spreading columns: 2x5
    ]
    return run_checks("dilate_kernel", dilate_kernel, _dilate_kernel_reference, cases)


# --------------------------------------------------------------------------------------
# Groups are convolutions side by side: one ordinary convolution per group
# --------------------------------------------------------------------------------------

_GROUPS_RULE = "one ordinary convolution (groups=1) per group"

#: Where ``groups`` sits among the positional arguments of torch's convolution functions.
_TORCH_GROUPS_AT = {"conv1d": 6, "conv2d": 6, "conv3d": 6, "conv_transpose1d": 6,
                    "conv_transpose2d": 6, "conv_transpose3d": 6, "convolution": 8}

#: The package's convolution functions, by module: Python functions, watched by name.
_PACKAGE_CONVS: tuple[tuple[ModuleType, str], ...] = (
    (SF, "conv1d"), (SF, "conv2d"), (scratch_conv, "conv1d"), (scratch_conv, "conv2d"),
    (scratch_conv, "conv2d_loop"), (conv_reference, "conv2d_loop"))


def _count_call(calls: list[str], qualified: str, groups: object) -> None:
    """Note one convolution call; refuse it if it is grouped."""
    if groups != 1:
        raise MethodViolation(f"used {qualified}(..., groups={groups}), but the exercise "
                              f"says: {_GROUPS_RULE}")
    calls.append(qualified)


class _TorchConvolutions(TorchFunctionMode):
    """Counts torch's convolution calls (``F.conv2d``, ``nn.Conv2d``...), refuses grouped ones."""

    def __init__(self, calls: list[str]) -> None:
        super().__init__()
        self.calls = calls

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        if name in _TORCH_GROUPS_AT:
            at = _TORCH_GROUPS_AT[name]
            groups = kwargs.get("groups", args[at] if len(args) > at else 1)
            # F.conv2d is torch.conv2d: name it as the chapter writes it
            _count_call(self.calls, f"{'torch' if name == 'convolution' else 'F'}.{name}", groups)
        return func(*args, **kwargs)


class _GroupedKernels(TorchDispatchMode):
    """The last line of defence: an ATen convolution with ``groups != 1``, however reached."""

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in ("convolution", "_convolution") and args[8] != 1:
            raise MethodViolation(f"used {func}(..., groups={args[8]}), but the exercise says: "
                                  f"{_GROUPS_RULE}")
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def _watching_convolutions(calls: list[str]) -> Iterator[None]:
    """Inside the block every convolution call, torch's or the package's, is appended to
    ``calls``, and one with ``groups != 1`` raises :class:`MethodViolation`.
    """
    saved = [(module, name, getattr(module, name)) for module, name in _PACKAGE_CONVS]

    def watched(qualified: str, original: Callable) -> Callable:
        signature = inspect.signature(original)

        def call(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            _count_call(calls, qualified, bound.arguments.get("groups", 1))
            return original(*args, **kwargs)
        return call

    for module, name, original in saved:
        short = "SF" if module is SF else module.__name__
        setattr(module, name, watched(f"{short}.{name}", original))
    try:
        with _TorchConvolutions(calls), _GroupedKernels():
            yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def _one_convolution_per_group(conv2d_groups: Callable) -> Callable:
    """``conv2d_groups``, refused if it makes a grouped call or not ``groups`` calls."""
    def watched(input: Tensor, weight: Tensor, groups: int) -> Tensor:
        calls: list[str] = []
        with _watching_convolutions(calls):
            result = conv2d_groups(input, weight, groups)
        if result is not None and len(calls) != groups:
            raise MethodViolation(f"made {len(calls)} convolution call(s) for groups={groups}, "
                                  f"but the exercise says: {_GROUPS_RULE}")
        return result
    return watched


def _conv2d_groups_reference(input: Tensor, weight: Tensor, groups: int) -> Tensor:
    return conv2d(input, weight, groups=groups)


def check_conv2d_groups(conv2d_groups: Callable[[Tensor, Tensor, int], Tensor]) -> Verdict:
    """Check ``conv2d_groups(input, weight, groups)``: ``input (N, C_in, H, W)``,
    ``weight (C_out, C_in/groups, kH, kW)``, no bias, stride 1, no padding; the result
    of ``torch.nn.functional.conv2d(input, weight, groups=groups)``, computed with
    exactly ``groups`` ordinary convolutions (``F.conv2d``, ``SF.conv2d``, ``nn.Conv2d``...
    with ``groups=1``): a grouped call, or the block-diagonal weight in one call, fails.

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
    return run_checks("conv2d_groups", _one_convolution_per_group(conv2d_groups),
                      _conv2d_groups_reference, cases)
