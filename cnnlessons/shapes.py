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
:func:`window_arguments` is the argument half alone, for layers that are built before
they see an input. :func:`conv_output_size` and :func:`pool_output_size` are the same
arithmetic for callers that only want the size; :func:`unpool_geometry` and
:func:`unpool_output_size` run the formula backwards, for the size max unpooling
restores. :func:`conv_transpose_geometry` and :func:`conv_transpose_output_size` do
the same for a transposed convolution, whose output size is the convolution formula
solved for the input size::

    out = (size - 1) * stride - 2*padding + dilation * (kernel_size - 1) + output_padding + 1

Sizes may be ints (one dimension) or tuples (one entry per dimension); those functions
return the same form.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from cnnlessons.arguments import IntOrTuple, Padding, check_non_negative, check_positive, ntuple

__all__ = ["WindowGeometry", "window_arguments", "conv_geometry", "pool_geometry",
           "unpool_geometry", "same_padding", "conv_output_size", "pool_output_size",
           "unpool_output_size", "conv_transpose_arguments", "conv_transpose_geometry",
           "conv_transpose_output_size", "conv_transpose_output_padding"]


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

    @property
    def pad_before(self) -> tuple[int, ...]:
        """The padding at the start of each dimension (top, left).

        Window 0 begins that many elements before the input's first one.
        """
        return tuple(before for before, _ in self.padding)

    @property
    def extent(self) -> tuple[int, ...]:
        """How much of the padded input the windows reach: ``(output_size - 1) * stride + span``.

        At most :attr:`padded_size` for a convolution (the floor drops a tail), and
        possibly more for a pooling layer in ``ceil_mode``, whose last window may hang
        over the far edge.
        """
        return tuple((o - 1) * s + span
                     for o, s, span in zip(self.output_size, self.stride, self.span))

    def as_2d(self) -> WindowGeometry:
        """A 1-D geometry as the 2-D one of a height-1 image and a ``(1, k)`` window.

        That is how the 1-D layers reuse the 2-D code: a length-``L`` signal is a
        ``1 x L`` image, and a window of height 1 (no padding) has one row of output.

        >>> conv_geometry(7, 3).as_2d().output_size
        (1, 5)
        """
        return WindowGeometry((1, *self.input_size), (1, *self.kernel_size), (1, *self.stride),
                              (1, *self.dilation), ((0, 0), *self.padding),
                              (1, *self.output_size))


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
    kernel = _sizes(kernel_size)
    dil = ntuple(dilation, len(kernel), "dilation")
    pads = []
    for k, d in zip(kernel, dil):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def window_arguments(dims: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                     padding: Padding = 0, dilation: IntOrTuple = 1
                     ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...],
                                tuple[tuple[int, int], ...]]:
    """Normalise and check a ``dims``-D window's arguments, without an input size.

    Returns ``(kernel_size, stride, dilation, padding)``: the first three as tuples of
    ``dims`` ints, the padding as one ``(before, after)`` pair per dimension. This is
    what a layer can check when it is built; :func:`conv_geometry` adds the input size.

    Args:
        dims: the number of spatial dimensions.
        kernel_size, stride, dilation: int or tuple with one entry per dimension.
        padding: int, tuple, ``'valid'`` (no padding) or ``'same'`` (output size
            equals input size; needs stride 1).

    Raises:
        ValueError: a non-positive kernel size, stride or dilation, negative
            padding, an unknown padding string or ``'same'`` with a stride other than 1.

    >>> window_arguments(2, 4, padding="same")
    ((4, 4), (1, 1), (1, 1), ((1, 2), (1, 2)))
    """
    kernel = ntuple(kernel_size, dims, "kernel_size")
    strides = ntuple(stride, dims, "stride")
    dil = ntuple(dilation, dims, "dilation")
    check_positive(kernel, "kernel_size")
    check_positive(strides, "stride")
    check_positive(dil, "dilation")
    if isinstance(padding, str):
        if padding == "valid":
            pairs = ((0, 0),) * dims
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
        pads = ntuple(padding, dims, "padding")
        check_non_negative(pads, "padding")
        pairs = tuple((q, q) for q in pads)
    return kernel, strides, dil, pairs


