"""``dense_equivalent`` is the matrix of the convolution: torch agrees on every input."""
import pytest
import torch
import torch.nn.functional as F

from cnnlessons.why_convolution import dense_equivalent


@pytest.mark.parametrize("input_shape, kwargs", [
    ((1, 6, 7), {}),
    ((2, 6, 5), dict(stride=2, padding=1)),
    ((3, 7, 7), dict(dilation=2, padding=(1, 2))),
])
def test_matrix_times_flat_input_is_the_convolution(input_shape, kwargs):
    torch.manual_seed(0)
    weight = torch.randn(4, input_shape[0], 3, 2, dtype=torch.float64)
    x = torch.randn(5, *input_shape, dtype=torch.float64)
    matrix = dense_equivalent(weight, input_shape, **kwargs)
    expected = F.conv2d(x, weight, **kwargs)
    assert matrix.shape == (expected[0].numel(), x[0].numel())
    torch.testing.assert_close(x.flatten(1) @ matrix.T, expected.flatten(1))


def test_lenet_c1_counts():
    # C1 on the 28x28 digit: 4704 outputs x 784 inputs, 25 taps per row, 150 values.
    torch.manual_seed(0)
    weight = torch.randn(6, 1, 5, 5, dtype=torch.float64)
    matrix = dense_equivalent(weight, (1, 28, 28), padding=2)
    assert matrix.numel() == 3_687_936
    assert int((matrix != 0).sum(1).max()) == 25
    assert matrix[matrix != 0].unique().numel() == 150


def test_errors():
    weight = torch.ones(1, 1, 2, 2)
    with pytest.raises(ValueError, match=r"input_shape=\(3, 3\) must be \(C_in, H, W\)"):
        dense_equivalent(weight, (3, 3))
    with pytest.raises(ValueError, match="bias is not allowed"):
        dense_equivalent(weight, (1, 3, 3), bias=torch.ones(1))
