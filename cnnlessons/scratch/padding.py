"""Padding the last dimensions of a tensor, as torch's ``F.pad`` does.

A convolution layer pads its input before sliding the kernel over it. Four ways to
invent the missing border values, shown on the row ``[1, 2, 3]`` padded by two on
each side::

    constant  (value=0)   0 0 | 1 2 3 | 0 0
    reflect               3 2 | 1 2 3 | 2 1     mirror, the edge itself not repeated
    replicate             1 1 | 1 2 3 | 3 3     repeat the edge value
    circular              2 3 | 1 2 3 | 1 2     wrap around, as if the row were a ring

``constant`` is a new tensor filled with ``value`` with the input copied into its
middle. The other three only *read* input elements, so each is a list of source
positions: output position ``j`` (counted from ``-left``) reads input position

    reflect    |j| mirrored again at the right edge: (L-1) - |(L-1) - |j||
    replicate  clamp(j, 0, L-1)
    circular   j mod L

and the padded tensor is ``input.index_select(dim, index)``, one padded dimension at
a time. Negative padding crops (except in circular mode, see ``pad``).

Backward: every output element is a copy of one input element (or the constant),
so ``dL/dinput`` sums the output gradients of all copies of each input element:
for ``constant`` that is just the middle slice of ``grad_output``; for the other
modes it is ``index_add_`` of ``grad_output`` back onto the source positions
(the edge elements of ``reflect`` and ``replicate`` collect several gradients).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable

__all__ = ["pad"]

_MODES = ("constant", "reflect", "replicate", "circular")


def _pairs(pad: Sequence[int], input: Tensor) -> list[tuple[int, int]]:
    """Turn torch's flat ``pad`` (last dimension first) into ``(before, after)`` pairs
    in dimension order, i.e. the first pair is for the first padded dimension.
    """
    if not isinstance(pad, (tuple, list)) or not all(
        isinstance(p, int) and not isinstance(p, bool) for p in pad
    ):
        raise TypeError(f"pad={pad!r} must be a tuple or list of ints")
    if len(pad) % 2 != 0:
        raise ValueError(
            f"pad={tuple(pad)} has length {len(pad)}, which is odd: it must hold "
            "(before, after) pairs, last dimension first"
        )
    if len(pad) // 2 > input.dim():
        raise ValueError(
            f"pad={tuple(pad)} pads {len(pad) // 2} dimensions, but input has only "
            f"{input.dim()} (shape {tuple(input.shape)})"
        )
    flat = list(pad)
    return [(flat[i], flat[i + 1]) for i in range(len(flat) - 2, -1, -2)]


def _source_index(size: int, before: int, after: int, mode: str, device) -> Tensor:
    """Input position read by each output position along one padded dimension."""
    j = torch.arange(-before, size + after, device=device)
    if mode == "reflect":
        last = size - 1
        return last - (last - j.abs()).abs()
    if mode == "replicate":
        return j.clamp(0, size - 1)
    return j.remainder(size)  # circular


def _check_index_mode(input: Tensor, pairs: list[tuple[int, int]], mode: str) -> None:
    """Raise unless ``input`` and ``pairs`` follow torch's rules for the reflect,
    replicate and circular modes.
    """
    k = len(pairs)
    if k not in (1, 2, 3) or input.dim() not in (k + 1, k + 2):
        raise ValueError(
            f"mode={mode!r} pads the last 1, 2 or 3 dimensions of a batched or unbatched "
            f"input: pad of length 2k needs a (k+1)-D or (k+2)-D input, but got pad of "
            f"length {2 * k} and a {input.dim()}-D input of shape {tuple(input.shape)}"
        )
    channels = input.shape[input.dim() - k - 1]
    if mode != "circular" and (0 in input.shape[input.dim() - k - 1:input.dim() - k] or
                               (input.dim() == k + 1 and 0 in input.shape)):
        raise ValueError(
            f"mode={mode!r} needs non-empty channel and padded dimensions (only a batch may be "
            f"empty), but input has shape {tuple(input.shape)} with {channels} channels"
        )
    spatial = input.shape[input.dim() - k:]
    for dim, (size, (before, after)) in enumerate(zip(spatial, pairs), start=input.dim() - k):
        if size < 1:
            raise ValueError(
                f"mode={mode!r} needs a non-empty dimension {dim} to read border values "
                f"from, but input has shape {tuple(input.shape)}"
            )
        if mode == "reflect" and (before >= size or after >= size):
            raise ValueError(
                f"reflect padding must be smaller than the padded dimension: got padding "
                f"({before}, {after}) for dimension {dim} of size {size}"
            )
        if mode == "circular" and (before < 0 or after < 0):
            raise ValueError(
                f"circular padding must be non-negative: got padding ({before}, {after}) "
                f"for dimension {dim}"
            )
        if mode == "circular" and (before > size or after > size):
            raise ValueError(
                f"circular padding must be at most the padded dimension (it wraps around "
                f"once): got padding ({before}, {after}) for dimension {dim} of size {size}"
            )
        if size + before + after < 1:
            raise ValueError(
                f"padding ({before}, {after}) crops dimension {dim} of size {size} to "
                f"{size + before + after}; mode={mode!r} needs at least 1 element left"
            )


class _ConstantPadFunction(Function):
    """``value`` everywhere, the input copied into the middle (cropped where padding
    is negative). Backward: the gradient of the copied block is the matching block of
    ``grad_output``; cropped input elements and the constant border get none.
    """

    @staticmethod
    def forward(ctx, input: Tensor, pairs: list[tuple[int, int]], value: float) -> Tensor:
        lead = input.dim() - len(pairs)
        out_shape = list(input.shape[:lead])
        src, dst = [slice(None)] * lead, [slice(None)] * lead
        for size, (before, after) in zip(input.shape[lead:], pairs):
            out_shape.append(size + before + after)
            start = max(-before, 0)                      # cropped on the left
            stop = size - max(-after, 0)                 # cropped on the right
            src.append(slice(start, max(stop, start)))
            dst.append(slice(max(before, 0), max(before, 0) + max(stop - start, 0)))
        out = input.new_full(out_shape, value)
        out[tuple(dst)] = input[tuple(src)]
        ctx.src = tuple(src)  # where the copied block sits in the input ...
        ctx.dst = tuple(dst)  # ... and in the output
        ctx.input_shape = input.shape
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        grad_input = grad_output.new_zeros(ctx.input_shape)
        grad_input[ctx.src] = grad_output[ctx.dst]
        return grad_input, None, None


class _Selection(NamedTuple):
    """One step of ``_IndexPadFunction``: ``index_select(dim, index)`` on a tensor of ``shape``."""

    dim: int
    index: Tensor
    shape: torch.Size


class _IndexPadFunction(Function):
    """Reflect/replicate/circular padding as ``index_select`` along each padded
    dimension. Backward undoes the selections in reverse order with ``index_add_``,
    which sums the gradients of all copies of an input element.
    """

    @staticmethod
    def forward(ctx, input: Tensor, pairs: list[tuple[int, int]], mode: str) -> Tensor:
        lead = input.dim() - len(pairs)
        out = input
        steps: list[_Selection] = []
        for dim, (before, after) in enumerate(pairs, start=lead):
            if before == 0 and after == 0:
                continue  # nothing to do along this dimension
            index = _source_index(out.shape[dim], before, after, mode, input.device)
            steps.append(_Selection(dim, index, out.shape))
            out = out.index_select(dim, index)
        if not steps:
            out = input.clone()  # an output must not alias a saved input
        ctx.steps = steps
        return out

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        grad = grad_output
        for step in reversed(ctx.steps):
            grad = grad.new_zeros(step.shape).index_add_(step.dim, step.index, grad)
        return grad, None, None


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant",
        value: float | None = None) -> Tensor:
    """Pad the last dimensions of ``input``; same arguments and result as
    torch's ``F.pad``.

    Args:
        input: tensor of any shape ``(*, D_1, ..., D_k)``; the last ``k`` dimensions
            are padded.
        pad: ``(before, after)`` amounts, **last dimension first**:
            ``(left, right)`` pads the last dimension, ``(left, right, top, bottom)``
            the last two, ``(left, right, top, bottom, front, back)`` the last three.
            Negative amounts crop (not allowed in ``'circular'`` mode: stricter than
            torch, which crops there too). The non-constant modes need at least one
            element left in every padded dimension (stricter than torch, which allows
            none in some cases, such as 2-D reflect padding).
        mode: ``'constant'`` (any number of dimensions), or ``'reflect'``,
            ``'replicate'``, ``'circular'`` (the last 1, 2 or 3 dimensions of a
            batched ``(N, C, *)`` or unbatched ``(C, *)`` input).
        value: fill value for ``'constant'`` (default 0); other modes take none.

    Returns:
        The padded tensor, same dtype and device as ``input``.

    Shape:
        - Input: :math:`(*, D_1, ..., D_k)`, the last :math:`k` dimensions padded.
        - Output: :math:`(*, D_1 + b_1 + a_1, ..., D_k + b_k + a_k)`, where
          :math:`(b_i, a_i)` is the ``(before, after)`` pair of dimension :math:`i`.

    Raises:
        ValueError: odd ``pad`` length; more padded dimensions than ``input`` has; an
            unknown mode; ``value`` with a non-constant mode; and torch's rules for the
            other modes: reflect padding smaller than the dimension, circular padding
            between 0 and the dimension, a non-empty padded dimension, a (k+1)-D or
            (k+2)-D input.

    >>> x = torch.tensor([[[1., 2., 3.]]])
    >>> pad(x, (2, 2), mode="reflect")
    tensor([[[3., 2., 1., 2., 3., 2., 1.]]])
    >>> pad(x, (1, 0), value=9.0)
    tensor([[[9., 1., 2., 3.]]])
    """
    if mode not in _MODES:
        raise ValueError(f"mode={mode!r} must be one of {_MODES}")
    pairs = _pairs(pad, input)
    if mode == "constant":
        for size, (before, after) in zip(input.shape[input.dim() - len(pairs):], pairs):
            if size + before + after < 0:
                raise ValueError(
                    f"padding ({before}, {after}) crops a dimension of size {size} to "
                    f"{size + before + after} elements, fewer than none"
                )
            # torch crops first and pads after: the cropping alone may not go below none
            if size + min(before, 0) + min(after, 0) < 0:
                raise ValueError(
                    f"padding ({before}, {after}) crops a dimension of size {size} by "
                    f"{-min(before, 0) - min(after, 0)} elements, more than it has"
                )
        return _ConstantPadFunction.apply(input, pairs, 0.0 if value is None else value)
    if value is not None:
        raise ValueError(f"value={value!r} is only used by mode='constant', not mode={mode!r}")
    _check_index_mode(input, pairs, mode)
    return _IndexPadFunction.apply(input, pairs, mode)
