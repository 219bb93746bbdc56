"""cnnlessons.exercises.checker on its own: every kind of wrong answer gets the verdict
(and the one-line reason) it must, and right answers pass."""
import math

import pytest
import torch

from cnnlessons.exercises.checker import Case, Verdict, integers, run_checks

GEN = torch.Generator().manual_seed(0)
X = integers(GEN, 2, 3)


def check(reference, candidate, cases=None, **kwargs):
    return run_checks("demo", candidate, reference, cases or [Case([X])], **kwargs)


def params_and_macs(x):
    return (6, 12)


def double(x):
    return 2 * x


def mean(x):
    return x.mean().item()


def count(x):
    return x.numel()


WRONG = [
    # (reference, candidate, reason shown)
    (params_and_macs, lambda x: (6,), "expected a tuple of 2, got (6,)"),
    (params_and_macs, lambda x: (6, 12, 0), "expected a tuple of 2, got (6, 12, 0)"),
    (params_and_macs, lambda x: [6, 12], "expected a tuple of 2, got [6, 12]"),
    (params_and_macs, lambda x: 6, "expected a tuple of 2, got 6"),
    (params_and_macs, lambda x: (6, 13), "expected 12, got 13"),
    (params_and_macs, lambda x: (12, 6), "expected 6, got 12"),
    (double, lambda x: (2 * x).tolist(), "expected a tensor, got list [["),
    (double, lambda x: [None], "expected a tensor, got list [None]"),
    (double, lambda x: (2 * x).T, "expected shape (2, 3), got shape (3, 2)"),
    (double, lambda x: (2 * x).reshape(1, 2, 3), "expected shape (2, 3), got shape (1, 2, 3)"),
    (double, lambda x: 2 * x + 1, "(largest difference 1)"),
    (double, lambda x: torch.full_like(x, math.nan), "got [[nan, nan, nan], [nan, nan, nan]]"),
    (mean, lambda x: math.nan, "got nan"),
    (mean, lambda x: x.mean(), "expected a number, got a tensor "),
    (mean, lambda x: "0.5", "got '0.5'"),
    (mean, lambda x: mean(x) + 1e-3, "expected "),
    (count, lambda x: 7, "expected 6, got 7"),
    (count, lambda x: "6", "expected 6, got '6'"),
]


@pytest.mark.parametrize("reference, candidate, reason", WRONG)
def test_wrong_answers_fail_with_their_reason(reference, candidate, reason):
    verdict = check(reference, candidate)
    assert not verdict.ok and (verdict.passed, verdict.total) == (0, 1)
    assert verdict.failure.startswith("input tensor of shape (2, 3): ")
    assert reason in verdict.failure, verdict.failure
    assert str(verdict) == f"✗ demo: 0/1 cases passed\n  first failure: {verdict.failure}"


def test_nan_where_a_tensor_is_expected_fails_even_elementwise():
    def half_nan(x):
        y = 2 * x
        y[0, 0] = math.nan
        return y

    assert not check(double, half_nan).ok


@pytest.mark.parametrize("reference, candidate", [
    (params_and_macs, lambda x: (6, 12)),
    (double, lambda x: x + x),
    (double, lambda x: (2 * x).float()),  # float32 within tolerance
    (mean, lambda x: x.mean().item() + 1e-9),
    (mean, lambda x: 0 if mean(x) == 0 else mean(x)),  # an int where a float is asked
    (count, lambda x: x.numel()),
])
def test_right_answers_pass(reference, candidate):
    verdict = check(reference, candidate)
    assert verdict.ok and (verdict.passed, verdict.total, verdict.failure) == (1, 1, None)
    assert str(verdict) == "✓ demo: 1/1 cases passed"


def test_tolerances_are_used():
    close = check(double, lambda x: 2 * x + 1e-4)
    assert not close.ok
    assert check(double, lambda x: 2 * x + 1e-4, atol=1e-3).ok
    assert check(double, lambda x: 2 * x * (1 + 1e-4), atol=0.0, rtol=1e-3).ok
    assert not check(mean, lambda x: mean(x) + 1e-4).ok
    assert check(mean, lambda x: mean(x) + 1e-4, atol=1e-3).ok
    assert check(mean, lambda x: 100.0 * (1 + 1e-4), cases=[Case([X])], atol=0.0, rtol=1e-3
                 ) .ok is False  # the reference here is mean(X), far from 100
    assert run_checks("demo", lambda: 100.0 * (1 + 1e-4), lambda: 100.0, [Case([])],
                      atol=0.0, rtol=1e-3).ok


def test_counts_every_case_and_reports_the_first_failure():
    cases = [Case([integers(GEN, n)]) for n in (1, 2, 3, 4)]
    verdict = check(count, lambda x: 3 if x.numel() >= 3 else x.numel(), cases)
    assert (verdict.passed, verdict.total, verdict.ok) == (3, 4, False)
    assert verdict.failure == "input tensor of shape (4,): expected 4, got 3"
    assert repr(verdict) == str(verdict)


def test_exceptions_are_reported_not_raised():
    def broken(x):
        raise IndexError("index 3 is out of bounds")

    verdict = check(double, broken)
    assert verdict.failure == ("input tensor of shape (2, 3): raised IndexError: "
                               "index 3 is out of bounds")


def test_keyword_arguments_and_the_case_description():
    case = Case([X, 3], {"scale": 2.0, "x": X})
    assert case.describe() == ("tensor of shape (2, 3), 3, scale=2.0, "
                               "x=tensor of shape (2, 3)")
    verdict = run_checks("demo", lambda x, n, scale: x * scale,
                         lambda x, n, scale: x * n * scale, [Case([X, 3], {"scale": 2.0})])
    assert verdict.failure.startswith("input tensor of shape (2, 3), 3, scale=2.0: ")


def test_inputs_are_fresh_for_each_call():
    # An answer that changes its input in place cannot spoil the reference's input.
    def in_place(x):
        return x.mul_(2)

    assert check(double, in_place).ok
    x = X.clone()
    check(double, in_place, [Case([x])])
    assert torch.equal(x, X)


def test_large_tensors_are_shown_by_shape():
    big = integers(GEN, 5, 5)
    verdict = check(double, lambda x: 2 * x + 1, [Case([big])])
    assert "expected tensor of shape (5, 5), got tensor of shape (5, 5)" in verdict.failure


def test_integers_are_float64_in_range_and_reproducible():
    a = integers(torch.Generator().manual_seed(1), 50, 40, low=-2, high=3)
    b = integers(torch.Generator().manual_seed(1), 50, 40, low=-2, high=3)
    assert a.dtype == torch.float64 and a.shape == (50, 40) and torch.equal(a, b)
    assert set(a.unique().tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}
    default = integers(torch.Generator().manual_seed(1), 1000)
    assert set(default.unique().tolist()) == {-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0}


def test_verdict_ok_is_all_cases_passed():
    assert Verdict("v", 2, 2).ok and not Verdict("v", 1, 2, "why").ok
    assert Verdict("v", 0, 0).ok
