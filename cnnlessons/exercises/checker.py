"""Run a reader's answer on several cases against a reference and say how it went.

Every exercise in the course has a ``check_*`` function built on :func:`run_checks`. It
calls the reader's function and the reference on the same inputs, compares the
results, and returns a :class:`Verdict` whose text is one short line when everything
passes, and otherwise names the first failing case: its input shapes, what was
expected and what came back. :func:`integers` makes the cases' test tensors.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor


def integers(generator: torch.Generator, *shape: int, low: int = -3, high: int = 4) -> Tensor:
    """Random integers in ``[low, high)`` of ``shape``, as float64: exact arithmetic, and
    failure messages with numbers one can check by hand.

    >>> integers(torch.Generator().manual_seed(0), 2, 3).dtype
    torch.float64
    """
    return torch.randint(low, high, shape, generator=generator).to(torch.float64)


@dataclass
class Case:
    """One call of the exercise function: positional and keyword arguments."""

    args: Sequence[Any]
    kwargs: dict | None = None

    def describe(self) -> str:
        """The case's inputs in a few words: tensors by shape, everything else by value."""
        parts = [_describe(a) for a in self.args]
        parts += [f"{k}={_describe(v)}" for k, v in (self.kwargs or {}).items()]
        return ", ".join(parts)


@dataclass
class Verdict:
    """The outcome of checking one exercise: ``passed`` of ``total`` cases."""

    name: str
    passed: int
    total: int
    failure: str | None = None
    #: The answer is still the exercise's stub (see :func:`run_checks`): the verdict is
    #: one line saying so, not a failure to debug.
    not_done: bool = False

    @property
    def ok(self) -> bool:
        return self.passed == self.total and not self.not_done

    def __str__(self) -> str:
        if self.not_done:
            return (f"✗ {self.name}: not done yet (the function is still a stub: "
                    "write its body, then run this check again)")
        mark = "✓" if self.ok else "✗"
        line = f"{mark} {self.name}: {self.passed}/{self.total} cases passed"
        return line if self.ok else f"{line}\n  first failure: {self.failure}"

    __repr__ = __str__


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def _show(value: Any) -> str:
    """A compact rendering of a result for the failure message."""
    if isinstance(value, torch.Tensor):
        if value.numel() <= 16:
            return str(value.detach().tolist())
        return f"tensor of shape {tuple(value.shape)}"
    return repr(value)


def _mismatch(expected: Any, got: Any, atol: float, rtol: float) -> str | None:
    """Why ``got`` differs from ``expected``, or ``None`` when they agree."""
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor, got {type(got).__name__} {_show(got)}"
        if got.shape != expected.shape:
            return f"expected shape {tuple(expected.shape)}, got shape {tuple(got.shape)}"
        if not torch.allclose(got.to(expected.dtype), expected, atol=atol, rtol=rtol):
            worst = (got.to(expected.dtype) - expected).abs().max().item()
            return (f"expected {_show(expected)}, got {_show(got)} "
                    f"(largest difference {worst:.3g})")
        return None
    if isinstance(expected, tuple):
        if not isinstance(got, tuple) or len(got) != len(expected):
            return f"expected a tuple of {len(expected)}, got {_show(got)}"
        for e, g in zip(expected, got):
            reason = _mismatch(e, g, atol, rtol)
            if reason:
                return reason
        return None
    if isinstance(expected, float):
        if isinstance(got, torch.Tensor):
            return f"expected a number, got a tensor {_show(got)}"
        # Written as "not within" so that a NaN answer (every comparison False) fails.
        if not isinstance(got, (int, float)) or not abs(got - expected) <= atol + rtol * abs(
                expected):
            return f"expected {expected!r}, got {_show(got)}"
        return None
    return None if got == expected else f"expected {expected!r}, got {_show(got)}"


def run_checks(name: str, candidate: Callable, reference: Callable, cases: Iterable[Case],
               atol: float = 1e-6, rtol: float = 1e-5) -> Verdict:
    """Call ``candidate`` and ``reference`` on every case and compare the results.

    Args:
        name: the exercise's name, shown in the verdict.
        candidate: the reader's function.
        reference: the known-good function with the same signature.
        cases: the inputs to try; tensors are cloned for each call, so an answer that
            modifies its input in place cannot spoil the reference.
        atol, rtol: tolerances for tensors and floats (``torch.allclose``).

    Returns:
        A :class:`Verdict`; print it to see ``✓ name: 5/5 cases passed`` or the first
        failure. A stub, an answer whose first case raises ``NotImplementedError`` or
        returns ``None`` or ``...`` (a body of ``...`` returns ``None``), gets the one
        line ``✗ name: not done yet ...``, so that a notebook run from top to bottom
        reaches its end.
    """
    cases = list(cases)
    passed, failure = 0, None
    for case in cases:
        expected = reference(*_fresh(case.args), **(case.kwargs or {}))
        try:
            got = candidate(*_fresh(case.args), **(case.kwargs or {}))
        except Exception as error:  # the reader's code may fail in any way: report it
            if isinstance(error, NotImplementedError) and case is cases[0]:
                return Verdict(name, 0, len(cases), not_done=True)
            reason = f"raised {type(error).__name__}: {error}"
        else:
            if case is cases[0] and (got is None or got is Ellipsis):
                return Verdict(name, 0, len(cases), not_done=True)
            reason = _mismatch(expected, got, atol, rtol)
        if reason is None:
            passed += 1
        elif failure is None:
            failure = f"input {case.describe()}: {reason}"
    return Verdict(name, passed, len(cases), failure)


def _fresh(args: Sequence[Any]) -> list[Any]:
    return [a.clone() if isinstance(a, torch.Tensor) else a for a in args]
