r"""What a layer costs: its number of parameters and its multiply-adds.

A 2-D convolution with ``C_in`` input channels, ``C_out`` output channels, a
``kH x kW`` kernel and ``groups = G`` holds one kernel of shape
``(C_in/G, kH, kW)`` per output channel, plus one bias per output channel::

    params = C_out * (C_in / G) * kH * kW  (+ C_out if bias)

Each output number is one kernel's dot product with one window of the input:
``(C_in/G) * kH * kW`` multiplications, each followed by an addition (a
*multiply-add*, MAC). There are ``C_out * H_out * W_out`` output numbers per image,
with ``H_out, W_out`` from PyTorch's output-size formula
(:func:`cnnlessons.shapes.conv_output_size`)::

    MACs = C_out * H_out * W_out * (C_in / G) * kH * kW

The same weights are used at every output position, so parameters do not grow with
the image but multiply-adds do. The bias additions (``C_out * H_out * W_out``, one per
output number) are not counted, as is usual; taps that fall on the zero padding are,
because the layer multiplies them all the same. One MAC is two floating-point
operations (FLOPs), the unit of ``torch.utils.flop_counter``.

A fully connected layer ``Linear(in_features, out_features)`` is the special case
of one output position: ``in_features * out_features`` weights (``+ out_features``
biases) and as many MACs per sample.
"""
from __future__ import annotations

import math

from cnnlessons.arguments import IntOrTuple, Padding, check_count, check_positive, ntuple
from cnnlessons.shapes import conv_output_size

__all__ = ["conv2d_params", "conv2d_macs", "linear_params", "linear_macs"]


def _check_channels(in_channels: int, out_channels: int, groups: int) -> None:
    """Both channel counts positive and divisible by ``groups`` (``nn.Conv2d``'s rule)."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
        check_count(value, name)
    if in_channels % groups:
        raise ValueError(f"in_channels={in_channels} is not divisible by groups={groups}")
    if out_channels % groups:
        raise ValueError(f"out_channels={out_channels} is not divisible by groups={groups}")


def conv2d_params(in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                  groups: int = 1, bias: bool = True) -> int:
    """Number of parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size,
    groups=groups, bias=bias)``.

    ``C_out * (C_in / groups) * kH * kW`` weights, plus ``C_out`` biases if ``bias``:
    the weight tensor has shape ``(C_out, C_in / groups, kH, kW)``, the bias ``(C_out,)``.
    Stride, padding and dilation change where the kernel is applied, not its size.

    Args:
        in_channels: ``C_in``, channels of the input.
        out_channels: ``C_out``, channels of the output (= number of kernels).
        kernel_size: ``k`` or ``(kH, kW)``.
        groups: ``G``; both channel counts must be divisible by it.
        bias: whether the layer has a bias.

    Returns:
        The parameter count, equal to ``sum(p.numel() for p in layer.parameters())``.

    Raises:
        TypeError: a channel count or ``groups`` is not an int.
        ValueError: a non-positive count or kernel size, or channels not divisible
            by ``groups``.

    >>> conv2d_params(3, 2, 1)              # a 1x1 convolution: 2 x 3 weights + 2 biases
    8
    >>> conv2d_params(256, 256, 3, bias=False)
    589824
    """
    _check_channels(in_channels, out_channels, groups)
    kernel = ntuple(kernel_size, 2, "kernel_size")
    check_positive(kernel, "kernel_size")
    weights = out_channels * (in_channels // groups) * math.prod(kernel)
    return weights + (out_channels if bias else 0)


def conv2d_macs(input_size: IntOrTuple, in_channels: int, out_channels: int,
                kernel_size: IntOrTuple, stride: IntOrTuple = 1, padding: Padding = 0,
                dilation: IntOrTuple = 1, groups: int = 1) -> int:
    """Multiply-adds of one ``nn.Conv2d`` forward pass on one image.

    ``MACs = C_out * H_out * W_out * (C_in / groups) * kH * kW``: every one of the
    ``C_out * H_out * W_out`` output numbers is a dot product of length
    ``(C_in / groups) * kH * kW``, with ``H_out = floor((H + 2*pH - dH*(kH - 1) - 1) / sH)
    + 1`` (same for ``W_out``; :func:`cnnlessons.shapes.conv_output_size`). Bias
    additions are not counted; multiply by the batch size for a batch; one MAC is
    two FLOPs.

    Args:
        input_size: the input's spatial size, ``H`` (square) or ``(H, W)``.
        in_channels, out_channels, kernel_size, groups: as in ``nn.Conv2d``.
        stride, padding, dilation: as in ``nn.Conv2d`` (``padding`` may be
            ``'valid'`` or ``'same'``).

    Returns:
        The number of multiply-adds per image.

    Raises:
        TypeError: a channel count or ``groups`` is not an int.
        ValueError: bad channel counts (see ``conv2d_params``), a non-positive input
            size, or any error of ``conv_output_size`` (e.g. a kernel larger than the
            padded input).

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`; the count is for one of the
          :math:`N` images.

    >>> conv2d_macs(28, 1, 6, 5, padding=2)         # LeNet-5's C1: 28*28 * 6 * 25
    117600
    """
    _check_channels(in_channels, out_channels, groups)
    size = ntuple(input_size, 2, "input_size")
    check_positive(size, "input_size")
    kernel = ntuple(kernel_size, 2, "kernel_size")
    h_out, w_out = conv_output_size(size, kernel, stride, padding, dilation)
    return out_channels * h_out * w_out * (in_channels // groups) * math.prod(kernel)


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Number of parameters of ``nn.Linear(in_features, out_features, bias=bias)``:
    an ``(out_features, in_features)`` weight and, if ``bias``, ``out_features`` biases.

    >>> linear_params(400, 120)                     # LeNet-5's C5 written as Linear
    48120
    """
    check_count(in_features, "in_features")
    check_count(out_features, "out_features")
    return out_features * in_features + (out_features if bias else 0)


def linear_macs(in_features: int, out_features: int) -> int:
    r"""Multiply-adds of ``nn.Linear(in_features, out_features)`` on one sample (one row
    of the input): ``in_features * out_features``, bias additions not counted.

    Shape:
        - Input: :math:`(*, H_{in})` with :math:`H_{in} = \text{in\_features}`; the
          count is per row, i.e. per element of :math:`*`.

    >>> linear_macs(120, 84)
    10080
    """
    check_count(in_features, "in_features")
    check_count(out_features, "out_features")
    return in_features * out_features
