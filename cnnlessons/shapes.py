"""Output sizes of convolution and pooling layers.

Every spatial dimension of a convolution or pooling layer follows one formula
(the one in PyTorch's ``Conv2d`` and ``MaxPool2d`` documentation)::

    out = floor((size + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1

Read it from the inside out: ``dilation * (kernel_size - 1) + 1`` is the span the
kernel covers once its taps are spread ``dilation`` apart; ``size + 2 * padding``
is the padded input; their difference is how far the window can slide, and
dividing by ``stride`` counts the steps, plus one for the starting position.
Pooling with ``ceil_mode=True`` rounds up instead, but drops a last window that
would start in the right-hand padding.

Sizes may be ints (one dimension) or tuples (one entry per dimension); the result
has the same form.
"""
from __future__ import annotations

import math
from typing import Sequence, Union

from cnnlessons.arguments import check_non_negative, check_positive, ntuple

Size = Union[int, Sequence[int]]
Padding = Union[int, Sequence[int], str]


def _as_tuples(size: Size, **params) -> tuple[bool, tuple[int, ...], dict]:
    """Broadcast ``size`` and each parameter to tuples of one common length."""
    scalar = isinstance(size, int)
    sizes = (size,) if scalar else tuple(size)
    n = len(sizes)
    out = {}
    for name, value in params.items():
        out[name] = value if isinstance(value, str) else ntuple(value, n, name)
    return scalar, sizes, out


def same_padding(kernel_size: Size, dilation: Size = 1) -> tuple[tuple[int, int], ...]:
    """The (left, right) zero padding per dimension that ``padding='same'`` adds.

    The kernel spans ``dilation * (kernel_size - 1) + 1`` elements, so keeping the
    size needs ``dilation * (kernel_size - 1)`` extra elements in all. PyTorch puts
    half on the left and, when the total is odd, the extra one on the right.

    >>> same_padding(3)
    ((1, 1),)
    >>> same_padding((4, 3), dilation=(1, 2))
    ((1, 2), (2, 2))
    """
    kernel = (kernel_size,) if isinstance(kernel_size, int) else tuple(kernel_size)
    dil = ntuple(dilation, len(kernel), "dilation")
    pads = []
    for k, d in zip(kernel, dil):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def conv_output_size(size: Size, kernel_size: Size, stride: Size = 1,
                     padding: Padding = 0, dilation: Size = 1) -> Size:
    """Output size of a convolution, PyTorch's formula, per spatial dimension.

    ``out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    Args:
        size: input length ``L`` (int) or spatial shape ``(H, W)`` (tuple).
        kernel_size, stride, dilation: int or tuple with one entry per dimension.
        padding: int, tuple, ``'valid'`` (no padding) or ``'same'`` (output size
            equals input size; needs stride 1).

    Returns:
        An int for an int ``size``, else a tuple.

    Raises:
        ValueError: a non-positive kernel size, stride or dilation, negative
            padding, ``'same'`` with a stride other than 1, or an empty output
            (the dilated kernel is larger than the padded input).

    >>> conv_output_size(50, 3, stride=2)          # Conv1d(16, 33, 3, stride=2)
    24
    >>> conv_output_size((50, 100), (3, 5), stride=(2, 1), padding=(4, 2))
    (28, 100)
    """
    scalar, sizes, p = _as_tuples(size, kernel_size=kernel_size, stride=stride,
                                  padding=padding, dilation=dilation)
    kernel, strides, dil = p["kernel_size"], p["stride"], p["dilation"]
    check_positive(kernel, "kernel_size")
    check_positive(strides, "stride")
    check_positive(dil, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pads = (0,) * len(sizes)
        elif padding == "same":
            if any(s != 1 for s in strides):
                raise ValueError(
                    f"padding='same' needs stride=1 (got stride={stride}): with a larger "
                    "stride the output is necessarily smaller than the input"
                )
            return size if scalar else tuple(sizes)
        else:
            raise ValueError(f"padding={padding!r} must be an int, a tuple, 'valid' or 'same'")
    else:
        pads = p["padding"]
        check_non_negative(pads, "padding")
    out = []
    for n, k, s, pad, d in zip(sizes, kernel, strides, pads, dil):
        span = d * (k - 1) + 1
        if n + 2 * pad < span:
            raise ValueError(
                f"kernel_size={k} with dilation={d} spans {span} elements, more than the "
                f"padded input size {n} + 2*{pad} = {n + 2 * pad}: the output would be empty"
            )
        out.append((n + 2 * pad - span) // s + 1)
    return out[0] if scalar else tuple(out)


def pool_output_size(size: Size, kernel_size: Size, stride: Size | None = None,
                     padding: Size = 0, dilation: Size = 1, ceil_mode: bool = False) -> Size:
    """Output size of max or average pooling, PyTorch's rule, per spatial dimension.

    ``out = round((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``
    where ``round`` is ``floor`` by default and ``ceil`` with ``ceil_mode=True``.
    With ``ceil_mode`` the last window may hang over the right edge, but it must
    start inside the input or the left padding; otherwise it is dropped.

    Args:
        size: input length (int) or spatial shape (tuple).
        kernel_size: window size; ``stride`` defaults to it.
        padding: implicit padding on both sides, at most half the kernel size.
        dilation: spacing between the window's taps.
        ceil_mode: round up instead of down.

    >>> pool_output_size(5, 2), pool_output_size(5, 2, ceil_mode=True)
    (2, 3)
    """
    stride = kernel_size if stride is None else stride
    scalar, sizes, p = _as_tuples(size, kernel_size=kernel_size, stride=stride,
                                  padding=padding, dilation=dilation)
    kernel, strides, pads, dil = p["kernel_size"], p["stride"], p["padding"], p["dilation"]
    check_positive(kernel, "kernel_size")
    check_positive(strides, "stride")
    check_positive(dil, "dilation")
    check_non_negative(pads, "padding")
    out = []
    for n, k, s, pad, d in zip(sizes, kernel, strides, pads, dil):
        if pad > k // 2:
            raise ValueError(
                f"padding={pad} must be at most half of kernel_size={k} (at most {k // 2}), "
                "so that every window overlaps the input"
            )
        span = d * (k - 1) + 1
        rounding = math.ceil if ceil_mode else math.floor
        length = rounding((n + 2 * pad - span) / s) + 1
        if ceil_mode and (length - 1) * s >= n + pad:
            length -= 1  # the last window would start in the right padding
        if length < 1:
            raise ValueError(
                f"kernel_size={k} with dilation={d} spans {span} elements, more than the "
                f"padded input size {n} + 2*{pad} = {n + 2 * pad}: the output would be empty"
            )
        out.append(length)
    return out[0] if scalar else tuple(out)

