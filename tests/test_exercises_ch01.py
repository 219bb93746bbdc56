"""The chapter 1 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (an off-by-one, the
dilation forgotten, the kernel flipped...). The checker must fail it, and its verdict
must name the first input on which it goes wrong. torch is the oracle for the
right answers.
"""
import math

import pytest
import torch
import torch.nn.functional as F

from cnnlessons.exercises.ch01 import (
    _dilate_kernel_reference,
    check_conv2d_groups,
    check_corr2d_stride,
    check_dilate_kernel,
    check_out_size,
)

# --------------------------------------------------------------------------------------
# out_size
# --------------------------------------------------------------------------------------

def out_size(n, k, s, p, d):
    return (n + 2 * p - d * (k - 1) - 1) // s + 1


def test_out_size_right_answer_passes():
    verdict = check_out_size(out_size)
    assert verdict.ok and verdict.passed == verdict.total >= 8
    assert str(verdict) == f"✓ out_size: {verdict.total}/{verdict.total} cases passed"


def test_out_size_agrees_with_torch():
    # The formula the checker accepts is torch's: check it on a real layer per case.
    for n, k, s, p, d in [(50, 3, 2, 0, 1), (50, 3, 2, 4, 3), (9, 3, 3, 0, 4), (10, 4, 3, 2, 2)]:
        y = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p, dilation=d)
        assert y.shape[-1] == out_size(n, k, s, p, d)


@pytest.mark.parametrize("wrong, first_failure", [
    # forgot the "+ 1" for the first window
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) // s,
     "input 5, 3, 1, 0, 1: expected 3, got 2"),
    # ignored the dilation: right until the first dilated case
    (lambda n, k, s, p, d: (n + 2 * p - k) // s + 1, "input 50, 3, 2, 4, 3: expected 26, got 28"),
    # padded one side only
    (lambda n, k, s, p, d: (n + p - d * (k - 1) - 1) // s + 1,
     "input 7, 3, 1, 1, 1: expected 7, got 6"),
    # rounded up instead of down
    (lambda n, k, s, p, d: math.ceil((n + 2 * p - d * (k - 1) - 1) / s) + 1,
     "input 50, 3, 2, 0, 1: expected 24, got 25"),
    # true division: a float that is wrong whenever the stride does not divide
    (lambda n, k, s, p, d: (n + 2 * p - d * (k - 1) - 1) / s + 1,
     "input 50, 3, 2, 0, 1: expected 24, got 24.5"),
])
def test_out_size_wrong_answers_fail(wrong, first_failure):
    verdict = check_out_size(wrong)
    assert not verdict.ok
    assert verdict.failure == first_failure
    assert "✗ out_size" in str(verdict) and first_failure in str(verdict)


# --------------------------------------------------------------------------------------
# corr2d_stride
# --------------------------------------------------------------------------------------

def corr2d_stride(X, K, stride):
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = K.shape
    Y = X.new_zeros((X.shape[0] - kh) // sh + 1, (X.shape[1] - kw) // sw + 1)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i * sh:i * sh + kh, j * sw:j * sw + kw] * K).sum()
    return Y


def test_corr2d_stride_right_answer_passes():
    verdict = check_corr2d_stride(corr2d_stride)
    assert verdict.ok and verdict.total >= 6


def test_corr2d_stride_answer_matches_torch():
    torch.manual_seed(0)
    X, K = torch.randn(7, 8, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    expected = F.conv2d(X[None, None], K[None, None], stride=(2, 3))[0, 0]
    torch.testing.assert_close(corr2d_stride(X, K, (2, 3)), expected)


def _ignores_stride(X, K, stride):
    return corr2d_stride(X, K, 1)


def _rows_only(X, K, stride):
    s = stride if isinstance(stride, int) else stride[0]
    return corr2d_stride(X, K, (s, 1))


def _one_window_short(X, K, stride):
    # range(h - kh) instead of h - kh + 1 positions before striding
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    kh, kw = K.shape
    rows, cols = range(0, X.shape[0] - kh, sh), range(0, X.shape[1] - kw, sw)
    return torch.stack([torch.stack([(X[i:i + kh, j:j + kw] * K).sum() for j in cols])
                        for i in rows]) if len(rows) and len(cols) else X.new_zeros(0, 0)


def _flipped(X, K, stride):
    return corr2d_stride(X, K.flip(0, 1), stride)  # a true convolution


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_ignores_stride, "input tensor of shape (5, 5), tensor of shape (3, 3), 2",
     "expected shape (2, 2), got shape (3, 3)"),
    (_rows_only, "input tensor of shape (5, 5), tensor of shape (3, 3), 2",
     "expected shape (2, 2), got shape (2, 3)"),
    (_one_window_short, "input tensor of shape (3, 3), tensor of shape (2, 2), 1",
     "expected shape (2, 2), got shape (1, 1)"),
    (_flipped, "input tensor of shape (3, 3), tensor of shape (2, 2), 1",
     "expected [[19.0, 25.0], [37.0, 43.0]], got [[5.0, 11.0], [23.0, 29.0]]"),
])
def test_corr2d_stride_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_corr2d_stride(wrong)
    assert not verdict.ok
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure


