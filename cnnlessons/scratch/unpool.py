"""Max unpooling, from scratch: the partial inverse of max pooling.

Max pooling with ``return_indices=True`` also says where each maximum came from: its
flat position ``h * W + w`` in its own channel's input plane. Unpooling puts every
pooled value back at that position and fills the rest with zeros, so the maxima are
kept and everything else is lost. Run on the upstream gradient, it is exactly the
backward pass of max pooling without overlapping windows.

The restored size inverts the pooling formula (``cnnlessons.shapes.unpool_geometry``)::

    out = (size - 1) * stride - 2*padding + kernel_size

Pooling maps every input size from that one up to ``stride - 1`` more to the same
output, so ``output_size`` may pick one of those sizes instead.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

from cnnlessons.arguments import IntOrTuple, check_input_dims
from cnnlessons.scratch._checks import check_floating
from cnnlessons.scratch.pool import _pair, _single
from cnnlessons.shapes import unpool_geometry

__all__ = ["max_unpool1d", "max_unpool2d", "MaxUnpool1d", "MaxUnpool2d"]


class _MaxUnpool2dFunction(Function):
    """Put each value back where its maximum came from, zeros elsewhere.

    Forward: ``out[p] = x[o]`` if ``indices[o] == p``, else 0, per plane.
    Backward: ``out[indices[o]]`` is a copy of ``x[o]``, so
    ``dL/dx[o] = G[indices[o]]``: a gather, the mirror image of the scatter.
    """

    @staticmethod
    def forward(ctx, input: Tensor, indices: Tensor, out_size: tuple[int, int]):
        planes = input.shape[-2] * input.shape[-1]
        idx = indices.reshape(-1, planes)
        out = input.new_zeros(idx.shape[0], out_size[0] * out_size[1])
        out.scatter_(1, idx, input.reshape(-1, planes))
        ctx.save_for_backward(idx)
        ctx.input_shape = input.shape
        # A view of a tensor made here: detached, so ReLU(inplace=True) may overwrite it.
        return out.view(*input.shape[:-2], *out_size).detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        (idx,) = ctx.saved_tensors
        g = grad_output.reshape(idx.shape[0], -1)
        return g.gather(1, idx).view(ctx.input_shape), None, None


def _unpool_args(input: Tensor, indices: Tensor, dims: int, kernel_size, stride, padding,
                 output_size) -> tuple[int, ...]:
    """Check the arguments of ``max_unpool{dims}d`` and return the output's spatial size."""
    check_floating(input, f"max_unpool{dims}d")
    check_input_dims(input, dims)
    if not isinstance(indices, Tensor) or indices.dtype != torch.int64:
        raise TypeError(f"indices must be an int64 tensor (as max_pool{dims}d returns), "
                        f"not {getattr(indices, 'dtype', type(indices).__name__)}")
    if indices.shape != input.shape:
        raise ValueError(f"indices has shape {tuple(indices.shape)} but input has shape "
                         f"{tuple(input.shape)}; they must match")
    # The pooling being undone; its input size is the default unpooled size.
    pooling = unpool_geometry(tuple(input.shape[-dims:]), kernel_size, stride, padding)
    default = pooling.input_size
    if output_size is None:
        size = default
    else:
        size = tuple(output_size)
        if len(size) == dims + 2:
            size = size[2:]  # (N, C, *spatial) given: keep the spatial part, like torch
        if len(size) != dims:
            raise ValueError(f"output_size={tuple(output_size)} must have {dims} or {dims + 2} "
                             "entries")
        for d, (n, want, s) in enumerate(zip(size, default, pooling.stride)):
            # Pooling maps every size in (want - s, want + s) to the same output size.
            if not want - s < n < want + s:
                raise ValueError(
                    f"output_size={tuple(output_size)} is invalid: dimension {d} must be between "
                    f"{want - s} and {want + s} (exclusive), the sizes that max pooling with "
                    f"kernel_size={pooling.kernel_size[d]}, stride={s}, "
                    f"padding={pooling.pad_before[d]} maps to {input.shape[-dims + d]}"
                )
    if any(n < 1 for n in size):
        raise ValueError(f"the unpooled size {size} must be positive in every dimension")
    positions = math.prod(size)
    if indices.numel() and (indices.min() < 0 or indices.max() >= positions):
        raise ValueError(
            f"indices must lie in [0, {positions}) for an output of spatial size {size}; "
            f"got values in [{int(indices.min())}, {int(indices.max())}]"
        )
    return size


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: IntOrTuple,
                 stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Partial inverse of :func:`max_pool2d` (PyTorch's ``F.max_unpool2d``).

    Every pooled value goes back to the position its maximum came from
    (``indices``, as returned by ``max_pool2d(..., return_indices=True)``); all
    other positions are 0. What the maxima were is kept, where the rest were is
    lost.

    Args:
        input: pooled values ``(N, C, H_in, W_in)`` or ``(C, H_in, W_in)``.
        indices: int64, same shape: flat positions ``h * W_out + w``.
        kernel_size, stride, padding: those of the max pooling being undone;
            ``stride`` defaults to ``kernel_size``.
        output_size: the spatial size ``(H_out, W_out)`` (or the full shape) to
            restore, when pooling dropped a remainder; it must lie strictly
            within ``stride`` of the default size.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = (H_{in} - 1) s_h - 2 p_h + k_h` unless ``output_size`` is
          given, and likewise :math:`W_{out}`.

    Raises:
        ValueError: wrong dimensions, ``indices`` of another shape or out of
            range, bad kernel size/stride/padding, or an invalid ``output_size``.
        TypeError: ``input`` is not floating point or ``indices`` is not int64.

    >>> from cnnlessons.scratch.pool import max_pool2d
    >>> out, idx = max_pool2d(torch.tensor([[[1., 2., 5., 0.], [3., 4., 1., 1.]]]), 2,
    ...                       return_indices=True)
    >>> max_unpool2d(out, idx, 2)
    tensor([[[0., 0., 5., 0.],
             [0., 4., 0., 0.]]])
    """
    size = _unpool_args(input, indices, 2, kernel_size, stride, padding, output_size)
    return _MaxUnpool2dFunction.apply(input, indices, size)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: IntOrTuple,
                 stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                 output_size: Sequence[int] | None = None) -> Tensor:
    """Partial inverse of :func:`max_pool1d` (PyTorch's ``F.max_unpool1d``).

    Args:
        input: pooled values ``(N, C, L_in)`` or ``(C, L_in)``.
        indices: int64, same shape: positions along the output length.
        kernel_size, stride, padding, output_size: as in :func:`max_unpool2d`,
            one dimension.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = (L_{in} - 1) s - 2p + k` unless ``output_size`` is given.

    Raises:
        ValueError, TypeError: as :func:`max_unpool2d`.

    >>> from cnnlessons.scratch.pool import max_pool1d
    >>> out, idx = max_pool1d(torch.tensor([[[1., 2., 3., 4., 5., 6., 7., 8.]]]), 2,
    ...                       return_indices=True)
    >>> max_unpool1d(out, idx, 2)
    tensor([[[0., 2., 0., 4., 0., 6., 0., 8.]]])
    """
    (length,) = _unpool_args(input, indices, 1, kernel_size, stride, padding, output_size)
    out = _MaxUnpool2dFunction.apply(input.unsqueeze(-2), indices.unsqueeze(-2), (1, length))
    return out.squeeze(-2)


# ------------------------------------------------------------------ modules


class _MaxUnpoolNd(Module):
    """Shared ``extra_repr`` of the unpooling layers, as torch's."""

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxUnpool1d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool1d` (mirrors ``torch.nn.MaxUnpool1d``).

    Args:
        kernel_size, stride, padding: those of the max pooling being undone.

    Inputs: ``input``, ``indices`` (from ``MaxPool1d(..., return_indices=True)``),
    optional ``output_size``; see :func:`max_unpool1d`.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = (L_{in} - 1) s - 2p + k` unless ``output_size`` is given.

    >>> from cnnlessons.scratch.pool import MaxPool1d
    >>> pool, unpool = MaxPool1d(2, return_indices=True), MaxUnpool1d(2)
    >>> unpool(*pool(torch.tensor([[[1., 2., 3., 4., 5., 6., 7., 8.]]])))
    tensor([[[0., 2., 0., 4., 0., 6., 0., 8.]]])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Sequence[int] | None = None) -> Tensor:
        return max_unpool1d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)


