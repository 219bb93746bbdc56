"""Max and average pooling, from scratch (max unpooling is in ``unpool.py``).

A pooling layer slides a window over every channel separately and replaces the
window by one number: its largest element (max pooling) or its mean (average
pooling). It has no weights; it shrinks the feature map and makes the network
indifferent to small shifts of a feature inside the window.

Output size, per spatial dimension (``cnnlessons.shapes.pool_geometry``)::

    out = round((size + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1

with ``round = floor``, or ``ceil`` when ``ceil_mode=True``; a last ceil-mode
window that would start in the right-hand padding is dropped. ``padding`` may be
at most half the kernel size, so that (without dilation) every window overlaps
the input.

How it is computed here. A window has ``kh * kw`` *taps*; tap ``(i, j)`` of the
window at output position ``(oh, ow)`` reads the padded input at row
``oh*stride_h + i*dilation_h`` and column ``ow*stride_w + j*dilation_w``. For one
fixed tap, those positions over all windows form a strided grid, so *one slicing
view* (``x[..., i*dh::sh, j*dw::sw]``, no copy) holds tap ``(i, j)`` of every
window of every image at once. Pooling is then a reduction across the ``kh*kw``
views: an elementwise ``maximum`` (max pooling) or ``+`` (average pooling). The
Python loop runs over kernel taps (4 for a 2x2 window), never over output
positions. On CPU this is several times faster than reducing the trailing
``(kh, kw)`` dimensions of a ``Tensor.unfold`` window view, whose tiny innermost
dimensions make torch's reductions crawl.

``max_pool2d_loop`` and ``avg_pool2d_loop`` are the slow, obvious versions (one
Python iteration per output position) for reading, and ``max_pool2d_backward_loop``
and ``avg_pool2d_backward_loop`` their gradients; they live in ``pool_reference.py``
and are re-exported here. The tests prove them equal to the fast ones.

Only the batch may be empty (torch raises for an empty channel or spatial dimension
too); float16/bfloat16 averages are summed in float32, as torch does.
"""
from __future__ import annotations

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

from cnnlessons.arguments import IntOrTuple, check_input_dims
from cnnlessons.scratch._checks import check_floating, opmath
from cnnlessons.shapes import WindowGeometry, pool_geometry

__all__ = [
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "max_pool2d_loop", "avg_pool2d_loop",
    "max_pool2d_backward_loop", "avg_pool2d_backward_loop",
    "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
]

Pair = tuple[int, int]


# ------------------------------------------------------------------ arguments


def _pool_args(input: Tensor, name: str, dims: int, kernel_size, stride, padding, dilation,
               ceil_mode) -> WindowGeometry:
    """Check the input and the arguments; return the windows as a 2-D geometry.

    A 1-D pool is a 2-D pool over a height-1 image with a ``(1, k)`` window, so
    both share one implementation; the checks and messages
    (:func:`cnnlessons.shapes.pool_geometry`'s) use the caller's own arguments, and a
    dtype error names the caller, ``name``.
    """
    check_floating(input, name)
    check_input_dims(input, dims)
    sample = input.shape[-dims - 1:]  # (C, *spatial): only the batch may be empty, as in torch
    if 0 in sample:
        raise ValueError(f"input has shape {tuple(input.shape)}; pooling needs non-empty channel "
                         "and spatial dimensions (only the batch size N may be 0)")
    geometry = pool_geometry(tuple(input.shape[-dims:]), kernel_size, stride, padding, dilation,
                             ceil_mode)
    return geometry.as_2d() if dims == 1 else geometry


def _padded(input: Tensor, geometry: WindowGeometry, fill: float) -> Tensor:
    """``input`` surrounded by ``fill``: the padding on each side, and on the far side
    as much more as the last ceil-mode window reaches. No copy when none is needed.
    """
    H, W = input.shape[-2:]
    rows, cols = map(max, geometry.padded_size, geometry.extent)
    if (rows, cols) == (H, W):
        return input
    top, left = geometry.pad_before
    out = input.new_full((*input.shape[:-2], rows, cols), fill)
    out[..., top:top + H, left:left + W] = input
    return out


def _tap(x: Tensor, i: int, j: int, stride: Pair, dilation: Pair, out_size: Pair) -> Tensor:
    """Tap ``(i, j)`` of every window: the strided view ``x[..., i*dh + oh*sh, j*dw + ow*sw]``
    of shape ``(..., H_out, W_out)``.
    """
    r, c = i * dilation[0], j * dilation[1]
    return x[..., r:r + (out_size[0] - 1) * stride[0] + 1:stride[0],
             c:c + (out_size[1] - 1) * stride[1] + 1:stride[1]]