def _sizes(size: IntOrTuple) -> tuple[int, ...]:
    """``size`` as a tuple: one entry per spatial dimension."""
    return (size,) if isinstance(size, int) else tuple(size)


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
        ValueError: any error of :func:`window_arguments`, or an empty output
            (the dilated kernel is larger than the padded input).

    >>> g = conv_geometry((5, 5), 3, stride=2, padding=1)
    >>> g.padding, g.output_size
    (((1, 1), (1, 1)), (3, 3))
    """
    sizes = _sizes(size)
    kernel, strides, dil, pairs = window_arguments(len(sizes), kernel_size, stride, padding,
                                                   dilation)
    out = []
    for n, k, s, pair, d in zip(sizes, kernel, strides, pairs, dil):
        _check_fits(n, pair, k, d)
        out.append((n + sum(pair) - d * (k - 1) - 1) // s + 1)
    return WindowGeometry(sizes, kernel, strides, dil, pairs, tuple(out))


def _pool_stride(stride: IntOrTuple | None, kernel_size: IntOrTuple) -> IntOrTuple:
    """The pooling stride, by torch's rule: ``None`` and ``[]`` both mean "the kernel size"."""
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return kernel_size
    return stride


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
        kernel_size: window size; ``stride`` defaults to it (``None`` or ``[]``).
        padding: implicit padding on both sides, at most half the kernel size.
        dilation: spacing between the window's taps.
        ceil_mode: round up instead of down.

    >>> pool_geometry((5, 5), 2, ceil_mode=True).output_size
    (3, 3)
    """
    sizes = _sizes(size)
    # ntuple first: pooling takes no padding strings
    pads = ntuple(padding, len(sizes), "padding")
    kernel, strides, dil, pairs = window_arguments(
        len(sizes), kernel_size, _pool_stride(stride, kernel_size), pads, dilation)
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
    return WindowGeometry(sizes, kernel, strides, dil, pairs, tuple(out))


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


def unpool_geometry(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                    padding: IntOrTuple = 0) -> WindowGeometry:
    """The geometry of the max pooling that max unpooling of a ``size`` input undoes.

    Its ``output_size`` is ``size`` (the pooled size) and its ``input_size`` the default
    size unpooling restores: undilated floor-mode pooling maps ``n`` to
    ``out = (n + 2*padding - kernel_size) / stride + 1`` when ``stride`` divides evenly,
    so ``n = (out - 1) * stride - 2*padding + kernel_size``. Inputs up to ``stride - 1``
    larger pool to the same ``out``, which is why unpooling also takes an explicit size.

    Args:
        size: the pooled size (int or tuple), the unpooling's input.
        kernel_size, stride, padding: those of the max pooling being undone;
            ``stride`` defaults to ``kernel_size`` (``None`` or ``[]``).

    Raises:
        ValueError: a non-positive kernel size or stride, or negative padding. A
            restored size below 1 (too much padding) is returned as it is; the
            caller decides whether that is an error.

    >>> g = unpool_geometry((2, 2), 2)
    >>> g.input_size, g.output_size
    ((4, 4), (2, 2))
    """
    sizes = _sizes(size)
    pads = ntuple(padding, len(sizes), "padding")
    kernel, strides, dil, pairs = window_arguments(
        len(sizes), kernel_size, _pool_stride(stride, kernel_size), pads)
    restored = tuple((n - 1) * s - 2 * p + k for n, k, s, p in zip(sizes, kernel, strides, pads))
    return WindowGeometry(restored, kernel, strides, dil, pairs, sizes)


def unpool_output_size(size: IntOrTuple, kernel_size: IntOrTuple,
                       stride: IntOrTuple | None = None, padding: IntOrTuple = 0) -> IntOrTuple:
    """The size max unpooling restores by default, per spatial dimension.

    ``restored = (size - 1) * stride - 2*padding + kernel_size``: the pooling formula
    solved for the input size; see :func:`unpool_geometry`. An int for an int
    ``size``, else a tuple.

    >>> unpool_output_size((2, 2), 2), unpool_output_size(3, 3, stride=2, padding=1)
    ((4, 4), 5)
    """
    restored = unpool_geometry(size, kernel_size, stride, padding).input_size
    return restored[0] if isinstance(size, int) else restored



def conv_transpose_arguments(dims: int, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                             padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                             dilation: IntOrTuple = 1
                             ) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...],
                                        tuple[int, ...], tuple[int, ...]]:
    """Normalise and check a ``dims``-D transposed convolution's arguments.

    Returns ``(kernel_size, stride, dilation, padding, output_padding)``, each a tuple of
    ``dims`` ints. ``output_padding`` adds that many elements at the far end of each
    output dimension: a convolution with stride ``s`` maps ``s`` neighbouring input
    sizes to one output size, and ``output_padding`` says which of them to restore.
    Torch's rule: it must be smaller than the stride or smaller than the dilation.

    Raises:
        ValueError: a non-positive kernel size, stride or dilation, a negative padding
            or output padding, a padding string, or ``output_padding`` neither smaller
            than ``stride`` nor smaller than ``dilation``.

    >>> conv_transpose_arguments(2, 3, stride=2, padding=1, output_padding=(1, 0))
    ((3, 3), (2, 2), (1, 1), (1, 1), (1, 0))
    """
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r} must be an int or a tuple: a transposed "
                         "convolution takes no padding strings")
    kernel, strides, dil, pairs = window_arguments(dims, kernel_size, stride, padding, dilation)
    extra = ntuple(output_padding, dims, "output_padding")
    check_non_negative(extra, "output_padding")
    for op, s, d in zip(extra, strides, dil):
        if op >= s and op >= d:
            raise ValueError(f"output_padding={output_padding} must be smaller than "
                             f"stride={stride} or dilation={dilation} (in every dimension)")
    return kernel, strides, dil, tuple(before for before, _ in pairs), extra


def conv_transpose_geometry(size: IntOrTuple, kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                            padding: IntOrTuple = 0, output_padding: IntOrTuple = 0,
                            dilation: IntOrTuple = 1) -> WindowGeometry:
    """The geometry of the convolution that a transposed convolution of a ``size`` input transposes.

    As for :func:`unpool_geometry`, the geometry is read from the convolution's side:
    its ``output_size`` is ``size`` (the transposed convolution's input) and its
    ``input_size`` is the transposed convolution's output,
    ``(size - 1) * stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``.
    Input element ``y`` of the transposed convolution is spread over the window that
    the convolution's output ``y`` reads: padded positions ``y*stride + i*dilation``.

    Args:
        size: the transposed convolution's input length (int) or spatial shape (tuple).
        kernel_size, stride, padding, output_padding, dilation: as for
            :func:`conv_transpose_arguments`.

    Raises:
        ValueError: any error of :func:`conv_transpose_arguments`, or an output size
            below 1 (too much padding).

    >>> g = conv_transpose_geometry((10, 10), 5, stride=2, padding=1, output_padding=1)
    >>> g.input_size, g.output_size, g.padding
    ((22, 22), (10, 10), ((1, 1), (1, 1)))
    """
    sizes = _sizes(size)
    kernel, strides, dil, pads, extra = conv_transpose_arguments(
        len(sizes), kernel_size, stride, padding, output_padding, dilation)
    out = []
    for n, k, s, p, op, d in zip(sizes, kernel, strides, pads, extra, dil):
        length = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if length < 1:
            raise ValueError(
                f"padding={padding} is too large: the output size (size - 1)*stride - "
                f"2*padding + dilation*(kernel_size - 1) + output_padding + 1 = ({n} - 1)*{s} - "
                f"2*{p} + {d}*({k} - 1) + {op} + 1 = {length} must be positive"
            )
        out.append(length)
    return WindowGeometry(tuple(out), kernel, strides, dil, tuple((p, p) for p in pads), sizes)


def conv_transpose_output_size(size: IntOrTuple, kernel_size: IntOrTuple,
                               stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                               output_padding: IntOrTuple = 0,
                               dilation: IntOrTuple = 1) -> IntOrTuple:
    """Output size of a transposed convolution, PyTorch's formula, per spatial dimension.

    ``out = (size - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``;
    see :func:`conv_transpose_geometry` (errors included). An int for an int ``size``,
    else a tuple.

    >>> conv_transpose_output_size(10, 5)       # ConvTranspose2d(16, 6, 5): 10 -> 14
    14
    >>> conv_transpose_output_size((5, 5), 3, stride=2, padding=1, output_padding=1)
    (10, 10)
    """
    out = conv_transpose_geometry(size, kernel_size, stride, padding, output_padding,
                                  dilation).input_size
    return out[0] if isinstance(size, int) else out


def conv_transpose_output_padding(size: IntOrTuple, output_size: IntOrTuple,
                                  kernel_size: IntOrTuple, stride: IntOrTuple = 1,
                                  padding: IntOrTuple = 0,
                                  dilation: IntOrTuple = 1) -> tuple[int, ...]:
    """The ``output_padding`` that makes a transposed convolution produce ``output_size``.

    Torch's ``ConvTranspose*d.forward(input, output_size)`` rule: without output
    padding the output has the smallest size, and every size up to ``stride - 1``
    more can be asked for; the output padding is the difference.

    Args:
        size: the input's spatial size (int or tuple).
        output_size: the wanted spatial size, one entry per spatial dimension.
        kernel_size, stride, padding, dilation: the layer's.

    Raises:
        ValueError: ``output_size`` has the wrong number of entries or is out of range.

    >>> conv_transpose_output_padding((5, 5), (10, 9), 3, stride=2, padding=1)
    (1, 0)
    """
    smallest = _sizes(conv_transpose_output_size(size, kernel_size, stride, padding, 0,
                                                 dilation))
    wanted = _sizes(output_size)
    if len(wanted) != len(smallest):
        raise ValueError(f"output_size={output_size} must have {len(smallest)} entries, one "
                         "per spatial dimension")
    strides = ntuple(stride, len(smallest), "stride")
    largest = tuple(m + s - 1 for m, s in zip(smallest, strides))
    if any(not lo <= w <= hi for w, lo, hi in zip(wanted, smallest, largest)):
        raise ValueError(f"output_size={tuple(wanted)} is out of range: for an input of size "
                         f"{_sizes(size)} the output sizes run from {smallest} to {largest}")
    return tuple(w - m for w, m in zip(wanted, smallest))