class MaxUnpool2d(_MaxUnpoolNd):
    """Partial inverse of :class:`MaxPool2d` (mirrors ``torch.nn.MaxUnpool2d``).

    Args:
        kernel_size, stride, padding: those of the max pooling being undone.

    Inputs: ``input``, ``indices`` (from ``MaxPool2d(..., return_indices=True)``),
    optional ``output_size``; see :func:`max_unpool2d`.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = (H_{in} - 1) s_h - 2p_h + k_h` unless ``output_size`` is
          given, likewise :math:`W_{out}`.

    >>> from cnnlessons.scratch.pool import MaxPool2d
    >>> pool, unpool = MaxPool2d(2, return_indices=True), MaxUnpool2d(2)
    >>> unpool(*pool(torch.randn(1, 1, 5, 5)), output_size=(5, 5)).shape
    torch.Size([1, 1, 5, 5])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0) -> None:
        super().__init__()
        self.kernel_size = _pair(kernel_size)
        self.stride = _pair(stride if stride is not None else kernel_size)
        self.padding = _pair(padding)

    def forward(self, input: Tensor, indices: Tensor,
                output_size: Sequence[int] | None = None) -> Tensor:
        return max_unpool2d(input, indices, self.kernel_size, self.stride, self.padding,
                            output_size)