def _first_real_tap(out_len: int, stride: int, pad: int, dilation: int, device) -> Tensor:
    """Per output position along one dimension: how many of its window's taps lie in
    the left padding, i.e. ``ceil(max(0, -start) / dilation)`` with ``start = o*stride - pad``.
    """
    start = torch.arange(out_len, device=device) * stride - pad
    return (-start).clamp(min=0).add(dilation - 1).div(dilation, rounding_mode="floor")


# ------------------------------------------------------------------ max pooling


def _scan_taps(x: Tensor, geometry: WindowGeometry,
               nan_aware: bool) -> tuple[Tensor, Tensor, Tensor | None]:
    """Running maximum over the window taps of the padded input ``x``, in scan order.

    Returns ``best`` (the window maxima), ``winner`` (the number ``t = i*kw + j`` of
    the tap each maximum came from) and ``winner_row`` (its row ``i``; ``None`` for
    a one-row window). Torch's rule, replayed exactly: start from the window's first
    real tap (padding taps are -inf and never win) and move on to a later tap only
    if it is strictly greater, so on a tie the first maximum stays. With
    ``nan_aware`` a NaN always takes over, so the last NaN of a window wins.
    """
    kh, kw = geometry.kernel_size
    stride, dilation, out_size = geometry.stride, geometry.dilation, geometry.output_size
    padding = geometry.pad_before
    best = _tap(x, 0, 0, stride, dilation, out_size)
    # Winners as uint8 (the cheapest to update) when the tap numbers fit.
    tap_dtype = torch.uint8 if kh * kw <= 256 else torch.int32
    winner = torch.zeros(best.shape, dtype=tap_dtype, device=x.device)
    winner_row = torch.zeros_like(winner) if kh > 1 else None
    if any(padding):
        # Windows that start in the top/left padding start from their first real tap.
        first_row = _first_real_tap(out_size[0], stride[0], padding[0], dilation[0], x.device)
        first_col = _first_real_tap(out_size[1], stride[1], padding[1], dilation[1], x.device)
        winner += (first_row[:, None] * kw + first_col).to(tap_dtype)
        if winner_row is not None:
            winner_row += first_row[:, None].to(tap_dtype)
    for t in range(1, kh * kw):
        i, j = divmod(t, kw)
        v = _tap(x, i, j, stride, dilation, out_size)
        took_over = v > best
        if nan_aware:
            took_over |= v.isnan()
        best = torch.maximum(best, v)  # propagates NaN, as torch's pooling does
        took_over = took_over.to(tap_dtype)
        # Later taps have larger t (and i), so "the last take-over wins" is a running maximum.
        torch.maximum(winner, took_over * t, out=winner)
        if i > 0:
            torch.maximum(winner_row, took_over * i, out=winner_row)
    if kh * kw == 1:
        best = best.clone(memory_format=torch.contiguous_format)  # not a view of the input
    return best, winner, winner_row


