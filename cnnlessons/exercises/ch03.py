"""Checkers for the exercises of chapter 3, *1x1 convolution*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference built on the package and returns a
:class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_conv1x1_as_matmul(conv1x1_as_matmul)`` (implement): ``conv1x1_as_matmul(X,
  K)``, a batched 1x1 convolution without bias computed as a matrix product over the
  channels (reference: the scratch ``conv2d``); a library convolution, torch's or the
  package's, fails the case;
* ``check_conv1x1_by_rows(conv1x1_by_rows)`` (find the bug): the same convolution with
  one row per pixel, the ``.reshape(-1, C)`` that mixes channels and pixels fixed, under
  the same method;
* ``check_linear_from_conv1x1(linear_from_conv1x1)`` (implement): ``linear_from_conv1x1(
  conv)``, the ``nn.Linear`` layer that applies a 1x1 ``Conv2d`` to one pixel's channel
  vector;
* ``check_wide_bottleneck_cost(wide_bottleneck_cost)`` (predict): the ``(parameters,
  multiply-adds)`` of the bottleneck ``WIDE_BOTTLENECK`` (2048 -> 512 -> 2048 channels)
  on a 7x7 map, counted by :func:`cnnlessons.tables.measured_cost`.

Tensors hold small integers stored as float64, so failure messages show numbers one
can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor, nn

import cnnlessons.scratch as scratch_package
import cnnlessons.scratch.functional as SF
from cnnlessons.exercises.checker import Case, Method, Verdict, check_value, integers, run_checks
from cnnlessons.scratch import conv as scratch_conv
from cnnlessons.scratch import conv_reference
from cnnlessons.scratch.conv import conv2d
from cnnlessons.tables import measured_cost

#: Where a library convolution could be reached from: torch's and the package's.
_LIBRARIES: tuple[ModuleType, ...] = (torch, F, SF, scratch_package, scratch_conv,
                                      conv_reference)

#: The package's convolution functions, refused while an answer runs (torch's kernels are
#: caught by the dispatch recorder, family "convolution"; the package's are built from
#: allowed primitives, so they are refused by name).
_CONV_NAMES = ("conv1d", "conv2d", "convolution", "corr2d", "conv2d_loop")

#: "A matrix product": no convolution kernel of torch (however reached), no package conv.
_BY_MATMUL = Method("a matrix product over the channels, no library convolution",
                    families=("convolution",), names=_CONV_NAMES, modules=_LIBRARIES)


# The notes' example: 3 input channels, 2 output channels (on a 2x2 image, so that a
# failure message can print the whole output).
_X = torch.arange(12, dtype=torch.float64).reshape(1, 3, 2, 2)
_K = torch.tensor([[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]], dtype=torch.float64).view(2, 3, 1, 1)


def _conv1x1_reference(X: Tensor, K: Tensor) -> Tensor:
    return conv2d(X, K)


def _conv1x1_cases(seed: int) -> list[Case]:
    g = torch.Generator().manual_seed(seed)
    return [
        Case((_X, _K)),                                              # the notes' example
        Case((integers(g, 3, 3, 2, 2), integers(g, 2, 3, 1, 1))),    # a batch
        Case((integers(g, 2, 1, 3, 3), integers(g, 4, 1, 1, 1))),    # c_i = 1
        Case((integers(g, 1, 4, 2, 3), integers(g, 1, 4, 1, 1))),    # c_o = 1
        Case((integers(g, 2, 3, 3, 2), integers(g, 3, 3, 1, 1))),    # 3 -> 3, transposable
        Case((integers(g, 1, 2, 2, 5), integers(g, 3, 2, 1, 1))),    # a 2x5 image
    ]


# --------------------------------------------------------------------------------------
# Exercise 1 (implement): a batched 1x1 convolution is a matrix product
# --------------------------------------------------------------------------------------

def check_conv1x1_as_matmul(conv1x1_as_matmul: Callable[[Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``conv1x1_as_matmul(X, K)``: ``X (N, c_i, h, w)``, ``K (c_o, c_i, 1, 1)``;
    the result of ``F.conv2d(X, K)``, shape ``(N, c_o, h, w)``, computed as a matrix
    product over the channels. A convolution function (torch's, however reached, or the
    package's ``conv2d``, ``corr2d``...) fails the case.

    Cases: the notes' 3-in/2-out example, a batch, one input channel, one output
    channel, as many outputs as inputs (where a transposed weight still has the right
    shape), and a non-square image.
    """
    return run_checks("conv1x1_as_matmul", conv1x1_as_matmul, _conv1x1_reference,
                      _conv1x1_cases(3), method=_BY_MATMUL)


