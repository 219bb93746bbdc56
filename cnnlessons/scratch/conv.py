r"""Convolution (cross-correlation) layers, from scratch: ``conv1d``, ``conv2d``,
``Conv1d``, ``Conv2d``, and two slow loop references to learn from.

What a convolution layer computes (PyTorch's definition, a *cross-correlation*: the
kernel is not flipped). For a batch of ``N`` images with ``C_in`` channels, a
weight of shape ``(C_out, C_in / groups, kH, kW)`` and an optional bias::

    out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
                          * input_padded[n, g*C_in/groups + c, y*sH + i*dH, x*sW + j*dW]

where ``g = o // (C_out / groups)`` is the group of output channel ``o``: with
``groups=G`` the channels split into ``G`` independent convolutions side by side.
Each spatial output size follows one formula (see ``cnnlessons.shapes``)::

    H_out = floor((H + pad_top + pad_bottom - dH * (kH - 1) - 1) / sH) + 1

``corr2d`` and ``conv2d_loop`` write the sum out with Python loops, to read, and
``conv1d_backward_loop`` and ``conv2d_backward_loop`` its gradients (all four live in
``conv_reference.py`` and are re-exported here). The fast ``conv2d`` does the same
arithmetic as one matrix product (*im2col*):

1. ``cols`` gathers every receptive field as a column. For group ``g`` it is the
   matrix ``cols_g[(c, i, j), (n, y, x)] = input_padded[n, g*Cg + c, y*sH + i*dH,
   x*sW + j*dW]``: rows are the ``K = Cg*kH*kW`` kernel taps, columns the
   ``M = N*H_out*W_out`` output positions. It is a strided *view* of the zero-padded
   input (``as_strided``: no loop, just new strides), copied once into a matrix.
2. ``out_g = W_g @ cols_g`` with ``W_g`` the group's weight as a ``(C_out/G, K)``
   matrix; all groups in one batched ``matmul``, plus the bias.

The order of the columns is free (any order works if ``dY`` below uses the same),
so it is chosen for speed. By default each image gets its own matrix, ``cols`` is
``(N, G, K, H_out*W_out)`` and ``W @ cols`` broadcasts the weights over the images:
the product lands directly in the ``(N, C_out, H_out, W_out)`` output, no reordering.
But the im2col copy moves one output row (``W_out`` numbers) at a time, and for
narrow outputs (rows shorter than 16 pixels, like LeNet's 10 x 10 maps) such short
runs are slow. Then the padded input is stored with the batch index innermost,
``(C, H, W, N)``, and all images share one matrix with columns ordered
``(y, x, n)``: a row for all images is one long run. This costs transposing the
input, output and gradients, which is cheap next to short-run copies.

Backward (CS231n style: forward keeps ``cols`` and ``W`` in ``ctx``). Forward is the
matrix product ``Y = W X + b 1^T`` with ``X = cols``, so for ``dY = grad_output``::

    dW = dY X^T              (sum over all output positions of dY times the input
                              value each weight met there)
    db = dY 1  = sum of dY over batch and positions
    dX = W^T dY              (gradient of every column entry)

``dX`` is the gradient of ``cols``, not of the input: one input pixel sits in ``cols``
once per kernel tap whose window covers it, so its gradient is the **sum** of those
entries. *col2im* adds them back: for every tap ``(i, j)`` (a loop of ``kH*kW``
iterations, not over positions) the ``(N, C, H_out, W_out)`` slab of ``dX`` for that
tap is added to the strided slice ``grad_padded[:, :, i*dH :: sH, j*dW :: sW]``.
Cropping the padding off ``grad_padded`` gives ``grad_input``: the zeros of the
padding are constants, their gradient is dropped.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor, nn
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from cnnlessons.arguments import IntOrTuple, Padding, check_count, check_input_dims
from cnnlessons.scratch._checks import check_floating, check_same_dtype
from cnnlessons.scratch._docstrings import fill_docstring
from cnnlessons.scratch.padding import pad
from cnnlessons.shapes import WindowGeometry, conv_geometry, window_arguments

__all__ = ["corr2d", "conv2d_loop", "conv1d_backward_loop", "conv2d_backward_loop",
           "conv1d", "conv2d", "Conv1d", "Conv2d"]

_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


# --------------------------------------------------------------------------------------
# Argument checks shared by every convolution below
# --------------------------------------------------------------------------------------

def _check_spatial_not_empty(input: Tensor, dims: int) -> None:
    """Torch's rule: a spatial size may be 0 only when the batch or the channels are."""
    batch = input.shape[0] if input.dim() == dims + 2 else 1
    if 0 in input.shape[-dims:] and batch and input.shape[-dims - 1]:
        raise ValueError(f"input has shape {tuple(input.shape)}: an empty spatial dimension "
                         "is only allowed with an empty batch or no channels")