class _MaxPool2dFunction(Function):
    """Max pooling over the last two dimensions; returns ``(values, flat indices)``.

    Forward, with ``t`` running over the window's taps in scan order (row by row):
    ``out = max_t x_t`` and ``index = argmax_t x_t`` as a flat position ``h*W + w``
    in the unpadded input plane.

    Backward. ``out[o] = x[index[o]]``: the output is a copy of one input element
    and does not depend on the others, so ``d out[o] / d x[p] = 1`` if
    ``p == index[o]`` else 0, and

        dL/dx[p] = sum over windows o with index[o] == p of G[o].

    A sum, not an assignment: with overlapping windows (stride < kernel_size)
    one element can be the maximum of several windows and collects all their
    gradients. ``scatter_add_`` does exactly that sum, one plane per row.
    """

    @staticmethod
    def forward(ctx, input: Tensor, geometry: WindowGeometry):
        W = input.shape[-1]
        kw = geometry.kernel_size[1]
        stride, dilation, out_size = geometry.stride, geometry.dilation, geometry.output_size
        padding = geometry.pad_before
        x = _padded(input, geometry, float("-inf"))
        best, winner, winner_row = _scan_taps(x, geometry, nan_aware=False)
        # maximum() propagates NaN, so the total is NaN if any window holds a NaN (or,
        # harmlessly, if +inf and -inf meet): only then pay for torch's NaN rule.
        if best.sum().isnan():
            best, winner, winner_row = _scan_taps(x, geometry, nan_aware=True)
        # Tap t = i*kw + j of window (oh, ow) sits at h = oh*sh - ph + i*dh,
        # w = ow*sw - pw + j*dw, so h*W + w = base + t*dw + i*(dh*W - kw*dw).
        rows = torch.arange(out_size[0], device=input.device) * stride[0] - padding[0]
        cols = torch.arange(out_size[1], device=input.device) * stride[1] - padding[1]
        base = rows[:, None] * W + cols
        # (Convert before adding: mixing uint8 and int64 in one add is very slow.)
        indices = torch.add(base, winner.long(), alpha=dilation[1])
        if winner_row is not None:
            indices.add_(winner_row.long(), alpha=dilation[0] * W - kw * dilation[1])
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        ctx.input_shape = input.shape
        # With dilation > 1 a window can hold padding only; its output (-inf) does not
        # depend on the input, and torch's index for it points at no tap of the window.
        ctx.real_windows = None
        if max(dilation) > 1 and any(padding):
            ctx.real_windows = _real_windows(geometry, input.device)
        return best, indices

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor, grad_indices: Tensor):
        (indices,) = ctx.saved_tensors
        H, W = ctx.input_shape[-2:]
        planes = grad_output.shape[-2] * grad_output.shape[-1]
        g = grad_output.reshape(-1, planes)
        idx = indices.reshape(-1, planes)
        if ctx.real_windows is not None:
            keep = ctx.real_windows.reshape(-1)
            g, idx = g * keep, idx * keep  # padding-only windows send nothing back
        grad_input = grad_output.new_zeros(g.shape[0], H * W)
        grad_input.scatter_add_(1, idx, g)  # dL/dx[p] = sum of G[o] over windows won by p
        return grad_input.view(ctx.input_shape), None


def _real_windows(geometry: WindowGeometry, device) -> Tensor:
    """``(H_out, W_out)`` bool: does the window have at least one tap inside the input?"""
    ok = []
    for n, k, s, p, d, o in zip(geometry.input_size, geometry.kernel_size, geometry.stride,
                                geometry.pad_before, geometry.dilation, geometry.output_size):
        skipped = _first_real_tap(o, s, p, d, device)
        first = torch.arange(o, device=device) * s - p + skipped * d
        ok.append((skipped < k) & (first < n))
    return ok[0][:, None] & ok[1]


def max_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    r"""2-D max pooling (PyTorch's ``F.max_pool2d``): the largest element of each window.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``, floating point.
        kernel_size: window size ``k`` or ``(kh, kw)``.
        stride: step between windows; ``None`` (or ``[]``) means ``kernel_size``.
        padding: implicit ``-inf`` added on both sides, at most ``kernel_size // 2``
            (``-inf`` is never the maximum, so padding never wins).
        dilation: spacing between the window's taps.
        ceil_mode: round the output size up instead of down.
        return_indices: also return where each maximum came from.

    Returns:
        ``out`` of shape ``(N, C, H_out, W_out)``, and with ``return_indices`` also
        ``indices`` (int64, same shape): the flat position ``h * W + w`` of each
        maximum in its (unpadded) input plane, as ``F.max_unpool2d`` expects. On a
        tie the first maximum in scan order (row by row) wins; a window holding a
        NaN gives NaN at the index of its last NaN, exactly like torch.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - d_h (k_h - 1) - 1) / s_h \rfloor + 1`
          (``ceil`` with ``ceil_mode``), and likewise :math:`W_{out}`.

    Raises:
        ValueError: wrong number of dimensions, a non-positive kernel size,
            stride or dilation, negative padding or more than half the kernel,
            or an empty output.
        TypeError: ``input`` is not a floating-point tensor.

    >>> x = torch.tensor([[[1., 2., 5., 0.], [3., 4., 1., 1.]]])
    >>> max_pool2d(x, 2, return_indices=True)
    (tensor([[[4., 5.]]]), tensor([[[5, 2]]]))
    """
    geometry = _pool_args(input, "max_pool2d", 2, kernel_size, stride, padding, dilation,
                          ceil_mode)
    out, indices = _MaxPool2dFunction.apply(input, geometry)
    return (out, indices) if return_indices else out


