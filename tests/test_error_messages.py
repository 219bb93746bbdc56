"""A wrong dtype is reported by the function the learner called, in one line.

Every scratch function that needs a floating-point input, given an integer one, raises
``TypeError`` whose message starts with its own name (``relu6: input has dtype
torch.int64 ...``), not a helper's (``hardtanh``) and not a torch internal ("result type
Float can't be cast ..."). Those that torch runs on integers too are listed with why.
"""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

import cnnlessons.scratch.functional as SF

X4 = torch.arange(2 * 3 * 4 * 4).reshape(2, 3, 4, 4)  # an (N, C, H, W) int64 input
X3 = X4[:, :, 0]                                        # (N, C, L)
W = torch.ones(2, 3, 3, 3)


def _unpool(dims):
    indices = torch.zeros((2, 3) + (2,) * dims, dtype=torch.long)
    return (X4[:, :, :2, :2] if dims == 2 else X3[:, :, :2]), indices, 2


#: name -> the positional arguments after the integer input (or the whole call's).
CALLS = {
    "leaky_relu": (X4,), "hardtanh": (X4,), "relu6": (X4,),
    "adaptive_avg_pool1d": (X3, 2), "adaptive_avg_pool2d": (X4, 2),
    "adaptive_max_pool1d": (X3, 2), "adaptive_max_pool2d": (X4, 2),
    "conv1d": (X3, W[..., 0]), "conv2d": (X4, W),
    "conv_transpose1d": (X3, W[:, :, :, 0].transpose(0, 1)),
    "conv_transpose2d": (X4, W.transpose(0, 1)),
    "dropout": (X4,), "dropout2d": (X4,),
    "linear": (X4, torch.ones(2, 4)),
    "nll_loss": (X4[:, :, 0, 0], torch.zeros(2, dtype=torch.long)),
    "cross_entropy": (X4[:, :, 0, 0], torch.zeros(2, dtype=torch.long)),
    "mse_loss": (X4, X4),
    "batch_norm": (X4, torch.zeros(3), torch.ones(3)),
    "max_pool1d": (X3, 2), "max_pool2d": (X4, 2), "avg_pool1d": (X3, 2), "avg_pool2d": (X4, 2),
    "max_unpool1d": _unpool(1), "max_unpool2d": _unpool(2),
}
#: Run on integers by torch as by scratch, so no error to name.
INTEGERS_WELCOME = {
    "relu": "max(x, 0) is exact on integers",
    "sigmoid": "promotes an integer input to the default float dtype, as torch",
    "tanh": "promotes an integer input to the default float dtype, as torch",
    "pad": "copies values, whatever their dtype",
    "pairwise_distance": "promotes an integer input, as torch",
    "softmax": "takes dtype= to cast an integer input; without it the message says so",
    "log_softmax": "takes dtype= to cast an integer input; without it the message says so",
}


def test_every_function_is_either_called_or_excused():
    assert set(CALLS) | set(INTEGERS_WELCOME) == set(SF.__all__)
    assert not set(CALLS) & set(INTEGERS_WELCOME)


@pytest.mark.parametrize("name", CALLS)
def test_integer_input_is_reported_by_the_function_called(name):
    with pytest.raises(TypeError) as caught:
        getattr(SF, name)(*CALLS[name])
    message = str(caught.value)
    assert message.startswith(f"{name}: "), message
    assert "\n" not in message
    assert "torch.int64" in message, message


@pytest.mark.parametrize("name, args", [("relu", ()), ("sigmoid", ()), ("tanh", ()),
                                        ("pad", ((1, 2),)), ("pairwise_distance", (X3 + 1,))])
def test_integer_input_runs_as_in_torch(name, args):
    ours, theirs = getattr(SF, name)(X3, *args), getattr(F, name)(X3, *args)
    assert ours.dtype == theirs.dtype
    torch.testing.assert_close(ours, theirs)


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_integer_input_names_the_function_and_the_fix(name):
    with pytest.raises(TypeError, match=rf"^{name}: .*dtype="):
        getattr(SF, name)(X4, 1)
