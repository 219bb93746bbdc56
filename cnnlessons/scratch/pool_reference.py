r"""Pooling as loops: slow, obvious versions of the forward and backward pass.

``max_pool2d_loop`` and ``avg_pool2d_loop`` compute one output number per Python
iteration; ``max_pool2d_backward_loop`` and ``avg_pool2d_backward_loop`` send each
output's upstream gradient back to its window the same way. They are for reading, next
to the tap-by-tap code of :mod:`cnnlessons.scratch.pool` (which re-exports them); the
tests prove them equal to the fast versions and to autograd.

Backward, for one window ``o`` and upstream gradient ``dY[o] = dL/dY[o]``:

* max pooling: ``Y[o] = X[p*]``, a copy of the window's maximum ``p*``, so
  ``dY[o]/dX[p*] = 1`` and every other element gets 0. On a tie ``p*`` is the first
  maximum in scan order (row by row), as in torch.
* average pooling: ``Y[o] = sum_{p in window} X[p] / divisor[o]``, so every element
  of the window gets ``dY[o] / divisor[o]``, with the forward pass's divisor.

Windows overlap when the stride is smaller than the kernel: an element then collects
gradient from every window it belongs to, so the loops **add**.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from cnnlessons.arguments import IntOrTuple
from cnnlessons.scratch.pool import _check_divisor, _pool_args
from cnnlessons.shapes import WindowGeometry

__all__ = ["max_pool2d_loop", "avg_pool2d_loop", "max_pool2d_backward_loop",
           "avg_pool2d_backward_loop"]


def max_pool2d_loop(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                    padding: IntOrTuple = 0) -> Tensor:
    r"""Max pooling written as the definition: one Python iteration per output position.

    ``out[..., oh, ow] = max(xpad[..., oh*sh : oh*sh + kh, ow*sw : ow*sw + kw])``
    where ``xpad`` is the input with ``padding`` rows/columns of ``-inf`` around it.
    Slow (``H_out * W_out`` iterations), for reading; equals :func:`max_pool2d`.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding: as in :func:`max_pool2d` (no dilation, floor mode).

    Shape:
        - Output: :math:`(N, C, H_{out}, W_{out})` with
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - k_h) / s_h \rfloor + 1`,
          likewise :math:`W_{out}`.

    >>> max_pool2d_loop(torch.tensor([[[1., 2., 5., 0.], [3., 4., 1., 1.]]]), 2)
    tensor([[[4., 5.]]])
    """
    geometry = _pool_args(input, "max_pool2d_loop", 2, kernel_size, stride, padding,
                          dilation=1, ceil_mode=False)
    (kh, kw), (sh, sw), (ph, pw) = geometry.kernel_size, geometry.stride, geometry.pad_before
    H_out, W_out = geometry.output_size
    H, W = input.shape[-2:]
    xpad = input.new_full((*input.shape[:-2], *geometry.padded_size), float("-inf"))
    xpad[..., ph:ph + H, pw:pw + W] = input
    out = input.new_empty((*input.shape[:-2], H_out, W_out))
    for oh in range(H_out):
        for ow in range(W_out):
            window = xpad[..., oh * sh:oh * sh + kh, ow * sw:ow * sw + kw]
            out[..., oh, ow] = window.amax(dim=(-2, -1))
    return out


def avg_pool2d_loop(input: Tensor, kernel_size: IntOrTuple, stride: IntOrTuple | None = None,
                    padding: IntOrTuple = 0) -> Tensor:
    r"""Average pooling written as the definition: one Python iteration per output position.

    ``out[..., oh, ow] = sum(xpad[..., oh*sh : oh*sh + kh, ow*sw : ow*sw + kw]) / (kh*kw)``
    where ``xpad`` is the input with ``padding`` rows/columns of zeros around it
    (padded zeros count in the divisor, torch's default ``count_include_pad=True``).
    Slow, for reading; equals :func:`avg_pool2d`.

    Args:
        input: ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding: as in :func:`avg_pool2d` (floor mode).

    Shape:
        - Output: :math:`(N, C, H_{out}, W_{out})` with
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - k_h) / s_h \rfloor + 1`,
          likewise :math:`W_{out}`.

    >>> avg_pool2d_loop(torch.tensor([[[1., 2., 5., 0.], [3., 4., 1., 1.]]]), 2)
    tensor([[[2.5000, 1.7500]]])
    """
    geometry = _pool_args(input, "avg_pool2d_loop", 2, kernel_size, stride, padding,
                          dilation=1, ceil_mode=False)
    (kh, kw), (sh, sw), (ph, pw) = geometry.kernel_size, geometry.stride, geometry.pad_before
    H_out, W_out = geometry.output_size
    H, W = input.shape[-2:]
    xpad = input.new_zeros((*input.shape[:-2], *geometry.padded_size))
    xpad[..., ph:ph + H, pw:pw + W] = input
    out = input.new_empty((*input.shape[:-2], H_out, W_out))
    for oh in range(H_out):
        for ow in range(W_out):
            window = xpad[..., oh * sh:oh * sh + kh, ow * sw:ow * sw + kw]
            out[..., oh, ow] = window.sum(dim=(-2, -1)) / (kh * kw)
    return out


def _check_grad_output(grad_output: Tensor, input: Tensor, geometry: WindowGeometry) -> None:
    """``grad_output`` must have the shape of the forward output, ``(..., H_out, W_out)``."""
    expected = (*input.shape[:-2], *geometry.output_size)
    if tuple(grad_output.shape) != expected:
        raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}; expected "
                         f"{expected}, the shape of the pooling's output")


def max_pool2d_backward_loop(grad_output: Tensor, input: Tensor, kernel_size: IntOrTuple,
                             stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                             dilation: IntOrTuple = 1, ceil_mode: bool = False) -> Tensor:
    r"""The gradient of ``max_pool2d`` with respect to its input, one window at a time.

    For every window ``(oh, ow)`` of every plane: scan its taps ``(i, j)`` row by row,
    reading ``X[h, w]`` at ``h = oh*sh - ph + i*dh``, ``w = ow*sw - pw + j*dw``, skip
    the taps in the padding (``-inf``, never the maximum), keep the first maximum
    (a later tap takes over only if strictly greater, or NaN, as in torch), then::

        dL/dX[h*, w*] += dY[oh, ow]        # only the maximum moved the output

    A window made of padding only (possible with dilation) sends nothing back.
    Slow (one Python iteration per tap of every window of every plane), for reading;
    equal to the gradient autograd gets through
    :func:`cnnlessons.scratch.pool.max_pool2d`.

    Args:
        grad_output: ``dL/dY``, the shape of the forward output.
        input: the forward input ``X``, ``(N, C, H, W)`` or ``(C, H, W)``.
        kernel_size, stride, padding, dilation, ceil_mode: as in :func:`max_pool2d`.

    Returns:
        ``grad_input``, shaped like ``input``.

    Shape:
        - input, grad_input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - grad_output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - d_h (k_h - 1) - 1) / s_h \rfloor + 1`
          (``ceil`` with ``ceil_mode``; :func:`cnnlessons.shapes.pool_output_size`).

    >>> x = torch.tensor([[[1., 4., 4.], [3., 2., 0.]]])    # a tie: 4 and 4
    >>> max_pool2d_backward_loop(torch.tensor([[[10., 20.]]]), x, 2, stride=1)
    tensor([[[ 0., 30.,  0.],
             [ 0.,  0.,  0.]]])
    """
    geometry = _pool_args(input, "max_pool2d_backward_loop", 2, kernel_size, stride, padding,
                          dilation, ceil_mode)
    _check_grad_output(grad_output, input, geometry)
    (kh, kw), (sh, sw), (dh, dw) = geometry.kernel_size, geometry.stride, geometry.dilation
    (ph, pw), (H_out, W_out) = geometry.pad_before, geometry.output_size
    H, W = input.shape[-2:]
    planes = input.reshape(-1, H, W)                    # one (H, W) plane per (n, c)
    upstream = grad_output.reshape(-1, H_out, W_out)
    grad_input = torch.zeros_like(planes)
    for plane in range(planes.shape[0]):
        for oh in range(H_out):
            for ow in range(W_out):
                best, winner = None, None
                for i in range(kh):
                    for j in range(kw):
                        h, w = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                        if not (0 <= h < H and 0 <= w < W):
                            continue                    # padding: -inf never wins
                        value = planes[plane, h, w].item()
                        if best is None or value > best or math.isnan(value):
                            best, winner = value, (h, w)   # strictly greater: ties keep the first
                if winner is not None:
                    # dL/dX[h*, w*] += dY[oh, ow]: the output is a copy of X[h*, w*]
                    grad_input[plane, winner[0], winner[1]] += upstream[plane, oh, ow]
    return grad_input.view(input.shape)


def avg_pool2d_backward_loop(grad_output: Tensor, input: Tensor, kernel_size: IntOrTuple,
                             stride: IntOrTuple | None = None, padding: IntOrTuple = 0,
                             ceil_mode: bool = False, count_include_pad: bool = True,
                             divisor_override: int | None = None) -> Tensor:
    r"""The gradient of ``avg_pool2d`` with respect to its input, one window at a time.

    For every window ``(oh, ow)``, starting at ``h0 = oh*sh - ph``, ``w0 = ow*sw - pw``:
    first the forward pass's divisor (the window clipped to the padded input
    ``[-p, size + p)``; its size with ``count_include_pad``, else the number of real
    input elements in it; or ``divisor_override``), then for every tap ``(i, j)`` that
    lies in the input, at ``h = h0 + i``, ``w = w0 + j``::

        dL/dX[h, w] += dY[oh, ow] / divisor      # every tap weighs 1/divisor in the mean

    Padded taps are constants: their share is dropped. All planes at once (the
    divisor does not depend on the values). Slow, for reading; equal to the gradient
    autograd gets through :func:`cnnlessons.scratch.pool.avg_pool2d`.

    Args:
        grad_output: ``dL/dY``, the shape of the forward output.
        input: the forward input ``X``, ``(N, C, H, W)`` or ``(C, H, W)`` (only its
            shape matters: average pooling is linear).
        kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override:
            as in :func:`avg_pool2d`.

    Returns:
        ``grad_input``, shaped like ``input``.

    Shape:
        - input, grad_input: :math:`(N, C, H_{in}, W_{in})` or :math:`(C, H_{in}, W_{in})`.
        - grad_output: :math:`(N, C, H_{out}, W_{out})` or :math:`(C, H_{out}, W_{out})`,
          :math:`H_{out} = \lfloor (H_{in} + 2p_h - k_h) / s_h \rfloor + 1`
          (``ceil`` with ``ceil_mode``).

    >>> avg_pool2d_backward_loop(torch.tensor([[[4., 8.]]]), torch.zeros(1, 2, 3), 2,
    ...                          stride=1)                 # overlapping windows add up
    tensor([[[1., 3., 2.],
             [1., 3., 2.]]])
    """
    geometry = _pool_args(input, "avg_pool2d_backward_loop", 2, kernel_size, stride, padding,
                          1, ceil_mode)
    _check_divisor(divisor_override)
    _check_grad_output(grad_output, input, geometry)
    (kh, kw), (sh, sw), (ph, pw) = geometry.kernel_size, geometry.stride, geometry.pad_before
    H_out, W_out = geometry.output_size
    H, W = input.shape[-2:]
    grad_input = torch.zeros_like(input)
    for oh in range(H_out):
        for ow in range(W_out):
            h0, w0 = oh * sh - ph, ow * sw - pw              # the window's top-left tap
            h1, w1 = min(h0 + kh, H + ph), min(w0 + kw, W + pw)   # clipped to the padded input
            if divisor_override is not None:
                divisor = divisor_override
            elif count_include_pad:
                divisor = (h1 - h0) * (w1 - w0)
            else:                                            # real input elements only
                divisor = (min(h1, H) - max(h0, 0)) * (min(w1, W) - max(w0, 0))
            share = grad_output[..., oh, ow] / divisor
            for i in range(kh):
                for j in range(kw):
                    h, w = h0 + i, w0 + j
                    if 0 <= h < H and 0 <= w < W:            # padded taps are constants
                        grad_input[..., h, w] += share       # dL/dX[h, w] += dY[oh, ow] / divisor
    return grad_input