def max_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, dilation: IntOrTuple = 1, ceil_mode: bool = False,
               return_indices: bool = False):
    r"""1-D max pooling (PyTorch's ``F.max_pool1d``): the largest element of each window.

    Computed as a 2-D pool over a height-1 image with a ``(1, kernel_size)`` window.

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``, floating point.
        kernel_size, stride, padding, dilation, ceil_mode, return_indices: as in
            :func:`max_pool2d`, one dimension (an int or a 1-tuple).

    Returns:
        ``out`` ``(N, C, L_out)``, and with ``return_indices`` the int64 position
        of each maximum along ``L``.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d (k - 1) - 1) / s \rfloor + 1`
          (``ceil`` with ``ceil_mode``).

    Raises:
        ValueError, TypeError: as :func:`max_pool2d`.

    >>> max_pool1d(torch.tensor([[[1., 3., 2., 5., 4.]]]), 2, return_indices=True)
    (tensor([[[3., 5.]]]), tensor([[[1, 3]]]))
    """
    geometry = _pool_args(input, "max_pool1d", 1, kernel_size, stride, padding, dilation,
                          ceil_mode)
    out, indices = _MaxPool2dFunction.apply(input.unsqueeze(-2), geometry)
    out, indices = out.squeeze(-2), indices.squeeze(-2)
    return (out, indices) if return_indices else out


# ------------------------------------------------------------------ average pooling


def _window_sizes(out_len: int, size: int, kernel: int, stride: int, pad: int,
                  count_include_pad: bool, device) -> Tensor:
    """How many elements each window divides by along one dimension (torch's rule).

    The window ``[start, start + kernel)`` with ``start = o*stride - pad`` is first
    clipped to the padded input ``[-pad, size + pad)`` (a ceil-mode window may hang
    further out); with ``count_include_pad`` its length is the divisor, otherwise
    only the part inside the real input ``[0, size)`` counts.
    """
    start = torch.arange(out_len, device=device) * stride - pad
    end = (start + kernel).clamp(max=size + pad)
    if count_include_pad:
        return end - start
    return end.clamp(max=size) - start.clamp(min=0)


class _AvgPool2dFunction(Function):
    """Average pooling over the last two dimensions.

    Forward: ``out[o] = (sum of window o's taps) / divisor[o]`` (padding adds zeros).

    Backward. Every element ``x[p]`` of window ``o`` enters ``out[o]`` with weight
    ``1 / divisor[o]``, so ``d out[o] / d x[p] = 1 / divisor[o]`` and

        dL/dx[p] = sum over windows o containing p of G[o] / divisor[o].

    Per tap ``(i, j)`` that is "add ``G / divisor`` to the strided view of tap
    ``(i, j)``": the same views as the forward pass, written instead of read.
    Overlapping windows make the views overlap, so they accumulate with ``+=``;
    disjoint windows (stride >= kernel) can be copied straight in.
    """

    @staticmethod
    def forward(ctx, input: Tensor, geometry: WindowGeometry, count_include_pad: bool,
                divisor_override: int | None):
        kw = geometry.kernel_size[1]
        stride, dilation, out_size = geometry.stride, geometry.dilation, geometry.output_size
        x = _padded(input, geometry, 0.0)
        # float16/bfloat16 windows are summed in float32, as torch does: a sum of
        # 30000s would overflow float16 before the division brings it back in range.
        compute = opmath(input.dtype)
        total = _tap(x, 0, 0, stride, dilation, out_size)
        total = total.to(compute, memory_format=torch.contiguous_format, copy=True)  # summed into
        for t in range(1, geometry.kernel_size[0] * kw):
            total += _tap(x, *divmod(t, kw), stride, dilation, out_size)
        if divisor_override is not None:
            divisor = divisor_override
        else:
            sizes = [_window_sizes(o, n, k, s, p, count_include_pad, input.device)
                     for o, n, k, s, p in zip(out_size, geometry.input_size, geometry.kernel_size,
                                              stride, geometry.pad_before)]
            divisor = (sizes[0][:, None] * sizes[1]).to(compute)  # clipping is separable
        ctx.divisor, ctx.geometry = divisor, geometry
        ctx.input_shape, ctx.padded_shape = input.shape, x.shape
        return total.div_(divisor).to(input.dtype)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        geometry = ctx.geometry
        (kh, kw), stride = geometry.kernel_size, geometry.stride
        # G[o] / divisor[o], what each tap of window o gets (divided in float32 for float16)
        share = (grad_output / ctx.divisor).to(grad_output.dtype)
        grad_padded = grad_output.new_zeros(ctx.padded_shape)
        disjoint = stride[0] >= kh and stride[1] >= kw
        for t in range(kh * kw):
            view = _tap(grad_padded, *divmod(t, kw), stride, geometry.dilation,
                        geometry.output_size)
            if disjoint:
                view.copy_(share)  # no other window writes here
            else:
                view += share
        H, W = ctx.input_shape[-2:]
        top, left = geometry.pad_before
        grad_input = grad_padded[..., top:top + H, left:left + W]
        return grad_input, None, None, None


