"""Checkers for the exercises of chapter 7, *Inside backward()*.

Each ``check_*`` function runs the reader's answer on several inputs, edge cases
included, compares it with a reference (autograd through the package's layers, or
torch itself) and returns a :class:`~cnnlessons.exercises.checker.Verdict` to print:

* ``check_conv1d_backward(conv1d_backward)``: ``conv1d_backward(grad_output, input,
  weight, stride, padding)``, the three gradients of an unbatched 1-D convolution, by
  loops;
* ``check_max_pool1d_backward(max_pool1d_backward)``: ``max_pool1d_backward(grad_output,
  input, kernel_size, stride)``, the input gradient of 1-D max pooling with
  overlapping windows and ties, by loops;
* ``check_cross_entropy_grad(cross_entropy_grad)``: ``cross_entropy_grad(logits,
  target)``, the gradient of the mean cross-entropy with respect to the logits;
* ``check_output_padding(output_padding)``: ``output_padding(n, k, s, p, d)``, the
  ``output_padding`` that makes a transposed convolution give back length ``n``;
* ``check_pool_gradient(pool_gradient)``: a prediction, the six numbers of ``x.grad``
  after ``F.max_pool1d(x, 3, stride=1).sum().backward()`` for the ``x`` of
  :data:`POOL_PREDICTION_INPUT`.

The exercises ask for the gradients *by hand*: while the answer runs, autograd is off
(``torch.no_grad``), and where the exercise says "by loops" the convolution and
pooling functions of torch and of the package raise instead of answering, and the
verdict names the call (``used torch.nn.grad.conv1d_input, but the exercise says: by
loops, no library convolution``). The test
tensors hold small integers (stored as float64), so a failure message shows numbers
one can check by hand.
"""
from __future__ import annotations

from collections.abc import Callable
from types import ModuleType

import torch
import torch.nn.functional as F
from torch import Tensor

import cnnlessons.scratch as scratch_package
import cnnlessons.scratch.functional as SF
from cnnlessons.exercises import checker
from cnnlessons.exercises.checker import Case, Method, Verdict, integers, run_checks
from cnnlessons.scratch import conv as scratch_conv
from cnnlessons.scratch import pool as scratch_pool

# --------------------------------------------------------------------------------------
# Answers by hand: no autograd, and (for "by loops") no library convolution or pooling
# --------------------------------------------------------------------------------------

#: The modules whose convolution and pooling functions a "by loops" answer may not call.
_LIBRARIES: tuple[ModuleType, ...] = (torch, F, torch.nn.grad, SF, scratch_package,
                                      scratch_conv, scratch_pool)

_CONV_NAMES = ("conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "convolution",
               "conv1d_input", "conv1d_weight", "conv1d_backward_loop", "conv2d_backward_loop")
_POOL_NAMES = ("max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
               "max_pool2d_loop", "max_pool2d_backward_loop")

#: "By loops": torch's convolution kernels (however they are reached) and the package's
#: convolution functions (built from allowed primitives, so refused by name) are off.
_CONV_BY_LOOPS = Method("by loops, no library convolution", families=("convolution",),
                        names=_CONV_NAMES, modules=_LIBRARIES)
_POOL_BY_LOOPS = Method("by loops, no library pooling", families=("pooling",),
                        names=_POOL_NAMES, modules=_LIBRARIES)


def _without_autograd(candidate: Callable) -> Callable:
    """``candidate`` run under ``torch.no_grad``: the gradient must be computed by hand."""
    def run(*args, **kwargs):
        with torch.no_grad():
            return candidate(*args, **kwargs)
    return run


def _gradients(output: Tensor, inputs: tuple[Tensor, ...], grad_output: Tensor) -> tuple:
    """``d(sum(output * grad_output)) / d inputs``: what ``backward()`` would deliver."""
    return torch.autograd.grad(output, inputs, grad_output)


# --------------------------------------------------------------------------------------
# Exercise 1: the three gradients of a 1-D convolution, by loops
# --------------------------------------------------------------------------------------

