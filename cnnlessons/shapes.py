"""Window geometry: output sizes and padding of convolution and pooling layers.

This module is the one owner of a sliding window's arithmetic. Every spatial dimension
of a convolution or pooling layer follows one formula (the one in PyTorch's ``Conv2d``
and ``MaxPool2d`` documentation)::

    out = floor((size + pad_before + pad_after - dilation * (kernel_size - 1) - 1) / stride) + 1

Read it from the inside out: ``dilation * (kernel_size - 1) + 1`` is the span the
kernel covers once its taps are spread ``dilation`` apart; ``size + pad_before +
pad_after`` is the padded input; their difference is how far the window can slide, and
dividing by ``stride`` counts the steps, plus one for the starting position.
Pooling with ``ceil_mode=True`` rounds up instead, but drops a last window that
would start in the right-hand padding.

:func:`conv_geometry` and :func:`pool_geometry` check every argument once and return a
:class:`WindowGeometry` (normalised kernel, stride, dilation, the ``(before, after)``
padding pairs and the output size), which layers keep instead of recomputing it.
:func:`conv_output_size` and :func:`pool_output_size` are the same arithmetic for
callers that only want the size. Sizes may be ints (one dimension) or tuples (one
entry per dimension); those two return the same form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cnnlessons.arguments import IntOrTuple, Padding, check_non_negative, check_positive, ntuple

__all__ = ["WindowGeometry", "conv_geometry", "pool_geometry", "same_padding",
           "conv_output_size", "pool_output_size"]


@dataclass(frozen=True)
class WindowGeometry:
    """Where a layer's windows sit, one entry per spatial dimension.

    Attributes:
        input_size: the spatial input size, e.g. ``(H, W)``.
        kernel_size, stride, dilation: the normalised arguments.
        padding: one ``(before, after)`` pair of implicit padding per dimension
            (unequal only for ``padding='same'`` with an odd total).
        output_size: the number of windows per dimension, e.g. ``(H_out, W_out)``.
    """

    input_size: tuple[int, ...]
    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    output_size: tuple[int, ...]

    @property
    def span(self) -> tuple[int, ...]:
        """How many input elements one window covers: ``dilation * (kernel_size - 1) + 1``."""
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel_size, self.dilation))

    @property
    def padded_size(self) -> tuple[int, ...]:
        """The input size with the implicit padding added on both sides."""
        return tuple(n + a + b for n, (a, b) in zip(self.input_size, self.padding))

    @property
    def flat_padding(self) -> tuple[int, ...]:
        """The pads as ``(before_0, after_0, before_1, after_1, ...)``, first dimension first."""
        return tuple(p for pair in self.padding for p in pair)


def _normalise(size: IntOrTuple, **params: IntOrTuple) -> tuple[tuple[int, ...], dict]:
    """``size`` as a tuple, and each parameter as a tuple of the same length."""
    sizes = (size,) if isinstance(size, int) else tuple(size)
    n = len(sizes)
    return sizes, {name: ntuple(value, n, name) for name, value in params.items()}


def _check_fits(n: int, pads: tuple[int, int], k: int, d: int) -> None:
    """Raise unless a dilated kernel fits the padded input at least once."""
    span = d * (k - 1) + 1
    if n + sum(pads) < span:
        shown = f"{n} + 2*{pads[0]}" if pads[0] == pads[1] else f"{n} + {pads[0]} + {pads[1]}"
        raise ValueError(
            f"kernel_size={k} with dilation={d} spans {span} elements, more than the "
            f"padded input size {shown} = {n + sum(pads)}: the output would be empty"
        )


def same_padding(kernel_size: IntOrTuple, dilation: IntOrTuple = 1) -> tuple[tuple[int, int], ...]:
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


def conv_geometry(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                  padding: Padding = 0, dilation: IntOrTuple = 1) -> WindowGeometry:
    """Check a convolution's arguments once and return its :class:`WindowGeometry`.

    ``out = floor((size + pad_before + pad_after - dilation*(kernel_size - 1) - 1) / stride) + 1``

    Args:
        size: input length ``L`` (int) or spatial shape ``(H, W)`` (tuple).
        kernel_size, stride, dilation: int or tuple with one entry per dimension.
        padding: int, tuple, ``'valid'`` (no padding) or ``'same'`` (output size
            equals input size; needs stride 1).

    Raises:
        ValueError: a non-positive kernel size, stride or dilation, negative
            padding, ``'same'`` with a stride other than 1, or an empty output
            (the dilated kernel is larger than the padded input).

    >>> g = conv_geometry((5, 5), 3, stride=2, padding=1)
    >>> g.padding, g.output_size
    (((1, 1), (1, 1)), (3, 3))
    """
    sizes, p = _normalise(size, kernel_size=kernel_size, stride=stride, dilation=dilation)
    kernel, strides, dil = p["kernel_size"], p["stride"], p["dilation"]
    check_positive(kernel, "kernel_size")
    check_positive(strides, "stride")
    check_positive(dil, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pairs = ((0, 0),) * len(sizes)
        elif padding == "same":
            if any(s != 1 for s in strides):
                raise ValueError(
                    f"padding='same' needs stride=1 (got stride={stride}): with a larger "
                    "stride the output is necessarily smaller than the input"
                )
            pairs = same_padding(kernel, dil)
        else:
            raise ValueError(f"padding={padding!r} must be an int, a tuple, 'valid' or 'same'")
    else:
        pads = ntuple(padding, len(sizes), "padding")
        check_non_negative(pads, "padding")
        pairs = tuple((q, q) for q in pads)
    out = []
    for n, k, s, pair, d in zip(sizes, kernel, strides, pairs, dil):
        _check_fits(n, pair, k, d)
        out.append((n + sum(pair) - d * (k - 1) - 1) // s + 1)
    return WindowGeometry(sizes, kernel, strides, dil, pairs, tuple(out))


def pool_geometry(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                  padding: IntOrTuple = 0, dilation: IntOrTuple = 1,
                  ceil_mode: bool = False) -> WindowGeometry:
    """Check a pooling layer's arguments once and return its :class:`WindowGeometry`.

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

    >>> pool_geometry((5, 5), 2, ceil_mode=True).output_size
    (3, 3)
    """
    stride = kernel_size if stride is None else stride
    sizes, p = _normalise(size, kernel_size=kernel_size, stride=stride, padding=padding,
                          dilation=dilation)
    kernel, strides, pads, dil = p["kernel_size"], p["stride"], p["padding"], p["dilation"]
    check_positive(kernel, "kernel_size")
    check_positive(strides, "stride")
    check_positive(dil, "dilation")
    check_non_negative(pads, "padding")
    rounding = math.ceil if ceil_mode else math.floor
    out = []
    for n, k, s, pad, d in zip(sizes, kernel, strides, pads, dil):
        if pad > k // 2:
            raise ValueError(
                f"padding={pad} must be at most half of kernel_size={k} (at most {k // 2}), "
                "so that every window overlaps the input"
            )
        length = rounding((n + 2 * pad - d * (k - 1) - 1) / s) + 1
        if ceil_mode and (length - 1) * s >= n + pad:
            length -= 1  # the last window would start in the right padding
        if length < 1:
            _check_fits(n, (pad, pad), k, d)
        out.append(length)
    return WindowGeometry(sizes, kernel, strides, dil, tuple((q, q) for q in pads), tuple(out))


def conv_output_size(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                     padding: Padding = 0, dilation: IntOrTuple = 1) -> IntOrTuple:
    """Output size of a convolution, PyTorch's formula, per spatial dimension.

    ``out = floor((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    Args:
        size: input length ``L`` (int) or spatial shape ``(H, W)`` (tuple).
        kernel_size, stride, dilation: int or tuple with one entry per dimension.
        padding: int, tuple, ``'valid'`` (no padding) or ``'same'`` (output size
            equals input size; needs stride 1).

    Returns:
        An int for an int ``size``, else a tuple. Errors are :func:`conv_geometry`'s.

    >>> conv_output_size(50, 3, stride=2)          # Conv1d(16, 33, 3, stride=2)
    24
    >>> conv_output_size((50, 100), (3, 5), stride=(2, 1), padding=(4, 2))
    (28, 100)
    """
    out = conv_geometry(size, kernel_size, stride, padding, dilation).output_size
    return out[0] if isinstance(size, int) else out


def pool_output_size(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                     padding: IntOrTuple = 0, dilation: IntOrTuple = 1,
                     ceil_mode: bool = False) -> IntOrTuple:
    """Output size of max or average pooling, PyTorch's rule, per spatial dimension.

    The arithmetic and the errors are :func:`pool_geometry`'s; the result is an int for
    an int ``size``, else a tuple.

    >>> pool_output_size(5, 2), pool_output_size(5, 2, ceil_mode=True)
    (2, 3)
    """
    out = pool_geometry(size, kernel_size, stride, padding, dilation, ceil_mode).output_size
    return out[0] if isinstance(size, int) else out
