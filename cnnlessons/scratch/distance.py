"""Pairwise distance: the p-norm of ``x1 - x2 + eps`` along the last dimension.

``d = ||x1 - x2 + eps||_p = (sum_i |x1_i - x2_i + eps|^p)^(1/p)``. PyTorch adds
``eps`` to every component of the difference (not to the norm), so two equal
vectors are ``eps * D^(1/p)`` apart, not 0: that keeps the 2-norm's gradient
finite. We do the same, to the last bit.

Backward, with ``v = x1 - x2 + eps`` and ``n = ||v||_p``::

    dn/dv_i = sign(v_i) |v_i|^(p-1) / n^(p-1)

* p = 2: ``v_i / n`` (0 where ``n = 0``, like torch);
* p = 1: ``sign(v_i)``;
* p = inf: ``n = max_i |v_i|``; the gradient ``sign(v_i)`` goes to the entries that
  attain the max, shared equally between ties (torch's rule); -inf likewise with min;
* p = 0: ``n`` counts non-zero entries, a step function: gradient 0.

Then ``dL/dx1 = G * dn/dv`` and ``dL/dx2 = -G * dn/dv``, each summed back over the
dimensions that broadcasting expanded.
"""
from __future__ import annotations

import math

import torch
from torch import Tensor
from torch.autograd import Function
from torch.autograd.function import once_differentiable
from torch.nn import Module

__all__ = ["pairwise_distance", "PairwiseDistance"]


def _p_norm(v: Tensor, p: float) -> Tensor:
    """``||v||_p`` over the last dimension, keepdim=True; special cases first."""
    if p == 2:
        return (v * v).sum(-1, keepdim=True).sqrt()
    a = v.abs()
    if p == math.inf:
        return a.amax(-1, keepdim=True)
    if p == -math.inf:
        return a.amin(-1, keepdim=True)
    if p == 0:
        return (a != 0).sum(-1, keepdim=True).to(v.dtype)
    if p == 1:
        return a.sum(-1, keepdim=True)
    return a.pow(p).sum(-1, keepdim=True).pow(1 / p)


def _p_norm_grad(v: Tensor, norm: Tensor, grad: Tensor, p: float) -> Tensor:
    """``grad * d||v||_p / dv`` with ``norm`` and ``grad`` of shape (..., 1)."""
    if p == 0:
        return torch.zeros_like(v)
    if math.isinf(p):
        # The entries that attain max (or min) |v|, and NaNs (torch's rule: a NaN is
        # the max; its own gradient is sign(nan) = 0, so the NaN row's gradient is 0).
        a = v.abs()
        hits = ((a == norm) | a.isnan()).to(v.dtype)
        return v.sign() * hits * (grad / hits.sum(-1, keepdim=True))
    if p == 1:
        return v.sign() * grad
    if p == 2:
        return v * torch.where(norm == 0, 0, grad / norm)
    if p < 1:
        # |v|^(p-1) blows up at v = 0, where torch takes 0.
        scaled = torch.where(v == 0, 0, v.sign() * v.abs().pow(p - 1))
        return scaled * grad * norm.pow(1 - p)
    return v.sign() * v.abs().pow(p - 1) * torch.where(norm == 0, 0, grad / norm.pow(p - 1))


class _PairwiseDistanceFunction(Function):
    """``||x1 - x2 + eps||_p`` over the last dimension; see the module docstring."""

    @staticmethod
    def forward(ctx, x1: Tensor, x2: Tensor, p: float, eps: float, keepdim: bool) -> Tensor:
        v = x1 - x2 + eps  # broadcasts, and promotes integer inputs to float like torch
        norm = _p_norm(v, p)
        ctx.save_for_backward(v, norm)
        ctx.p = p
        ctx.x1_shape, ctx.x2_shape = x1.shape, x2.shape
        # A 0-D v gives a 0-D norm: nothing to squeeze.
        return norm if keepdim or v.dim() == 0 else norm.squeeze(-1)

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output: Tensor):
        v, norm = ctx.saved_tensors
        grad_v = _p_norm_grad(v, norm, grad_output.reshape(norm.shape), ctx.p)
        grad_x1 = grad_v.sum_to_size(ctx.x1_shape) if ctx.needs_input_grad[0] else None
        grad_x2 = (-grad_v).sum_to_size(ctx.x2_shape) if ctx.needs_input_grad[1] else None
        return grad_x1, grad_x2, None, None, None


def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    """Distance ``||x1 - x2 + eps||_p`` along the last dimension (mirrors ``F.pairwise_distance``).

    Args:
        x1: ``(N, D)`` or ``(D)``; more generally any shape broadcastable with ``x2``.
        x2: ``(N, D)`` or ``(D)``, broadcastable with ``x1``.
        p: the norm degree: any real number, ``math.inf`` or ``-math.inf``
            (``p=0`` counts non-zero components; ``p < 1`` is not a norm but is
            computed like torch). Default: 2.
        eps: added to every component of ``x1 - x2``. Default: 1e-6.
        keepdim: keep the reduced last dimension with size 1. Default: ``False``.

    Shape:
        - Input1: :math:`(N, D)` or :math:`(D)`, :math:`D` = vector dimension.
        - Input2: :math:`(N, D)` or :math:`(D)`, broadcastable with Input1.
        - Output: :math:`(N)` or :math:`()`; with ``keepdim=True`` :math:`(N, 1)` or
          :math:`(1)`. In general the broadcast shape without its last dimension.

    Raises:
        ValueError: shapes that do not broadcast, ``p`` is NaN, or ``p`` is negative
            or infinite over an empty last dimension (torch raises too).

    >>> pairwise_distance(torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2), eps=0.0)
    tensor([5.])
    """
    if isinstance(p, float) and math.isnan(p):
        raise ValueError("pairwise_distance: p=nan is not a valid norm degree")
    try:
        torch.broadcast_shapes(x1.shape, x2.shape)
    except RuntimeError:
        raise ValueError(
            f"pairwise_distance: x1 of shape {tuple(x1.shape)} and x2 of shape "
            f"{tuple(x2.shape)} do not broadcast (sizes must match or be 1, from the right)"
        ) from None
    size = torch.broadcast_shapes(x1.shape, x2.shape)
    if (p < 0 or p == math.inf) and size and size[-1] == 0:
        raise ValueError(
            f"pairwise_distance: p={p} over an empty last dimension (shape {tuple(size)}): "
            "a max, min or negative power of no entries is undefined")
    return _PairwiseDistanceFunction.apply(x1, x2, float(p), eps, keepdim)


class PairwiseDistance(Module):
    """Distance ``||x1 - x2 + eps||_p`` between rows (mirrors ``torch.nn.PairwiseDistance``).

    Args:
        p: the norm degree (may be negative or infinite). Default: 2.
        eps: small value added to the difference. Default: 1e-6.
        keepdim: keep the vector dimension with size 1. Default: ``False``.

    Shape:
        - Input1: :math:`(N, D)` or :math:`(D)`.
        - Input2: :math:`(N, D)` or :math:`(D)`, broadcastable with Input1.
        - Output: :math:`(N)` or :math:`()`; with ``keepdim=True`` :math:`(N, 1)` or :math:`(1)`.
    """

    __constants__ = ["norm", "eps", "keepdim"]
    norm: float
    eps: float
    keepdim: bool

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p  # torch's attribute name
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)