def _conv1d_backward_reference(grad_output: Tensor, input: Tensor, weight: Tensor,
                               stride: int, padding: int) -> tuple[Tensor, Tensor, Tensor]:
    x, w = input.requires_grad_(), weight.requires_grad_()
    b = weight.new_zeros(weight.shape[0], requires_grad=True)
    y = SF.conv1d(x, w, b, stride=stride, padding=padding)
    return _gradients(y, (x, w, b), grad_output)


def check_conv1d_backward(conv1d_backward: Callable) -> Verdict:
    """Check ``conv1d_backward(grad_output, input, weight, stride, padding)``: for the
    unbatched convolution ``y = conv1d(input, weight, bias, stride, padding)`` with
    ``input (C_in, L)``, ``weight (C_out, C_in, k)`` and upstream gradient
    ``grad_output (C_out, L_out)``, the tuple ``(grad_input, grad_weight, grad_bias)``
    of shapes ``(C_in, L)``, ``(C_out, C_in, k)``, ``(C_out,)``. By loops: torch's and
    the package's convolutions are off while it runs.

    Cases: the chapter's signal ``1..5`` and kernel ``(1, 10, 100)``, several channels,
    stride 2 (and an input element no window reaches), padding, padding with stride 3,
    and a kernel as long as the input.
    """
    g = torch.Generator().manual_seed(7)
    signal = torch.arange(1.0, 6.0, dtype=torch.float64).view(1, 5)
    kernel = torch.tensor([[[1.0, 10.0, 100.0]]], dtype=torch.float64)
    upstream = torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64)
    cases = [
        Case((upstream, signal, kernel, 1, 0)),                                   # by hand
        Case((integers(g, 3, 4), integers(g, 2, 6), integers(g, 3, 2, 3), 1, 0)),  # channels
        Case((integers(g, 1, 2), signal, kernel, 2, 0)),                          # stride 2
        Case((integers(g, 2, 2), integers(g, 1, 6), integers(g, 2, 1, 3), 2, 0)),  # last unused
        Case((integers(g, 2, 5), integers(g, 2, 5), integers(g, 2, 2, 3), 1, 1)),  # padding
        Case((integers(g, 1, 3), integers(g, 2, 7), integers(g, 1, 2, 3), 3, 2)),  # both
        Case((integers(g, 2, 1), integers(g, 3, 4), integers(g, 2, 3, 4), 1, 0)),  # k = L
    ]
    return run_checks("conv1d_backward", _without_autograd(conv1d_backward),
                      _conv1d_backward_reference, cases, method=_CONV_BY_LOOPS)


# --------------------------------------------------------------------------------------
# Exercise 2: max pooling routes the gradient to the winners, by loops
# --------------------------------------------------------------------------------------

#: The notes' ``nn.MaxPool1d(3, stride=2)`` example: a ``(2, 3, 5)`` input in which
#: 0.6030 (and 2.1208) wins both windows of its row.
NOTES_MAX_POOL_INPUT = torch.tensor(
    [[[-0.0101, -0.2253, 0.5103, -0.4498, 1.0100],
      [-0.1033, 0.4632, 0.6030, -1.9225, -0.0780],
      [2.4814, 0.1323, 0.4371, 1.4305, 1.2624]],
     [[-1.9155, -0.7742, 2.1208, 0.0939, 0.5217],
      [-0.2796, -0.0061, -0.5401, -1.3831, 0.9548],
      [1.7043, 0.8059, -0.7640, 0.7627, -0.5131]]], dtype=torch.float64)


def _max_pool1d_backward_reference(grad_output: Tensor, input: Tensor, kernel_size: int,
                                   stride: int) -> Tensor:
    x = input.requires_grad_()
    (grad,) = _gradients(SF.max_pool1d(x, kernel_size, stride), (x,), grad_output)
    return grad