def _check_divisor(divisor_override) -> None:
    if divisor_override is None:
        return
    if isinstance(divisor_override, bool) or not isinstance(divisor_override, int):
        raise TypeError(f"divisor_override={divisor_override!r} must be an int or None")
    if divisor_override == 0:
        raise ValueError("divisor_override=0 must be non-zero (it divides every window's sum)")


def avg_pool2d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
               divisor_override: int | None = None) -> Tensor:
    r"""2-D average pooling (PyTorch's ``F.avg_pool2d``): the mean of each window.

    Args:
        input: ``(N, C, H, W)`` or unbatched ``(C, H, W)``, floating point.
        kernel_size: window size ``k`` or ``(kh, kw)``.
        stride: step between windows; ``None`` (or ``[]``) means ``kernel_size``.
        padding: implicit zeros on both sides, at most ``kernel_size // 2``.
        ceil_mode: round the output size up instead of down.
        count_include_pad: whether padded zeros count in the divisor.
        divisor_override: if given, divide every window's sum by this instead.

    The divisor follows torch: the window is clipped to the padded input
    ``[-padding, size + padding)`` (a ceil-mode window may hang beyond it); the
    divisor is the clipped window's size with ``count_include_pad``, else the
    number of real input elements in it. Both are products of a row and a
    column count.

    Returns:
        ``(N, C, H_out, W_out)``, or ``(C, H_out, W_out)`` for an unbatched input.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - k_h) / s_h \rfloor + 1`
          (``ceil`` with ``ceil_mode``), and likewise :math:`W_{out}`.

    Raises:
        ValueError: wrong number of dimensions, a non-positive kernel size or
            stride, negative padding or more than half the kernel, an empty
            output, or ``divisor_override=0``.
        TypeError: ``input`` is not a floating-point tensor, or
            ``divisor_override`` is not an int.

    >>> avg_pool2d(torch.tensor([[[1., 2., 5., 0.], [3., 4., 1., 1.]]]), 2)
    tensor([[[2.5000, 1.7500]]])
    """
    geometry = _pool_args(input, "avg_pool2d", 2, kernel_size, stride, padding, 1, ceil_mode)
    _check_divisor(divisor_override)
    return _AvgPool2dFunction.apply(input, geometry, count_include_pad, divisor_override)


def avg_pool1d(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
               padding: IntOrTuple = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    r"""1-D average pooling (PyTorch's ``F.avg_pool1d``): the mean of each window.

    Computed as a 2-D pool over a height-1 image with a ``(1, kernel_size)`` window.

    Args:
        input: ``(N, C, L)`` or unbatched ``(C, L)``, floating point.
        kernel_size, stride, padding, ceil_mode, count_include_pad: as in
            :func:`avg_pool2d`, one dimension (an int or a 1-tuple).

    Returns:
        ``(N, C, L_out)``, or ``(C, L_out)`` for an unbatched input.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - k) / s \rfloor + 1`
          (``ceil`` with ``ceil_mode``).

    Raises:
        ValueError, TypeError: as :func:`avg_pool2d`.

    >>> avg_pool1d(torch.tensor([[[1., 2., 3., 4., 5., 6., 7.]]]), kernel_size=3, stride=2)
    tensor([[[2., 4., 6.]]])
    """
    geometry = _pool_args(input, "avg_pool1d", 1, kernel_size, stride, padding, 1, ceil_mode)
    out = _AvgPool2dFunction.apply(input.unsqueeze(-2), geometry, count_include_pad, None)
    return out.squeeze(-2)


# ------------------------------------------------------------------ modules


def _single(x):
    """Like torch's ``_single``: a sequence becomes a tuple, anything else a 1-tuple."""
    return tuple(x) if isinstance(x, (list, tuple)) else (x,)


def _pair(x):
    """Like torch's ``_pair``: a sequence becomes a tuple, anything else is repeated twice."""
    return tuple(x) if isinstance(x, (list, tuple)) else (x, x)


class _MaxPoolNd(Module):
    """Shared constructor and ``extra_repr`` of the max pooling layers, as torch's."""

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, dilation: IntOrTuple = 1,
                 return_indices: bool = False, ceil_mode: bool = False) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.dilation = dilation
        self.return_indices = return_indices
        self.ceil_mode = ceil_mode

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation}, ceil_mode={self.ceil_mode}")


