"""cnnlessons.exercises.checker on its own: every kind of wrong answer gets the verdict
(and the one-line reason) it must, right answers pass, a forbidden method fails naming
the call, and predicted values are compared by :func:`check_value`."""
import math

import pytest
import torch
import torch.nn.functional as F

import cnnlessons.scratch.functional as SF
from cnnlessons.exercises.checker import (
    Case,
    Method,
    Verdict,
    check_value,
    integers,
    run_checks,
)

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
    (double, lambda x: x > 0, "(largest difference "),  # a bool tensor: no subtraction
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


def test_tensors_of_up_to_16_numbers_are_shown_in_full():
    verdict = check(double, lambda x: 2 * x + 1, [Case([integers(GEN, 4, 4)])])
    assert verdict.failure.count(",") > 2 * 15 and "tensor of shape (4, 4), got" not in (
        verdict.failure)
    verdict = check(double, lambda x: 2 * x + 1, [Case([integers(GEN, 17)])])
    assert "expected tensor of shape (17,), got tensor of shape (17,)" in verdict.failure


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


# --------------------------------------------------------------------------------------
# Method: what an exercise rules out
# --------------------------------------------------------------------------------------

NO_RELU = Method("no library relu", families=("relu",), names=("relu",), modules=(SF,))


def relu_reference(x):
    return x.clamp_min(0)


@pytest.mark.parametrize("candidate, used", [
    (F.relu, "torch.nn.functional.relu (relu)"),           # the torch-level name first
    (torch.relu, "torch.relu (relu)"),
    (lambda x: torch.ops.aten.relu(x), "torch._ops.aten.relu (relu)"),
    (lambda x: torch.nn.ReLU()(x), "torch.nn.functional.relu (relu)"),
    (lambda x: torch.threshold(x, 0.0, 0.0), "torch.threshold (relu)"),
])
def test_a_forbidden_family_is_named_in_the_verdict(candidate, used):
    verdict = check(relu_reference, candidate, method=NO_RELU)
    assert not verdict.ok and not verdict.not_done
    assert verdict.failure == (f"input tensor of shape (2, 3): used {used}, "
                               "but the exercise says: no library relu")


def test_a_forbidden_package_function_is_refused_by_name_and_comes_back():
    original = SF.relu
    verdict = check(relu_reference, lambda x: SF.relu(x), method=NO_RELU)
    assert verdict.failure == ("input tensor of shape (2, 3): used "
                               "cnnlessons.scratch.functional.relu, but the exercise says: "
                               "no library relu")
    assert SF.relu is original
    # the package's relu is built from allowed primitives: without the name, it passes
    assert check(relu_reference, SF.relu, method=Method("no library relu", ("relu",))).ok


def test_a_library_function_imported_into_the_answers_module_is_refused_there_too():
    # What a notebook does: ``from cnnlessons.scratch.functional import relu`` binds the
    # library's relu in the answer's own globals, out of reach of the module attribute.
    namespace = {"__name__": "reader", "relu": SF.relu, "my_relu": relu_reference}
    exec("def answer(x):\n    return relu(x)\n"
         "def own(x):\n    return my_relu(x)\n", namespace)
    verdict = check(relu_reference, namespace["answer"], method=NO_RELU)
    assert verdict.failure == ("input tensor of shape (2, 3): used reader.relu, but the "
                               "exercise says: no library relu")
    assert namespace["relu"] is SF.relu  # and it is given back
    # The reader's own function is not a library object: left alone, whatever its name.
    namespace["relu"] = relu_reference
    assert check(relu_reference, namespace["answer"], method=NO_RELU).ok
    assert check(relu_reference, namespace["own"], method=NO_RELU).ok


def test_allowed_primitives_pass_and_other_families_are_not_watched():
    assert check(relu_reference, lambda x: x * (x > 0), method=NO_RELU).ok
    # a family the method does not name is allowed (sigmoid is "activation")
    assert check(lambda x: torch.sigmoid(x), torch.sigmoid, method=NO_RELU).ok


def test_a_refused_function_is_restored_even_when_the_answer_raises():
    def broken(x):
        raise ValueError("oops")

    original = SF.relu
    verdict = check(relu_reference, broken, method=NO_RELU)
    assert verdict.failure == "input tensor of shape (2, 3): raised ValueError: oops"
    assert SF.relu is original