def check_max_pool1d_backward(max_pool1d_backward: Callable) -> Verdict:
    """Check ``max_pool1d_backward(grad_output, input, kernel_size, stride)``: the
    gradient with respect to ``input (N, C, L)`` of ``max_pool1d(input, kernel_size,
    stride)``, given ``grad_output (N, C, L_out)``. Each window sends its upstream
    value to its largest element (the first one on ties, as torch), and an element
    that wins several windows receives the sum. By loops: torch's and the package's
    max pooling are off while it runs.

    Cases: the notes' ``MaxPool1d(3, stride=2)`` example (upstream 1 and 10, so a
    double winner shows 11), disjoint windows, ties, stride 1 (every element in up to
    three windows, with ties), gaps between windows, and a last element no window
    reaches.
    """
    g = torch.Generator().manual_seed(8)
    notes_upstream = torch.tensor([1.0, 10.0], dtype=torch.float64).expand(2, 3, 2).clone()
    ties = torch.tensor([[[3.0, 3.0, 1.0, 3.0, 3.0, 2.0]]], dtype=torch.float64)
    cases = [
        Case((notes_upstream, NOTES_MAX_POOL_INPUT, 3, 2)),                     # the notes
        Case((integers(g, 1, 2, 3), integers(g, 1, 2, 6, low=-9, high=10), 2, 2)),  # disjoint
        Case((integers(g, 1, 1, 5, low=1), ties, 2, 1)),                         # ties
        Case((integers(g, 2, 1, 5, low=1), integers(g, 2, 1, 7, low=0, high=3), 3, 1)),
        Case((integers(g, 1, 2, 3, low=1), integers(g, 1, 2, 8, low=-9, high=10), 2, 3)),
        Case((integers(g, 1, 1, 3, low=1), integers(g, 1, 1, 8, low=-9, high=10), 3, 2)),
    ]
    return run_checks("max_pool1d_backward", _without_autograd(max_pool1d_backward),
                      _max_pool1d_backward_reference, cases, method=_POOL_BY_LOOPS)


# --------------------------------------------------------------------------------------
# Exercise 3: softmax + cross-entropy collapse to p - y
# --------------------------------------------------------------------------------------

def _cross_entropy_grad_reference(logits: Tensor, target: Tensor) -> Tensor:
    z = logits.requires_grad_()
    (grad,) = torch.autograd.grad(SF.cross_entropy(z, target), (z,))
    return grad


def check_cross_entropy_grad(cross_entropy_grad: Callable[[Tensor, Tensor], Tensor]) -> Verdict:
    """Check ``cross_entropy_grad(logits, target)``: the gradient of the mean
    cross-entropy ``F.cross_entropy(logits, target)`` with respect to ``logits (N, C)``
    for class indices ``target (N,)``, without autograd.

    Cases: one sample (``p - y`` itself), a batch (divided by ``N``), two classes,
    logits of 1000 (a naive ``exp`` overflows), a confident right answer (a gradient
    near zero) and a confident wrong one.
    """
    g = torch.Generator().manual_seed(9)

    def labels(n: int, classes: int) -> Tensor:
        return torch.randint(0, classes, (n,), generator=g)

    big = torch.tensor([[1000.0, 999.0, 998.0], [0.0, 1000.0, 0.0]], dtype=torch.float64)
    confident = torch.tensor([[8.0, -8.0, 0.0]], dtype=torch.float64)
    cases = [
        Case((torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64), torch.tensor([2]))),
        Case((integers(g, 4, 5), labels(4, 5))),                   # a batch: / N
        Case((integers(g, 3, 2), labels(3, 2))),                   # two classes
        Case((big, torch.tensor([0, 2]))),                         # overflow of exp(1000)
        Case((confident, torch.tensor([0]))),                      # right and sure: ~0
        Case((confident, torch.tensor([1]))),                      # wrong and sure: ~ -1
    ]
    return run_checks("cross_entropy_grad", _without_autograd(cross_entropy_grad),
                      _cross_entropy_grad_reference, cases, atol=1e-9, rtol=1e-7)


# --------------------------------------------------------------------------------------
# Exercise 4: output_padding, the size a strided convolution forgot
# --------------------------------------------------------------------------------------