def test_corr2d_stride_reports_an_exception():
    def crashes(X, K, stride):
        raise IndexError("index 5 is out of bounds")

    verdict = check_corr2d_stride(crashes)
    assert verdict.passed == 0
    assert "raised IndexError: index 5 is out of bounds" in verdict.failure


# --------------------------------------------------------------------------------------
# dilate_kernel
# --------------------------------------------------------------------------------------

def dilate_kernel(K, dilation):
    dh, dw = (dilation, dilation) if isinstance(dilation, int) else dilation
    kh, kw = K.shape
    out = torch.zeros(dh * (kh - 1) + 1, dw * (kw - 1) + 1, dtype=K.dtype)
    for i in range(kh):
        for j in range(kw):
            out[i * dh, j * dw] = K[i, j]
    return out


def test_dilate_kernel_right_answer_passes():
    verdict = check_dilate_kernel(dilate_kernel)
    assert verdict.ok and verdict.total >= 6


@pytest.mark.parametrize("dilation", [1, 2, 3, (2, 1), (1, 3)])
def test_dilate_kernel_reference_is_torch_dilation(dilation):
    # The checker's reference must mean what torch means by dilation.
    torch.manual_seed(0)
    x, K = torch.randn(1, 1, 9, 10, dtype=torch.float64), torch.randn(3, 2, dtype=torch.float64)
    dilated = F.conv2d(x, K[None, None], dilation=dilation)
    spread = F.conv2d(x, _dilate_kernel_reference(K, dilation)[None, None])
    torch.testing.assert_close(spread, dilated)


def _too_many_zeros(K, dilation):
    d = dilation if isinstance(dilation, int) else dilation[0]
    return dilate_kernel(K, d + 1)


def _zeros_around(K, dilation):
    # also pads the border with zeros, as if "spaces" surrounded every element
    d = dilation if isinstance(dilation, int) else dilation[0]
    inner = dilate_kernel(K, d)
    return F.pad(inner, (d - 1, d - 1, d - 1, d - 1))


def _same_dilation_both_ways(K, dilation):
    d = dilation if isinstance(dilation, int) else dilation[0]
    return dilate_kernel(K, d)


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_too_many_zeros, "input tensor of shape (3, 3), 1", "expected shape (3, 3), got shape (5, 5)"),
    (_zeros_around, "input tensor of shape (2, 2), 2", "expected shape (3, 3), got shape (5, 5)"),
    (_same_dilation_both_ways, "input tensor of shape (2, 3), (3, 1)",
     "expected shape (4, 3), got shape (4, 7)"),
])
def test_dilate_kernel_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_dilate_kernel(wrong)
    assert not verdict.ok
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure


# --------------------------------------------------------------------------------------
# conv2d_groups
# --------------------------------------------------------------------------------------

def conv2d_groups(input, weight, groups):
    xs = input.chunk(groups, dim=1)
    ws = weight.chunk(groups, dim=0)
    return torch.cat([F.conv2d(x, w) for x, w in zip(xs, ws)], dim=1)


def test_conv2d_groups_right_answer_passes():
    verdict = check_conv2d_groups(conv2d_groups)
    assert verdict.ok and verdict.total >= 5


def _interleaved_weights(input, weight, groups):
    # takes every groups-th kernel for a group instead of a contiguous block
    xs = input.chunk(groups, dim=1)
    parts = [F.conv2d(x, weight[g::groups]) for g, x in enumerate(xs)]
    return torch.cat(parts, dim=1)


def _summed_groups(input, weight, groups):
    # adds the groups' outputs instead of concatenating them
    xs, ws = input.chunk(groups, dim=1), weight.chunk(groups, dim=0)
    return sum(F.conv2d(x, w) for x, w in zip(xs, ws))


def _reversed_groups(input, weight, groups):
    xs, ws = input.chunk(groups, dim=1), weight.chunk(groups, dim=0)
    return torch.cat([F.conv2d(x, w) for x, w in zip(xs, reversed(ws))], dim=1)


@pytest.mark.parametrize("wrong, first_input, reason", [
    # identical to the right answer while each group has one output channel
    (_interleaved_weights,
     "input tensor of shape (2, 4, 5, 5), tensor of shape (6, 2, 3, 3), 2", "largest difference"),
    (_summed_groups,
     "input tensor of shape (1, 4, 4, 4), tensor of shape (2, 2, 3, 3), 2",
     "expected shape (1, 2, 2, 2), got shape (1, 1, 2, 2)"),
    (_reversed_groups,
     "input tensor of shape (1, 4, 4, 4), tensor of shape (2, 2, 3, 3), 2", "largest difference"),
])
def test_conv2d_groups_wrong_answers_fail(wrong, first_input, reason):
    verdict = check_conv2d_groups(wrong)
    assert not verdict.ok
    assert verdict.failure.startswith(f"{first_input}: ")
    assert reason in verdict.failure
