"""The chapter 6 checkers accept right answers and reject subtly wrong ones.

The explain exercise's number and the break-and-observe ratio are checked against
values recomputed here by hand; the prediction against the losses of the two runs.
"""
import pytest
import torch
from torch import nn
from verdicts import assert_checks_leave_the_global_rng_alone

from cnnlessons.exercises import ch06
from cnnlessons.exercises.ch06 import (
    BASE_LR,
    BIG_LR,
    LR,
    STEPS,
    STEPS_LR,
    check_big_lr_outcome,
    check_no_zero_grad_ratio,
    check_test_images_at_99567,
    tiny_problem,
    train_tiny,
)


def _grad_norm(steps, zero_grad, lr=LR, fresh=True, model=None):
    if fresh:
        model, inputs, labels = tiny_problem()
    else:
        _, inputs, labels = tiny_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    return model, model[0].weight.grad.norm().item()


def test_stubs_are_not_done():
    for verdict, name in ((check_test_images_at_99567(...), "test_images_at_99567"),
                          (check_no_zero_grad_ratio(...), "no_zero_grad_ratio"),
                          (check_big_lr_outcome(...), "big_lr_outcome")):
        assert str(verdict).startswith(f"✗ {name}: not done yet"), verdict


def test_test_images_at_99567():
    assert check_test_images_at_99567(0.99567 * 10_000).ok
    assert check_test_images_at_99567(9956.7).ok
    # from the percentage: 9956.699999999999, the same number to one decimal
    assert check_test_images_at_99567(99.567 / 100 * 10_000).ok
    rounded = check_test_images_at_99567(9957)           # a whole number: what it cannot be
    assert not rounded.ok and rounded.failure.startswith("expected 9956.7, got 9957; multiply")
    assert not check_test_images_at_99567(59_740.2).ok   # the training set's count
    assert not check_test_images_at_99567(99.567).ok


def test_no_zero_grad_ratio_recomputed_by_hand():
    _, without = _grad_norm(STEPS, zero_grad=False)
    _, with_ = _grad_norm(STEPS, zero_grad=True)
    ratio = without / with_
    # accumulated over 5 steps: close to 5 gradients' worth, not exactly 5
    assert 4 < ratio < 5
    verdict = check_no_zero_grad_ratio(ratio)
    assert verdict.ok, verdict


def test_no_zero_grad_ratio_wrong_answers_fail():
    _, without = _grad_norm(STEPS, zero_grad=False)
    _, with_ = _grad_norm(STEPS, zero_grad=True)
    inverted = check_no_zero_grad_ratio(with_ / without)
    assert not inverted.ok and inverted.failure.startswith("expected 4.83"), inverted.failure
    assert "fresh tiny_problem()" in inverted.failure
    assert not check_no_zero_grad_ratio(float(STEPS)).ok          # the naive guess
    # the second run reuses the model the first one trained: not a fresh start
    model, without_again = _grad_norm(STEPS, zero_grad=False)
    _, with_reused = _grad_norm(STEPS, zero_grad=True, fresh=False, model=model)
    assert not check_no_zero_grad_ratio(without_again / with_reused).ok
    _, one_step_less = _grad_norm(STEPS - 1, zero_grad=False)
    assert not check_no_zero_grad_ratio(one_step_less / with_).ok
    assert not check_no_zero_grad_ratio(float("nan")).ok


def test_big_lr_outcome():
    _, start = train_tiny(0, BASE_LR)
    _, base = train_tiny(STEPS_LR, BASE_LR)
    _, big = train_tiny(STEPS_LR, BIG_LR)
    assert base < start < big                    # ten times the rate: worse than no training
    assert str(check_big_lr_outcome("diverges")) == "✓ big_lr_outcome: 1/1 cases passed"
    faster = check_big_lr_outcome("faster")
    assert not faster.ok and faster.failure.startswith("expected 'diverges', got 'faster'")
    assert "overshoot the minimum" in faster.failure
    assert not check_big_lr_outcome("slower").ok
    typo = check_big_lr_outcome("higher")
    assert str(typo) == ("✗ big_lr_outcome: 0/1 cases passed\n  first failure: expected one "
                         "of ('faster', 'slower', 'diverges'), got 'higher'")


@pytest.mark.parametrize("losses, outcome", [
    ({(0, BASE_LR): 2.0, (STEPS_LR, BASE_LR): 1.0, (STEPS_LR, BIG_LR): 0.5}, "faster"),
    ({(0, BASE_LR): 2.0, (STEPS_LR, BASE_LR): 1.0, (STEPS_LR, BIG_LR): 1.5}, "slower"),
    ({(0, BASE_LR): 2.0, (STEPS_LR, BASE_LR): 1.0, (STEPS_LR, BIG_LR): 3.0}, "diverges"),
    # back where it started: "not below the loss before training at all"
    ({(0, BASE_LR): 2.0, (STEPS_LR, BASE_LR): 1.0, (STEPS_LR, BIG_LR): 2.0}, "diverges"),
    # the start is the loss before any step: after one step it is already 1.2, and 1.5
    # would then count as "diverges"
    ({(0, BASE_LR): 2.0, (1, BASE_LR): 1.2, (STEPS_LR, BASE_LR): 1.0,
      (STEPS_LR, BIG_LR): 1.5}, "slower"),
])
def test_big_lr_outcome_follows_the_definition_of_outcomes(monkeypatch, losses, outcome):
    # The seeded problem only ever diverges; other losses reach the other two answers,
    # so that a new SEED or new rates get a right verdict too.
    monkeypatch.setattr(ch06, "train_tiny", lambda steps, lr: (None, losses[steps, lr]))
    assert ch06.big_lr_outcome_reference() == outcome
    assert str(check_big_lr_outcome(outcome)) == "✓ big_lr_outcome: 1/1 cases passed"


def test_train_tiny_is_the_loop_of_the_chapter():
    model, loss = train_tiny(3, LR)
    reference, _ = _grad_norm(3, zero_grad=True)
    for p, q in zip(model.parameters(), reference.parameters()):
        assert torch.equal(p, q)
    assert isinstance(loss, float)


def test_checkers_leave_the_global_rng_alone():
    _, without = _grad_norm(STEPS, zero_grad=False)
    _, with_ = _grad_norm(STEPS, zero_grad=True)
    assert_checks_leave_the_global_rng_alone((check_no_zero_grad_ratio, without / with_),
                                             (check_big_lr_outcome, "diverges"))
