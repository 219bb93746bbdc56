r"""Adaptive pooling: a pooling whose *output* size is fixed, whatever the input size.

Instead of a kernel and a stride, the caller names the output size ``O``; for an input
of length ``L`` the ``i``-th output (``0 <= i < O``) pools the window

    ``start_i = floor(i L / O)``, ``end_i = ceil((i + 1) L / O)`` (exclusive),

so the windows cover the input, neighbours overlap by at most one element, and their
lengths differ by at most one. (``L = 5, O = 3``: windows ``[0, 2)``, ``[1, 4)``,
``[3, 5)``.) A 2-D window is the product of one such window per dimension. This is how
ResNet and VGG end with a fixed ``(N, C, 1, 1)`` or ``(N, C, 7, 7)`` whatever the image
size: torchvision's classifiers all start with one.

Average
    The mean over a window is linear in the input: along one dimension it is the
    ``(O, L)`` matrix ``A`` with ``A[i, j] = 1 / (end_i - start_i)`` inside window ``i``
    and 0 outside. The mean over a 2-D window is the mean of its row means (each row of
    the window has the same length), so ``Y = A_h X A_w^T`` for every ``(H, W)`` plane,
    and for upstream gradient ``G``::

        dL/dX = A_h^T G A_w

    (each input element receives ``G / window size`` from every window that holds it).

Max
    Every window is gathered, padded to the longest window by repeating its last element
    (harmless for a maximum), and reduced with ``max``. Ties go to the first element in
    row-major order, as in torch, so the returned indices (``h * W + w`` in the input
    plane) are torch's. Backward sends each ``G`` to its argmax:
    ``dL/dX[idx] += G`` (``scatter_add``; overlapping windows may share an argmax).

Stricter than torch: an empty channel or spatial dimension, or ``output_size=0``,
raises here (torch returns an empty tensor); only the batch may be empty. A 2-D pool
needs a 3-D or 4-D input (torch also takes a 2-D one).
"""
from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

from cnnlessons.arguments import check_count, check_input_dims
from cnnlessons.scratch._checks import check_floating, opmath

__all__ = [
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
]

#: An output size: one int for every dimension, or one entry per dimension where
#: ``None`` keeps that input size (torch's ``_size_2_opt_t``).
OutputSize = int | None | Sequence[int | None]


def _windows(size: int, out: int, device) -> tuple[Tensor, Tensor]:
    """``start`` and ``end`` (exclusive) of the ``out`` adaptive windows over ``size``."""
    i = torch.arange(out, device=device)
    return (i * size) // out, -((-(i + 1) * size) // out)  # floor, ceil


def _average_matrix(size: int, out: int, like: Tensor) -> Tensor:
    """The ``(out, size)`` matrix of window means along one dimension."""
    start, end = _windows(size, out, like.device)
    j = torch.arange(size, device=like.device)
    inside = (j >= start[:, None]) & (j < end[:, None])
    return inside.to(like.dtype) / (end - start)[:, None].to(like.dtype)


def _slice_means(x: Tensor, dim: int, matrix: Tensor) -> Tensor:
    """Mean of ``x`` over each window of ``matrix`` (an ``_average_matrix``) along ``dim``."""
    inside = matrix != 0
    starts = inside.int().argmax(1).tolist()
    counts = inside.sum(1).tolist()
    return torch.stack([x.narrow(dim, s, k).mean(dim) for s, k in zip(starts, counts)], dim)


def _window_taps(size: int, out: int, device) -> Tensor:
    """``(out, K)`` input positions of each window, ``K`` the longest window, the short
    windows padded with their last position.
    """
    start, end = _windows(size, out, device)
    steps = torch.arange(int((end - start).max()), device=device)
    return torch.minimum(start[:, None] + steps, end[:, None] - 1)