def _check_conv_args(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrTuple,
                     padding: Padding, dilation: IntOrTuple, groups: int,
                     dims: int) -> WindowGeometry:
    """Check a ``dims``-D convolution's tensors and groups; return its window geometry.

    The window arguments (stride, padding, dilation, and whether the dilated kernel
    fits the padded input) are checked by :func:`cnnlessons.shapes.conv_geometry`,
    whose result the caller keeps instead of recomputing sizes or pads.
    """
    check_input_dims(input, dims)
    if weight.dim() != dims + 2:
        expected = "(out_channels, in_channels/groups, kL)" if dims == 1 else \
            "(out_channels, in_channels/groups, kH, kW)"
        raise ValueError(f"weight has shape {tuple(weight.shape)} ({weight.dim()}-D); "
                         f"expected a {dims + 2}-D {expected}")
    check_floating(input, f"conv{dims}d")
    check_same_dtype(input, f"conv{dims}d", weight=weight, bias=bias)
    check_count(groups, "groups")
    in_channels = input.shape[-dims - 1]
    out_channels, per_group = weight.shape[:2]
    if in_channels % groups:
        raise ValueError(f"in_channels={in_channels} is not divisible by groups={groups}")
    if in_channels == 0:  # torch returns its empty input unchanged, whatever the weight
        raise ValueError(f"input has shape {tuple(input.shape)}: in_channels=0, but a "
                         "convolution needs at least one input channel (stricter than torch)")
    _check_spatial_not_empty(input, dims)
    if out_channels < groups:
        raise ValueError(f"weight has shape {tuple(weight.shape)}: out_channels={out_channels} "
                         f"(weight.shape[0]) must be at least groups={groups}")
    if out_channels % groups:
        raise ValueError(f"out_channels={out_channels} (weight.shape[0]) is not divisible "
                         f"by groups={groups}")
    if per_group * groups != in_channels:
        raise ValueError(
            f"weight expects {per_group} input channels per group x groups={groups} = "
            f"{per_group * groups}, but input has {in_channels} channels"
        )
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}; expected ({out_channels},), "
                         "one value per output channel")
    return conv_geometry(tuple(input.shape[-dims:]), tuple(weight.shape[2:]), stride, padding,
                         dilation)


# --------------------------------------------------------------------------------------
# The fast version: im2col by strided view, one batched matmul, col2im in backward.
# --------------------------------------------------------------------------------------

# Output rows shorter than this many pixels make the im2col copy and the col2im
# additions slow (they move one short row at a time) and the per-image matrix products
# small; then the batch index is moved innermost and all images share one product.
_SHORT_ROW = 16


def _padded_buffer(x: Tensor, pads: tuple[int, int, int, int], batch_last: bool) -> Tensor:
    """``x (N, C, H, W)`` zero-padded by ``pads = (top, bottom, left, right)``.

    Returned as an ``(N, C, H_pad, W_pad)`` view whatever the memory order: with
    ``batch_last`` the numbers are stored as ``(C, H_pad, W_pad, N)``, the batch index
    varying fastest, so that a row of pixels for all images is one contiguous run.
    The input is first reordered by ``_batch_last`` (one permuted copy); without
    padding that *is* the buffer, so no zeros are written and nothing else is copied.
    """
    N, C, H, W = x.shape
    top, bottom, left, right = pads
    if not batch_last:
        if not any(pads):
            return x
        buffer = x.new_zeros((N, C, top + H + bottom, left + W + right))
        buffer[:, :, top:top + H, left:left + W] = x
        return buffer
    stored = _batch_last(x).view(C, H, W, N)
    if any(pads):
        padded = x.new_zeros((C, top + H + bottom, left + W + right, N))
        padded[:, top:top + H, left:left + W] = stored
        stored = padded
    return stored.permute(3, 0, 1, 2)


