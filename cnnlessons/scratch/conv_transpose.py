r"""Transposed convolution layers, from scratch: ``conv_transpose1d``, ``conv_transpose2d``,
``ConvTranspose1d``, ``ConvTranspose2d``.

A convolution gathers: each output number is a weighted sum over a window of the
input. A transposed convolution scatters: each input number is spread, weighted by the
kernel, over a window of the output, and overlapping windows add up. It is the
convolution's *adjoint* (its matrix transposed, hence the name), so it runs the
convolution's backward pass as its forward pass: the input-gradient path ``W^T dY`` and
col2im. With stride ``s`` the windows of neighbouring inputs start ``s`` apart, so the
output is about ``s`` times larger: the layer upsamples (a decoder, a segmentation
head). Element-wise, with weight ``(C_in, C_out/groups, kH, kW)``, ``Cig = C_in/groups``
and ``Cog = C_out/groups``::

    out_pad[n, g*Cog + o, y*sH + i*dH, x*sW + j*dW] += sum_c X[n, g*Cig + c, y, x]
                                                            * W[g*Cig + c, o, i, j]
    out = out_pad[:, :, pH : pH + H_out, pW : pW + W_out] + bias

``padding`` crops the border off the scattered result (it undoes the padding of the
convolution this transposes) and ``output_padding`` keeps that many more rows/columns
at the far end. The size (``cnnlessons.shapes.conv_transpose_output_size``)::

    H_out = (H - 1) * sH - 2 * pH + dH * (kH - 1) + output_padding_H + 1

How it is computed, for group ``g`` with ``X_g`` as a ``(Cig, H*W)`` matrix and ``W_g``
as ``(Cig, Cog*kH*kW)``:

1. ``cols = W_g^T X_g``: column ``(y, x)`` holds what input position ``(y, x)`` sends to
   each ``(o, i, j)`` of its output window (one batched ``matmul``, all groups).
2. col2im (``conv._col2im``, the convolution's backward helper) adds every entry of
   ``cols`` onto its output position; cropping the padding and adding the bias give ``out``.

Backward, ``G = dL/dout``. The adjoint of col2im is im2col, of the crop the zero
padding, so ``dL/dcols = im2col(pad(G))`` (``conv._im2col``: every output window, as
columns), and from ``cols = W_g^T X_g``::

    dL/dX_g = W_g dcols          a regular convolution of G with W
    dL/dW_g = X_g dcols^T        the correlation of the input with G's windows
    dL/db   = sum of G over batch and positions

Shapes check the transposes: ``W_g dcols`` is ``(Cig, K) (K, H*W) = (Cig, H*W)``.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable

from cnnlessons.arguments import IntOrTuple, check_count, check_input_dims
from cnnlessons.scratch._checks import check_floating, check_same_dtype
from cnnlessons.scratch.conv import (
    _SHORT_ROW,
    _batch_first,
    _batch_last,
    _check_spatial_not_empty,
    _col2im,
    _ConvNd,
    _fill_docstring,
    _im2col,
    _padded_buffer,
)
from cnnlessons.shapes import (
    WindowGeometry,
    conv_transpose_arguments,
    conv_transpose_geometry,
    conv_transpose_output_padding,
)

__all__ = ["conv_transpose1d", "conv_transpose2d", "ConvTranspose1d", "ConvTranspose2d"]


def _check_conv_transpose_args(input: Tensor, weight: Tensor, bias: Tensor | None,
                               stride: IntOrTuple, padding: IntOrTuple,
                               output_padding: IntOrTuple, groups: int, dilation: IntOrTuple,
                               dims: int) -> WindowGeometry:
    """Check a ``dims``-D transposed convolution's tensors and groups; return the geometry
    of the convolution it transposes (:func:`cnnlessons.shapes.conv_transpose_geometry`).
    """
    check_input_dims(input, dims)
    if weight.dim() != dims + 2:
        kernel = "kL" if dims == 1 else "kH, kW"
        raise ValueError(f"weight has shape {tuple(weight.shape)} ({weight.dim()}-D); expected "
                         f"a {dims + 2}-D (in_channels, out_channels/groups, {kernel})")
    check_floating(input, f"conv_transpose{dims}d")
    # Only the weight: torch casts a bias of another floating dtype to the input's.
    check_same_dtype(input, f"conv_transpose{dims}d", weight=weight)
    if bias is not None:
        check_floating(bias, f"conv_transpose{dims}d", "bias")
    check_count(groups, "groups")
    in_channels = input.shape[-dims - 1]
    if weight.shape[0] != in_channels:
        raise ValueError(f"weight has {weight.shape[0]} input channels (weight.shape[0]) but "
                         f"input has {in_channels} channels")
    if in_channels % groups:
        raise ValueError(f"in_channels={in_channels} is not divisible by groups={groups}")
    if in_channels == 0:
        raise ValueError(f"weight has shape {tuple(weight.shape)}: in_channels=0, but a "
                         "transposed convolution needs at least groups input channels")
    _check_spatial_not_empty(input, dims)
    if weight.shape[1] == 0:
        raise ValueError(f"weight has shape {tuple(weight.shape)}: out_channels/groups=0, but a "
                         "transposed convolution needs at least one output channel per group")
    out_channels = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (out_channels,):
        raise ValueError(f"bias has shape {tuple(bias.shape)}; expected ({out_channels},), one "
                         "value per output channel (weight.shape[1] * groups)")
    return conv_transpose_geometry(tuple(input.shape[-dims:]), tuple(weight.shape[2:]), stride,
                                   padding, output_padding, dilation)


class _ConvTranspose2dFunction(Function):
    """Batched 2-D transposed convolution ``(N, C_in, H, W) -> (N, C_out, H_out, W_out)``:
    ``cols = W^T X`` and col2im forward; backward im2col of ``G``, ``dX = W dcols`` and
    ``dW = X dcols^T`` (see the module docstring).

    ``geometry`` is the transposed convolution's: its ``output_size`` is the input's
    ``(H, W)`` and its ``input_size`` the output's ``(H_out, W_out)``.
    """

    @staticmethod
    def forward(ctx, input: Tensor, weight: Tensor, bias: Tensor | None,
                geometry: WindowGeometry, groups: int) -> Tensor:
        N, C_in = input.shape[:2]
        C_out = weight.shape[1] * groups
        in_size = geometry.output_size
        P = in_size[0] * in_size[1]
        # Narrow rows: the batch index innermost, as in conv.py (one matrix for all images).
        batch_last = in_size[1] < _SHORT_ROW
        if batch_last:
            x = _batch_last(input).view(groups, C_in // groups, P * N)
        else:
            x = input.reshape(N, groups, C_in // groups, P)
        K = math.prod(weight.shape[1:])                     # Cog*kH*kW; no -1: 0-size
        w = weight.reshape(groups, C_in // groups, K)       # (G, Cig, K)
        cols = torch.matmul(w.transpose(1, 2), x)           # W^T X: what each input sends
        buffer = _col2im(cols, (N, C_out, *geometry.padded_size), geometry.kernel_size,
                         geometry.stride, geometry.dilation, in_size, batch_last)
        top, left = geometry.pad_before                     # padding crops the border
        H_out, W_out = geometry.input_size
        out = buffer[:, :, top:top + H_out, left:left + W_out]
        out = _batch_first(out.permute(1, 2, 3, 0), out.shape) if batch_last \
            else out.contiguous()
        if bias is not None:
            out += bias.view(-1, 1, 1)
        ctx.geometry, ctx.groups, ctx.batch_last = geometry, groups, batch_last
        ctx.input_shape, ctx.weight_shape = input.shape, weight.shape
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None,
                              weight if ctx.needs_input_grad[0] else None)
        # A view of a tensor made here: detached, so ReLU(inplace=True) may overwrite it.
        return out.detach()

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        geometry, groups, batch_last = ctx.geometry, ctx.groups, ctx.batch_last
        x, weight = ctx.saved_tensors
        N, C_in, H, W = ctx.input_shape
        # dL/dcols: the adjoint of "col2im, then crop" is "zero-pad, then im2col"
        buffer = _padded_buffer(grad_output, geometry.flat_padding, batch_last)
        dcols = _im2col(buffer, geometry.kernel_size, geometry.stride, geometry.dilation,
                        geometry.output_size, groups, batch_last)
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:                         # W dcols: a convolution of G
            K = math.prod(weight.shape[1:])
            dx = torch.matmul(weight.reshape(groups, C_in // groups, K), dcols)
            grad_input = _batch_first(dx, (N, C_in, H, W)) if batch_last \
                else dx.view(N, C_in, H, W)
        if ctx.needs_input_grad[1]:                         # X dcols^T: a correlation
            grad_weight = torch.matmul(x, dcols.transpose(-1, -2))
            if not batch_last:
                grad_weight = grad_weight.sum(0)            # one product per image: add up
            grad_weight = grad_weight.reshape(C_in, ctx.weight_shape[1], *geometry.kernel_size)
        if ctx.needs_input_grad[2]:                         # every position adds the bias
            grad_bias = grad_output.sum((0, 2, 3))
        return grad_input, grad_weight, grad_bias, None, None


def _conv_transpose(input: Tensor, weight: Tensor, bias: Tensor | None, stride: IntOrTuple,
                    padding: IntOrTuple, output_padding: IntOrTuple, groups: int,
                    dilation: IntOrTuple, dims: int) -> Tensor:
    """Validate, then run a 1-D (``dims=1``) or 2-D transposed convolution through the 2-D path."""
    geometry = _check_conv_transpose_args(input, weight, bias, stride, padding, output_padding,
                                          groups, dilation, dims)
    batched = input.dim() == dims + 2
    x = input if batched else input.unsqueeze(0)
    if bias is not None and bias.dtype != input.dtype:
        bias = bias.to(input.dtype)  # as torch does (conv raises instead)
    if dims == 1:  # a length-L signal is a 1 x L image
        x, weight, geometry = x.unsqueeze(2), weight.unsqueeze(2), geometry.as_2d()
    out = _ConvTranspose2dFunction.apply(x, weight, bias, geometry, groups)
    if dims == 1:
        out = out.squeeze(2)
    return out if batched else out.squeeze(0)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Tensor:
    r"""1-D transposed convolution over a batch of signals; same arguments and result as
    torch's ``F.conv_transpose1d``.

    ``out_pad[n, g*Cog + o, t*s + i*d] += sum_c X[n, g*Cig + c, t] * W[g*Cig + c, o, i]``,
    then the padding is cropped and the bias added (see the module docstring).

    Args:
        input: ``(N, C_in, L)`` or unbatched ``(C_in, L)``.
        weight: ``(C_in, C_out/groups, kL)``.
        bias: ``(C_out,)`` or ``None``.
        stride: step between the windows of neighbouring inputs, an int or a 1-tuple.
        padding: elements cropped from both ends of the output (no strings).
        output_padding: elements kept at the far end; smaller than stride or dilation.
        groups: split channels into this many independent transposed convolutions.
        dilation: spacing between kernel taps.

    Returns:
        ``(N, C_out, L_out)`` (or ``(C_out, L_out)`` for an unbatched input).

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Weight: :math:`(C_{in}, C_{out} / \text{groups}, k)`.
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`, where
          :math:`L_{out} = (L_{in} - 1) s - 2p + d (k - 1) + \text{output\_padding} + 1`.

    Raises:
        ValueError: wrong input/weight dimensions, ``weight.shape[0]`` not the input's
            channels, channels not divisible by ``groups``, bias not ``(C_out,)``,
            non-positive stride/dilation, negative or string padding, output padding
            neither smaller than stride nor than dilation, an empty output, or no input
            channels. Checked on an empty batch too (torch skips its checks there).
            ``dilation=0`` raises even for a one-tap kernel (stricter than torch).
        TypeError: ``groups`` is not an int, a non-floating input or bias, or a
            ``weight`` of another dtype than the input (a bias of another floating dtype
            is cast to the input's, as torch does).

    >>> conv_transpose1d(torch.tensor([[[1., 10.]]]), torch.tensor([[[1., 2., 3.]]]), stride=2)
    tensor([[[ 1.,  2., 13., 20., 30.]]])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, dims=1)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None,
                     stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                     output_padding: IntOrTuple = 0, groups: int = 1,
                     dilation: IntOrTuple = 1) -> Tensor:
    r"""2-D transposed convolution over a batch of images; same arguments and result as
    torch's ``F.conv_transpose2d``.

    ``out_pad[n, g*Cog + o, y*sH + i*dH, x*sW + j*dW] += sum_c X[n, g*Cig + c, y, x]
    * W[g*Cig + c, o, i, j]``, then the padding is cropped and the bias added. Computed
    as ``W^T X`` and col2im; see the module docstring for the backward derivation.

    Args:
        input: ``(N, C_in, H, W)`` or unbatched ``(C_in, H, W)``.
        weight: ``(C_in, C_out/groups, kH, kW)``.
        bias: ``(C_out,)`` or ``None``.
        stride: step between the windows of neighbouring inputs, an int or ``(sH, sW)``.
        padding: rows/columns cropped from both sides of the output, an int or
            ``(pH, pW)`` (no strings).
        output_padding: rows/columns kept at the far end, an int or a pair; each
            smaller than its stride or its dilation.
        groups: split channels into this many independent transposed convolutions.
        dilation: spacing between kernel taps, an int or ``(dH, dW)``.

    Returns:
        ``(N, C_out, H_out, W_out)`` (or ``(C_out, H_out, W_out)`` for an unbatched input).

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Weight: :math:`(C_{in}, C_{out} / \text{groups}, k_H, k_W)`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          where :math:`H_{out} = (H_{in} - 1) s_H - 2 p_H + d_H (k_H - 1) +
          \text{output\_padding}_H + 1`, likewise :math:`W_{out}`.

    Raises:
        ValueError, TypeError: as :func:`conv_transpose1d`.

    >>> x = torch.tensor([[[[1., 2.], [3., 4.]]]])
    >>> conv_transpose2d(x, torch.ones(1, 1, 2, 2))      # overlapping windows add up
    tensor([[[[ 1.,  3.,  2.],
              [ 4., 10.,  6.],
              [ 3.,  7.,  4.]]]])
    """
    return _conv_transpose(input, weight, bias, stride, padding, output_padding, groups,
                           dilation, dims=2)


# --------------------------------------------------------------------------------------
# Modules
# --------------------------------------------------------------------------------------

class _ConvTransposeNd(_ConvNd):
    """Shared constructor and ``forward`` of ``ConvTranspose1d`` and ``ConvTranspose2d``:
    the convolution's (``conv._ConvNd``), with the weight's channels swapped and an
    ``output_padding``, as torch's ``_ConvTransposeNd``.
    """

    transposed = True

    def __init__(self, in_channels: int, out_channels: int, kernel_size: IntOrTuple,
                 stride: IntOrTuple = 1, padding: IntOrTuple = 0,
                 output_padding: IntOrTuple = 0, groups: int = 1, bias: bool = True,
                 dilation: IntOrTuple = 1, padding_mode: str = "zeros",
                 device=None, dtype=None) -> None:
        if padding_mode != "zeros":
            raise ValueError(f"padding_mode={padding_mode!r} must be 'zeros': "
                             f"{type(self).__name__} pads with zeros only (as torch)")
        extra = conv_transpose_arguments(self._dims, kernel_size, stride, padding,
                                         output_padding, dilation)[-1]
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, dilation,
                         groups, bias, padding_mode, device, dtype)
        self.output_padding = extra

    def _output_padding(self, input: Tensor, output_size) -> tuple[int, ...]:
        """``output_padding``, or the one that gives ``output_size`` (torch's rule).

        ``output_size`` may be the spatial size or the whole output shape.
        """
        if output_size is None:
            return self.output_padding
        check_input_dims(input, self._dims)
        wanted = tuple(output_size)
        if len(wanted) == input.dim():  # (N, C_out, *spatial) or (C_out, *spatial)
            wanted = wanted[-self._dims:]
        return conv_transpose_output_padding(tuple(input.shape[-self._dims:]), wanted,
                                             self.kernel_size, self.stride, self.padding,
                                             self.dilation)

    def forward(self, input: Tensor, output_size: list[int] | None = None) -> Tensor:
        conv = conv_transpose1d if self._dims == 1 else conv_transpose2d
        return conv(input, self.weight, self.bias, self.stride, self.padding,
                    self._output_padding(input, output_size), self.groups, self.dilation)


#: The constructor arguments and attributes of both layers, filled into each.
_MODULE_DOC = """Args:
        in_channels: channels ``C_in`` of the input.
        out_channels: channels ``C_out`` produced.
        kernel_size: an int or a tuple.
        stride: step between the windows of neighbouring inputs (default 1).
        padding: elements cropped from both sides of every output dimension (default 0).
        output_padding: elements kept at the far end, smaller than stride or dilation.
        groups: independent channel groups; must divide both channel counts.
        bias: learn a per-output-channel bias (default ``True``).
        dilation: spacing between kernel taps (default 1).
        padding_mode: ``'zeros'`` only, as in torch.
        device, dtype: where and how the parameters are created.

    ``forward(input, output_size=None)``: ``output_size`` (spatial, or the whole shape)
    picks the output padding instead, any size up to ``stride - 1`` above the smallest.

    Attributes:
        weight: ``(C_in, C_out/groups, *kernel_size)``, initialised from
            ``U(-sqrt(k), sqrt(k))`` with ``k = groups / (C_out * prod(kernel_size))``.
        bias: ``(C_out,)``, same distribution, or ``None``."""


@_fill_docstring(1, module_doc=_MODULE_DOC)
class ConvTranspose1d(_ConvTransposeNd):
    r"""1-D transposed convolution layer, a from-scratch twin of ``torch.nn.ConvTranspose1d``;
    see :func:`conv_transpose1d`.

    {module_doc}

    Shape:
        - Input: :math:`(N, C_{in}, L_{in})` or :math:`(C_{in}, L_{in})`.
        - Output: :math:`(N, C_{out}, L_{out})` or :math:`(C_{out}, L_{out})`, where
          :math:`L_{out} = (L_{in} - 1) s - 2p + d (k - 1) + \text{output\_padding} + 1`.

    >>> ConvTranspose1d(16, 33, 3, stride=2)(torch.randn(20, 16, 50)).shape
    torch.Size([20, 33, 101])
    """

    _dims = 1


@_fill_docstring(2, module_doc=_MODULE_DOC)
class ConvTranspose2d(_ConvTransposeNd):
    r"""2-D transposed convolution layer, a from-scratch twin of ``torch.nn.ConvTranspose2d``;
    see :func:`conv_transpose2d`.

    {module_doc}

    Shape:
        - Input: :math:`(N, C_{in}, H_{in}, W_{in})` or :math:`(C_{in}, H_{in}, W_{in})`.
        - Output: :math:`(N, C_{out}, H_{out}, W_{out})` or :math:`(C_{out}, H_{out}, W_{out})`,
          where :math:`H_{out} = (H_{in} - 1) s_H - 2 p_H + d_H (k_H - 1) +
          \text{output\_padding}_H + 1`, likewise :math:`W_{out}`.

    >>> up = ConvTranspose2d(16, 6, 3, stride=2, padding=1)
    >>> up(torch.randn(8, 16, 5, 5), output_size=(10, 10)).shape
    torch.Size([8, 6, 10, 10])
    """

    _dims = 2
