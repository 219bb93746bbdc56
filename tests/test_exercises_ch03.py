"""The chapter 3 checkers accept right answers and reject subtly wrong ones.

Each wrong answer is a mistake a reader could plausibly make (a transposed weight, a
reshape where a permute was needed, the bias forgotten, the 3x3 kernel's 9 left
out...). The checker must fail it and its verdict must name the first input on which
it goes wrong. torch is the oracle for the right answers.
"""
import sys
import types

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from verdicts import assert_checks_leave_the_global_rng_alone, assert_verdict_fails

import cnnlessons.scratch.functional as SF
from cnnlessons import scratch
from cnnlessons.exercises.ch03 import (
    WIDE_BOTTLENECK,
    WIDE_INPUT,
    check_conv1x1_as_matmul,
    check_conv1x1_by_rows,
    check_linear_from_conv1x1,
    check_wide_bottleneck_cost,
    wide_bottleneck,
)
from cnnlessons.scratch.conv import corr2d
from cnnlessons.tables import cost_table


def _stub(*args, **kwargs):
    ...


def _raises_stub(*args, **kwargs):
    raise NotImplementedError


NOTES_CASE = "tensor of shape (1, 3, 2, 2), tensor of shape (2, 3, 1, 1)"
_METHOD = "but the exercise says: a matrix product over the channels, no library convolution"


# --------------------------------------------------------------------------------------
# conv1x1_as_matmul
# --------------------------------------------------------------------------------------

def conv1x1_as_matmul(X, K):
    N, c_i, h, w = X.shape
    c_o = K.shape[0]
    return (K.reshape(c_o, c_i) @ X.reshape(N, c_i, h * w)).reshape(N, c_o, h, w)


def test_conv1x1_as_matmul_right_answer_passes():
    verdict = check_conv1x1_as_matmul(conv1x1_as_matmul)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ conv1x1_as_matmul: {verdict.total}/{verdict.total} cases passed"


def test_conv1x1_as_matmul_answer_matches_torch():
    torch.manual_seed(0)
    X = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    K = torch.randn(3, 5, 1, 1, dtype=torch.float64)
    torch.testing.assert_close(conv1x1_as_matmul(X, K), F.conv2d(X, K))


def _weight_transposed(X, K):
    N, c_i, h, w = X.shape
    c_o = K.shape[0]
    return (K.reshape(c_i, c_o).t() @ X.reshape(N, c_i, h * w)).reshape(N, c_o, h, w)


def _first_image_only(X, K):
    # the single-image version of the chapter, broadcast to the batch by mistake
    c_o, c_i = K.shape[:2]
    h, w = X.shape[-2:]
    Y = (K.reshape(c_o, c_i) @ X[0].reshape(c_i, h * w)).reshape(c_o, h, w)
    return Y.expand(X.shape[0], c_o, h, w)


def _transposed_unless_it_fits(X, K):
    # takes the weight for (c_i, c_o), as in x @ W, and transposes it only when the
    # product would not run: right for every shape but a square one
    W = K[:, :, 0, 0]
    if W.shape[0] != X.shape[1]:
        W = W.t()
    return torch.einsum("nihw,io->nohw", X, W)


@pytest.mark.parametrize("wrong, first_input, reason", [
    (_weight_transposed, NOTES_CASE,
     "got [[[[4.0, 5.0], [6.0, 7.0]], [[8.0, 10.0], [12.0, 14.0]]]]"),
    # right on the notes' single image, wrong from the first batch
    (_first_image_only, "tensor of shape (3, 3, 2, 2), tensor of shape (2, 3, 1, 1)", "expected"),
    # only the case with as many outputs as inputs can tell
    (_transposed_unless_it_fits, "tensor of shape (2, 3, 3, 2), tensor of shape (3, 3, 1, 1)",
     "largest difference"),
])
def test_conv1x1_as_matmul_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_conv1x1_as_matmul(wrong), first_input, reason)


@pytest.mark.parametrize("forbidden, used", [
    (lambda X, K: F.conv2d(X, K), "torch.nn.functional.conv2d"),
    (lambda X, K: torch.conv2d(X, K), "torch.conv2d"),
    (lambda X, K: SF.conv2d(X, K), "cnnlessons.scratch.functional.conv2d"),
    (lambda X, K: torch.stack([torch.stack([sum(corr2d(x, k[0]) for x, k in zip(image, kernel))
                                            for kernel in K]) for image in X]),
     # imported into this module by name, as the chapter does: refused here too
     f"{__name__}.corr2d"),
])
def test_conv1x1_as_matmul_library_convolution_fails(forbidden, used):
    assert_verdict_fails(check_conv1x1_as_matmul(forbidden), NOTES_CASE, f"used {used}, {_METHOD}")


