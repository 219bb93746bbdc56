"""The figures' arguments: tensors checked and copied to host memory for drawing.

Every figure accepts torch tensors (NumPy arrays work too), whatever their device or
dtype, and draws from a float64 (values) or int64 (class labels) NumPy copy.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch


def as_array(x: torch.Tensor | np.ndarray, name: str, ndims: tuple[int, ...],
             shape_doc: str) -> np.ndarray:
    """``x`` as a float64 NumPy array, after checking its type and number of dimensions.

    Args:
        x: the argument as given.
        name: its name, for the error messages.
        ndims: the accepted numbers of dimensions.
        shape_doc: the expected shape as the messages write it, e.g. ``"(C, H, W)"``.
    """
    if not isinstance(x, (torch.Tensor, np.ndarray)):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_doc}, "
                        f"not {type(x).__name__}")
    t = torch.as_tensor(x)
    if t.dim() not in ndims:
        raise ValueError(f"{name} has shape {tuple(t.shape)} ({t.dim()}-D); "
                         f"expected shape {shape_doc}")
    return t.detach().to(device="cpu", dtype=torch.float64).numpy()


def as_labels(x: torch.Tensor | np.ndarray | Sequence[int], name: str) -> np.ndarray:
    """Class labels ``(N,)`` as a 1-D int64 NumPy array, after checking shape and dtype."""
    if not isinstance(x, (torch.Tensor, np.ndarray, Sequence)):
        raise TypeError(f"{name} must be a 1-D tensor of class indices, not {type(x).__name__}")
    t = torch.as_tensor(x)
    if t.dim() != 1:
        raise ValueError(f"{name} has shape {tuple(t.shape)} ({t.dim()}-D); "
                         "expected a 1-D tensor of class indices (N,)")
    if t.is_floating_point() or t.is_complex():
        raise TypeError(f"{name} has dtype {t.dtype}; expected integer class indices")
    return t.detach().cpu().long().numpy()
