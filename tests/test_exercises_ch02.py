"""The chapter 2 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (the bias forgotten, the
kernel flipped, the stride ignored...). The checker must fail
it and its verdict must name the first input on which it goes wrong. torch is the
oracle for the right answers.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.flop_counter import FlopCounterMode
from verdicts import assert_checks_leave_the_global_rng_alone, assert_verdict_fails

import cnnlessons.scratch.functional as SF
from cnnlessons import scratch
from cnnlessons.exercises.ch02 import (
    COST_INPUT,
    COST_LAYER,
    check_conv2d_multi,
    check_conv_cost,
    check_merge_kernels,
    check_uses_per_weight,
)
from cnnlessons.models import LeNet5
from cnnlessons.scratch.conv import conv2d_loop, corr2d

FIRST_CONV_INPUT = ("tensor of shape (1, 2, 3, 3), tensor of shape (3, 2, 2, 2), "
                    "tensor of shape (3,)")


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
    assert_verdict_fails(check_conv2d_multi(wrong), first_input, reason)


def test_conv2d_multi_stub_is_not_done():
    def stub(X, weight, bias):
        ...

    def raising(X, weight, bias):
        raise NotImplementedError

    for answer in (stub, raising):
        verdict = check_conv2d_multi(answer)
        assert verdict.not_done and not verdict.ok
        assert str(verdict).startswith("✗ conv2d_multi: not done yet")


def _by_torch(X, w, b):
    return F.conv2d(X, w, b)


def _by_package(X, w, b):
    return SF.conv2d(X, w, b)


def _by_package_loops(X, w, b):
    return conv2d_loop(X, w, b)     # a global name of the answer's module, bound to it


@pytest.mark.parametrize("answer, used", [
    (_by_torch, "used torch.nn.functional.conv2d"),
    (_by_package, "used cnnlessons.scratch.functional.conv2d"),
    (_by_package_loops, "conv2d_loop, but the exercise says"),
])
def test_conv2d_multi_library_convolution_fails(answer, used):
    verdict = check_conv2d_multi(answer)
    assert verdict.passed == 0
    assert_verdict_fails(verdict, FIRST_CONV_INPUT, used)
    assert "the exercise says: sum one-channel corr2d results" in verdict.failure


def test_conv2d_multi_scratch_layer_fails():
    """The package's Conv2d module reaches the refused conv2d too."""
    def by_layer(X, w, b):
        layer = scratch.Conv2d(w.shape[1], w.shape[0], tuple(w.shape[2:])).double()
        with torch.no_grad():
            layer.weight.copy_(w)
            layer.bias.copy_(b)
        return layer(X).detach()

    assert_verdict_fails(check_conv2d_multi(by_layer), FIRST_CONV_INPUT, "used cnnlessons.scratch")


# --------------------------------------------------------------------------------------
# conv_cost (predict)
# --------------------------------------------------------------------------------------

def test_conv_cost_numbers_are_torchs():
    """Oracle: the parameters torch allocates and half its FLOP count."""
    layer = nn.Conv2d(**COST_LAYER)
    with FlopCounterMode(display=False) as counter:
        out = layer(torch.zeros(1, layer.in_channels, *COST_INPUT))
    assert out.shape[2:] == (8, 8)
    assert sum(p.numel() for p in layer.parameters()) == 4640
    assert counter.get_total_flops() == 2 * 294_912


def test_conv_cost_right_answer_passes():
    assert str(check_conv_cost((4640, 294_912))) == "✓ conv_cost: 1/1 cases passed"


def test_conv_cost_stub_is_not_done():
    assert str(check_conv_cost(...)).startswith("✗ conv_cost: not done yet")


