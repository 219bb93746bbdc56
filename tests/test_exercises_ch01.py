"""The chapter 1 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (an off-by-one, the
dilation forgotten, the kernel flipped...). The checker must fail it, and its verdict
must name the first input on which it goes wrong. torch is the oracle for the
right answers.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from verdicts import assert_checks_leave_the_global_rng_alone

import cnnlessons.scratch as scratch
import cnnlessons.scratch.functional as SF
from cnnlessons.exercises.ch01 import (
    SHAPE_INPUT,
    SHAPE_LAYER,
    _dilate_kernel_reference,
    check_conv2d_groups,
    check_corr2d_stride,
    check_dense_weights,
    check_dilate_kernel,
    check_output_shape,
)

# --------------------------------------------------------------------------------------
# output_shape and dense_weights: predictions
# --------------------------------------------------------------------------------------

def test_output_shape_right_answer_passes_and_is_torchs():
    y = torch.nn.Conv2d(**SHAPE_LAYER)(torch.zeros(SHAPE_INPUT))
    assert tuple(y.shape) == (4, 8, 7, 10)
    assert str(check_output_shape((4, 8, 7, 10))) == "✓ output_shape: 1/1 cases passed"


@pytest.mark.parametrize("wrong, reason", [
    ((4, 8, 6, 10), "expected 7, got 6"),       # dilation forgotten in the height: 13//2 + 1
    ((4, 8, 7, 9), "expected 10, got 9"),       # padding (1, 2) read as 1 in the width
    ((4, 3, 7, 10), "expected 8, got 3"),       # in_channels kept
    ((8, 7, 10), "expected a tuple of 4"),      # the batch dimension dropped
])
def test_output_shape_wrong_answers_fail(wrong, reason):
    verdict = check_output_shape(wrong)
    assert not verdict.ok and verdict.failure.startswith(reason)
    assert "output-size formula" in verdict.failure


def test_dense_weights_right_answer_passes():
    # (3*32*32 inputs) x (16*32*32 outputs) weights, against 16*3*3*3 in the kernel
    assert check_dense_weights((50_331_648, 432)).ok


@pytest.mark.parametrize("wrong, reason", [
    ((50_348_032, 432), "expected 50331648, got 50348032"),   # dense biases counted
    ((50_331_648, 448), "expected 432, got 448"),             # conv bias counted
    ((3072 * 16 * 30 * 30, 432), "expected 50331648, got 44236800"),   # padding forgotten
])
def test_dense_weights_wrong_answers_fail(wrong, reason):
    verdict = check_dense_weights(wrong)
    assert not verdict.ok and verdict.failure.startswith(reason)
    assert "one weight per (input number, output number)" in verdict.failure


@pytest.mark.parametrize("check", [check_output_shape, check_dense_weights])
def test_predictions_stub_is_not_done(check):
    assert str(check(...)).startswith(f"✗ {check.__name__.removeprefix('check_')}: not done yet")


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


@pytest.mark.parametrize("library, name", [
    (lambda X, K, s: F.conv2d(X[None, None], K[None, None], stride=s)[0, 0],
     "torch.nn.functional.conv2d"),
    (lambda X, K, s: SF.conv2d(X[None, None], K[None, None], stride=s)[0, 0],
     "cnnlessons.scratch.functional.conv2d"),
])
def test_corr2d_stride_library_convolution_is_refused(library, name):
    verdict = check_corr2d_stride(library)
    assert verdict.passed == 0
    assert verdict.failure == ("input tensor of shape (3, 3), tensor of shape (2, 2), 1: "
                               f"used {name}, but the exercise says: use loops, no library "
                               "convolution")


def test_corr2d_stride_stub_is_not_done():
    def corr2d_stride(X, K, stride):
        ...

    assert check_corr2d_stride(corr2d_stride).not_done


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
    assert str(verdict) == f"✓ dilate_kernel: {verdict.total}/{verdict.total} cases passed"


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


def _tuple_spreads_rows_only(K, dilation):
    # right for an int, but a tuple's second number is ignored
    return dilate_kernel(K, dilation if isinstance(dilation, int) else (dilation[0], 1))


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_tuple_spreads_rows_only, "input tensor of shape (2, 3), (1, 2)",
     "expected shape (2, 5), got shape (2, 3)"),
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


def test_conv2d_groups_stub_is_not_done():
    def stub(input, weight, groups):
        raise NotImplementedError

    assert "not done yet" in str(check_conv2d_groups(stub))


def _torch_layer(input, weight, groups):
    layer = nn.Conv2d(input.shape[1], weight.shape[0], tuple(weight.shape[2:]), groups=groups,
                      bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer(input)


def _scratch_layer(input, weight, groups):
    layer = scratch.Conv2d(input.shape[1], weight.shape[0], tuple(weight.shape[2:]),
                           groups=groups, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(weight)
    return layer(input)


def _block_diagonal(input, weight, groups):
    # the chapter's zero-padded full weight: right numbers, but one convolution in all
    c_out, c_group = weight.shape[:2]
    full = weight.new_zeros(c_out, input.shape[1], *weight.shape[2:])
    per = c_out // groups
    for g in range(groups):
        full[g * per:(g + 1) * per, g * c_group:(g + 1) * c_group] = weight[g * per:(g + 1) * per]
    return F.conv2d(input, full)


_GROUPED = "input tensor of shape (1, 4, 4, 4), tensor of shape (2, 2, 3, 3), 2: "
_RULE = "but the exercise says: one ordinary convolution (groups=1) per group"


@pytest.mark.parametrize("forbidden, reason", [
    (lambda x, w, g: F.conv2d(x, w, groups=g), "used F.conv2d(..., groups=2)"),
    (lambda x, w, g: torch.conv2d(x, w, None, 1, 0, 1, g), "used F.conv2d(..., groups=2)"),
    (lambda x, w, g: SF.conv2d(x, w, groups=g), "used SF.conv2d(..., groups=2)"),
    (_torch_layer, "used F.conv2d(..., groups=2)"),
    (_scratch_layer, "used cnnlessons.scratch.conv.conv2d(..., groups=2)"),
    (lambda x, w, g: torch.ops.aten.convolution(x, w, None, [1, 1], [0, 0], [1, 1], False,
                                                [0, 0], g), "groups=2)"),
    (_block_diagonal, "made 1 convolution call(s) for groups=2"),
])
def test_conv2d_groups_one_grouped_call_is_refused(forbidden, reason):
    # right numbers every time, so only the method can fail them; groups=1 passes
    verdict = check_conv2d_groups(forbidden)
    assert verdict.passed == 1 and not verdict.ok
    assert verdict.failure.startswith(_GROUPED) and reason in verdict.failure
    assert verdict.failure.endswith(_RULE)


def test_conv2d_groups_watchers_are_removed_afterwards():
    check_conv2d_groups(lambda x, w, g: F.conv2d(x, w, groups=g))
    x, w = torch.ones(1, 4, 3, 3), torch.ones(2, 2, 2, 2)
    assert SF.conv2d(x, w, groups=2).shape == F.conv2d(x, w, groups=2).shape == (1, 2, 2, 2)


# --------------------------------------------------------------------------------------
# All function checkers
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("check, answer", [
    (check_corr2d_stride, corr2d_stride),
    (check_dilate_kernel, dilate_kernel),
    (check_conv2d_groups, conv2d_groups),
])
def test_function_checkers_leave_the_global_rng_alone(check, answer):
    assert_checks_leave_the_global_rng_alone((check, answer))