class MaxPool1d(_MaxPoolNd):
    r"""1-D max pooling layer (mirrors ``torch.nn.MaxPool1d``); see :func:`max_pool1d`.

    Args:
        kernel_size: window size. stride: step, default ``kernel_size``.
        padding: implicit ``-inf`` on both sides, at most ``kernel_size // 2``.
        dilation: spacing between taps. return_indices: also return the argmax
            positions (for :class:`MaxUnpool1d`). ceil_mode: round the size up.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d (k - 1) - 1) / s \rfloor + 1`.

    >>> MaxPool1d(3, stride=2)(torch.randn(20, 16, 50)).shape
    torch.Size([20, 16, 24])
    """

    def forward(self, input: Tensor):
        return max_pool1d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class MaxPool2d(_MaxPoolNd):
    r"""2-D max pooling layer (mirrors ``torch.nn.MaxPool2d``); see :func:`max_pool2d`.

    Args:
        kernel_size: window size ``k`` or ``(kh, kw)``. stride: step, default
            ``kernel_size``. padding: implicit ``-inf`` on both sides, at most half
            the kernel. dilation: spacing between taps. return_indices: also return
            the argmax positions (for :class:`MaxUnpool2d`). ceil_mode: round the
            size up.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - d_h (k_h - 1) - 1) / s_h \rfloor + 1`,
          likewise :math:`W_{out}`.

    >>> MaxPool2d(2)(torch.randn(128, 6, 28, 28)).shape
    torch.Size([128, 6, 14, 14])
    """

    def forward(self, input: Tensor):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding, self.dilation,
                          ceil_mode=self.ceil_mode, return_indices=self.return_indices)


class _AvgPoolNd(Module):
    """Shared ``extra_repr`` of the average pooling layers, as torch's."""

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class AvgPool1d(_AvgPoolNd):
    r"""1-D average pooling layer (mirrors ``torch.nn.AvgPool1d``); see :func:`avg_pool1d`.

    Args:
        kernel_size: window size. stride: step, default ``kernel_size``.
        padding: implicit zeros on both sides, at most ``kernel_size // 2``.
        ceil_mode: round the size up. count_include_pad: count padded zeros in
            the divisor.

    Shape:
        - Input: :math:`(N, C, L_{in})` or :math:`(C, L_{in})`.
        - Output: :math:`(N, C, L_{out})` or :math:`(C, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - k) / s \rfloor + 1`.

    >>> AvgPool1d(3, stride=2)(torch.tensor([[[1., 2., 3., 4., 5., 6., 7.]]]))
    tensor([[[2., 4., 6.]]])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False,
                 count_include_pad: bool = True) -> None:
        super().__init__()
        self.kernel_size = _single(kernel_size)
        self.stride = _single(stride if stride is not None else kernel_size)
        self.padding = _single(padding)
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool1d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad)


class AvgPool2d(_AvgPoolNd):
    r"""2-D average pooling layer (mirrors ``torch.nn.AvgPool2d``); see :func:`avg_pool2d`.

    Args:
        kernel_size: window size ``k`` or ``(kh, kw)``. stride: step, default
            ``kernel_size``. padding: implicit zeros on both sides, at most half the
            kernel. ceil_mode: round the size up. count_include_pad: count padded
            zeros in the divisor. divisor_override: divide by this instead.

    Shape:
        - Input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - Output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`, where
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - k_h) / s_h \rfloor + 1`,
          likewise :math:`W_{out}`.

    >>> AvgPool2d((3, 2), stride=(2, 1))(torch.randn(20, 16, 50, 32)).shape
    torch.Size([20, 16, 24, 31])
    """

    def __init__(self, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                 padding: IntOrTuple = 0, ceil_mode: bool = False, count_include_pad: bool = True,
                 divisor_override: int | None = None) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = stride if stride is not None else kernel_size
        self.padding = padding
        self.ceil_mode = ceil_mode
        self.count_include_pad = count_include_pad
        self.divisor_override = divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding, self.ceil_mode,
                          self.count_include_pad, self.divisor_override)


# The loop references (pool_reference.py) use _pool_args above, so they are imported
# last; pool_reference imports this module, which is already complete then.
from cnnlessons.scratch.pool_reference import (  # noqa: E402
    avg_pool2d_backward_loop,
    avg_pool2d_loop,
    max_pool2d_backward_loop,
    max_pool2d_loop,
)
