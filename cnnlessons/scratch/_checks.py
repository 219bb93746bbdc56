"""Dtype checks shared by the scratch layers, each a one-line error naming the argument.

torch's kernels reject mixed dtypes deep inside (``expected m1 and m2 to have the same
dtype``, ``mixed dtype (CPU)``); the layers call these first so that the message names
the argument, its dtype and the rule. Module-private: leading underscore, no ``__all__``
(``functional.LAYER_MODULES`` skips it).
"""
from __future__ import annotations

import torch
from torch import Tensor

#: Dtypes torch computes in float32 on the CPU and rounds back (its "opmath" type).
REDUCED = (torch.float16, torch.bfloat16)


def check_floating(input: Tensor, name: str, what: str = "input") -> None:
    """Raise ``TypeError`` unless ``input`` (argument ``what`` of function ``name``) is a
    floating-point tensor.
    """
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}: {what} must be a torch.Tensor, not {type(input).__name__}")
    if not input.is_floating_point():
        raise TypeError(f"{name}: {what} has dtype {input.dtype}; it needs a floating-point "
                        "dtype (float16, bfloat16, float32 or float64)")


def check_same_dtype(input: Tensor, name: str, **others: Tensor | None) -> None:
    """Raise ``TypeError`` unless every tensor in ``others`` has ``input``'s dtype."""
    for arg, t in others.items():
        if t is not None and t.dtype != input.dtype:
            raise TypeError(f"{name}: {arg} has dtype {t.dtype} but input has dtype "
                            f"{input.dtype}; they must be equal")


def opmath(dtype: torch.dtype) -> torch.dtype:
    """The dtype torch accumulates ``dtype`` in on the CPU: float32 for float16/bfloat16."""
    return torch.float32 if dtype in REDUCED else dtype
