"""Tests of cnnlessons.finite_differences: the central difference agrees with autograd,
leaves its inputs alone and refuses what it cannot differentiate."""
import pytest
import torch
import torch.nn.functional as F

from cnnlessons.finite_differences import numerical_gradient


def test_agrees_with_autograd_on_a_convolution():
    torch.manual_seed(0)
    x = torch.randn(1, 2, 7, dtype=torch.float64, requires_grad=True)
    w = torch.randn(3, 2, 3, dtype=torch.float64, requires_grad=True)
    G = torch.randn(1, 3, 4, dtype=torch.float64)

    def loss(x, w):
        return (torch.tanh(F.conv1d(x, w, stride=2, padding=1)) * G).sum()

    expected = torch.autograd.grad(loss(x, w), (x, w))
    estimates = numerical_gradient(loss, x, w)
    for estimate, exact in zip(estimates, expected):
        assert estimate.shape == exact.shape
        torch.testing.assert_close(estimate, exact, atol=1e-8, rtol=1e-6)


def test_inputs_are_left_unchanged():
    x = torch.tensor([[1.0, -2.0], [0.5, 3.0]], dtype=torch.float64)
    before = x.clone()
    (grad,) = numerical_gradient(lambda t: (t ** 2).sum(), x)
    assert torch.equal(x, before)
    torch.testing.assert_close(grad, 2 * x)


def test_error_shrinks_like_eps_squared():
    x = torch.tensor([0.7], dtype=torch.float64)
    exact = torch.cos(x)
    errors = [(numerical_gradient(lambda t: torch.sin(t).sum(), x, eps=eps)[0] - exact).abs().item()
              for eps in (1e-2, 1e-3)]
    assert 50 < errors[0] / errors[1] < 200            # ten times smaller eps: ~100x


def test_float32_is_much_less_accurate():
    x64 = torch.linspace(-1, 1, 5, dtype=torch.float64)

    def error(dtype):
        x = x64.to(dtype)
        (grad,) = numerical_gradient(lambda t: torch.tanh(t).sum(), x, eps=1e-6)
        return (grad.double() - (1 - torch.tanh(x64) ** 2)).abs().max().item()

    assert error(torch.float64) < 1e-8 < 1e-3 < error(torch.float32)


@pytest.mark.parametrize("fn, inputs, kwargs, message", [
    (lambda t: t.sum(), (torch.ones(2),), dict(eps=0.0), "eps=0.0 must be positive"),
    (lambda t: t, (torch.ones(2),), {}, "fn must return a tensor with one element"),
    (lambda t: t.sum(), (torch.ones(2, dtype=torch.int64),), {}, "inputs[0] must be a floating"),
])
def test_errors(fn, inputs, kwargs, message):
    with pytest.raises(ValueError) as error:
        numerical_gradient(fn, *inputs, **kwargs)
    assert message in str(error.value)