def _output_padding_reference(n: int, k: int, s: int, p: int, d: int) -> int:
    """The ``output_padding`` for which torch's ``conv_transpose1d`` maps the output of
    ``conv1d`` on length ``n`` back to length ``n``: found by trying each allowed value
    on empty tensors (torch is the definition; no formula to get wrong).
    """
    m = F.conv1d(torch.zeros(1, 1, n), torch.zeros(1, 1, k), stride=s, padding=p,
                 dilation=d).shape[-1]
    for extra in range(max(s, d)):
        back = F.conv_transpose1d(torch.zeros(1, 1, m), torch.zeros(1, 1, k), stride=s,
                                  padding=p, output_padding=extra, dilation=d)
        if back.shape[-1] == n:
            return extra
    raise AssertionError(f"no output_padding gives back length {n}")  # cannot happen


def check_output_padding(output_padding: Callable[[int, int, int, int, int], int]) -> Verdict:
    """Check ``output_padding(n, k, s, p, d)``: the ``output_padding`` to pass to
    ``conv_transpose1d`` (same ``k``, ``s``, ``p``, ``d``) so that it turns the output
    of ``conv1d`` on an input of length ``n`` back into length ``n``.

    Cases: lengths 7 and 8 with kernel 3, stride 2, padding 1 (both give 4 outputs),
    stride 1 (never any), stride 3 with remainders 1 and 2 and with a padding whose
    ``2p`` is not a multiple of the stride, a dilated kernel, a stride-4 kernel-4
    layer with the largest remainder, and a dilation larger than the stride.
    """
    cases = [
        Case((7, 3, 2, 1, 1)),       # 7 -> 4 -> 7: 0
        Case((8, 3, 2, 1, 1)),       # 8 -> 4 -> 7 + 1: 1
        Case((28, 5, 1, 2, 1)),      # stride 1: every size comes back, 0
        Case((10, 3, 3, 0, 1)),      # 10 -> 3 -> 9 + 1: 1
        Case((11, 3, 3, 0, 1)),      # 11 -> 3 -> 9 + 2: 2
        Case((10, 3, 3, 1, 1)),      # padding 1, 2p not a multiple of s: 10 -> 4 -> 10: 0
        Case((10, 2, 2, 0, 2)),      # dilation 2: 10 -> 4 -> 9 + 1: 1
        Case((19, 4, 4, 0, 1)),      # 19 -> 4 -> 16 + 3: 3
        # d > s: the remainder is taken modulo the stride, not modulo max(s, d) (the bound
        # on output_padding, which every other case's max(s, d) = s hides)
        Case((9, 2, 2, 0, 3)),       # 9 -> 3 -> 8 + 1: 1 (% 3 would give 2)
    ]
    return run_checks("output_padding", output_padding, _output_padding_reference, cases)


# --------------------------------------------------------------------------------------
# Exercise 5 (predict): where overlapping max-pooling windows send their gradient
# --------------------------------------------------------------------------------------

#: The input of the prediction: ``F.max_pool1d(x, 3, stride=1)`` has four windows, and
#: three of them share their maximum.
POOL_PREDICTION_INPUT = (1.0, 3.0, 2.0, 5.0, 4.0, 0.0)


def check_pool_gradient(pool_gradient: tuple | list | None) -> Verdict:
    """Check the predicted ``x.grad`` (six numbers, a tuple or a list) after
    ``F.max_pool1d(x, 3, stride=1).sum().backward()`` on ``x =``
    :data:`POOL_PREDICTION_INPUT`; torch computes the right one.
    """
    x = torch.tensor([[POOL_PREDICTION_INPUT]], dtype=torch.float64, requires_grad=True)
    F.max_pool1d(x, 3, stride=1).sum().backward()
    expected = tuple(x.grad.flatten().tolist())
    answer = tuple(pool_gradient) if isinstance(pool_gradient, list) else pool_gradient
    return checker.check_value("pool_gradient", answer, expected,
                               why="each window sends its 1 to its largest element: "
                                   "count the windows each element wins")
