"""Straight strokes at chosen angles, to measure which orientations a filter answers.

Chapter 6 asks of the trained LeNet-5's first layer whether its filters respond to
strokes of one orientation more than to others. :func:`stroke` draws one straight
line through the middle of a blank image, the way a pen stroke of an MNIST digit
looks (ink 1 on background 0, a couple of pixels wide, inside the central 20x20
pixels); :func:`orientation_responses` shows each such image, normalised like the
training digits, to a convolution and records each output channel's strongest
response after a ReLU; :func:`selectivity` divides a channel's strongest response at
its preferred angle by its response to the perpendicular stroke.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn

from cnnlessons.data import MNIST_MEAN, MNIST_STD

__all__ = ["orientation_responses", "selectivity", "stroke"]


def stroke(angle: float, size: int = 28, width: float = 2.0, length: float = 16.0) -> Tensor:
    """A straight line segment through the image centre, ink 1 on background 0.

    Args:
        angle: the line's direction in degrees, anticlockwise from horizontal as seen on
            screen (0 horizontal, 90 vertical, 45 rising to the right).
        size: the image is ``size x size`` pixels.
        width: the line's thickness in pixels (edges anti-aliased over one pixel).
        length: the segment's length in pixels (its ends are rounded).

    Returns:
        A float32 image ``(size, size)`` with values in [0, 1].

    >>> image = stroke(0, size=9, width=1, length=5)
    >>> image[4].tolist()
    [0.0, 0.5, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.0]
    >>> image[3].sum().item()
    0.0
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: got {size!r}; the rule: a whole number of pixels, at least 1")
    if not width > 0:
        raise ValueError(f"width: got {width!r}; the rule: a positive number of pixels")
    if not length >= 0:
        raise ValueError(f"length: got {length!r}; the rule: a length of at least 0 pixels")
    centre = (size - 1) / 2
    coords = torch.arange(size, dtype=torch.float64) - centre
    rows, cols = torch.meshgrid(coords, coords, indexing="ij")
    theta = math.radians(angle)
    dx, dy = math.cos(theta), -math.sin(theta)      # image rows grow downwards
    along = (cols * dx + rows * dy).clamp(-length / 2, length / 2)
    distance = torch.hypot(cols - along * dx, rows - along * dy)
    return (width / 2 + 0.5 - distance).clamp(0, 1).to(torch.float32)


def orientation_responses(conv: nn.Module, angles: Sequence[float], size: int = 28,
                          width: float = 2.0, length: float = 16.0) -> Tensor:
    """Each output channel's strongest response to a stroke at each of ``angles``.

    Every :func:`stroke` image is normalised like the MNIST training digits
    (``(x - 0.1307) / 0.3081``), passed through ``conv`` and a ReLU, and the maximum over
    the map is kept: how strongly the channel answers where the stroke suits it best.

    Args:
        conv: a module taking ``(N, 1, size, size)``, e.g. a trained network's ``c1``.
        angles: the strokes' directions in degrees (see :func:`stroke`).
        size, width, length: passed to :func:`stroke`.

    Returns:
        A tensor ``(C_out, len(angles))``, computed without recording gradients.
    """
    if len(angles) == 0:
        raise ValueError("angles: got an empty sequence; the rule: at least one angle")
    images = torch.stack([stroke(a, size, width, length) for a in angles]).unsqueeze(1)
    weight = next(conv.parameters(), None)
    if weight is not None:
        images = images.to(weight.dtype).to(weight.device)
    with torch.no_grad():
        maps = conv((images - MNIST_MEAN) / MNIST_STD).relu()
    return maps.amax(dim=(2, 3)).T.cpu()


def selectivity(responses: Tensor, angles: Sequence[float]) -> tuple[Tensor, Tensor]:
    """Per channel: its preferred angle, and how many times more strongly it answers a
    stroke at that angle than the perpendicular one (``inf`` where that is 0).

    Args:
        responses: ``(C, len(angles))`` from :func:`orientation_responses`.
        angles: the angles of its columns; each one's perpendicular (angle + 90 degrees,
            modulo 180) must be among them.

    Returns:
        ``(preferred, ratio)``, two tensors of length ``C``.
    """
    angles = [a % 180 for a in angles]
    if responses.ndim != 2 or responses.shape[1] != len(angles):
        raise ValueError(f"responses: got shape {tuple(responses.shape)}; the rule: "
                         f"(C, {len(angles)}), one column per angle")
    missing = [a for a in angles if (a + 90) % 180 not in angles]
    if missing:
        raise ValueError(f"angles: {missing[0]} has no perpendicular angle among them; the "
                         "rule: with every angle a, a + 90 (modulo 180) is there too")
    best = responses.argmax(dim=1)
    perpendicular = torch.tensor([angles.index((angles[i] + 90) % 180) for i in best])
    rows = torch.arange(responses.shape[0])
    top, across = responses[rows, best], responses[rows, perpendicular]
    ratio = torch.where(across > 0, top / across.clamp_min(1e-30), torch.tensor(math.inf))
    return torch.tensor([angles[i] for i in best], dtype=torch.float64), ratio
