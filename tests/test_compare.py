"""cnnlessons.compare: signatures read from Python, from C functions' docstrings and from
``(*args, **kwargs)`` wrappers; ``same`` passes twins and fails on a difference in the
output or in a gradient."""
import pytest
import torch
import torch.nn.functional as F

from cnnlessons.compare import same, signature
from cnnlessons.scratch import functional as SF


@pytest.mark.parametrize("fn, expected", [
    (F.relu, "input, inplace=False"),                         # Python: inspect.signature
    (F.conv1d, "input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1"),  # C
    (F.max_pool2d, "input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, "
                   "return_indices=False"),                    # (*args, **kwargs) wrapper
    (lambda x, *, scale=2.0: x, "x, scale=2.0"),
])
def test_signature(fn, expected):
    assert signature(fn) == expected


#: Arguments that torch added after 2.4 (the oldest torch the package supports), which the
#: scratch functions have because they follow the newest torch: name -> (torch version,
#: the argument's text in ``signature``).
ADDED_AFTER_2_4 = {"mse_loss": ((2, 6), ", weight=None")}


def test_every_scratch_function_has_torchs_signature():
    for name in SF.__all__:
        ours, theirs = signature(getattr(SF, name)), signature(getattr(F, name))
        if name in ADDED_AFTER_2_4 and torch.__version__ < ADDED_AFTER_2_4[name][0]:
            ours = ours.replace(ADDED_AFTER_2_4[name][1], "")
        assert ours == theirs, name


def test_same_reports_output_and_gradients():
    x = torch.randn(2, 3, 8, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert same(F.conv1d, SF.conv1d, x, w, padding=1) == (
        "conv1d: same output and gradients, output shape (2, 4, 8)")
    assert x.grad is None and w.grad is None   # the caller's tensors are left alone
    assert same(F.relu, SF.relu, torch.ones(3)) == "relu: same output, output shape (3,)"


def test_same_compares_the_values_of_a_values_indices_pair():
    x = torch.tensor([[[1.0, 3.0, 2.0, 5.0]]], requires_grad=True)
    assert same(F.max_pool1d, SF.max_pool1d, x, 2, return_indices=True).startswith("max_pool1d")


def test_same_uses_the_same_seed_for_both():
    assert same(F.dropout, SF.dropout, torch.ones(50, requires_grad=True), p=0.5).startswith(
        "dropout: same output and gradients")


def _wrong_gradient(x):
    return _WrongGradient.apply(x)


class _WrongGradient(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad_output):
        return grad_output       # forgets the mask


@pytest.mark.parametrize("wrong", [lambda x: F.relu(x) + 1e-3, _wrong_gradient])
def test_same_fails_on_a_different_output_or_gradient(wrong):
    x = torch.tensor([-1.0, 2.0], dtype=torch.float64, requires_grad=True)
    with pytest.raises(AssertionError):
        same(F.relu, wrong, x)