def _output_size(output_size: OutputSize, input: Tensor, dims: int) -> tuple[int, ...]:
    """``output_size`` as ``dims`` positive ints, ``None`` entries replaced by the input's."""
    items = (output_size,) * dims if output_size is None or isinstance(output_size, int) \
        else tuple(output_size)
    if len(items) != dims:
        raise ValueError(f"output_size={output_size!r} must be an int or a tuple of {dims} "
                         "ints (or None)")
    if dims == 1 and None in items:
        raise TypeError(f"output_size={output_size!r}: a 1-D adaptive pool needs an int "
                        "(None, keeping the size, is only for the 2-D pools, as in torch)")
    sizes = tuple(input.shape[-dims:])
    items = tuple(size if item is None else item for item, size in zip(items, sizes))
    for item in items:
        check_count(item, "output_size")
    return items


def _check(input: Tensor, name: str, dims: int) -> None:
    check_floating(input, name)
    check_input_dims(input, dims)
    # Stricter than torch, which returns an empty result here (and for output_size=0):
    # an empty window has no average or maximum.
    if 0 in input.shape[-dims - 1:]:
        raise ValueError(f"input has shape {tuple(input.shape)}; adaptive pooling needs "
                         "non-empty channel and spatial dimensions")


class _AdaptiveAvgPoolFunction(Function):
    """``Y = A_h X A_w^T`` per plane; backward ``A_h^T G A_w`` (module docstring)."""

    @staticmethod
    def forward(ctx, input: Tensor, rows: Tensor, cols: Tensor) -> Tensor:
        ctx.save_for_backward(rows, cols)
        if not bool(torch.isfinite(input).all()):
            # The matrices would multiply an inf outside a window by 0 (NaN); average
            # each window's own slice instead, as torch does, one output column and
            # row at a time.
            return _slice_means(_slice_means(input, 3, cols), 2, rows)
        return rows.matmul(input).matmul(cols.t())

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        rows, cols = ctx.saved_tensors
        return rows.t().matmul(grad_output).matmul(cols), None, None


class _AdaptiveMaxPoolFunction(Function):
    """Gather every window, take its first maximum; backward scatters to the argmax."""

    @staticmethod
    def forward(ctx, input: Tensor, taps: Tensor) -> tuple[Tensor, Tensor]:
        # taps: (O_h, O_w, K) positions h * W + w of each window's elements, row-major.
        n, c, h, w = input.shape
        out_h, out_w, k = taps.shape
        windows = input.reshape(n, c, h * w)[:, :, taps.flatten()].view(n, c, out_h, out_w, k)
        output, arg = windows.max(dim=-1)  # the first maximal element, like torch
        nan = windows.isnan()
        if bool(nan.any()):  # torch's loop keeps the *last* NaN of a window
            last_nan = (k - 1) - nan.flip(-1).int().argmax(-1)
            arg = torch.where(nan.any(-1), last_nan, arg)
        indices = taps.expand(n, c, -1, -1, -1).gather(-1, arg.unsqueeze(-1)).squeeze(-1)
        ctx.save_for_backward(indices)
        ctx.input_shape = input.shape
        ctx.mark_non_differentiable(indices)
        return output, indices

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor, _grad_indices: Tensor | None):
        (indices,) = ctx.saved_tensors
        n, c, h, w = ctx.input_shape
        grad_input = grad_output.new_zeros(n, c, h * w)
        # Sizes spelt out, not reshape(n, c, -1): -1 cannot be inferred when n is 0.
        out = indices.shape[-2] * indices.shape[-1]
        grad_input.scatter_add_(2, indices.reshape(n, c, out), grad_output.reshape(n, c, out))
        return grad_input.view(n, c, h, w), None


def _batched_2d(input: Tensor, dims: int) -> Tensor:
    """``input`` as ``(N, C, H, W)``: a missing batch gets size 1, a 1-D input ``H = 1``."""
    x = input if input.dim() == dims + 2 else input.unsqueeze(0)
    return x.unsqueeze(2) if dims == 1 else x


