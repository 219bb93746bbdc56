"""How much a one-pixel shift changes an image before and after pooling.

Chapter 4 measures pooling's approximate translation invariance on the MNIST test
set: shift every digit by one pixel, apply a transform (the identity, max pooling,
average pooling, pooling twice) to the original and to the shifted digit, and compare.
Two measures per image:

* :func:`relative_change`: ``||f(shifted) - f(x)|| / ||f(x)||``;
* :func:`unchanged_fraction`: the share of output values that stay exactly equal,
  counted where the digit is (where either output is non-zero), so the empty
  background does not inflate it.

:func:`shift_table` computes both for several transforms and directions and prints as
a table.

>>> x = torch.zeros(1, 1, 4, 4); x[0, 0, 1, 2] = 1.0
>>> shift(x, dim=-1)[0, 0, 1].tolist()
[0.0, 0.0, 0.0, 1.0]
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import torch
from torch import Tensor

__all__ = ["ShiftTable", "relative_change", "shift", "shift_table", "unchanged_fraction"]

#: The directions of :func:`shift_table`: name -> dimension of an ``(N, C, H, W)`` batch.
DIRECTIONS = {"right": -1, "down": -2}


def shift(x: Tensor, pixels: int = 1, dim: int = -1) -> Tensor:
    """``x`` moved ``pixels`` positions towards higher indices along ``dim``; zeros come in.

    Unlike ``torch.roll`` nothing wraps around: what leaves the image is lost, and the
    background (0) enters on the other side.

    Args:
        x: any tensor, e.g. a batch of images ``(N, C, H, W)``.
        pixels: how far, at least 0 and less than ``x.shape[dim]``.
        dim: the dimension to shift along (-1: right, -2: down).

    Returns:
        A new tensor of ``x``'s shape.
    """
    size = x.shape[dim]
    if not isinstance(pixels, int) or not 0 <= pixels < size:
        raise ValueError(f"pixels={pixels!r} must be an int in [0, {size}) "
                         f"(the size of dimension {dim})")
    out = torch.zeros_like(x)
    out.narrow(dim, pixels, size - pixels).copy_(x.narrow(dim, 0, size - pixels))
    return out


def relative_change(new: Tensor, old: Tensor) -> Tensor:
    """Per image, ``||new - old|| / ||old||`` over all but dimension 0.

    Shape:
        - new, old: :math:`(N, *)`
        - output: :math:`(N)`
    """
    return (new - old).flatten(1).norm(dim=1) / old.flatten(1).norm(dim=1)


def unchanged_fraction(new: Tensor, old: Tensor) -> Tensor:
    """Per image, the share of values equal in ``new`` and ``old`` where either is non-zero.

    Shape:
        - new, old: :math:`(N, *)`
        - output: :math:`(N)`
    """
    where = ((new != 0) | (old != 0)).flatten(1)
    same = ((new == old).flatten(1) & where).sum(dim=1)
    return same / where.sum(dim=1).clamp_min(1)


@dataclass
class ShiftTable:
    """The result of :func:`shift_table`.

    Attributes:
        change: ``change[direction][name]``, the :func:`relative_change` per image.
        unchanged: ``unchanged[direction][name]``, the :func:`unchanged_fraction` per image.
    """

    change: dict[str, dict[str, Tensor]]
    unchanged: dict[str, dict[str, Tensor]]

    def __str__(self) -> str:
        names = list(next(iter(self.change.values())))
        width = max(len(n) for n in names)
        lines = [f"{'':{width}s} | " + " | ".join(f"{'shift ' + d:^17s}" for d in self.change),
                 f"{'':{width}s} | " + " | ".join(f"{'change':>6s}  {'unchanged':>9s}"
                                                  for _ in self.change)]
        for name in names:
            lines.append(f"{name:{width}s} | " + " | ".join(
                f"{self.change[d][name].mean():6.3f}  {self.unchanged[d][name].mean():9.1%}"
                for d in self.change))
        return "\n".join(lines)


def shift_table(images: Tensor, transforms: Mapping[str, Callable[[Tensor], Tensor]],
                pixels: int = 1) -> ShiftTable:
    """Shift ``images`` right and down, and measure each transform's change.

    Args:
        images: a batch ``(N, C, H, W)``.
        transforms: name -> function of a batch (e.g. ``"max pooled"``:
            ``lambda x: F.max_pool2d(x, 2)``); the identity is always added first as
            ``"image"``.
        pixels: the size of the shift.

    Returns:
        A :class:`ShiftTable`; ``print`` it for the means over the images.
    """
    if images.dim() != 4:
        raise ValueError(f"images has shape {tuple(images.shape)}; expected (N, C, H, W)")
    every = {"image": lambda x: x, **transforms}
    change: dict[str, dict[str, Tensor]] = {}
    unchanged: dict[str, dict[str, Tensor]] = {}
    for direction, dim in DIRECTIONS.items():
        moved = shift(images, pixels, dim)
        outputs = {name: (f(moved), f(images)) for name, f in every.items()}
        change[direction] = {n: relative_change(*pair) for n, pair in outputs.items()}
        unchanged[direction] = {n: unchanged_fraction(*pair) for n, pair in outputs.items()}
    return ShiftTable(change, unchanged)