def _zeros_buffer(like: Tensor, shape: tuple[int, int, int, int], batch_last: bool) -> Tensor:
    """Zeros of logical shape ``(N, C, H, W)``, stored ``(C, H, W, N)`` if ``batch_last``."""
    if batch_last:
        N, C, H, W = shape
        return like.new_zeros((C, H, W, N)).permute(3, 0, 1, 2)
    return like.new_zeros(shape)


def _batch_last(t: Tensor) -> Tensor:
    """``(N, C, H, W)`` -> contiguous ``(C*H*W, N)``: the batch index moved innermost.

    A permuted copy: in this direction it is a little faster than torch's tiled 2-D
    transpose copy (measured on LeNet's shapes), the other way round much slower.
    """
    # Sizes spelt out, not view(-1, N): -1 cannot be inferred when N is 0.
    return t.permute(1, 2, 3, 0).contiguous().view(math.prod(t.shape[1:]), t.shape[0])


def _batch_first(t: Tensor, shape: tuple[int, int, int, int]) -> Tensor:
    """Inverse of ``_batch_last``: ``(C*H*W, N)`` -> contiguous ``(N, C, H, W)``, as a
    2-D transpose (torch copies 2-D transposes in cache-sized tiles, here about twice
    as fast as a 4-D permute).
    """
    return t.reshape(math.prod(shape[1:]), shape[0]).t().contiguous().view(shape)


def _im2col(buffer: Tensor, kernel: tuple[int, int], stride: tuple[int, int],
            dilation: tuple[int, int], out_size: tuple[int, int], groups: int,
            batch_last: bool) -> Tensor:
    """Receptive fields of ``buffer (N, C, H_pad, W_pad)``: one row per kernel tap
    ``(c, i, j)`` (``K = Cg*kH*kW`` rows per group), one column per output position.

    Returns ``(N, G, K, H_out*W_out)``, a matrix per image, or with ``batch_last`` one
    matrix ``(G, K, H_out*W_out*N)`` for all images with columns ordered ``(y, x, n)``
    (the order of ``buffer``'s memory, so that the copy reads long runs).

    Element ``[n, g, c, i, j, y, x]`` of the strided view is ``buffer[n, g*Cg + c,
    y*sH + i*dH, x*sW + j*dW]``: its strides are combinations of ``buffer``'s own and
    no data moves until ``reshape`` copies the view into a matrix.
    """
    N, C, _, _ = buffer.shape
    sN, sC, sH, sW = buffer.stride()
    Cg = C // groups
    K, P = Cg * kernel[0] * kernel[1], out_size[0] * out_size[1]
    view = buffer.as_strided(
        (N, groups, Cg, kernel[0], kernel[1], out_size[0], out_size[1]),
        (sN, Cg * sC, sC, dilation[0] * sH, dilation[1] * sW, stride[0] * sH, stride[1] * sW),
        buffer.storage_offset(),
    )
    if batch_last:
        return view.permute(1, 2, 3, 4, 5, 6, 0).reshape(groups, K, P * N)
    return view.reshape(N, groups, K, P)


