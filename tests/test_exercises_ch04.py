"""The chapter 4 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (the stride ignored, a
ceil where a floor belongs, ceil_mode without its last-window rule, the wrong
divisor at the border, a flat index split by the height instead of the width...).
The checker must fail it and its verdict must name the first input on which it goes
wrong. torch is the oracle for the right answers.
"""
import math

import pytest
import torch
import torch.nn.functional as F
from verdicts import assert_checks_leave_the_global_rng_alone, assert_verdict_fails

import cnnlessons.scratch.functional as SF
from cnnlessons import scratch
from cnnlessons.exercises.ch04 import (
    check_avg_pool1d_pad,
    check_max_pool2d_stride,
    check_pool_out_size,
    check_stem_pool_shape,
    check_unpool,
)


def _pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


# --------------------------------------------------------------------------------------
# max_pool2d_stride
# --------------------------------------------------------------------------------------

def max_pool2d_stride(X, kernel_size, stride):
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(stride)
    Y = X.new_empty((X.shape[0] - kh) // sh + 1, (X.shape[1] - kw) // sw + 1)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = X[i * sh:i * sh + kh, j * sw:j * sw + kw].max()
    return Y


def test_max_pool2d_stride_right_answer_passes():
    verdict = check_max_pool2d_stride(max_pool2d_stride)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ max_pool2d_stride: {verdict.total}/{verdict.total} cases passed"


@pytest.mark.parametrize("shape, kernel_size, stride", [
    ((3, 3), 2, 1), ((5, 7), 3, 2), ((4, 6), (2, 3), (2, 3)), ((6, 7), 2, (1, 3)),
])
def test_max_pool2d_stride_answer_matches_torch(shape, kernel_size, stride):
    torch.manual_seed(0)
    X = torch.randn(shape, dtype=torch.float64)
    torch.testing.assert_close(max_pool2d_stride(X, kernel_size, stride),
                               F.max_pool2d(X[None], kernel_size, stride)[0])


def _ignores_stride(X, kernel_size, stride):
    return max_pool2d_stride(X, kernel_size, 1)


def _ceil_size(X, kernel_size, stride):
    # rounds the output size up: the last window is cut short by the slicing
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(stride)
    Y = X.new_empty(-(-(X.shape[0] - kh) // sh) + 1, -(-(X.shape[1] - kw) // sw) + 1)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = X[i * sh:i * sh + kh, j * sw:j * sw + kw].max()
    return Y


def _running_max_from_zero(X, kernel_size, stride):
    (kh, kw), (sh, sw) = _pair(kernel_size), _pair(stride)
    Y = X.new_zeros((X.shape[0] - kh) // sh + 1, (X.shape[1] - kw) // sw + 1)
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            for a in range(kh):
                for b in range(kw):
                    Y[i, j] = max(Y[i, j], X[i * sh + a, j * sw + b])
    return Y


def _square_only(X, kernel_size, stride):
    # uses the first entry of each pair for both dimensions
    return max_pool2d_stride(X, _pair(kernel_size)[0], _pair(stride)[0])


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_ignores_stride, "tensor of shape (4, 4), 2, 2", "expected shape (2, 2), got shape (3, 3)"),
    (_ceil_size, "tensor of shape (5, 5), 2, 2", "expected shape (2, 2), got shape (3, 3)"),
    (_square_only, "tensor of shape (4, 6), (2, 3), (2, 3)",
     "expected shape (2, 2), got shape (2, 3)"),
    (_running_max_from_zero, "tensor of shape (3, 4), 2, 1",
     "got [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]"),
])
def test_max_pool2d_stride_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_max_pool2d_stride(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# pool_out_size
# --------------------------------------------------------------------------------------

def pool_out_size(n, k, s, p, ceil_mode):
    span = n + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1          # the last window would start in the right-hand padding
    return out


def test_pool_out_size_right_answer_passes():
    verdict = check_pool_out_size(pool_out_size)
    assert verdict.ok and verdict.total >= 8
    assert str(verdict) == f"✓ pool_out_size: {verdict.total}/{verdict.total} cases passed"


def test_pool_out_size_agrees_with_torch():
    # The rule the checker accepts is torch's, on every small geometry.
    for n in range(1, 12):
        for k in range(1, 6):
            for s in range(1, 5):
                for p in range(0, k // 2 + 1):
                    if n + 2 * p < k:
                        continue
                    for ceil_mode in (False, True):
                        y = F.max_pool1d(torch.zeros(1, 1, n), k, s, p, ceil_mode=ceil_mode)
                        assert y.shape[-1] == pool_out_size(n, k, s, p, ceil_mode), (n, k, s, p)


def _no_drop_rule(n, k, s, p, ceil_mode):
    rounding = math.ceil if ceil_mode else math.floor
    return rounding((n + 2 * p - k) / s) + 1


def _drop_rule_off_by_one(n, k, s, p, ceil_mode):
    span = n + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s > n + p:
        out -= 1
    return out


def _drop_rule_without_left_padding(n, k, s, p, ceil_mode):
    # the start measured from the input instead of the padded edge: a last window that
    # starts on the input's last element is dropped too
    span = n + 2 * p - k
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n:
        out -= 1
    return out


def _round_for_ceil(n, k, s, p, ceil_mode):
    # round() taken for "round up": Python rounds a half to the even neighbour, so 2.5
    # becomes 2; no drop rule either, which round() happens to make right on 5, 2, 2, 1
    return (round((n + 2 * p - k) / s) if ceil_mode else (n + 2 * p - k) // s) + 1


@pytest.mark.parametrize("wrong, first_failure", [
    # ceil_mode ignored
    (lambda n, k, s, p, ceil_mode: (n + 2 * p - k) // s + 1,
     "input 5, 2, 2, 0, ceil_mode=True: expected 3, got 2"),
    # "ceil is floor plus one": wrong when the stride divides
    (lambda n, k, s, p, ceil_mode: (n + 2 * p - k) // s + 1 + int(ceil_mode),
     "input 5, 3, 2, 0, ceil_mode=True: expected 2, got 3"),
    # ceil without dropping a last window that starts in the padding
    (_no_drop_rule, "input 5, 2, 2, 1, ceil_mode=True: expected 3, got 4"),
    (_drop_rule_off_by_one, "input 5, 2, 2, 1, ceil_mode=True: expected 3, got 4"),
    (_drop_rule_without_left_padding, "input 4, 3, 2, 1, ceil_mode=True: expected 3, got 2"),
    (_round_for_ceil, "input 13, 3, 4, 0, ceil_mode=True: expected 4, got 3"),
    # true division
    (lambda n, k, s, p, ceil_mode: (n + 2 * p - k) / s + 1,
     "input 50, 3, 2, 0, ceil_mode=False: expected 24, got 24.5"),
])
def test_pool_out_size_wrong_answers_fail(wrong, first_failure):
    verdict = check_pool_out_size(wrong)
    assert not verdict.ok
    assert verdict.failure == first_failure


# --------------------------------------------------------------------------------------
# avg_pool1d_pad
# --------------------------------------------------------------------------------------

def avg_pool1d_pad(x, kernel_size, stride, padding, count_include_pad):
    zeros = x.new_zeros(padding)
    padded = torch.cat([zeros, x, zeros])
    real = torch.cat([zeros, torch.ones_like(x), zeros])   # 1 where x is, 0 in the padding
    n = (len(x) + 2 * padding - kernel_size) // stride + 1
    out = x.new_empty(n)
    for o in range(n):
        window = slice(o * stride, o * stride + kernel_size)
        divisor = kernel_size if count_include_pad else real[window].sum()
        out[o] = padded[window].sum() / divisor
    return out


def test_avg_pool1d_pad_right_answer_passes():
    verdict = check_avg_pool1d_pad(avg_pool1d_pad)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ avg_pool1d_pad: {verdict.total}/{verdict.total} cases passed"


@pytest.mark.parametrize("count_include_pad", [True, False])
@pytest.mark.parametrize("L, k, s, p", [(7, 3, 2, 0), (4, 3, 1, 1), (9, 5, 3, 2), (8, 4, 1, 2)])
def test_avg_pool1d_pad_answer_matches_torch(L, k, s, p, count_include_pad):
    torch.manual_seed(0)
    x = torch.randn(L, dtype=torch.float64)
    expected = F.avg_pool1d(x[None, None], k, s, p, count_include_pad=count_include_pad)[0, 0]
    torch.testing.assert_close(avg_pool1d_pad(x, k, s, p, count_include_pad), expected)


def _divisor_counts_nonzeros(x, kernel_size, stride, padding, count_include_pad):
    # "the padding is the zeros": a zero of x itself is then left out of the divisor too
    padded = torch.cat([x.new_zeros(padding), x, x.new_zeros(padding)])
    n = (len(x) + 2 * padding - kernel_size) // stride + 1
    out = x.new_empty(n)
    for o in range(n):
        window = padded[o * stride:o * stride + kernel_size]
        out[o] = window.sum() / (kernel_size if count_include_pad else (window != 0).sum())
    return out


@pytest.mark.parametrize("wrong, first_input, reason", [
    # only the random input has zeros, and only its first case excludes the padding
    (_divisor_counts_nonzeros, "tensor of shape (9,), 5, 3, 2, count_include_pad=False",
     "largest difference"),
    # always the full window size: wrong only when padding is excluded
    (lambda x, k, s, p, count_include_pad: avg_pool1d_pad(x, k, s, p, True),
     "tensor of shape (4,), 3, 1, 1, count_include_pad=False",
     "expected [1.5, 2.0, 3.0, 3.5], got [1.0, 2.0, 3.0, 2.3333333333333335]"),
    # always the real elements only: wrong when the zeros should count
    (lambda x, k, s, p, count_include_pad: avg_pool1d_pad(x, k, s, p, False),
     "tensor of shape (4,), 3, 1, 1, count_include_pad=True",
     "expected [1.0, 2.0, 3.0, 2.3333333333333335], got [1.5, 2.0, 3.0, 3.5]"),
    # padding forgotten
    (lambda x, k, s, p, count_include_pad: avg_pool1d_pad(x, k, s, 0, count_include_pad),
     "tensor of shape (4,), 3, 1, 1, count_include_pad=True",
     "expected shape (4,), got shape (2,)"),
])
def test_avg_pool1d_pad_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_avg_pool1d_pad(wrong), first_input, reason)


# --------------------------------------------------------------------------------------
# unpool
# --------------------------------------------------------------------------------------

def unpool(values, indices, output_size):
    C, (H, W) = values.shape[0], output_size
    out = values.new_zeros(C, H * W)
    out.scatter_(1, indices.reshape(C, -1), values.reshape(C, -1))
    return out.reshape(C, H, W)


def test_unpool_right_answer_passes():
    verdict = check_unpool(unpool)
    assert verdict.ok and verdict.total >= 4
    assert str(verdict) == f"✓ unpool: {verdict.total}/{verdict.total} cases passed"


@pytest.mark.parametrize("shape, k, s", [((2, 4, 4), 2, 2), ((3, 5, 7), 3, 2), ((1, 6, 5), 2, 2)])
def test_unpool_answer_matches_torch(shape, k, s):
    torch.manual_seed(0)
    x = torch.randn(shape, dtype=torch.float64)
    values, indices = F.max_pool2d(x, k, s, return_indices=True)
    expected = F.max_unpool2d(values, indices, k, s, output_size=shape[-2:])
    torch.testing.assert_close(unpool(values, indices, shape[-2:]), expected)


def _nearest_upsampling(values, indices, output_size):
    return values.repeat_interleave(2, dim=-2).repeat_interleave(2, dim=-1)


def _split_by_height(values, indices, output_size):
    C, (H, W) = values.shape[0], output_size
    out = values.new_zeros(C, H, W)
    for c in range(C):
        for v, i in zip(values[c].flatten(), indices[c].flatten()):
            row, col = divmod(int(i), H)      # should be W
            out[c, row, col] = v
    return out


def _twice_the_size(values, indices, output_size):
    h, w = values.shape[-2:]
    return unpool(values, indices, (2 * h, 2 * w))


def _scatter_add(values, indices, output_size):
    # scatter_add_ instead of scatter_: a maximum shared by overlapping windows is added
    # once per window
    C, (H, W) = values.shape[0], output_size
    out = values.new_zeros(C, H * W)
    out.scatter_add_(1, indices.reshape(C, -1), values.reshape(C, -1))
    return out.reshape(C, H, W)


def _loops_over_half_the_output(values, indices, output_size):
    # loops over H // 2 x W // 2 pooled positions ("pooling halved the size") instead of
    # values' own shape: right until ceil_mode adds a partial last row and column
    C, (H, W) = values.shape[0], output_size
    out = values.new_zeros(C, H, W)
    for c in range(C):
        for i in range(H // 2):
            for j in range(W // 2):
                row, col = divmod(int(indices[c, i, j]), W)
                out[c, row, col] = values[c, i, j]
    return out


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_scatter_add, "tensor of shape (3, 2, 2), tensor of shape (3, 2, 2), (5, 5)",
     "largest difference"),
    (_loops_over_half_the_output, "tensor of shape (2, 3, 4), tensor of shape (2, 3, 4), (5, 7)",
     "largest difference"),
    (_nearest_upsampling, "tensor of shape (1, 2, 2), tensor of shape (1, 2, 2), (4, 4)",
     "expected [[["),
    (_split_by_height, "tensor of shape (2, 2, 3), tensor of shape (2, 2, 3), (4, 6)",
     "raised IndexError: index 5 is out of bounds"),
    (_twice_the_size, "tensor of shape (1, 2, 2), tensor of shape (1, 2, 2), (5, 5)",
     "expected shape (1, 5, 5), got shape (1, 4, 4)"),
])
def test_unpool_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_unpool(wrong), first_input, reason)


def test_checkers_leave_the_global_rng_alone():
    assert_checks_leave_the_global_rng_alone((check_max_pool2d_stride, max_pool2d_stride),
                                             (check_avg_pool1d_pad, avg_pool1d_pad),
                                             (check_unpool, unpool))


# --------------------------------------------------------------------------------------
# The method: loops, not a library pooling function
# --------------------------------------------------------------------------------------

_LOOPS = "but the exercise says: use loops, no library pooling"


@pytest.mark.parametrize("forbidden, used", [
    (lambda X, k, s: F.max_pool2d(X[None], k, s)[0], "torch.nn.functional.max_pool2d"),
    (lambda X, k, s: torch.max_pool2d(X[None], k, s)[0], "torch.max_pool2d"),
    (lambda X, k, s: torch.nn.MaxPool2d(k, s)(X[None])[0], "torch.nn.functional.max_pool2d"),
    (lambda X, k, s: SF.max_pool2d(X[None], k, s)[0], "cnnlessons.scratch.functional.max_pool2d"),
    (lambda X, k, s: scratch.MaxPool2d(k, s)(X[None])[0], "cnnlessons.scratch.pool.max_pool2d"),
])
def test_max_pool2d_stride_library_pooling_fails(forbidden, used):
    assert_verdict_fails(check_max_pool2d_stride(forbidden), "tensor of shape (3, 3), 2, 1",
                   f"used {used}, {_LOOPS}")


def test_avg_pool1d_pad_library_pooling_fails():
    def by_torch(x, k, s, p, count_include_pad):
        return F.avg_pool1d(x[None], k, s, p, count_include_pad=count_include_pad)[0]
    assert_verdict_fails(check_avg_pool1d_pad(by_torch),
                   "tensor of shape (7,), 3, 2, 0, count_include_pad=True",
                   f"used torch.nn.functional.avg_pool1d, {_LOOPS}")


def test_unpool_library_unpooling_fails():
    def by_torch(values, indices, output_size):
        return F.max_unpool2d(values, indices, 2, output_size=output_size)
    assert_verdict_fails(check_unpool(by_torch),
                   "tensor of shape (1, 2, 2), tensor of shape (1, 2, 2), (4, 4)",
                   "used torch.nn.functional.max_unpool2d, but the exercise says: scatter the "
                   "values yourself, no library unpooling")


def test_stubs_are_not_done():
    def stub(*args, **kwargs):
        ...
    for check in (check_max_pool2d_stride, check_pool_out_size, check_avg_pool1d_pad,
                  check_unpool):
        verdict = check(stub)
        assert verdict.not_done and str(verdict).startswith(f"✗ {verdict.name}: not done yet")
    assert str(check_stem_pool_shape(...)).startswith("✗ stem_pool_shape: not done yet")


# --------------------------------------------------------------------------------------
# stem_pool_shape: a prediction
# --------------------------------------------------------------------------------------

def test_stem_pool_shape():
    assert check_stem_pool_shape((8, 64, 56, 56)).ok
    ceil = check_stem_pool_shape((8, 64, 57, 57))        # rounded up instead of down
    assert not ceil.ok and ceil.failure.startswith("expected 56, got 57; pooling keeps N and C")
    no_padding = check_stem_pool_shape((8, 64, 55, 55))
    assert not no_padding.ok and "expected 56, got 55" in no_padding.failure
    assert not check_stem_pool_shape((64, 56, 56)).ok     # the batch dimension forgotten


def test_stem_pool_is_torchvision_resnets():
    # The exercise's text calls it the pooling of torchvision's resnet18.
    import torchvision

    from cnnlessons.exercises.ch04 import STEM_POOL
    assert repr(torchvision.models.resnet18().maxpool) == repr(torch.nn.MaxPool2d(**STEM_POOL))
