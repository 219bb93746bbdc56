r"""The convolution as loops: slow, obvious versions of the forward and backward pass.

``corr2d`` (one channel, d2l's two loops) and ``conv2d_loop`` compute a convolution one
output number at a time; ``conv1d_backward_loop`` and ``conv2d_backward_loop`` compute
its three gradients the same way. They are for reading, next to the fast im2col code
of :mod:`cnnlessons.scratch.conv` (which re-exports them); the tests prove them equal
to the fast versions and to autograd.

The backward loops follow one output number ``Y[n, o, y, x]`` at a time. It is::

    Y[n, o, y, x] = b[o] + sum_{c,i,j} W[o, c, i, j] * X_pad[n, g*Cg + c, y*sH + i*dH, x*sW + j*dW]

(``g`` the group of output channel ``o``, ``Cg = C_in / groups``), so its local
derivatives are ``dY/db[o] = 1``, ``dY/dW[o, c, i, j] = X_pad[...]`` (the input value
the weight met) and ``dY/dX_pad[...] = W[o, c, i, j]`` (the weight that met it). The
chain rule multiplies each by the upstream gradient ``dY[n, o, y, x] = dL/dY[n, o, y, x]``
and **adds** over all output numbers: a weight is used at every position, and an input
pixel by every window that covers it. The gradient of the padded input is then
cropped: the padding zeros are constants.
"""
from __future__ import annotations

import torch
from torch import Tensor

from cnnlessons.arguments import IntOrTuple
from cnnlessons.scratch.conv import _check_conv_args
from cnnlessons.shapes import WindowGeometry

__all__ = ["corr2d", "conv2d_loop", "conv1d_backward_loop", "conv2d_backward_loop"]


def _batch_only(name: str, input: Tensor, padding, dims: int) -> None:
    """The loops take a batch and numeric padding only (no unbatched input, no strings)."""
    if input.dim() != dims + 2:
        batch = "(N, C, L)" if dims == 1 else "(N, C, H, W)"
        raise ValueError(f"{name} takes a batch {batch}, got input of shape "
                         f"{tuple(input.shape)}")
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: {name} takes int or tuple padding only")


def _check_grad_output(grad_output: Tensor, input: Tensor, weight: Tensor,
                       geometry: WindowGeometry) -> None:
    """``grad_output`` must have the shape of the forward output, ``(N, C_out, *out)``."""
    expected = (input.shape[0], weight.shape[0], *geometry.output_size)
    if tuple(grad_output.shape) != expected:
        raise ValueError(f"grad_output has shape {tuple(grad_output.shape)}; expected "
                         f"{expected}, the shape of the convolution's output")


def corr2d(X: Tensor, K: Tensor) -> Tensor:
    """Two-dimensional valid cross-correlation of one channel, with two loops (d2l).

    ``Y[i, j] = sum_{a, b} X[i + a, j + b] * K[a, b]``: slide ``K`` over ``X`` and at
    each stop take the elementwise product with the window under it, summed.

    Args:
        X: input of shape ``(h, w)``.
        K: kernel of shape ``(kh, kw)``, at most as large as ``X``.

    Returns:
        ``Y`` of shape ``(h - kh + 1, w - kw + 1)``.

    Shape:
        - X: :math:`(h, w)`; K: :math:`(k_h, k_w)`.
        - Output: :math:`(h - k_h + 1, w - k_w + 1)`.

    >>> X = torch.tensor([[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]])
    >>> corr2d(X, torch.tensor([[0., 1.], [2., 3.]]))
    tensor([[19., 25.],
            [37., 43.]])
    """
    if X.dim() != 2 or K.dim() != 2:
        raise ValueError(f"corr2d takes a 2-D X and a 2-D K, got shapes {tuple(X.shape)} "
                         f"and {tuple(K.shape)}")
    h, w = K.shape
    if h > X.shape[0] or w > X.shape[1]:
        raise ValueError(f"kernel K of shape {tuple(K.shape)} is larger than X of shape "
                         f"{tuple(X.shape)}: the output would be empty")
    Y = X.new_zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