def _col2im(cols: Tensor, buffer_shape: tuple[int, int, int, int], kernel: tuple[int, int],
            stride: tuple[int, int], dilation: tuple[int, int], out_size: tuple[int, int],
            batch_last: bool) -> Tensor:
    """Adjoint of ``_im2col``: add every entry of ``cols`` onto the element of the
    ``(N, C, H_pad, W_pad)`` buffer it was copied from.

    Tap ``(i, j)`` of output position ``(y, x)`` came from row ``i*dH + y*sH`` and column
    ``j*dW + x*sW``. The sum over taps is done in two passes, one per direction:

        rows[n, c, i, y, w]   = sum_j taps[n, c, i, j, y, x]   where w = j*dW + x*sW
        grad[n, c, h, w]      = sum_i rows[n, c, i, y, w]      where h = i*dH + y*sH

    ``kw + kh`` additions of large slabs rather than ``kh * kw`` small ones: fewer calls,
    longer runs (``benchmarks/layers.py``, conv2). Overlapping windows reach the same
    element from several taps, and the additions sum them, as the chain rule asks.
    """
    N, C, Hp, Wp = buffer_shape
    kh, kw = kernel
    Ho, Wo = out_size
    if batch_last and (Hp, Wp) == kernel and dilation == (1, 1):
        # The kernel covers the whole input (one output position, e.g. LeNet's C5: a
        # fully-connected layer in disguise): cols *is* the buffer, in the same order.
        return cols.view(C, Hp, Wp, N).permute(3, 0, 1, 2)
    if batch_last:
        taps = cols.view(C, kh, kw, Ho, Wo, N).permute(5, 0, 1, 2, 3, 4)
        rows = cols.new_zeros((C, kh, Ho, Wp, N)).permute(4, 0, 1, 2, 3)
    else:
        taps = cols.view(N, C, kh, kw, Ho, Wo)
        rows = cols.new_zeros((N, C, kh, Ho, Wp))
    # add_ on a view, never "+=": Python would write each sum back with a copy
    for j in range(kw):
        rows[..., _tap_slice(j, dilation[1], stride[1], Wo)].add_(taps[:, :, :, j])
    grad = _zeros_buffer(cols, buffer_shape, batch_last)
    for i in range(kh):
        grad[:, :, _tap_slice(i, dilation[0], stride[0], Ho)].add_(rows[:, :, i])
    return grad


def _tap_slice(tap: int, dilation: int, stride: int, out: int) -> slice:
    """The input positions tap ``tap`` visits over ``out`` windows: ``tap*d + o*s``."""
    return slice(tap * dilation, tap * dilation + stride * (out - 1) + 1, stride)


