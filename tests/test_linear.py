"""Scratch linear / Linear / Flatten against torch: values, every gradient, init, repr."""

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import DT, assert_same_as_torch, tensors

from cnnlessons.scratch.flatten import Flatten
from cnnlessons.scratch.linear import Linear, linear

SETTINGS = settings(max_examples=40, deadline=None)


# ---------------------------------------------------------------- linear


@st.composite
def linear_args(draw):
    lead = draw(st.lists(st.integers(1, 3), max_size=3))  # [] is an unbatched (in,) input
    n_in, n_out = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    x = draw(tensors(tuple(lead) + (n_in,)))
    w = draw(tensors((n_out, n_in)))
    b = draw(tensors((n_out,))) if draw(st.booleans()) else None
    return x, w, b


@SETTINGS
@given(linear_args())
def test_linear_matches_torch(args):
    x, w, b = args
    if b is None:
        assert_same_as_torch(linear, F.linear, x, w)
    else:
        assert_same_as_torch(linear, F.linear, x, w, b)


def test_linear_hand_checkable():
    x = torch.tensor([[1.0, 2.0]])
    w = torch.tensor([[1.0, 0.0], [1.0, 1.0]])
    assert torch.equal(linear(x, w, torch.tensor([0.0, 10.0])), torch.tensor([[1.0, 13.0]]))


@pytest.mark.parametrize("bias", [True, False])
def test_linear_gradcheck(bias):
    x = torch.randn(2, 3, 4, dtype=DT, requires_grad=True)
    w = torch.randn(5, 4, dtype=DT, requires_grad=True)
    b = torch.randn(5, dtype=DT, requires_grad=True) if bias else None
    assert torch.autograd.gradcheck(linear, (x, w, b))


@pytest.mark.parametrize("x_shape, w_shape", [((4, 0), (2, 0)), ((0, 3), (2, 3)),
                                              ((2, 0, 3), (0, 3))])
def test_linear_empty_sizes_like_torch(x_shape, w_shape):
    x, w = torch.randn(x_shape, dtype=DT), torch.randn(w_shape, dtype=DT)
    assert_same_as_torch(linear, F.linear, x, w, torch.randn(w_shape[0], dtype=DT))


def test_linear_float32_dtype_preserved():
    x, w, b = torch.randn(3, 4), torch.randn(2, 4), torch.randn(2)
    out = linear(x, w, b)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.linear(x, w, b))


@pytest.mark.parametrize("x, w, b, error, match", [
    (torch.tensor(1.0), torch.ones(2, 1), None, ValueError, "input is 0-D"),
    (torch.ones(4, 3), torch.ones(3), None, ValueError, r"weight has shape \(3,\); expected 2-D"),
    (torch.ones(4, 3), torch.ones(2, 4), None, ValueError,
     r"input has 3 features .* expects in_features=4"),
    (torch.ones(4, 3), torch.ones(2, 3), torch.ones(3), ValueError,
     r"bias has shape \(3,\); expected \(2,\)"),
    (torch.ones(4, 3), torch.ones(2, 3, dtype=DT), None, TypeError,
     "weight has dtype torch.float64 but input has dtype torch.float32"),
])
def test_linear_bad_arguments(x, w, b, error, match):
    with pytest.raises(error, match=match):
        linear(x, w, b)


@SETTINGS
@given(st.integers(0, 2**31), st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_Linear_same_seed_same_weights(seed, n_in, n_out, bias):
    torch.manual_seed(seed)
    ours = Linear(n_in, n_out, bias=bias)
    after_ours = torch.rand(1)  # the RNG must also end in the same state
    torch.manual_seed(seed)
    theirs = torch.nn.Linear(n_in, n_out, bias=bias)
    assert torch.equal(torch.rand(1), after_ours)
    assert torch.equal(ours.weight, theirs.weight)
    if bias:
        assert torch.equal(ours.bias, theirs.bias)
    else:
        assert ours.bias is None
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert repr(ours) == repr(theirs)


def test_Linear_state_dict_from_torch_gives_same_output_and_grads():
    theirs = torch.nn.Linear(6, 3, dtype=DT)
    ours = Linear(6, 3, dtype=DT)
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(5, 6, dtype=DT)
    out, expected = ours(x), theirs(x)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(ours.weight.grad, theirs.weight.grad)
    torch.testing.assert_close(ours.bias.grad, theirs.bias.grad)


def test_Linear_factory_kwargs_and_repr():
    layer = Linear(3, 2, bias=False, dtype=DT)
    assert layer.weight.dtype == DT and layer.weight.shape == (2, 3)
    assert repr(layer) == repr(torch.nn.Linear(3, 2, bias=False)) \
        == "Linear(in_features=3, out_features=2, bias=False)"


# ---------------------------------------------------------------- Flatten


@st.composite
def flatten_args(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    ndim = len(shape)
    start = draw(st.integers(-ndim, ndim - 1))
    end = draw(st.integers(start % ndim, ndim - 1))  # start <= end once normalised
    if draw(st.booleans()):
        end -= ndim  # the same dim, written negatively
    return draw(tensors(shape)), start, end


@SETTINGS
@given(flatten_args())
def test_Flatten_matches_torch(args):
    x, start, end = args
    assert_same_as_torch(Flatten(start, end), torch.nn.Flatten(start, end), x)


def test_Flatten_noncontiguous_and_scalar():
    x = torch.randn(2, 3, 4, dtype=DT).transpose(1, 2)
    assert torch.equal(Flatten()(x), torch.nn.Flatten()(x))
    assert torch.equal(Flatten(0)(torch.tensor(5.0)), torch.nn.Flatten(0)(torch.tensor(5.0)))


@pytest.mark.parametrize("start, end, shape, match", [
    (3, -1, (2, 3, 4), r"start_dim=3 is out of range for a 3-D input: it must be in \[-3, 2\]"),
    (0, -4, (2, 3, 4), r"end_dim=-4 is out of range"),
    (2, 1, (2, 3, 4), r"start_dim=2 comes after end_dim=1"),
    (1, -1, (), r"start_dim=1 is out of range for a 1-D input"),
])
def test_Flatten_bad_dims(start, end, shape, match):
    with pytest.raises(ValueError, match=match):
        Flatten(start, end)(torch.zeros(shape))


@pytest.mark.parametrize("args", [(), (0,), (0, 2), (-3, -2)])
def test_Flatten_repr(args):
    assert repr(Flatten(*args)) == repr(torch.nn.Flatten(*args))