def conv2d_loop(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                stride: IntOrTuple = 1, padding: IntOrTuple = 0, dilation: IntOrTuple = 1,
                groups: int = 1) -> Tensor:
    r"""``conv2d`` written as four loops, one output number at a time. Slow; for reading.

    ``out[n, o, y, x] = bias[o] + sum(weight[o] * window)`` where ``window`` is the
    ``(C_in/groups, kH, kW)`` block of the zero-padded input that output position
    ``(y, x)`` sees: rows ``y*sH, y*sH + dH, ..., y*sH + (kH-1)*dH`` (same for columns),
    channels of group ``o // (C_out/groups)``.

    Args:
        input: ``(N, C_in, H, W)``.
        weight: ``(C_out, C_in/groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride, padding, dilation: int or ``(height, width)`` tuple (no strings).
        groups: number of independent channel groups.

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})`, where
          :math:`H_{out} = \lfloor (H_{in} + 2p_H - d_H (k_H - 1) - 1) / s_H \rfloor + 1`,
          likewise :math:`W_{out}` (:func:`cnnlessons.shapes.conv_output_size`).
    """
    if input.dim() != 4:
        raise ValueError(f"conv2d_loop takes a batch (N, C, H, W), got input of shape "
                         f"{tuple(input.shape)}")
    if isinstance(padding, str):
        raise ValueError(f"padding={padding!r}: conv2d_loop takes int or tuple padding only")
    geometry = _check_conv_args(input, weight, bias, stride, padding, dilation, groups, dims=2)
    (sh, sw), (dh, dw), (ph, pw) = geometry.stride, geometry.dilation, geometry.pad_before
    span_h, span_w = geometry.span            # rows and columns one window covers
    H_out, W_out = geometry.output_size
    N, C, H, W = input.shape
    C_out, C_group = weight.shape[:2]

    padded = input.new_zeros((N, C, *geometry.padded_size))
    padded[:, :, ph:ph + H, pw:pw + W] = input
    out_per_group = C_out // groups
    out = input.new_zeros((N, C_out, H_out, W_out))
    for n in range(N):
        for o in range(C_out):
            first = (o // out_per_group) * C_group         # first input channel of o's group
            for y in range(H_out):
                for x in range(W_out):
                    window = padded[n, first:first + C_group,
                                    y * sh: y * sh + span_h: dh,
                                    x * sw: x * sw + span_w: dw]
                    out[n, o, y, x] = (window * weight[o]).sum()
            if bias is not None:
                out[n, o] += bias[o]
    return out


def conv2d_backward_loop(grad_output: Tensor, input: Tensor, weight: Tensor,
                         stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                         dilation: IntOrTuple = 1, groups: int = 1
                         ) -> tuple[Tensor, Tensor, Tensor]:
    r"""The three gradients of ``conv2d``, one output number and one kernel tap at a time.

    For every output number ``Y[n, o, y, x]`` with upstream gradient
    ``G = dY[n, o, y, x]`` and every tap ``(i, j)`` of its window, which reads the
    padded input at row ``r = y*sH + i*dH`` and column ``s = x*sW + j*dW``::

        dL/db[o]                    += G
        dL/dW[o, c, i, j]           += G * X_pad[n, g*Cg + c, r, s]
        dL/dX_pad[n, g*Cg + c, r, s] += G * W[o, c, i, j]

    for every channel ``c`` of the group ``g`` of ``o`` (the inner loop over ``c`` is
    one slice). Then ``dL/dX`` is ``dL/dX_pad`` without its padding border.
    Slow (``N * C_out * H_out * W_out * kH * kW`` iterations), for reading; equal to
    the gradients autograd gets through :func:`cnnlessons.scratch.conv.conv2d`.

    Args:
        grad_output: ``dL/dY``, the shape of the forward output ``(N, C_out, H_out, W_out)``.
        input: the forward input ``X``, ``(N, C_in, H, W)``.
        weight: ``W``, ``(C_out, C_in/groups, kH, kW)``.
        stride, padding, dilation: int or ``(height, width)`` tuple (no strings).
        groups: number of independent channel groups.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``, shaped like ``input``, ``weight`` and
        ``(C_out,)``.

    Shape:
        - grad_output: :math:`(N, C_{out}, H_{out}, W_{out})`, with :math:`H_{out}, W_{out}`
          as in :func:`conv2d_loop` (:func:`cnnlessons.shapes.conv_output_size`).
        - input, grad_input: :math:`(N, C_{in}, H_{in}, W_{in})`.
        - weight, grad_weight: :math:`(C_{out}, C_{in} / \text{groups}, k_H, k_W)`;
          grad_bias: :math:`(C_{out})`.

    >>> x, w = torch.arange(9.).view(1, 1, 3, 3), torch.ones(1, 1, 2, 2)
    >>> grad_input, grad_weight, grad_bias = conv2d_backward_loop(torch.ones(1, 1, 2, 2), x, w)
    >>> grad_input[0, 0]          # the centre pixel is in all four windows
    tensor([[1., 2., 1.],
            [2., 4., 2.],
            [1., 2., 1.]])
    >>> grad_weight[0, 0], grad_bias     # each weight met one 2x2 block of the input
    (tensor([[ 8., 12.],
            [20., 24.]]), tensor([4.]))
    """
    _batch_only("conv2d_backward_loop", input, padding, dims=2)
    geometry = _check_conv_args(input, weight, None, stride, padding, dilation, groups, dims=2)
    _check_grad_output(grad_output, input, weight, geometry)
    (sh, sw), (dh, dw), (ph, pw) = geometry.stride, geometry.dilation, geometry.pad_before
    H_out, W_out = geometry.output_size
    N, C, H, W = input.shape
    C_out, C_group, kH, kW = weight.shape

    padded = input.new_zeros((N, C, *geometry.padded_size))
    padded[:, :, ph:ph + H, pw:pw + W] = input
    grad_padded = torch.zeros_like(padded)
    grad_weight = torch.zeros_like(weight)
    grad_bias = grad_output.new_zeros(C_out)
    out_per_group = C_out // groups
    for n in range(N):
        for o in range(C_out):
            first = (o // out_per_group) * C_group      # first input channel of o's group
            group = slice(first, first + C_group)
            for y in range(H_out):
                for x in range(W_out):
                    G = grad_output[n, o, y, x]         # dL/dY[n, o, y, x]
                    grad_bias[o] += G                   # dL/db[o] += dY[n, o, y, x]
                    for i in range(kH):
                        for j in range(kW):
                            r, s = y * sh + i * dh, x * sw + j * dw   # where tap (i, j) reads
                            # dL/dW[o, c, i, j] += dY[n, o, y, x] * X_pad[n, g*Cg + c, r, s]
                            grad_weight[o, :, i, j] += G * padded[n, group, r, s]
                            # dL/dX_pad[n, g*Cg + c, r, s] += dY[n, o, y, x] * W[o, c, i, j]
                            grad_padded[n, group, r, s] += G * weight[o, :, i, j]
    grad_input = grad_padded[:, :, ph:ph + H, pw:pw + W]   # crop: the padding is constant
    return grad_input, grad_weight, grad_bias


def conv1d_backward_loop(grad_output: Tensor, input: Tensor, weight: Tensor,
                         stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                         dilation: IntOrTuple = 1, groups: int = 1
                         ) -> tuple[Tensor, Tensor, Tensor]:
    r"""The three gradients of ``conv1d``, one output number and one kernel tap at a time.

    :func:`conv2d_backward_loop` with one spatial dimension: for every output number
    ``Y[n, o, t]`` with upstream gradient ``G = dY[n, o, t]`` and every tap ``i``,
    which reads the padded input at ``r = t*s + i*d``::

        dL/db[o]                 += G
        dL/dW[o, c, i]           += G * X_pad[n, g*Cg + c, r]
        dL/dX_pad[n, g*Cg + c, r] += G * W[o, c, i]

    then ``dL/dX`` is ``dL/dX_pad`` without its padding. Slow, for reading.

    Args:
        grad_output: ``dL/dY``, ``(N, C_out, L_out)``.
        input: the forward input ``X``, ``(N, C_in, L)``.
        weight: ``W``, ``(C_out, C_in/groups, kL)``.
        stride, padding, dilation: an int or a 1-tuple (no padding strings).
        groups: number of independent channel groups.

    Returns:
        ``(grad_input, grad_weight, grad_bias)``, shaped like ``input``, ``weight`` and
        ``(C_out,)``.

    Shape:
        - grad_output: :math:`(N, C_{out}, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d (k - 1) - 1) / s \rfloor + 1`.
        - input, grad_input: :math:`(N, C_{in}, L_{in})`.
        - weight, grad_weight: :math:`(C_{out}, C_{in} / \text{groups}, k)`;
          grad_bias: :math:`(C_{out})`.

    >>> grads = conv1d_backward_loop(torch.ones(1, 1, 3), torch.arange(4.).view(1, 1, 4),
    ...                              torch.ones(1, 1, 2))
    >>> [g.flatten().tolist() for g in grads]
    [[1.0, 2.0, 2.0, 1.0], [3.0, 6.0], [3.0]]
    """
    _batch_only("conv1d_backward_loop", input, padding, dims=1)
    geometry = _check_conv_args(input, weight, None, stride, padding, dilation, groups, dims=1)
    _check_grad_output(grad_output, input, weight, geometry)
    (s,), (d,), (p,), (L_out,) = (geometry.stride, geometry.dilation, geometry.pad_before,
                                  geometry.output_size)
    N, C, L = input.shape
    C_out, C_group, k = weight.shape

    padded = input.new_zeros((N, C, *geometry.padded_size))
    padded[:, :, p:p + L] = input
    grad_padded = torch.zeros_like(padded)
    grad_weight = torch.zeros_like(weight)
    grad_bias = grad_output.new_zeros(C_out)
    out_per_group = C_out // groups
    for n in range(N):
        for o in range(C_out):
            first = (o // out_per_group) * C_group      # first input channel of o's group
            group = slice(first, first + C_group)
            for t in range(L_out):
                G = grad_output[n, o, t]                # dL/dY[n, o, t]
                grad_bias[o] += G                       # dL/db[o] += dY[n, o, t]
                for i in range(k):
                    r = t * s + i * d                   # where tap i reads
                    grad_weight[o, :, i] += G * padded[n, group, r]   # += dY * X_pad[n, c, r]
                    grad_padded[n, group, r] += G * weight[o, :, i]   # += dY * W[o, c, i]
    return grad_padded[:, :, p:p + L], grad_weight, grad_bias