class _Conv2dFunction(Function):
    """Batched 2-D convolution ``(N, C, H, W) -> (N, C_out, H_out, W_out)`` over the
    windows of ``geometry`` (zero padding included), as im2col + matmul; backward
    ``dW = dY cols^T``, ``dcols = W^T dY`` and col2im.
    """

    @staticmethod
    def forward(ctx, input: Tensor, weight: Tensor, bias: Tensor | None,
                geometry: WindowGeometry, groups: int) -> Tensor:
        N = input.shape[0]
        C_out = weight.shape[0]
        out_size = geometry.output_size
        batch_last = out_size[1] < _SHORT_ROW
        buffer = _padded_buffer(input, geometry.flat_padding, batch_last)
        cols = _im2col(buffer, geometry.kernel_size, geometry.stride, geometry.dilation,
                       out_size, groups, batch_last)
        K = math.prod(weight.shape[1:])                     # C_in/G * kH * kW
        w = weight.reshape(groups, C_out // groups, K)      # (G, C_out/G, K); no -1: 0-size
        # W @ cols: (N, G, C_out/G, P), the weights broadcast over the images, or
        # (G, C_out/G, P*N) with batch_last
        out = torch.matmul(w, cols)
        if bias is not None:
            out += bias.view(groups, -1, 1)
        if batch_last:
            out = _batch_first(out, (N, C_out, *out_size))
        else:
            out = out.view(N, C_out, *out_size)
        ctx.geometry, ctx.groups, ctx.batch_last = geometry, groups, batch_last
        ctx.input_shape = input.shape
        ctx.save_for_backward(cols if ctx.needs_input_grad[1] else None,
                              weight if ctx.needs_input_grad[0] else None)
        # A view of a tensor made here: detached, so ReLU(inplace=True) may overwrite it.
        return out.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        geometry, groups, batch_last = ctx.geometry, ctx.groups, ctx.batch_last
        cols, weight = ctx.saved_tensors
        N, C_out = grad_output.shape[:2]
        out_size = geometry.output_size
        P = out_size[0] * out_size[1]
        # dY with its columns in the order of the columns of cols
        if batch_last:
            dy = _batch_last(grad_output).view(groups, C_out // groups, P * N)
        else:
            dy = grad_output.reshape(N, groups, C_out // groups, P)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:                         # not for a network's first layer
            w = weight.reshape(groups, C_out // groups, math.prod(weight.shape[1:]))
            dcols = torch.matmul(w.transpose(1, 2), dy)    # W^T dY
            C, H, W = ctx.input_shape[1:]
            grad = _col2im(dcols, (N, C, *geometry.padded_size), geometry.kernel_size,
                           geometry.stride, geometry.dilation, out_size, batch_last)
            top, left = geometry.pad_before                 # the padding's gradient is dropped
            grad = grad[:, :, top:top + H, left:left + W]
            grad_input = _batch_first(grad.permute(1, 2, 3, 0), grad.shape) if batch_last \
                else grad.contiguous()
        if ctx.needs_input_grad[1]:
            # dY cols^T, computed as (cols dY^T)^T: the same numbers, but MKL runs this
            # orientation (long contraction, the wide matrix on the left) ~10% faster
            grad_weight = torch.matmul(cols, dy.transpose(-1, -2)).transpose(-1, -2)
            if not batch_last:
                grad_weight = grad_weight.sum(0)            # one product per image: add up
            # tiny; made contiguous to match the weight's own layout
            C_per_group = ctx.input_shape[1] // groups
            grad_weight = grad_weight.reshape(C_out, C_per_group,
                                              *geometry.kernel_size).contiguous()
        if ctx.needs_input_grad[2]:                         # dY 1: sum over positions
            grad_bias = dy.sum(-1).view(C_out) if batch_last else dy.sum((0, 3)).view(C_out)
        return grad_input, grad_weight, grad_bias, None, None


def _conv(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrTuple,
          padding: Padding, dilation: IntOrTuple, groups: int, dims: int) -> Tensor:
    """Validate, then run a 1-D (``dims=1``) or 2-D convolution through the 2-D path."""
    geometry = _check_conv_args(input, weight, bias, stride, padding, dilation, groups, dims)
    batched = input.dim() == dims + 2
    x = input if batched else input.unsqueeze(0)
    if dims == 1:  # a length-L signal is a 1 x L image
        x, weight, geometry = x.unsqueeze(2), weight.unsqueeze(2), geometry.as_2d()
    out = _Conv2dFunction.apply(x, weight, bias, geometry, groups)
    if dims == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


#: How the per-dimension arguments are spelt in the docstrings of the 1-D and 2-D
#: convolutions, filled into the shared fragments below.
_SPELLING = {
    1: {"input": "``(N, C_in, L)`` or unbatched ``(C_in, L)``", "kernel": "kL",
        "k_size": "kL", "s": "a 1-tuple", "p": "a 1-tuple", "d": "a 1-tuple"},
    2: {"input": "``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``", "kernel": "kH, kW",
        "k_size": "kH * kW", "s": "``(sH, sW)``", "p": "``(pH, pW)``", "d": "``(dH, dW)``"},
}

#: The arguments of ``conv1d`` and ``conv2d``, written once and filled into both.
_FUNCTION_ARGS = """input: {input}.
        weight: ``(C_out, C_in/groups, {kernel})``.
        bias: ``(C_out,)`` or ``None``.
        stride: step of the window, an int or {s}.
        padding: zeros added on both sides, an int or {p}; ``'valid'`` (none) or
            ``'same'`` (output size = input size; stride must be 1; an odd total is
            split with the extra zero at the end, as in torch).
        dilation: spacing between kernel taps, an int or {d}.
        groups: split channels into this many independent convolutions."""

#: The constructor arguments and attributes of ``Conv1d`` and ``Conv2d``, likewise.
_MODULE_DOC = {
    "args": """in_channels: channels ``C_in`` of the input; at least 1 (stricter than torch,
            which builds a layer with no input channels).
        out_channels: channels ``C_out`` produced.
        kernel_size: ``{kernel}``, an int or a tuple.
        stride: step of the window, an int or {s} (default 1).
        padding: an int, {p}, ``'valid'`` or ``'same'`` (default 0); a tuple of another
            length raises (stricter than torch, which pads the wrong dimensions then).
        dilation: spacing between kernel taps, an int or {d} (default 1).
        groups: independent channel groups; must divide both channel counts.
        bias: learn a per-output-channel bias (default ``True``).
        padding_mode: ``'zeros'``, ``'reflect'``, ``'replicate'`` or ``'circular'``.
        device, dtype: where and how the parameters are created.""",
    "attributes": """weight: ``(C_out, C_in/groups, {kernel})``, initialised from
            ``U(-sqrt(k), sqrt(k))`` with ``k = groups / (C_in * {k_size})``.
        bias: ``(C_out,)``, same distribution, or ``None``.""",
}


def _fill_docstring(dims: int, **fragments: str):
    """``fill_docstring`` with each fragment first spelt for ``dims``-D (``{kernel}``...)."""
    return fill_docstring(**{name: text.format(**_SPELLING[dims])
                             for name, text in fragments.items()})


@_fill_docstring(1, args=_FUNCTION_ARGS)
def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    r"""1-D convolution (cross-correlation) over a batch of signals; same arguments and
    result as torch's ``F.conv1d``.

    ``out[n, o, t] = bias[o] + sum_{c, i} weight[o, c, i] * input_padded[n, g*Cg + c, t*s + i*d]``
    with ``g`` the group of output channel ``o`` and ``Cg = C_in / groups``.

    Args:
        {args}

    Returns:
        ``(N, C_out, L_out)`` (or ``(C_out, L_out)`` for an unbatched input).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Weight: :math:`(C_{out}, C_{in} / \text{groups}, k)`.
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d (k - 1) - 1) / s \rfloor + 1`.

    Raises:
        ValueError: wrong input/weight dimensions, channels not divisible by
            ``groups``, weight channels x groups != input channels, bias not
            ``(C_out,)``, non-positive stride/dilation, negative padding, unknown
            padding string, ``'same'`` with stride > 1, or a dilated kernel longer than
            the padded input, fewer output channels than ``groups``. Checked on an
            empty batch too (torch skips its checks there and returns an empty result).
        TypeError: ``groups`` is not an int, a non-floating input, or ``weight`` /
            ``bias`` of another dtype than the input (torch raises too, except for the
            bias with ``padding='same'``, which it casts: stricter than torch).
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, dims=1)


@_fill_docstring(2, args=_FUNCTION_ARGS)
def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: IntOrTuple = 1,
           padding: Padding = 0, dilation: IntOrTuple = 1, groups: int = 1) -> Tensor:
    r"""2-D convolution (cross-correlation) over a batch of images; same arguments and
    result as torch's ``F.conv2d``.

    ``out[n, o, y, x] = bias[o] + sum_{c, i, j} weight[o, c, i, j]
    * input_padded[n, g*Cg + c, y*sH + i*dH, x*sW + j*dW]`` with ``g`` the group of
    output channel ``o`` and ``Cg = C_in / groups``. Computed as im2col + matmul;
    see the module docstring for the backward derivation.

    Args:
        {args}

    Returns:
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` for an unbatched input).

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Weight: :math:`(C_{out}, C_{in} / \text{groups}, k_H, k_W)`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          where :math:`H_{out} = \lfloor (H_{in} + 2p_H - d_H (k_H - 1) - 1) / s_H \rfloor + 1`,
          likewise :math:`W_{out}`.

    Raises:
        ValueError, TypeError: as :func:`conv1d`.

    >>> x = torch.arange(9.).view(1, 1, 3, 3)
    >>> conv2d(x, torch.tensor([[[[0., 1.], [2., 3.]]]]))
    tensor([[[[19., 25.],
              [37., 43.]]]])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, dims=2)


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------

class _ConvNd(nn.Module):
    """Shared constructor, initialisation and printing of the convolution layers (torch's
    ``_ConvNd``): ``Conv1d``, ``Conv2d`` and, with ``transposed``, ``ConvTranspose1d/2d``.
    """

    _dims: int
    #: A transposed convolution's weight is ``(C_in, C_out/groups, *kernel_size)``.
    transposed = False

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: Padding = 0, dilation: IntOrTuple = 1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups)):
            check_count(value, name)
        if in_channels % groups:
            raise ValueError(f"in_channels={in_channels} is not divisible by groups={groups}")
        if out_channels % groups:
            raise ValueError(f"out_channels={out_channels} is not divisible by groups={groups}")
        # The window checks of every convolution, minus the input size (not known yet).
        given_padding = padding
        kernel_size, stride, dilation, pairs = window_arguments(
            self._dims, kernel_size, stride, padding, dilation)
        if not isinstance(padding, str):
            padding = tuple(before for before, _ in pairs)  # torch keeps 'same'/'valid' as given
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"padding_mode={padding_mode!r} must be one of {_PADDING_MODES}")
        if padding_mode != "zeros" and not isinstance(given_padding, (int, str)) and \
                len(given_padding) != self._dims:
            # torch pads the wrong number of dimensions then and fails inside pad()
            raise ValueError(f"padding={given_padding!r} with padding_mode={padding_mode!r} needs "
                             f"one int or {self._dims} ints, one per spatial dimension")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation, self.groups, self.padding_mode = dilation, groups, padding_mode
        self.output_padding = (0,) * self._dims  # as torch's; a transposed layer sets its own
        # For the non-zero padding modes: the explicit padding, in pad()'s order
        # (last dimension first), applied before a convolution without padding.
        self._reversed_padding_repeated_twice = [p for pair in reversed(pairs) for p in pair]

        factory = {"device": device, "dtype": dtype}
        channels = (in_channels, out_channels // groups) if self.transposed else \
            (out_channels, in_channels // groups)
        self.weight = nn.Parameter(torch.empty((*channels, *kernel_size), **factory))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_channels, **factory))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Initialise exactly like torch: ``kaiming_uniform_(a=sqrt(5))`` for the weight.

        That is ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, then the bias from the same range,
        with ``fan_in = weight.shape[1] * prod(kernel_size)`` (``in_channels/groups``, or
        ``out_channels/groups`` when transposed). Same RNG calls in the same order as
        torch, so a seed gives torch's exact weights.
        """
        with torch.no_grad():
            nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))
            if self.bias is not None:
                fan_in = self.weight[0].numel()
                bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
                nn.init.uniform_(self.bias, -bound, bound)

    def extra_repr(self) -> str:
        s = "{in_channels}, {out_channels}, kernel_size={kernel_size}, stride={stride}"
        if self.padding != (0,) * len(self.padding):
            s += ", padding={padding}"
        if self.dilation != (1,) * len(self.dilation):
            s += ", dilation={dilation}"
        if self.output_padding != (0,) * len(self.output_padding):
            s += ", output_padding={output_padding}"
        if self.groups != 1:
            s += ", groups={groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += ", padding_mode={padding_mode}"
        return s.format(**self.__dict__)

    def _conv_forward(self, input: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        conv = conv1d if self._dims == 1 else conv2d
        if self.padding_mode != "zeros":
            # reflect/replicate/circular: pad explicitly, then convolve without padding.
            # The rank is checked first, so a wrong one is reported as conv's, not pad's.
            check_input_dims(input, self._dims)
            padded = pad(input, self._reversed_padding_repeated_twice, mode=self.padding_mode)
            return conv(padded, weight, bias, self.stride, 0, self.dilation, self.groups)
        return conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups)

    def forward(self, input: Tensor) -> Tensor:
        return self._conv_forward(input, self.weight, self.bias)


@_fill_docstring(1, **_MODULE_DOC)
class Conv1d(_ConvNd):
    r"""1-D convolution layer, a from-scratch twin of ``torch.nn.Conv1d``; see :func:`conv1d`.

    Args:
        {args}

    Attributes:
        {attributes}

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`, where
          :math:`L_{out} = \lfloor (L_{in} + 2p - d (k - 1) - 1) / s \rfloor + 1`.

    >>> Conv1d(16, 33, 3, stride=2)(torch.randn(20, 16, 50)).shape
    torch.Size([20, 33, 24])
    """

    _dims = 1


@_fill_docstring(2, **_MODULE_DOC)
class Conv2d(_ConvNd):
    r"""2-D convolution layer, a from-scratch twin of ``torch.nn.Conv2d``; see :func:`conv2d`.

    Args:
        {args}

    Attributes:
        {attributes}

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          where :math:`H_{out} = \lfloor (H_{in} + 2p_H - d_H (k_H - 1) - 1) / s_H \rfloor + 1`,
          likewise :math:`W_{out}`.

    >>> Conv2d(16, 33, (3, 5), stride=(2, 1), padding=(4, 2))(torch.randn(20, 16, 50, 100)).shape
    torch.Size([20, 33, 28, 100])
    """

    _dims = 2


# The loop references (conv_reference.py) use _check_conv_args above, so they are
# imported last; conv_reference imports this module, which is already complete then.
from cnnlessons.scratch.conv_reference import (  # noqa: E402
    conv1d_backward_loop,
    conv2d_backward_loop,
    conv2d_loop,
    corr2d,
)
