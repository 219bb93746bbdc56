"""Argument handling shared by the layers, the shape arithmetic and the figures.

PyTorch accepts ``kernel_size=3`` and ``kernel_size=(3, 5)`` alike; these helpers
turn either form into a tuple with one entry per spatial dimension and check it,
so that every layer reports bad input the same way: the argument, the value and
the rule it breaks.
"""
from __future__ import annotations

from collections.abc import Sequence

#: ``kernel_size=3`` or ``kernel_size=(3, 5)``: one int for every spatial dimension, or
#: one per dimension. The one alias for such arguments across the package.
IntOrTuple = int | Sequence[int]
#: A convolution's ``padding``: an int or tuple as above, or ``'valid'`` / ``'same'``.
Padding = int | Sequence[int] | str


def ntuple(value: IntOrTuple, n: int, name: str) -> tuple[int, ...]:
    """Return ``value`` as a tuple of ``n`` ints (an int is repeated ``n`` times).

    >>> ntuple(3, 2, "kernel_size")
    (3, 3)
    >>> ntuple((3, 5), 2, "kernel_size")
    (3, 5)
    """
    if isinstance(value, bool):
        raise TypeError(f"{name}={value!r} must be an int or a tuple of {n} ints, not a bool")
    if isinstance(value, int):
        return (value,) * n
    try:
        items = tuple(value)
    except TypeError:
        raise TypeError(f"{name}={value!r} must be an int or a tuple of {n} ints") from None
    if len(items) == 1 and n > 1:
        items = items * n
    if len(items) != n or not all(isinstance(v, int) and not isinstance(v, bool) for v in items):
        raise ValueError(f"{name}={value!r} must be an int or a tuple of {n} ints")
    return items


def check_positive(values: tuple[int, ...], name: str) -> None:
    """Raise ``ValueError`` unless every entry of ``values`` is at least 1."""
    if any(v < 1 for v in values):
        shown = values[0] if len(set(values)) == 1 else values
        raise ValueError(f"{name}={shown} must be positive (at least 1)")


def check_non_negative(values: tuple[int, ...], name: str) -> None:
    """Raise ``ValueError`` if any entry of ``values`` is negative."""
    if any(v < 0 for v in values):
        shown = values[0] if len(set(values)) == 1 else values
        raise ValueError(f"{name}={shown} must be non-negative")


def check_input_dims(input, spatial_dims: int, name: str = "input") -> None:
    """Check that ``input`` is batched ``(N, C, *spatial)`` or unbatched ``(C, *spatial)``."""
    if input.dim() not in (spatial_dims + 1, spatial_dims + 2):
        batched = {1: "(N, C, L)", 2: "(N, C, H, W)"}.get(spatial_dims, "(N, C, ...)")
        raise ValueError(
            f"{name} has shape {tuple(input.shape)} ({input.dim()}-D); expected a "
            f"{spatial_dims + 2}-D batch {batched} or a {spatial_dims + 1}-D unbatched sample"
        )


def check_count(value: int, name: str) -> None:
    """Raise unless ``value`` is a positive int: a channel, feature, class or item count.

    >>> check_count(0, "out_channels")
    Traceback (most recent call last):
    ValueError: out_channels=0 must be positive (at least 1)
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name}={value!r} must be an int")
    if value < 1:
        raise ValueError(f"{name}={value} must be positive (at least 1)")
