"""Checkers for the exercises of chapter 6, *Training the network*.

Each ``check_*`` function returns a :class:`~cnnlessons.exercises.checker.Verdict` to
print:

* ``check_test_images_at_99567(test_images_at_99567)`` (explain): how many of the
  10,000 MNIST test images an accuracy of 99.567% would be, a number that is not a
  whole number of images;
* ``check_no_zero_grad_ratio(no_zero_grad_ratio)`` (break and observe): after
  ``STEPS`` SGD steps on :func:`tiny_problem` without ``zero_grad()``, the norm of the
  first layer's weight gradient divided by the same norm with ``zero_grad()``;
* ``check_big_lr_outcome(big_lr_outcome)`` (predict): what ten times the learning
  rate does to the loss of :func:`tiny_problem` after ``STEPS_LR`` steps, one of
  :data:`OUTCOMES`.

:func:`tiny_problem` is a two-layer network and a batch of 16 random inputs, seeded and
in float64, so that the checkers recompute the right numbers in milliseconds.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from cnnlessons.exercises.checker import Verdict, check_value

# --------------------------------------------------------------------------------------
# Exercise 1 (explain by a number): 99.567% of the test set
# --------------------------------------------------------------------------------------

#: The accuracy one of the notes reports, as a fraction.
REPORTED = 0.99567
#: The number of MNIST test images.
TEST_IMAGES = 10_000


def check_test_images_at_99567(test_images_at_99567: float) -> Verdict:
    """Check the number of test images (to one decimal) that 99.567% of 10,000 is."""
    return check_value("test_images_at_99567", test_images_at_99567, REPORTED * TEST_IMAGES,
                       atol=0.05,
                       why="multiply the fraction by the number of test images and keep the "
                           "decimals: do not round to a whole number of images")


# --------------------------------------------------------------------------------------
# The small problem of exercises 2 and 3
# --------------------------------------------------------------------------------------

#: Seed of :func:`tiny_problem`'s weights and batch.
SEED = 6


def tiny_problem() -> tuple[nn.Sequential, Tensor, Tensor]:
    """A fresh seeded ``Linear(8, 16), ReLU, Linear(16, 3)`` network in float64, a batch of
    16 random inputs ``(16, 8)`` and their labels ``(16,)`` in 0..2.

    Every call returns the same weights and the same batch, and leaves the global random
    generator as it was.
    """
    generator = torch.Generator().manual_seed(SEED)
    with torch.random.fork_rng():
        torch.manual_seed(SEED)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).double()
    inputs = torch.randn(16, 8, generator=generator, dtype=torch.float64)
    labels = torch.randint(0, 3, (16,), generator=generator)
    return model, inputs, labels


def train_tiny(steps: int, lr: float, zero_grad: bool = True) -> tuple[nn.Sequential, float]:
    """Train a fresh :func:`tiny_problem` for ``steps`` plain SGD steps (no momentum) on
    its one batch with ``nn.functional.cross_entropy``.

    Returns:
        The trained model (its ``.grad`` as the last backward pass left it) and the loss
        of the batch after the last step.
    """
    model, inputs, labels = tiny_problem()
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    for _ in range(steps):
        if zero_grad:
            optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    with torch.no_grad():
        loss = nn.functional.cross_entropy(model(inputs), labels).item()
    return model, loss


# --------------------------------------------------------------------------------------
# Exercise 2 (break and observe): training without zero_grad
# --------------------------------------------------------------------------------------

#: Steps and learning rate of exercise 2.
STEPS, LR = 5, 0.1


def no_zero_grad_ratio_reference() -> float:
    """The norm of ``model[0].weight.grad`` after ``STEPS`` steps without ``zero_grad()``,
    divided by the same norm after ``STEPS`` steps with it.
    """
    norms = [train_tiny(STEPS, LR, zero_grad)[0][0].weight.grad.norm().item()
             for zero_grad in (False, True)]
    return norms[0] / norms[1]


def check_no_zero_grad_ratio(no_zero_grad_ratio: float) -> Verdict:
    """Check the measured ratio of gradient norms, without over with ``zero_grad()``."""
    return check_value("no_zero_grad_ratio", no_zero_grad_ratio, no_zero_grad_ratio_reference(),
                       rtol=1e-6,
                       why=f"start both runs from a fresh tiny_problem(), take {STEPS} steps "
                           f"of SGD(lr={LR}), and divide the norm of model[0].weight.grad "
                           "without zero_grad by the norm with it")


# --------------------------------------------------------------------------------------
# Exercise 3 (predict): ten times the learning rate
# --------------------------------------------------------------------------------------

#: Steps and the two learning rates of exercise 3.
STEPS_LR, BASE_LR, BIG_LR = 10, 1.0, 10.0
#: The possible answers: after ``STEPS_LR`` steps, the loss with ``BIG_LR`` is lower than
#: with ``BASE_LR`` ("faster"); higher than with ``BASE_LR`` but below the loss before
#: training ("slower"); or not below the loss before training at all ("diverges").
OUTCOMES = ("faster", "slower", "diverges")


def big_lr_outcome_reference() -> str:
    """Which of :data:`OUTCOMES` happens, measured."""
    *_, start = train_tiny(0, BASE_LR)
    _, base = train_tiny(STEPS_LR, BASE_LR)
    _, big = train_tiny(STEPS_LR, BIG_LR)
    if big < base:
        return "faster"
    return "slower" if big < start else "diverges"


def check_big_lr_outcome(big_lr_outcome: str) -> Verdict:
    """Check the predicted effect of ``BIG_LR`` instead of ``BASE_LR``, one of
    :data:`OUTCOMES`.
    """
    if big_lr_outcome is None or big_lr_outcome is Ellipsis:
        return check_value("big_lr_outcome", big_lr_outcome, None)
    if big_lr_outcome not in OUTCOMES:
        return Verdict("big_lr_outcome", 0, 1,
                       f"expected one of {OUTCOMES}, got {big_lr_outcome!r}")
    return check_value("big_lr_outcome", big_lr_outcome, big_lr_outcome_reference(),
                       why="a step of lr * gradient can overshoot the minimum along a "
                           "steep direction; run train_tiny with both rates and compare")