def test_conv1x1_as_matmul_scratch_layer_fails():
    def by_layer(X, K):
        layer = scratch.Conv2d(K.shape[1], K.shape[0], 1, bias=False, dtype=X.dtype)
        with torch.no_grad():
            layer.weight.copy_(K)
        return layer(X).detach()
    verdict = check_conv1x1_as_matmul(by_layer)
    assert_verdict_fails(verdict, NOTES_CASE, f"{_METHOD}")
    assert "used cnnlessons.scratch.conv" in verdict.failure


def test_a_readers_own_function_called_conv2d_is_allowed(monkeypatch):
    reader = types.ModuleType("reader")
    monkeypatch.setitem(sys.modules, "reader", reader)
    exec("import torch\n"
         "from cnnlessons.scratch.conv import corr2d\n"
         "def conv2d(X, K):\n"
         "    N, c_i, h, w = X.shape\n"
         "    return (K.flatten(1) @ X.flatten(2)).reshape(N, -1, h, w)\n"
         "def answer(X, K):\n"
         "    return conv2d(X, K)\n", vars(reader))
    assert reader.answer.__module__ == "reader"
    assert check_conv1x1_as_matmul(reader.answer).ok
    # without the reader's conv2d, the imported corr2d is refused in the reader's module
    del reader.conv2d
    exec("def answer(X, K):\n    return corr2d(X[0, 0], K[0, 0])\n", vars(reader))
    assert "used reader.corr2d" in check_conv1x1_as_matmul(reader.answer).failure


def test_forbidden_functions_come_back_after_the_check():
    check_conv1x1_as_matmul(lambda X, K: SF.conv2d(X, K))
    check_conv1x1_as_matmul(lambda X, K: corr2d(X[0, 0], K[0, 0]))
    X, K = torch.ones(1, 2, 2, 2), torch.ones(3, 2, 1, 1)
    assert SF.conv2d(X, K).shape == (1, 3, 2, 2)
    assert corr2d(X[0, 0], K[0, 0]).shape == (2, 2)


# --------------------------------------------------------------------------------------
# conv1x1_by_rows (find the bug)
# --------------------------------------------------------------------------------------

def conv1x1_by_rows_buggy(X, K):
    N, c_i, h, w = X.shape
    c_o = K.shape[0]
    rows = X.reshape(-1, c_i)                                  # (N*h*w, c_i)?
    Y = rows @ K.reshape(c_o, c_i).T
    return Y.reshape(N, h, w, c_o).permute(0, 3, 1, 2)


def conv1x1_by_rows(X, K):
    N, c_i, h, w = X.shape
    c_o = K.shape[0]
    rows = X.permute(0, 2, 3, 1).reshape(-1, c_i)              # channels last, then rows
    Y = rows @ K.reshape(c_o, c_i).T
    return Y.reshape(N, h, w, c_o).permute(0, 3, 1, 2)


def test_conv1x1_by_rows_fixed_answer_passes():
    verdict = check_conv1x1_by_rows(conv1x1_by_rows)
    assert verdict.ok and verdict.total >= 6
    assert str(verdict) == f"✓ conv1x1_by_rows: {verdict.total}/{verdict.total} cases passed"
    torch.manual_seed(0)
    X = torch.randn(2, 5, 3, 4, dtype=torch.float64)
    K = torch.randn(3, 5, 1, 1, dtype=torch.float64)
    torch.testing.assert_close(conv1x1_by_rows(X, K), F.conv2d(X, K))


def test_conv1x1_by_rows_buggy_answer_fails_after_the_cases_it_gets_right():
    verdict = check_conv1x1_by_rows(conv1x1_by_rows_buggy)
    # a 1x1 image and a single channel pass: there the reshape happens to be right
    # (and the later single-channel case)
    assert verdict.passed == 3
    assert_verdict_fails(verdict, NOTES_CASE, "got [[[[-2.0, -2.0], [-2.0, -2.0]], [[1.0, 10.0]")


def test_conv1x1_by_rows_library_convolution_fails():
    verdict = check_conv1x1_by_rows(lambda X, K: F.conv2d(X, K))
    assert_verdict_fails(verdict, "tensor of shape (3, 4, 1, 1), tensor of shape (2, 4, 1, 1)",
                   f"used torch.nn.functional.conv2d, {_METHOD}")


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
    assert str(verdict) == f"✓ linear_from_conv1x1: {verdict.total}/{verdict.total} cases passed"


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


def _weight_squeezed(conv):
    # squeeze() drops the 1x1 dims, and with one input channel the channel dim too: the
    # (c_out,) vector does not broadcast into the (c_out, 1) weight
    linear = linear_from_conv1x1(conv)
    with torch.no_grad():
        linear.weight.copy_(conv.weight.squeeze())
    return linear


