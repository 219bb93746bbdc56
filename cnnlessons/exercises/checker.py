"""Run a reader's answer on several cases against a reference and say how it went.

Every exercise in the course has a ``check_*`` function built on :func:`run_checks`. It
calls the reader's function and the reference on the same inputs, compares the
results, and returns a :class:`Verdict` whose text is one short line when everything
passes, and otherwise names the first failing case: its input shapes, what was
expected and what came back. :func:`integers` makes the cases' test tensors.

Where an exercise demands a method ("use loops", "no ``F.conv2d``"), a :class:`Method`
says what it rules out, and :func:`run_checks` watches the answer run with the dispatch
recorder (:mod:`cnnlessons.dispatch`): a forbidden torch kernel fails the case and the
verdict names the call. Exercises whose answer is a number (predict a shape, a count, a
percentage) use :func:`check_value`.

A stub answer (``raise NotImplementedError``, a body of ``...``, ``answer = ...``) gets
the one line ``✗ name: not done yet ...`` and never an exception, so a notebook run from
top to bottom reaches its end.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import torch
from torch import Tensor

from cnnlessons.dispatch import record


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


@dataclass(frozen=True)
class Method:
    """What an exercise's method rules out while the answer runs.

    Attributes:
        rule: the exercise's demand in a few words, quoted in the verdict ("use loops").
        families: kernel families of :data:`cnnlessons.dispatch.FORBIDDEN` (``"convolution"``,
            ``"pooling"``...) that the answer may not dispatch, however it reaches them.
        names: functions of ``modules`` (e.g. the package's own ``conv2d``) replaced, while
            the answer runs, by one that raises: the package's layers are built from
            allowed primitives, so the recorder alone would not see them.
        modules: where ``names`` are looked up.
    """

    rule: str
    families: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    modules: tuple[ModuleType, ...] = ()


class MethodViolation(Exception):
    """Raised (and turned into a failing case) when an answer used what its method forbids."""


@contextlib.contextmanager
def _refusing(method: Method, candidate: Callable) -> Iterator[None]:
    """Every ``method.names`` attribute of ``method.modules`` raises inside the block, and
    so does every global of the answer's own module bound to one of those functions: a
    notebook that ran ``from cnnlessons.scratch.conv import corr2d`` calls its own name
    ``corr2d``, which replacing the library module's attribute does not reach. Only the
    library's very objects are replaced, so a reader's own function that happens to be
    called ``conv2d`` is left alone.
    """
    saved = []

    def refuse(qualified: str) -> Callable:
        def refused(*args, **kwargs):
            raise MethodViolation(f"used {qualified}, but the exercise says: {method.rule}")
        return refused

    for module in method.modules:
        for name in method.names:
            if hasattr(module, name):
                saved.append((vars(module), name, getattr(module, name)))
    refused = {id(original) for _, _, original in saved}
    answer_globals = getattr(candidate, "__globals__", {})
    saved += [(answer_globals, name, value) for name, value in answer_globals.items()
              if id(value) in refused and callable(value)]
    # Each refusal is named where the answer looked it up (``F.conv2d`` and
    # ``torch.conv2d`` are one object, but the reader wrote one of them).
    for namespace, name, _ in saved:
        namespace[name] = refuse(f"{namespace.get('__name__', '?')}.{name}")
    try:
        yield
    finally:
        for namespace, name, original in reversed(saved):
            namespace[name] = original


def _run_under(method: Method | None, candidate: Callable, args: Sequence[Any],
               kwargs: dict) -> Any:
    """``candidate(*args, **kwargs)``, watched for what ``method`` forbids."""
    if method is None:
        return candidate(*args, **kwargs)
    with _refusing(method, candidate), record() as recording:
        result = candidate(*args, **kwargs)
    # The torch-level name (``torch.nn.functional.relu``) is what the reader wrote: name it
    # before the ATen kernel it reached.
    used = sorted((entry for entry in recording.offending()
                   if entry.rsplit("(", 1)[1].rstrip(")") in method.families),
                  key=lambda entry: entry.startswith("aten."))
    if used:
        raise MethodViolation(f"used {used[0]}, but the exercise says: {method.rule}")
    return result


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
            return (f"✗ {self.name}: not done yet (the answer is still the stub: "
                    "fill it in, then run this check again)")
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
               atol: float = 1e-6, rtol: float = 1e-5, method: Method | None = None) -> Verdict:
    """Call ``candidate`` and ``reference`` on every case and compare the results.

    Args:
        name: the exercise's name, shown in the verdict.
        candidate: the reader's function.
        reference: the known-good function with the same signature.
        cases: the inputs to try; tensors are cloned for each call, so an answer that
            modifies its input in place cannot spoil the reference.
        atol, rtol: tolerances for tensors and floats (``torch.allclose``).
        method: what the exercise rules out; an answer that uses it fails the case with
            ``used <call>, but the exercise says: <rule>``.

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
            got = _run_under(method, candidate, _fresh(case.args), case.kwargs or {})
        except MethodViolation as violation:
            reason = str(violation)
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


def check_value(name: str, answer: Any, expected: Any, atol: float = 0.0, rtol: float = 0.0,
                why: str | None = None) -> Verdict:
    """Compare a number (or tuple, or tensor) the reader predicted with the right one.

    Args:
        name: the exercise's name, shown in the verdict.
        answer: the reader's value; ``...`` or ``None`` (the stub) is "not done yet".
        expected: the right value.
        atol, rtol: tolerances for floats and tensors (exact by default: counts and shapes).
        why: a hint added to a wrong verdict (what to recount), never the answer itself.

    >>> print(check_value("params", 156, 156))
    ✓ params: 1/1 cases passed
    >>> print(check_value("params", ..., 156))
    ✗ params: not done yet (the answer is still the stub: fill it in, then run this check again)
    """
    if answer is None or answer is Ellipsis:
        return Verdict(name, 0, 1, not_done=True)
    reason = _mismatch(expected, answer, atol, rtol)
    if reason is None:
        return Verdict(name, 1, 1)
    return Verdict(name, 0, 1, f"{reason}{'; ' + why if why else ''}")