@pytest.mark.parametrize("wrong, reason", [
    ((4640,), "expected a tuple of 2, got (4640,)"),                 # wrong arity
    ((4608, 294_912), "expected 4640, got 4608"),                    # forgot the bias
    ((4640, 1_179_648), "expected 294912, got 1179648"),             # ignored the stride
    ((4640, 225_792), "expected 294912, got 225792"),                # no padding: 7x7 outputs
])
def test_conv_cost_wrong_answers_fail(wrong, reason):
    verdict = check_conv_cost(wrong)
    assert not verdict.ok and not verdict.not_done
    assert reason in verdict.failure and "compute the output size first" in verdict.failure


# --------------------------------------------------------------------------------------
# uses_per_weight (explain)
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, uses", [("c3", 100), ("c5", 1)])
def test_uses_per_weight_numbers_are_torchs(name, uses):
    """Oracle: torch's FLOP counter on the layer alone, halved, per weight; and the
    output map's positions, where each weight is used once."""
    model = LeNet5()
    layer = getattr(model, name)
    size = {"c3": 14, "c5": 5}[name]
    with FlopCounterMode(display=False) as counter:
        out = layer(torch.zeros(1, layer.in_channels, size, size))
    assert counter.get_total_flops() // 2 == uses * layer.weight.numel()
    assert out.shape[2] * out.shape[3] == uses


def test_uses_per_weight_right_answer_passes():
    assert str(check_uses_per_weight((100, 1))) == "✓ uses_per_weight: 1/1 cases passed"


def test_uses_per_weight_stub_is_not_done():
    assert check_uses_per_weight(...).not_done


@pytest.mark.parametrize("wrong, reason", [
    ((196, 1), "expected 100, got 196"),     # counted the input positions of c3
    ((100, 25), "expected 1, got 25"),       # counted c5's input positions
    ((100,), "expected a tuple of 2"),
])
def test_uses_per_weight_wrong_answers_fail(wrong, reason):
    verdict = check_uses_per_weight(wrong)
    assert not verdict.ok and reason in verdict.failure
    assert "multiplies one input value" in verdict.failure


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
    assert verdict.ok and verdict.total >= 6


def test_merge_kernels_stub_is_not_done():
    assert str(check_merge_kernels(lambda K1, K2: None)).startswith(
        "✗ merge_kernels: not done yet")


def test_merge_kernels_answer_matches_two_torch_convolutions():
    torch.manual_seed(0)
    K1 = torch.randn(3, 2, 2, 3, dtype=torch.float64)
    K2 = torch.randn(4, 3, 3, 2, dtype=torch.float64)
    x = torch.randn(2, 2, 8, 9, dtype=torch.float64)
    torch.testing.assert_close(F.conv2d(x, merge_kernels(K1, K2)), F.conv2d(F.conv2d(x, K1), K2))


def _padded_by_k1(K1, K2):
    kh, kw = K1.shape[-2:]
    return F.conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=(kh - 1, kw - 1)).transpose(0, 1)


def _one_padding_for_both(K1, K2):
    # padding=k - 1 as for the notes' square kernels: right unless K2 is not square
    kh = K2.shape[-2]
    return F.conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=kh - 1).transpose(0, 1)


def _padding_h_w_swapped(K1, K2):
    kh, kw = K2.shape[-2:]
    return F.conv2d(K1.transpose(0, 1), K2.flip(-2, -1), padding=(kw - 1, kh - 1)).transpose(0, 1)


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
    # only the non-square case can tell these from the right answer
    (_one_padding_for_both, "tensor of shape (2, 2, 1, 3), tensor of shape (3, 2, 2, 1)",
     "expected shape (3, 2, 2, 3), got shape (3, 2, 2, 5)"),
    (_padding_h_w_swapped, "tensor of shape (2, 2, 1, 3), tensor of shape (3, 2, 2, 1)",
     "raised RuntimeError"),     # a 1-row K1 padded by 0 rows is shorter than K2
])
def test_merge_kernels_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_merge_kernels(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# All function checkers
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("check, answer", [
    (check_conv2d_multi, conv2d_multi),
    (check_merge_kernels, merge_kernels),
])
def test_function_checkers_leave_the_global_rng_alone(check, answer):
    assert_checks_leave_the_global_rng_alone((check, answer))