def _linear_transposed_unless_it_fits(conv):
    # the weight laid out (in, out), as in x @ W, turned back only when copy_ would fail:
    # right for every shape but a square one
    linear = linear_from_conv1x1(conv)
    weight = conv.weight[:, :, 0, 0].t()
    with torch.no_grad():
        linear.weight.copy_(weight if weight.shape == linear.weight.shape else weight.t())
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
    # each caught by one case only: one input channel, then as many outputs as inputs
    (_weight_squeezed, "Conv2d(1, 4, kernel_size=(1, 1), stride=(1, 1)), tensor of shape (5, 1)",
     "raised RuntimeError"),
    (_linear_transposed_unless_it_fits,
     "Conv2d(3, 3, kernel_size=(1, 1), stride=(1, 1)), tensor of shape (5, 3)",
     "largest difference"),
])
def test_linear_from_conv1x1_wrong_answers_fail(wrong, first_input, reason):
    assert_verdict_fails(check_linear_from_conv1x1(wrong), first_input, reason)


def test_checkers_leave_the_global_rng_alone():
    """The checkers' own tensors and layers are not drawn from torch's global generator,
    so a notebook's later random draws do not depend on whether a check ran (given an
    answer that does not draw either)."""
    def no_random_init(conv):
        linear = nn.utils.skip_init(nn.Linear, conv.in_channels, conv.out_channels,
                                    bias=conv.bias is not None)
        with torch.no_grad():
            linear.weight.copy_(conv.weight.reshape(conv.out_channels, conv.in_channels))
            if conv.bias is not None:
                linear.bias.copy_(conv.bias)
        return linear

    assert_checks_leave_the_global_rng_alone(
        (check_linear_from_conv1x1, no_random_init),
        (check_conv1x1_as_matmul, conv1x1_as_matmul),
        (check_conv1x1_by_rows, conv1x1_by_rows),
        (check_wide_bottleneck_cost, (4_456_448, 218_365_952)),
    )


# --------------------------------------------------------------------------------------
# wide_bottleneck_cost (predict)
# --------------------------------------------------------------------------------------

def test_wide_bottleneck_cost():
    params = 2048 * 512 + 512 * 512 * 9 + 512 * 2048
    assert params == 4_456_448
    assert check_wide_bottleneck_cost((params, params * 7 * 7)).ok
    assert check_wide_bottleneck_cost((4_456_448, 218_365_952)).ok


@pytest.mark.parametrize("answer, reason", [
    ((4_456_448 - 512 * 512 * 8, 218_365_952), "expected 4456448, got 2359296"),  # no 9
    ((4_456_448, 4_456_448), "expected 218365952, got 4456448"),      # MACs per position
    ((4_456_448, 4_456_448 * 5 * 5), "expected 218365952, got 111411200"),   # no padding
    (4_456_448, "expected a tuple of 2, got 4456448"),                 # the parameters only
    ((4_456_448, 218_365_952, 0), "expected a tuple of 2, got (4456448, 218365952, 0)"),
])
def test_wide_bottleneck_cost_wrong_answers_fail(answer, reason):
    verdict = check_wide_bottleneck_cost(answer)
    assert not verdict.ok and verdict.failure.startswith(reason), verdict.failure
    assert "give the pair (parameters, MACs)" in verdict.failure


def test_wide_bottleneck_is_resnet50s_last_block():
    # The exercise's text calls it ResNet-50's conv5_x bottleneck (torchvision's layer4).
    block = torchvision.models.resnet50().layer4[1]
    convs = (block.conv1, block.conv2, block.conv3)
    assert WIDE_BOTTLENECK == tuple((c.in_channels, c.out_channels, c.kernel_size[0])
                                    for c in convs)
    assert all(c.bias is None for c in convs)
    ours = cost_table(wide_bottleneck(), WIDE_INPUT)
    theirs = cost_table(nn.Sequential(*convs), WIDE_INPUT)
    assert (ours.total_params, ours.total_macs) == (theirs.total_params, theirs.total_macs)


# --------------------------------------------------------------------------------------
# Stubs
# --------------------------------------------------------------------------------------

@pytest.mark.parametrize("stub", [_stub, _raises_stub])
def test_stubs_are_not_done(stub):
    for check in (check_conv1x1_as_matmul, check_conv1x1_by_rows, check_linear_from_conv1x1):
        verdict = check(stub)
        assert verdict.not_done and str(verdict).startswith(f"✗ {verdict.name}: not done yet")
    assert str(check_wide_bottleneck_cost(...)).startswith(
        "✗ wide_bottleneck_cost: not done yet")