def test_the_method_is_checked_on_every_case_and_the_first_violation_reported():
    cases = [Case([integers(GEN, n)]) for n in (1, 2, 3)]
    verdict = check(relu_reference, lambda x: F.relu(x) if x.numel() > 1 else x.clamp_min(0),
                    cases, method=NO_RELU)
    assert (verdict.passed, verdict.total) == (1, 3)
    assert verdict.failure.startswith("input tensor of shape (2,): used torch.nn.functional.relu")


# --------------------------------------------------------------------------------------
# check_value: a predicted number, tuple or tensor
# --------------------------------------------------------------------------------------

def test_check_value_right_answers():
    assert str(check_value("params", 156, 156)) == "✓ params: 1/1 cases passed"
    assert check_value("shape", (8, 16, 10, 10), (8, 16, 10, 10)).ok
    assert check_value("mean", 0.5, 0.5).ok
    assert check_value("grad", torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0])).ok
    assert check_value("kind", "cross-correlation", "cross-correlation").ok


@pytest.mark.parametrize("stub", [..., None])
def test_check_value_stub_is_not_done_yet(stub):
    verdict = check_value("params", stub, 156)
    assert verdict.not_done and not verdict.ok
    assert (verdict.passed, verdict.total) == (0, 1)  # one case, not passed
    assert str(verdict) == ("✗ params: not done yet (the answer is still the stub: fill it in, "
                            "then run this check again)")


@pytest.mark.parametrize("answer, expected, reason", [
    (155, 156, "expected 156, got 155"),
    (math.nan, 0.5, "expected 0.5, got nan"),
    (torch.tensor(0.5), 0.5, "expected a number, got a tensor 0.5"),
    ((8, 16, 10), (8, 16, 10, 10), "expected a tuple of 4, got (8, 16, 10)"),
    ((8, 16, 10, 10, 1), (8, 16, 10, 10), "expected a tuple of 4, got (8, 16, 10, 10, 1)"),
    ([8, 16, 10, 10], (8, 16, 10, 10), "expected a tuple of 4, got [8, 16, 10, 10]"),
    ((8, 16, 14, 14), (8, 16, 10, 10), "expected 10, got 14"),
    ("156", 156, "expected 156, got '156'"),
    (torch.tensor([0.0, 2.0]), torch.tensor([0.0, 1.0]),
     "expected [0.0, 1.0], got [0.0, 2.0] (largest difference 1)"),
])
def test_check_value_wrong_answers(answer, expected, reason):
    verdict = check_value("demo", answer, expected)
    assert not verdict.ok and not verdict.not_done
    assert verdict.failure == reason  # exactly: no hint was given, so none is appended
    assert str(verdict) == f"✗ demo: 0/1 cases passed\n  first failure: {verdict.failure}"


def test_check_value_why_is_appended_to_a_wrong_verdict_only():
    wrong = check_value("params", 150, 156, why="count the biases too")
    assert wrong.failure == "expected 156, got 150; count the biases too"
    assert str(check_value("params", 156, 156, why="count the biases too")) == (
        "✓ params: 1/1 cases passed")


def test_check_value_float_tolerance():
    assert not check_value("p", 99.57, 99.567).ok          # exact by default
    assert check_value("p", 99.57, 99.567, atol=0.01).ok
    assert not check_value("p", 99.6, 99.567, atol=0.01).ok
    assert check_value("p", 99.6, 99.567, rtol=1e-3).ok     # 0.033 <= 0.0996
    assert check_value("p", 100, 99.567, atol=0.5).ok       # an int for a float
    assert not check_value("p", math.inf, 99.567, atol=1e9).ok


def test_not_implemented_on_a_later_case_is_a_failure_not_a_stub():
    # A partial answer (it handles the first case, gives up on the second) is work in
    # progress to debug: the verdict names the case, it does not say "not done yet".
    def partial(x):
        if x.shape[0] > 2:
            raise NotImplementedError("batches not handled yet")
        return 2 * x

    small, large = integers(GEN, 2, 3), integers(GEN, 5, 3)
    verdict = check(double, partial, [Case([small]), Case([large])])
    assert not verdict.not_done and (verdict.passed, verdict.total) == (1, 2)
    assert verdict.failure == ("input tensor of shape (5, 3): raised NotImplementedError: "
                               "batches not handled yet")
