"""The chapter 2 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (the bias forgotten, the
kernel flipped, the stride's jump multiplied in too early...). The checker must fail
it and its verdict must name the first input on which it goes wrong. torch is the
oracle for the right answers.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlessons.exercises.ch02 import (
    check_conv2d_multi,
    check_conv_macs,
    check_conv_params,
    check_merge_kernels,
    check_receptive_field,
)
from cnnlessons.scratch.conv import corr2d


def _verdict_fails(verdict, first_input, reason):
    assert not verdict.ok
    assert verdict.failure.startswith(f"input {first_input}: "), verdict.failure
    assert reason in verdict.failure
    assert str(verdict).startswith(f"✗ {verdict.name}: {verdict.passed}/{verdict.total}")


# --------------------------------------------------------------------------------------
# conv2d_multi
# --------------------------------------------------------------------------------------

def conv2d_multi(X, weight, bias):
    kh, kw = weight.shape[2:]
    Y = X.new_zeros(X.shape[0], weight.shape[0], X.shape[2] - kh + 1, X.shape[3] - kw + 1)
    for n in range(X.shape[0]):
        for o in range(weight.shape[0]):
            Y[n, o] = sum(corr2d(x, k) for x, k in zip(X[n], weight[o])) + bias[o]
    return Y


def test_conv2d_multi_right_answer_passes():
    verdict = check_conv2d_multi(conv2d_multi)
    assert verdict.ok and verdict.total >= 7
    assert str(verdict) == f"✓ conv2d_multi: {verdict.total}/{verdict.total} cases passed"


def test_conv2d_multi_answer_matches_torch():
    torch.manual_seed(0)
    X, w, b = (torch.randn(2, 3, 6, 5, dtype=torch.float64),
               torch.randn(4, 3, 2, 3, dtype=torch.float64), torch.randn(4, dtype=torch.float64))
    torch.testing.assert_close(conv2d_multi(X, w, b), F.conv2d(X, w, b))


def test_conv2d_multi_chapter_example_by_hand():
    X = torch.tensor([[[0.0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1.0, 2, 3], [4, 5, 6], [7, 8, 9]]])
    K = torch.tensor([[[0.0, 1], [2, 3]], [[1.0, 2], [3, 4]]])
    out = conv2d_multi(X[None], K[None], torch.zeros(1))
    assert out.tolist() == [[[[56.0, 72.0], [104.0, 120.0]]]]


@pytest.mark.parametrize("wrong, first_input, reason", [
    # forgot the bias: right only while the bias is zero (the first case)
    (lambda X, w, b: conv2d_multi(X, w, torch.zeros_like(b)),
     "tensor of shape (1, 2, 3, 3), tensor of shape (3, 2, 2, 2), tensor of shape (3,)",
     "expected [[[[57.0, 73.0], [105.0, 121.0]]"),
    # flipped every kernel: a true convolution
    (lambda X, w, b: conv2d_multi(X, w.flip(-2, -1), b),
     "tensor of shape (1, 2, 3, 3), tensor of shape (3, 2, 2, 2), tensor of shape (3,)",
     "got [[[[28.0, 44.0], [76.0, 92.0]]"),
    # only the first image of the batch
    (lambda X, w, b: conv2d_multi(X[:1], w, b),
     "tensor of shape (3, 2, 4, 4), tensor of shape (3, 2, 3, 3), tensor of shape (3,)",
     "expected shape (3, 3, 2, 2), got shape (1, 3, 2, 2)"),
    # no sum over the input channels: the first channel only
    (lambda X, w, b: conv2d_multi(X[:, :1], w[:, :1], b),
     "tensor of shape (1, 2, 3, 3), tensor of shape (3, 2, 2, 2), tensor of shape (3,)",
     "got [[[[19.0, 25.0], [37.0, 43.0]]"),
])
def test_conv2d_multi_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_conv2d_multi(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# conv_params
# --------------------------------------------------------------------------------------

def conv_params(c_in, c_out, k, bias=True):
    kh, kw = (k, k) if isinstance(k, int) else k
    return c_out * c_in * kh * kw + (c_out if bias else 0)


def test_conv_params_right_answer_passes():
    verdict = check_conv_params(conv_params)
    assert verdict.ok and verdict.total >= 6


@pytest.mark.parametrize("c_in, c_out, k, bias", [(1, 6, 5, True), (4, 5, (1, 3), True),
                                                  (3, 2, 1, False), (7, 2, (2, 4), False)])
def test_conv_params_answer_is_torch_numel(c_in, c_out, k, bias):
    layer = nn.Conv2d(c_in, c_out, k, bias=bias)
    assert conv_params(c_in, c_out, k, bias) == sum(p.numel() for p in layer.parameters())


@pytest.mark.parametrize("wrong, first_input, reason", [
    # forgot the input channels: right while c_in = 1 (LeNet-5's C1)
    (lambda c_in, c_out, k, bias=True: conv_params(1, c_out, k, bias),
     "6, 16, 5", "expected 2416, got 416"),
    (lambda c_in, c_out, k, bias=True: conv_params(c_in, c_out, k, False),
     "1, 6, 5", "expected 156, got 150"),
    # one bias per input channel instead of per output channel
    (lambda c_in, c_out, k, bias=True: conv_params(c_in, c_out, k, False) + c_in * bias,
     "1, 6, 5", "expected 156, got 151"),
    # assumed a square kernel
    (lambda c_in, c_out, k, bias=True: c_out * c_in * k * k + c_out * bias,
     "4, 5, (1, 3)", "raised TypeError"),
])
def test_conv_params_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_conv_params(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# conv_macs
# --------------------------------------------------------------------------------------

def conv_macs(h, w, c_in, c_out, k, stride=1, padding=0):
    h_out = (h + 2 * padding - k) // stride + 1
    w_out = (w + 2 * padding - k) // stride + 1
    return h_out * w_out * c_out * c_in * k * k


def test_conv_macs_right_answer_passes():
    verdict = check_conv_macs(conv_macs)
    assert verdict.ok and verdict.total >= 6


@pytest.mark.parametrize("h, w, c_in, c_out, k, stride, padding",
                         [(28, 28, 1, 6, 5, 1, 2), (8, 8, 2, 2, 3, 2, 0), (6, 10, 2, 3, 3, 1, 1)])
def test_conv_macs_answer_is_half_torch_flops(h, w, c_in, c_out, k, stride, padding):
    layer = nn.Conv2d(c_in, c_out, k, stride, padding, bias=False)
    with FlopCounterMode(display=False) as counter:
        layer(torch.zeros(1, c_in, h, w))
    assert 2 * conv_macs(h, w, c_in, c_out, k, stride, padding) == counter.get_total_flops()


def _ceil_output(h, w, c_in, c_out, k, stride=1, padding=0):
    h_out = math.ceil((h + 2 * padding - k) / stride) + 1
    w_out = math.ceil((w + 2 * padding - k) / stride) + 1
    return h_out * w_out * c_out * c_in * k * k


@pytest.mark.parametrize("wrong, first_input, reason", [
    # counted the input positions instead of the output ones: right for C1 ('same' size)
    (lambda h, w, c_in, c_out, k, stride=1, padding=0: h * w * c_out * c_in * k * k,
     "14, 14, 6, 16, 5", "expected 240000, got 470400"),
    (lambda h, w, c_in, c_out, k, stride=1, padding=0: conv_macs(h, w, c_in, c_out, k, 1, padding),
     "7, 7, 3, 4, 3, stride=2, padding=1", "expected 1728, got 5292"),
    (_ceil_output, "8, 8, 2, 2, 3, stride=2", "expected 324, got 576"),
    # padded one side only
    (lambda h, w, c_in, c_out, k, stride=1, padding=0:
        conv_macs(h - padding, w - padding, c_in, c_out, k, stride, padding),
     "28, 28, 1, 6, 5, padding=2", "expected 117600, got 101400"),
])
def test_conv_macs_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_conv_macs(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# receptive_field
# --------------------------------------------------------------------------------------

def receptive_field(layers):
    r, jump = 1, 1
    for k, s in layers:
        r += (k - 1) * jump
        jump *= s
    return r


def test_receptive_field_right_answer_passes():
    verdict = check_receptive_field(receptive_field)
    assert verdict.ok and verdict.total >= 6


@pytest.mark.parametrize("layers", [[(2, 1), (2, 1)], [(3, 2)] * 3,
                                    [(5, 1), (2, 2), (5, 1), (2, 2)], [(7, 2), (3, 2), (3, 1)]])
def test_receptive_field_answer_matches_autograd(layers):
    """Oracle: the input positions one output element has a gradient on (weights of ones)."""
    size = receptive_field(layers) + 8
    x = torch.ones(1, 1, size, dtype=torch.float64, requires_grad=True)
    h = x
    for k, s in layers:
        h = F.conv1d(h, torch.ones(1, 1, k, dtype=torch.float64), stride=s)
    h[0, 0, 0].backward()
    assert int(x.grad.ne(0).sum()) == receptive_field(layers)


def _jump_too_early(layers):
    r, jump = 1, 1
    for k, s in layers:
        jump *= s
        r += (k - 1) * jump
    return r


@pytest.mark.parametrize("wrong, first_input, reason", [
    # ignored the strides: right for every stride-1 stack
    (lambda layers: 1 + sum(k - 1 for k, _ in layers), "[(3, 2), (3, 2), (3, 2)]",
     "expected 15, got 7"),
    (_jump_too_early, "[(3, 2), (3, 2), (3, 2)]", "expected 15, got 29"),
    (lambda layers: sum(k for k, _ in layers), "[(2, 1), (2, 1)]", "expected 3, got 4"),
])
def test_receptive_field_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_receptive_field(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# merge_kernels
# --------------------------------------------------------------------------------------

def merge_kernels(K1, K2):
    """Every tap (i, j) of K2 adds a channel-mixed copy of K1, shifted by (i, j)."""
    kh1, kw1 = K1.shape[2:]
    kh2, kw2 = K2.shape[2:]
    K = K1.new_zeros(K2.shape[0], K1.shape[1], kh1 + kh2 - 1, kw1 + kw2 - 1)
    for i in range(kh2):
        for j in range(kw2):
            K[:, :, i:i + kh1, j:j + kw1] += torch.einsum("om,mcab->ocab", K2[:, :, i, j], K1)
    return K


def test_merge_kernels_right_answer_passes():
    verdict = check_merge_kernels(merge_kernels)
    assert verdict.ok and verdict.total >= 5


def test_merge_kernels_answer_matches_two_torch_convolutions():
    torch.manual_seed(0)
    K1 = torch.randn(3, 2, 2, 3, dtype=torch.float64)
    K2 = torch.randn(4, 3, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 8, 9, dtype=torch.float64)
    torch.testing.assert_close(F.conv2d(x, merge_kernels(K1, K2)), F.conv2d(F.conv2d(x, K1), K2))


def _padded_by_k1(K1, K2):
    kh, kw = K1.shape[-2:]
    return F.conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=(kh - 1, kw - 1)).transpose(0, 1)


def _channels_swapped(K1, K2):
    kh, kw = K2.shape[-2:]
    return F.conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=(kh - 1, kw - 1))


@pytest.mark.parametrize("wrong, first_input, reason", [
    # cross-correlated the kernels instead of convolving them (K2 not flipped)
    (lambda K1, K2: merge_kernels(K1, K2.flip(-2, -1)),
     "tensor of shape (1, 1, 2, 2), tensor of shape (1, 1, 2, 2)",
     "got [[[[0.0, 4.0, 3.0], [8.0, 20.0, 10.0], [4.0, 8.0, 3.0]]]]"),
    # the merged kernel turned upside down: right for symmetric kernels only
    (lambda K1, K2: merge_kernels(K1, K2).flip(-2, -1),
     "tensor of shape (1, 1, 2, 2), tensor of shape (1, 1, 2, 2)",
     "expected [[[[0.0, 1.0, 2.0], [2.0, 10.0, 10.0], [6.0, 17.0, 12.0]]]]"),
    (_padded_by_k1, "tensor of shape (3, 2, 2, 2), tensor of shape (4, 3, 1, 1)",
     "expected shape (4, 2, 2, 2), got shape (4, 2, 4, 4)"),
    (_channels_swapped, "tensor of shape (3, 2, 2, 2), tensor of shape (4, 3, 1, 1)",
     "expected shape (4, 2, 2, 2), got shape (2, 4, 2, 2)"),
])
def test_merge_kernels_wrong_answers_fail(wrong, first_input, reason):
    _verdict_fails(check_merge_kernels(wrong), first_input, reason)
