"""Checkers for the exercises of chapter 5, *LeNet-5*.

Each ``check_*`` function returns a :class:`~cnnlessons.exercises.checker.Verdict` to
print:

* ``check_notes_forward(notes_forward)`` (find the bug): ``notes_forward(net, x)``, the
  source notes' ``forward`` of ``MNISTConvNet`` with its ``.view(320)`` fixed, run on
  batches of 1, 2 and 5 digits against ``MNISTConvNet``'s own forward;
* ``check_wide_c3_params(wide_c3_params)`` (predict): the number of parameters of
  LeNet-5 with 32 maps in C3 instead of 16;
* ``check_no_padding_shape(no_padding_shape)`` (break and observe): the shape of what
  enters the first linear layer of ``LeNet5FC`` when C1 loses its padding, for one
  28x28 digit.
"""
from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn

from cnnlessons.exercises.checker import Case, Verdict, check_value, run_checks
from cnnlessons.models import LeNet5, LeNet5FC, MNISTConvNet

# --------------------------------------------------------------------------------------
# Exercise 1 (find the bug): the notes' forward with .view(320)
# --------------------------------------------------------------------------------------

class _CheckedNet(MNISTConvNet):
    """An ``MNISTConvNet`` that a failure message names in three words, not its layer list."""

    def __repr__(self) -> str:
        return "MNISTConvNet(seed 5)"


def _notes_forward_reference(net: MNISTConvNet, x: Tensor) -> Tensor:
    return net(x)


def check_notes_forward(notes_forward: Callable[[MNISTConvNet, Tensor], Tensor]) -> Verdict:
    """Check ``notes_forward(net, x)``: ``MNISTConvNet``'s layers applied to a batch
    ``x (N, 1, 28, 28)`` in the notes' order, flattening each sample, output ``(N, 10)``.

    Cases: one seeded ``MNISTConvNet`` on random batches of 1 (where ``.view(320)``
    already runs, but returns ``(10,)``), 2 and 5 digits, and a batch of 3 whose
    samples differ (a flatten that mixes samples changes their scores).
    """
    g = torch.Generator().manual_seed(5)
    with torch.random.fork_rng():
        torch.manual_seed(5)
        net = _CheckedNet().double().eval()
    cases = [Case((net, torch.randn(n, 1, 28, 28, generator=g, dtype=torch.float64)))
             for n in (1, 2, 5, 3)]
    return run_checks("notes_forward", notes_forward, _notes_forward_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 2 (predict): the parameters of LeNet-5 with a wider C3
# --------------------------------------------------------------------------------------

#: The number of C3 maps in the prediction (LeNet-5 has 16).
WIDE_C3 = 32


def wide_c3_lenet() -> LeNet5:
    """LeNet-5 with ``WIDE_C3`` maps in C3 (C5 then reads ``WIDE_C3`` channels)."""
    net = LeNet5()
    net.c3 = nn.Conv2d(6, WIDE_C3, 5)
    net.c5 = nn.Conv2d(WIDE_C3, 120, 5)
    return net


def check_wide_c3_params(wide_c3_params: int) -> Verdict:
    """Check the predicted parameter count of :func:`wide_c3_lenet`."""
    with torch.random.fork_rng():
        expected = sum(p.numel() for p in wide_c3_lenet().parameters())
    return check_value("wide_c3_params", wide_c3_params, expected,
                       why="C3 and C5 both change: C3 has more kernels, and every C5 kernel "
                           "gets more input channels; C1, F6 and the output stay")


# --------------------------------------------------------------------------------------
# Exercise 3 (break and observe): LeNet5FC without padding
# --------------------------------------------------------------------------------------

def no_padding_lenet() -> LeNet5FC:
    """``LeNet5FC`` whose C1 has no padding: the first linear layer no longer fits."""
    net = LeNet5FC()
    net.c1.padding = (0, 0)
    return net


def check_no_padding_shape(no_padding_shape: tuple[int, ...]) -> Verdict:
    """Check the predicted shape of the tensor that enters :func:`no_padding_lenet`'s
    first linear layer (``f5``) for a batch of one 28x28 digit, ``(N, features)``.
    """
    with torch.random.fork_rng():
        net = no_padding_lenet()
    x = torch.zeros(1, 1, 28, 28)
    expected = tuple(net.flatten(net[:6](x)).shape)
    return check_value("no_padding_shape", no_padding_shape, expected,
                       why="follow the sizes without padding: 28 -> C1 -> S2 -> C3 -> S4, "
                           "then Flatten multiplies channels, height and width")
