"""Strokes look like pen strokes, and a line detector built by hand prefers its angle."""
import math

import pytest
import torch
from torch import nn

from cnnlessons.strokes import orientation_responses, selectivity, stroke

ANGLES = [0, 45, 90, 135]


def test_stroke_geometry():
    horizontal, vertical = stroke(0), stroke(90)
    assert horizontal.shape == (28, 28) and horizontal.dtype == torch.float32
    assert horizontal.min() == 0 and horizontal.max() == 1
    torch.testing.assert_close(vertical, horizontal.T)
    torch.testing.assert_close(stroke(135), stroke(45).flip(1))
    torch.testing.assert_close(stroke(180), horizontal)
    # 45 degrees rises to the right: ink in the top right, none in the top left
    diagonal = stroke(45)
    assert diagonal[:10, 18:].sum() > 0 and diagonal[:10, :10].sum() == 0
    # inside the central 20x20 pixels, like an MNIST digit
    for angle in ANGLES:
        image = stroke(angle)
        assert abs(image[4:24, 4:24].sum() - image.sum()) < 1e-4, angle
    # about length x width of ink
    assert abs(horizontal.sum().item() - 16 * 2) < 4


def _line_detector(angle):
    """A 5x5 kernel: +1 along a line through its centre at ``angle``, -0.5 elsewhere."""
    kernel = stroke(angle, size=5, width=1, length=6)
    conv = nn.Conv2d(1, 1, 5, padding=2)
    with torch.no_grad():
        conv.weight.copy_((kernel - 0.5 * (kernel == 0).float()).view(1, 1, 5, 5))
        conv.bias.zero_()
    return conv


def test_a_line_detector_prefers_its_angle():
    conv = nn.Conv2d(1, 4, 5, padding=2)
    with torch.no_grad():
        conv.weight.copy_(torch.cat([_line_detector(a).weight for a in ANGLES]))
        conv.bias.zero_()
    responses = orientation_responses(conv, ANGLES)
    assert responses.shape == (4, 4) and not responses.requires_grad
    preferred, ratio = selectivity(responses, ANGLES)
    assert preferred.tolist() == ANGLES
    assert (ratio > 2).all()


def test_orientation_responses_follow_the_weights_dtype():
    conv = _line_detector(0).double()
    assert orientation_responses(conv, [0, 90]).dtype == torch.float64


def test_selectivity_by_hand():
    responses = torch.tensor([[4.0, 1.0, 2.0, 1.0],    # prefers 0, perpendicular 90: 2.0
                              [0.0, 3.0, 1.0, 0.0],    # prefers 45, perpendicular 135: 0
                              [1.0, 1.0, 1.0, 5.0]])   # prefers 135, perpendicular 45
    preferred, ratio = selectivity(responses, ANGLES)
    assert preferred.tolist() == [0, 45, 135]
    assert ratio[0] == 2 and math.isinf(ratio[1]) and ratio[2] == 5


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="size: got 0"):
        stroke(0, size=0)
    with pytest.raises(ValueError, match="width: got -1"):
        stroke(0, width=-1)
    with pytest.raises(ValueError, match="length: got -2"):
        stroke(0, length=-2)
    with pytest.raises(ValueError, match="angles: got an empty sequence"):
        orientation_responses(_line_detector(0), [])
    with pytest.raises(ValueError, match="angles: 0 has no perpendicular"):
        selectivity(torch.ones(2, 2), [0, 30])
    with pytest.raises(ValueError, match=r"responses: got shape \(2, 3\)"):
        selectivity(torch.ones(2, 3), [0, 90])
