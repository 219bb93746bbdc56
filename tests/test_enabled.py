"""``cnnlessons.scratch.enabled()``: torch's layer calls run as the scratch functions."""
import inspect

import pytest
import torch
import torch.nn.functional as F

import cnnlessons.scratch.functional as SF
from cnnlessons.dispatch import record
from cnnlessons.scratch import enabled
from cnnlessons.twins import function_twins

DT = torch.float64


def test_every_scratch_function_replaces_its_torch_twin():
    twins = function_twins()
    for name in SF.__all__:
        if hasattr(F, name):
            assert twins[getattr(F, name)] is getattr(SF, name), name


@pytest.mark.parametrize("name", [n for n in SF.__all__ if hasattr(F, n)])
def test_twin_signatures_agree(name):
    """Same parameter names in the same order, where torch's function has a Python
    signature (``torch.conv2d`` and other builtins do not)."""
    theirs_fn = getattr(F, name)
    theirs_fn = getattr(F, f"_{name}", theirs_fn)  # behind a return_indices boolean_dispatch
    try:
        theirs = list(inspect.signature(theirs_fn).parameters)
    except ValueError:
        pytest.skip(f"F.{name} is a builtin without a signature")
    ours = list(inspect.signature(getattr(SF, name)).parameters)
    assert ours[:len(theirs)] == theirs or ours == theirs[:len(ours)], (ours, theirs)


CALLS = {  # torch's call -> its arguments; each must run the scratch twin
    "F.conv2d": lambda x: F.conv2d(x, torch.randn(2, 3, 3, 3, dtype=DT)),
    "F.max_pool2d": lambda x: F.max_pool2d(x, 2),
    "F.max_pool2d indices": lambda x: F.max_pool2d(x, 2, return_indices=True)[0],
    "F.adaptive_max_pool2d indices": lambda x: F.adaptive_max_pool2d(x, 2, True)[0],
    "F.avg_pool2d": lambda x: F.avg_pool2d(x, 2),
    "F.adaptive_avg_pool2d": lambda x: F.adaptive_avg_pool2d(x, 1),
    "F.relu inplace": lambda x: F.relu(x * 1, inplace=True),
    "torch.relu_": lambda x: torch.relu_(x * 1),
    "Tensor.relu": lambda x: x.relu(),
    "F.relu6": lambda x: F.relu6(x),
    "F.leaky_relu": lambda x: F.leaky_relu(x, 0.1),
    "torch.sigmoid": lambda x: torch.sigmoid(x),
    "F.sigmoid": lambda x: F.sigmoid(x),
    "Tensor.tanh": lambda x: x.tanh(),
    "F.dropout": lambda x: F.dropout(x, 0.5),
    "F.dropout2d": lambda x: F.dropout2d(x, 0.5),
    "F.batch_norm": lambda x: F.batch_norm(x, torch.zeros(3, dtype=DT), torch.ones(3, dtype=DT),
                                           training=True),
    "F.linear": lambda x: F.linear(x.flatten(1), torch.randn(4, 48, dtype=DT)),
    "Tensor.softmax": lambda x: x.softmax(1),
    "F.log_softmax": lambda x: F.log_softmax(x, 1),
    "F.cross_entropy": lambda x: F.cross_entropy(x.flatten(1), torch.tensor([1, 0])),
    "F.pad": lambda x: F.pad(x, (1, 1, 1, 1), mode="reflect"),
    "nn.Hardtanh": lambda x: torch.nn.Hardtanh(-0.5, 0.5)(x),
    "nn.BatchNorm2d": lambda x: torch.nn.BatchNorm2d(3, dtype=DT)(x),
}


@pytest.mark.parametrize("name", CALLS)
def test_torch_call_runs_the_scratch_twin(name):
    x = torch.randn(2, 3, 4, 4, dtype=DT, requires_grad=True)
    torch.manual_seed(0)
    expected = CALLS[name](x)
    expected.backward(torch.ones_like(expected))
    grad, x.grad = x.grad, None
    with record() as rec, enabled():
        torch.manual_seed(0)
        out = CALLS[name](x)
        out.backward(torch.ones_like(out))
    assert rec.offending() == []
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(x.grad, grad)


def test_primitives_pass_through_and_modes_nest():
    x = torch.randn(3, 4)
    with enabled() as mode:
        y = torch.cat([x, x]).mean(0) + x.matmul(x.t()).sum()
        assert mode.untwinned == []
    torch.testing.assert_close(y, torch.cat([x, x]).mean(0) + x.matmul(x.t()).sum())


def test_untwinned_layer_call_raises_naming_it():
    with pytest.raises(NotImplementedError, match=r"torch._C._nn.gelu has no scratch twin; "
                                                  r"use enabled\(strict=False\)"):
        with enabled():
            F.gelu(torch.randn(3))


def test_untwinned_calls_are_listed_when_not_strict():
    x = torch.randn(1, 1, 4, 4)
    with enabled(strict=False) as mode:
        F.gelu(x), F.interpolate(x, scale_factor=2), F.gelu(x), F.relu(x)
    assert mode.untwinned == ["torch._C._nn.gelu", "torch.nn.functional.interpolate"]


def test_enabled_is_off_after_the_block():
    with record() as rec:
        with enabled():
            pass
        F.relu(torch.randn(3))
    assert "aten.relu.default (relu)" in rec.offending()
