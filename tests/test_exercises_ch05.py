"""The chapter 5 checkers accept right answers and reject subtly wrong ones.

The find-the-bug exercise is checked against ``MNISTConvNet`` itself: the notes'
``.view(320)`` (batch dimension lost), a view that keeps the batch but mixes up the
layout, and one that keeps the batch only by chance all fail, naming the first batch.
The two predictions are checked against numbers the model computes.
"""
import pytest
import torch
from verdicts import assert_checks_leave_the_global_rng_alone

from cnnlessons.exercises.ch05 import (
    check_no_padding_shape,
    check_notes_forward,
    check_wide_c3_params,
    no_padding_lenet,
    wide_c3_lenet,
)
from cnnlessons.models import MNISTConvNetView320


def _features(net, x):
    return net.pool2(net.relu2(net.conv2(net.pool1(net.relu1(net.conv1(x))))))


def notes_forward(net, x):
    return net.fc2(net.fc1(_features(net, x).view(x.size(0), -1)))


def _notes_bug(net, x):
    return net.fc2(net.fc1(_features(net, x).view(320)))


def _channels_last(net, x):
    # keeps the batch, but flattens (H, W, C) instead of (C, H, W): the weights disagree
    return net.fc2(net.fc1(_features(net, x).permute(0, 2, 3, 1).reshape(x.size(0), -1)))


def _view_minus_one_320(net, x):
    # .view(-1, 320) is right for this network: it keeps the batch
    return net.fc2(net.fc1(_features(net, x).view(-1, 320)))


def _squeezed(net, x):
    # a batch of one loses its batch dimension again
    return net.fc2(net.fc1(_features(net, x).reshape(x.size(0), -1).squeeze(0)))


def test_notes_forward_right_answers_pass():
    for answer in (notes_forward, _view_minus_one_320):
        verdict = check_notes_forward(answer)
        assert verdict.ok and verdict.total == 4, verdict


def test_notes_forward_equals_the_buggy_network_on_one_digit():
    torch.manual_seed(0)
    net, x = MNISTConvNetView320().eval(), torch.randn(1, 1, 28, 28)
    torch.testing.assert_close(notes_forward(net, x)[0], net(x))


@pytest.mark.parametrize("wrong, first_failure", [
    (_notes_bug, "input MNISTConvNet(seed 5), tensor of shape (1, 1, 28, 28): "
                 "expected shape (1, 10), got shape (10,)"),
    (_squeezed, "input MNISTConvNet(seed 5), tensor of shape (1, 1, 28, 28): "
                "expected shape (1, 10), got shape (10,)"),
    (_channels_last, "input MNISTConvNet(seed 5), tensor of shape (1, 1, 28, 28): expected [["),
])
def test_notes_forward_wrong_answers_fail(wrong, first_failure):
    verdict = check_notes_forward(wrong)
    assert not verdict.ok and verdict.failure.startswith(first_failure), verdict.failure


def test_notes_bug_fails_every_batch_larger_than_one():
    verdict = check_notes_forward(_notes_bug)
    assert verdict.passed == 0 and verdict.total == 4


def test_stubs_are_not_done():
    def stub(net, x):
        ...
    assert str(check_notes_forward(stub)).startswith("✗ notes_forward: not done yet")
    assert str(check_wide_c3_params(...)).startswith("✗ wide_c3_params: not done yet")
    assert str(check_no_padding_shape(...)).startswith("✗ no_padding_shape: not done yet")


def test_wide_c3_params():
    # 156 + (32*6*25 + 32) + (120*32*25 + 120) + 10,164 + 850, counted by hand
    by_hand = 156 + 4_832 + 96_120 + 10_164 + 850
    assert sum(p.numel() for p in wide_c3_lenet().parameters()) == by_hand == 112_122
    assert check_wide_c3_params(112_122).ok
    only_c3 = check_wide_c3_params(61_706 + 2_416)       # C5's wider kernels forgotten
    assert not only_c3.ok and only_c3.failure.startswith("expected 112122, got 64122; C3 and C5")
    assert not check_wide_c3_params(61_706).ok


def test_no_padding_shape():
    net = no_padding_lenet()
    with pytest.raises(RuntimeError, match=r"1x256 and 400x120"):
        net(torch.zeros(1, 1, 28, 28))
    # the pooling floors would hide a C1 padded on one side only: its output shows it
    assert net[:1](torch.zeros(1, 1, 28, 28)).shape == (1, 6, 24, 24)
    assert check_no_padding_shape((1, 256)).ok
    unflattened = check_no_padding_shape((1, 16, 4, 4))
    assert not unflattened.ok and unflattened.failure.startswith("expected a tuple of 2")
    padded = check_no_padding_shape((1, 400))           # the padded network's size
    assert not padded.ok and padded.failure.startswith("expected 256, got 400; follow the sizes")
    assert not check_no_padding_shape((1, 16 * 5 * 5 - 1)).ok


def test_checkers_leave_the_global_rng_alone():
    assert_checks_leave_the_global_rng_alone((check_notes_forward, notes_forward),
                                             (check_wide_c3_params, 112_122),
                                             (check_no_padding_shape, (1, 256)))