# --------------------------------------------------------------------------------------
# Exercise 2 (find the bug): pixels as rows, by reshape instead of permute
# --------------------------------------------------------------------------------------

def check_conv1x1_by_rows(conv1x1_by_rows: Callable[[Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``conv1x1_by_rows(X, K)``: the 1x1 convolution ``F.conv2d(X, K)`` of
    ``X (N, c_i, h, w)`` and ``K (c_o, c_i, 1, 1)`` computed from an ``(N h w, c_i)``
    matrix with one row per pixel, without a library convolution.

    Cases: a 1x1 image and a single input channel first (where the buggy
    ``X.reshape(-1, c_i)`` happens to be right: a pixel's channels, or a channel's
    pixels, are already contiguous), then the notes' example and the cases of
    :func:`check_conv1x1_as_matmul`.
    """
    g = torch.Generator().manual_seed(7)
    cases = [
        Case((integers(g, 3, 4, 1, 1), integers(g, 2, 4, 1, 1))),    # h = w = 1
        Case((integers(g, 2, 1, 3, 3), integers(g, 2, 1, 1, 1))),    # c_i = 1
        *_conv1x1_cases(8),
    ]
    return run_checks("conv1x1_by_rows", conv1x1_by_rows, _conv1x1_reference, cases,
                      method=_BY_MATMUL)


# --------------------------------------------------------------------------------------
# Exercise 3 (implement): from Conv2d(1x1) to Linear
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
        if layer is None or layer is Ellipsis:
            return layer                                       # the stub: "not done yet"
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
# Exercise 4 (predict): the cost of ResNet-50's last bottleneck
# --------------------------------------------------------------------------------------

#: The bottleneck of the prediction: ResNet-50's conv5_x block, without its shortcut and
#: batch normalisation (the ReLUs have no parameters and do no multiply-adds).
WIDE_BOTTLENECK = ((2048, 512, 1), (512, 512, 3), (512, 2048, 1))   # (in, out, kernel)
#: Its input: one sample of 2048 channels on a 7x7 map, ``(C, H, W)``.
WIDE_INPUT = (2048, 7, 7)


def wide_bottleneck() -> nn.Sequential:
    """``WIDE_BOTTLENECK`` as layers: 1x1, 3x3 (padding 1), 1x1, no bias, ReLUs between,
    on the ``meta`` device (shapes, no numbers: nothing random is drawn).

    >>> wide_bottleneck()[2]
    Conv2d(512, 512, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1), bias=False)
    """
    layers: list[nn.Module] = []
    for c_in, c_out, k in WIDE_BOTTLENECK:
        layers += [nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False, device="meta"),
                   nn.ReLU()]
    return nn.Sequential(*layers[:-1])


def check_wide_bottleneck_cost(wide_bottleneck_cost: tuple[int, int]) -> Verdict:
    """Check the predicted ``(parameters, multiply-adds)`` of :func:`wide_bottleneck` on
    one ``WIDE_INPUT`` sample; the right pair is what torch counts
    (:func:`cnnlessons.tables.measured_cost`).
    """
    expected = measured_cost(wide_bottleneck(), WIDE_INPUT)
    return check_value("wide_bottleneck_cost", wide_bottleneck_cost, expected,
                       why="give the pair (parameters, MACs); a k x k layer has "
                           "c_out * c_in * k * k weights, each used once per output "
                           "position, and padding 1 keeps the 3x3 layer's map 7x7")