def _unbatched(output: Tensor, input: Tensor, dims: int) -> Tensor:
    """Undo ``_batched_2d`` on a result."""
    out = output.squeeze(2) if dims == 1 else output
    return out if input.dim() == dims + 2 else out.squeeze(0)


def _avg(input: Tensor, output_size: OutputSize, dims: int) -> Tensor:
    _check(input, f"adaptive_avg_pool{dims}d", dims)
    size = (1,) * (2 - dims) + _output_size(output_size, input, dims)
    # float16/bfloat16 are averaged in float32 and rounded once, as torch does.
    x = _batched_2d(input, dims).to(opmath(input.dtype))
    rows = _average_matrix(x.shape[2], size[0], x)
    cols = _average_matrix(x.shape[3], size[1], x)
    out = _AdaptiveAvgPoolFunction.apply(x, rows, cols).to(input.dtype)
    return _unbatched(out, input, dims)


def _max(input: Tensor, output_size: OutputSize, return_indices: bool, dims: int):
    _check(input, f"adaptive_max_pool{dims}d", dims)
    size = (1,) * (2 - dims) + _output_size(output_size, input, dims)
    x = _batched_2d(input, dims)
    h, w = x.shape[2:]
    rows = _window_taps(h, size[0], x.device)  # (O_h, K_h)
    cols = _window_taps(w, size[1], x.device)  # (O_w, K_w)
    # (O_h, O_w, K_h * K_w): the positions of window (i, j), row by row.
    taps = (rows[:, None, :, None] * w + cols[None, :, None, :]).flatten(2)
    output, indices = _AdaptiveMaxPoolFunction.apply(x, taps)
    output = _unbatched(output, input, dims)
    return (output, _unbatched(indices, input, dims)) if return_indices else output


def adaptive_avg_pool1d(input: Tensor, output_size: OutputSize) -> Tensor:
    r"""Average over ``output_size`` adaptive windows of the last dimension (mirrors
    ``F.adaptive_avg_pool1d``); see the module docstring.

    Args:
        input: ``(N, C, L_in)`` or ``(C, L_in)``, floating point.
        output_size: ``L_out``, an int (or a 1-tuple).

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`,
          :math:`L_{out} = \text{output\_size}`.

    Raises:
        TypeError: a non-floating-point input.
        ValueError: the wrong rank, an empty channel or spatial dimension, or an output
            size that is not a positive int.

    >>> adaptive_avg_pool1d(torch.tensor([[[1., 2., 3., 4., 5.]]]), 3)
    tensor([[[1.5000, 3.0000, 4.5000]]])
    """
    return _avg(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size: OutputSize) -> Tensor:
    r"""Average over ``output_size`` adaptive windows of the last two dimensions (mirrors
    ``F.adaptive_avg_pool2d``); see the module docstring.

    Args:
        input: ``(N, C, H_in, W_in)`` or ``(C, H_in, W_in)``, floating point.
        output_size: ``(H_out, W_out)``, or one int for both; a ``None`` entry keeps
            that input size.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`(H_{out}, W_{out}) = \text{output\_size}`.

    Raises:
        TypeError: a non-floating-point input.
        ValueError: the wrong rank, an empty channel or spatial dimension, or an output
            size that is not one or two positive ints (or ``None``).

    >>> adaptive_avg_pool2d(torch.arange(16.).view(1, 1, 4, 4), 1)
    tensor([[[[7.5000]]]])
    """
    return _avg(input, output_size, 2)


def adaptive_max_pool1d(input: Tensor, output_size: OutputSize, return_indices: bool = False):
    r"""Maximum over ``output_size`` adaptive windows of the last dimension (mirrors
    ``F.adaptive_max_pool1d``); see the module docstring.

    Args:
        input: ``(N, C, L_in)`` or ``(C, L_in)``, floating point.
        output_size: ``L_out``, an int (or a 1-tuple).
        return_indices: also return the position of each maximum in ``[0, L_in)``.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output (and indices): :math:`(N, C, L_{out})` or :math:`(C, L_{out})`.

    >>> adaptive_max_pool1d(torch.tensor([[[1., 5., 3., 4., 2.]]]), 2, return_indices=True)
    (tensor([[[5., 4.]]]), tensor([[[1, 3]]]))
    """
    return _max(input, output_size, return_indices, 1)


