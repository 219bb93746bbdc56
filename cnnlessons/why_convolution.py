"""A convolution is a dense layer with most weights zero and the rest shared.

Chapter 1 starts from a fully connected layer and arrives at a convolution.
:func:`dense_equivalent` writes a convolution (no bias) as the matrix of the dense
layer that computes the same map on the flattened input, so the chapter can count that
matrix's entries, its nonzeros (locality: each output reads one window) and its
distinct values (parameter sharing: every window uses the same kernel).

>>> import torch
>>> matrix = dense_equivalent(torch.tensor([[[[1.0, 2.0]]]]), (1, 1, 3))
>>> matrix
tensor([[1., 2., 0.],
        [0., 1., 2.]])
"""
from __future__ import annotations

import math

import torch
from torch import Tensor

from cnnlessons.scratch.functional import conv2d

__all__ = ["dense_equivalent"]


def dense_equivalent(weight: Tensor, input_shape: tuple[int, int, int], **conv_args) -> Tensor:
    """The matrix ``M`` with ``conv2d(x, weight, **conv_args).flatten() == M @ x.flatten()``.

    Column ``j`` is the convolution of the ``j``-th basis image (a single 1 at the
    ``j``-th input element), so all columns come out of one batched convolution.

    Args:
        weight: the convolution's kernels ``(C_out, C_in, kH, kW)``.
        input_shape: the shape ``(C_in, H, W)`` of one input.
        **conv_args: ``stride``, ``padding``, ``dilation`` as for ``conv2d`` (no bias:
            a bias would make the map affine, not a matrix).

    Returns:
        ``(C_out * H_out * W_out, C_in * H * W)``, in the input's dtype.

    Shape:
        - weight: :math:`(C_{out}, C_{in}, k_H, k_W)`.
        - Output: :math:`(C_{out} H_{out} W_{out}, C_{in} H W)`.

    Raises:
        ValueError: ``input_shape`` is not three sizes, or ``conv_args`` holds ``bias``.
    """
    if len(input_shape) != 3:
        raise ValueError(f"input_shape={tuple(input_shape)} must be (C_in, H, W)")
    if "bias" in conv_args:
        raise ValueError("bias is not allowed: a convolution with a bias is not a matrix product")
    n_in = math.prod(input_shape)
    basis = torch.eye(n_in, dtype=weight.dtype, device=weight.device).reshape(n_in, *input_shape)
    with torch.no_grad():
        columns = conv2d(basis, weight, **conv_args)        # (n_in, C_out, H_out, W_out)
    return columns.reshape(n_in, -1).T
