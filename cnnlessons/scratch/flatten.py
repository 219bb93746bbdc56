"""Flatten: merge a run of dimensions into one, e.g. feature maps into a vector.

Between the last convolution and the first fully connected layer, a batch of
feature maps ``(N, C, H, W)`` becomes a batch of vectors ``(N, C*H*W)``. No number
changes: the same memory is read with a new shape.

Why no ``autograd.Function`` here: ``reshape`` only relabels positions, so the
gradient of the flattened tensor is the upstream gradient reshaped back to the
input's shape, and that is exactly what autograd already records for a view.
A hand-written backward would repeat ``grad.reshape(input.shape)`` and nothing else.
"""
from __future__ import annotations

import math

from torch import Tensor
from torch.nn import Module

__all__ = ["Flatten"]


def _normalize_dim(dim: int, ndim: int, name: str) -> int:
    """Turn a possibly negative ``dim`` into an index in ``[0, ndim)``, or raise."""
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"{name}={dim!r} must be an int")
    if not -ndim <= dim < ndim:
        raise ValueError(
            f"{name}={dim} is out of range for a {ndim}-D input: "
            f"it must be in [{-ndim}, {ndim - 1}]"
        )
    return dim % ndim


class Flatten(Module):
    r"""Flatten dimensions ``start_dim`` to ``end_dim`` into one (mirrors ``torch.nn.Flatten``).

    Args:
        start_dim: first dimension to flatten. Default: 1 (keep the batch dimension).
        end_dim: last dimension to flatten, inclusive. Default: -1.

    Shape:
        - Input: :math:`(*, S_{\text{start}}, ..., S_{i}, ..., S_{\text{end}}, *)`,
          any number of dimensions (a 0-D input counts as 1-D, like torch).
        - Output: :math:`(*, \prod_{i=\text{start}}^{\text{end}} S_{i}, *)`.

    >>> import torch
    >>> Flatten()(torch.zeros(32, 1, 5, 5)).shape
    torch.Size([32, 25])
    >>> Flatten(0, 2)(torch.zeros(32, 1, 5, 5)).shape
    torch.Size([160, 5])
    """

    __constants__ = ["start_dim", "end_dim"]
    start_dim: int
    end_dim: int

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, input: Tensor) -> Tensor:
        shape = list(input.shape) or [1]  # torch treats a scalar as one element in 1-D
        start = _normalize_dim(self.start_dim, len(shape), "start_dim")
        end = _normalize_dim(self.end_dim, len(shape), "end_dim")
        if start > end:
            raise ValueError(
                f"start_dim={self.start_dim} comes after end_dim={self.end_dim} for a "
                f"{len(shape)}-D input (dims {start} > {end}); nothing to flatten"
            )
        merged = math.prod(shape[start:end + 1])
        # reshape is a view when the memory allows it (no copy), otherwise a copy.
        return input.reshape(shape[:start] + [merged] + shape[end + 1:])

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
