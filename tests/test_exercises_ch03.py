"""The chapter 3 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (a transposed weight, a
reshape where a permute was needed, the bias forgotten, the 3x3 kernel's 9 left
out...). The checker must fail it and its verdict must name the first input on which
it goes wrong. torch is the oracle for the right answers.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlessons.exercises.ch03 import (
    check_bottleneck_cost,
    check_conv1x1_as_matmul,
    check_linear_from_conv1x1,
)


def _verdict_fails(verdict, first_input, reason):
    assert not verdict.ok
    assert verdict.failure.startswith(f"input {first_input}: "), verdict.failure
    assert reason in verdict.failure
    assert str(verdict).startswith(f"✗ {verdict.name}: {verdict.passed}/{verdict.total}")


# --------------------------------------------------------------------------------------
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------

def conv1x1_as_matmul(X, weight, bias):
    N, c_in, h, w = X.shape
    c_out = weight.shape[0]
    Y = weight.reshape(c_out, c_in) @ X.reshape(N, c_in, h * w) + bias.reshape(c_out, 1)
    return Y.reshape(N, c_out, h, w)


def test_conv1x1_as_matmul_right_answer_passes():
    verdict = check_conv1x1_as_matmul(conv1x1_as_matmul)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ conv1x1_as_matmul: {verdict.total}/{verdict.total} cases passed"


def test_conv1x1_as_matmul_answer_matches_torch():
    torch.manual_seed(0)
    X, w, b = (torch.randn(2, 5, 3, 4, dtype=torch.float64),
               torch.randn(3, 5, 1, 1, dtype=torch.float64), torch.randn(3, dtype=torch.float64))
    torch.testing.assert_close(conv1x1_as_matmul(X, w, b), F.conv2d(X, w, b))


def _weight_transposed(X, weight, bias):
    N, c_in, h, w = X.shape
    c_out = weight.shape[0]
    Y = weight.reshape(c_in, c_out).t() @ X.reshape(N, c_in, h * w) + bias.reshape(c_out, 1)
    return Y.reshape(N, c_out, h, w)


def _reshape_not_permute(X, weight, bias):
    # pixels as rows by reshape: mixes pixels and channels instead of moving channels last
    N, c_in, h, w = X.shape
    c_out = weight.shape[0]
    Y = X.reshape(N, h * w, c_in) @ weight.reshape(c_out, c_in).t() + bias
    return Y.reshape(N, c_out, h, w)


NOTES_CASE = "tensor of shape (1, 3, 2, 2), tensor of shape (2, 3, 1, 1), tensor of shape (2,)"


@pytest.mark.parametrize("wrong, first_input, reason", [
    # forgot the bias: right while it is zero (the first case), wrong from the second
    (lambda X, w, b: conv1x1_as_matmul(X, w, torch.zeros_like(b)), NOTES_CASE,
     "expected [[[[-7.0, -7.0], [-7.0, -7.0]], [[3.0, 6.0], [9.0, 12.0]]]]"),
    (_weight_transposed, NOTES_CASE,
     "got [[[[4.0, 5.0], [6.0, 7.0]], [[8.0, 10.0], [12.0, 14.0]]]]"),
    (_reshape_not_permute, NOTES_CASE, "got [[[[-2.0, 1.0], [-2.0, 10.0]]"),
])
def test_conv1x1_as_matmul_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_conv1x1_as_matmul(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# linear_from_conv1x1
# --------------------------------------------------------------------------------------

def linear_from_conv1x1(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.reshape(conv.out_channels, conv.in_channels))
        if conv.bias is not None:
            linear.bias.copy_(conv.bias)
    return linear


def test_linear_from_conv1x1_right_answer_passes():
    verdict = check_linear_from_conv1x1(linear_from_conv1x1)
    assert verdict.ok and verdict.total >= 5


@pytest.mark.parametrize("bias", [True, False])
def test_linear_from_conv1x1_answer_matches_torch_on_images(bias):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 3, 1, bias=bias)
    x = torch.randn(2, 4, 5, 6)
    per_pixel = linear_from_conv1x1(conv)(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
    torch.testing.assert_close(per_pixel, conv(x))


def _always_bias(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.reshape(conv.out_channels, conv.in_channels))
        linear.bias.copy_(conv.bias)
    return linear


def _bias_not_copied(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.reshape(conv.out_channels, conv.in_channels))
    return linear


def _transposed(conv):
    linear = linear_from_conv1x1(conv)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.reshape(conv.in_channels, conv.out_channels).t())
    return linear


NOTES_CONV = "Conv2d(3, 2, kernel_size=(1, 1), stride=(1, 1)), tensor of shape (5, 3)"


@pytest.mark.parametrize("wrong, first_input, reason", [
    # fine with a bias, crashes on the convolution without one
    (_always_bias, "Conv2d(3, 2, kernel_size=(1, 1), stride=(1, 1), bias=False), "
     "tensor of shape (5, 3)", "raised TypeError"),
    (_bias_not_copied, NOTES_CONV, "expected [[-16.0, 16.0], [3.0, 0.0]"),
    (_transposed, NOTES_CONV, "got [[-1.0, 16.0], [5.0, 10.0]"),
    # a function is not a layer
    (lambda conv: (lambda pixels: linear_from_conv1x1(conv)(pixels)), NOTES_CONV,
     "raised TypeError: expected an nn.Linear, got function"),
])
def test_linear_from_conv1x1_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_linear_from_conv1x1(wrong), first_input, reason)


def test_linear_from_conv1x1_checker_leaves_the_global_rng_alone():
    """The checker's own layers are not randomly initialised, so a notebook's later
    random draws do not depend on whether the check ran (given an answer that does not
    draw either)."""
    def no_random_init(conv):
        linear = nn.utils.skip_init(nn.Linear, conv.in_channels, conv.out_channels,
                                    bias=conv.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(conv.weight.reshape(conv.out_channels, conv.in_channels))
            if conv.bias is not None:
                linear.bias.copy_(conv.bias)
        return linear

    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    assert check_linear_from_conv1x1(no_random_init).ok
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------------------
# bottleneck_cost
# --------------------------------------------------------------------------------------

def bottleneck_cost(c, mid, h, w):
    params = c * mid + mid * mid * 9 + mid * c
    return params, params * h * w   # padding keeps h x w: every weight is used h*w times


def test_bottleneck_cost_right_answer_passes():
    verdict = check_bottleneck_cost(bottleneck_cost)
    assert verdict.ok and verdict.total >= 4


@pytest.mark.parametrize("c, mid, h, w", [(64, 16, 8, 8), (8, 2, 5, 7), (16, 4, 1, 1)])
def test_bottleneck_cost_answer_matches_torch(c, mid, h, w):
    block = nn.Sequential(nn.Conv2d(c, mid, 1, bias=False),
                          nn.Conv2d(mid, mid, 3, padding=1, bias=False),
                          nn.Conv2d(mid, c, 1, bias=False))
    with FlopCounterMode(display=False) as counter:
        block(torch.zeros(1, c, h, w))
    params, macs = bottleneck_cost(c, mid, h, w)
    assert params == sum(p.numel() for p in block.parameters())
    assert 2 * macs == counter.get_total_flops()


def _without_padding(c, mid, h, w):
    params = c * mid + mid * mid * 9 + mid * c
    return params, c * mid * h * w + mid * mid * 9 * (h - 2) * (w - 2) + mid * c * h * w


@pytest.mark.parametrize("wrong, first_input, reason", [
    # the 3x3 layer counted as if 1x1
    (lambda c, mid, h, w: (2 * c * mid + mid * mid, (2 * c * mid + mid * mid) * h * w),
     "256, 64, 56, 56", "expected 69632, got 36864"),
    # biases counted although the layers have none
    (lambda c, mid, h, w: (bottleneck_cost(c, mid, h, w)[0] + 2 * mid + c,
                           bottleneck_cost(c, mid, h, w)[1]),
     "256, 64, 56, 56", "expected 69632, got 70016"),
    # right parameters, but the 3x3 map shrinks as if unpadded
    (_without_padding, "256, 64, 56, 56", "expected 218365952, got 210255872"),
])
def test_bottleneck_cost_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_bottleneck_cost(wrong), first_input, reason)
