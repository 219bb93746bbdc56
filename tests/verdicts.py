"""Assertions shared by the tests of the exercise checkers (``tests/test_exercises_ch*.py``)."""
import torch


def assert_verdict_fails(verdict, first_input, reason):
    """``verdict`` is a failure on the case ``first_input`` whose message contains ``reason``,
    printed as ``✗ name: passed/total``."""
    assert not verdict.ok
    assert verdict.failure.startswith(f"input {first_input}: "), verdict.failure
    assert reason in verdict.failure, verdict.failure
    assert str(verdict).startswith(f"✗ {verdict.name}: {verdict.passed}/{verdict.total}")


def assert_checks_leave_the_global_rng_alone(*checks):
    """Every ``(check, right_answer)`` pair passes, and running them leaves torch's global
    generator where it was.

    A notebook seeds torch for its own experiments, and a check run in between must not
    shift them; a case drawn from the global generator would also change from run to run,
    so a failure the reader is debugging could move or vanish.
    """
    torch.manual_seed(0)
    expected = torch.rand(3)
    torch.manual_seed(0)
    for check, answer in checks:
        verdict = check(answer)
        assert verdict.ok, verdict
    assert torch.equal(torch.rand(3), expected)