def adaptive_max_pool2d(input: Tensor, output_size: OutputSize, return_indices: bool = False):
    r"""Maximum over ``output_size`` adaptive windows of the last two dimensions (mirrors
    ``F.adaptive_max_pool2d``); see the module docstring.

    Args:
        input: ``(N, C, H_in, W_in)`` or ``(C, H_in, W_in)``, floating point.
        output_size: ``(H_out, W_out)``, or one int for both; ``None`` keeps that size.
        return_indices: also return the position ``h * W_in + w`` of each maximum.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output (and indices): :math:`(N, C, H_{out}, W_{out})` or
          :math:`(C, H_{out}, W_{out})`.

    >>> adaptive_max_pool2d(torch.arange(16.).view(1, 1, 4, 4), (1, 2))
    tensor([[[[13., 15.]]]])
    """
    return _max(input, output_size, return_indices, 2)


class _AdaptivePoolNd(Module):
    """Shared constructor and ``extra_repr``, as torch's ``_AdaptiveAvgPoolNd``."""

    __constants__ = ["output_size"]

    def __init__(self, output_size: OutputSize) -> None:
        super().__init__()
        self.output_size = output_size

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class _AdaptiveMaxPoolNd(_AdaptivePoolNd):
    """Adds ``return_indices``, as torch's ``_AdaptiveMaxPoolNd``."""

    __constants__ = ["output_size", "return_indices"]

    def __init__(self, output_size: OutputSize, return_indices: bool = False) -> None:
        super().__init__(output_size)
        self.return_indices = return_indices


class AdaptiveAvgPool1d(_AdaptivePoolNd):
    r"""1-D adaptive average pooling (mirrors ``torch.nn.AdaptiveAvgPool1d``).

    Args:
        output_size: the target length ``L_out``.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`.

    >>> AdaptiveAvgPool1d(5)(torch.randn(1, 64, 8)).shape
    torch.Size([1, 64, 5])
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool1d(input, self.output_size)


class AdaptiveAvgPool2d(_AdaptivePoolNd):
    r"""2-D adaptive average pooling (mirrors ``torch.nn.AdaptiveAvgPool2d``).

    Args:
        output_size: ``(H_out, W_out)`` or one int for both; ``None`` keeps that size.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`.

    >>> AdaptiveAvgPool2d((5, None))(torch.randn(1, 64, 8, 9)).shape
    torch.Size([1, 64, 5, 9])
    """

    def forward(self, input: Tensor) -> Tensor:
        return adaptive_avg_pool2d(input, self.output_size)


class AdaptiveMaxPool1d(_AdaptiveMaxPoolNd):
    r"""1-D adaptive max pooling (mirrors ``torch.nn.AdaptiveMaxPool1d``).

    Args:
        output_size: the target length ``L_out``.
        return_indices: also return the argmax positions. Default: ``False``

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`.

    >>> AdaptiveMaxPool1d(5)(torch.randn(1, 64, 8)).shape
    torch.Size([1, 64, 5])
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool1d(input, self.output_size, self.return_indices)


class AdaptiveMaxPool2d(_AdaptiveMaxPoolNd):
    r"""2-D adaptive max pooling (mirrors ``torch.nn.AdaptiveMaxPool2d``).

    Args:
        output_size: ``(H_out, W_out)`` or one int for both; ``None`` keeps that size.
        return_indices: also return the argmax positions ``h * W_in + w``. Default: ``False``

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`.

    >>> AdaptiveMaxPool2d((5, 7))(torch.randn(1, 64, 8, 9)).shape
    torch.Size([1, 64, 5, 7])
    """

    def forward(self, input: Tensor):
        return adaptive_max_pool2d(input, self.output_size, self.return_indices)
