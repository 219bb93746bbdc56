"""Scratch pairwise_distance / PairwiseDistance against torch."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import DT, assert_same_as_torch

from cnnlessons.scratch.distance import PairwiseDistance, pairwise_distance

SETTINGS = settings(max_examples=50, deadline=None)
P_VALUES = [1.0, 2.0, 3.0, 1.5, 0.5, math.inf, -math.inf, 0.0, -1.0]


@st.composite
def tensors(draw, shape):
    """A float64 tensor of ``shape`` whose every entry hypothesis draws from [-10, 10].

    The values lie on a 1/64 grid: exact ties (for p = inf) and zeros are common,
    and there are no subnormals, whose cubes underflow (torch's own p-norm then
    takes shortcuts that are beside the point here).
    """
    n = math.prod(shape)
    values = draw(st.lists(st.integers(-640, 640), min_size=n, max_size=n))
    return torch.tensor(values, dtype=DT).reshape(shape) / 64


@st.composite
def broadcast_pairs(draw):
    """Two shapes that broadcast: ``x2`` may drop leading dims or have 1s where ``x1`` has not."""
    shape1 = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=3)))
    shape2 = tuple(1 if draw(st.booleans()) else s for s in shape1)
    shape2 = shape2[draw(st.integers(0, len(shape2))):]  # maybe 0-D
    if draw(st.booleans()):
        shape1, shape2 = shape2, shape1
    return draw(tensors(shape1)), draw(tensors(shape2))


@SETTINGS
@given(broadcast_pairs(), st.sampled_from(P_VALUES), st.sampled_from([1e-6, 0.0, 0.5]),
       st.booleans())
def test_pairwise_distance_matches_torch(pair, p, eps, keepdim):
    x1, x2 = pair
    if p < 1:
        # |v|^(p-1) explodes near v = 0 (p < 1), so do not compare gradients there
        x1 = x1 + 0.25 * x1.sign() + (x1 == 0)
        x2 = x2 * 0
    assert_same_as_torch(lambda a, b: pairwise_distance(a, b, p, eps, keepdim),
                         lambda a, b: F.pairwise_distance(a, b, p, eps, keepdim), x1, x2)


def test_eps_is_added_to_each_component():
    x = torch.randn(3, 4, dtype=DT)
    for p in (1.0, 2.0, 3.0):
        expected = torch.full((3,), 1e-6 * 4 ** (1 / p), dtype=DT)  # equal rows: eps * D^(1/p)
        torch.testing.assert_close(pairwise_distance(x, x, p), expected)
        torch.testing.assert_close(pairwise_distance(x, x, p), F.pairwise_distance(x, x, p))


def test_hand_checkable_3_4_5():
    out = pairwise_distance(torch.tensor([[3.0, 4.0]]), torch.zeros(1, 2), eps=0.0)
    assert torch.equal(out, torch.tensor([5.0]))


def test_integer_inputs_give_float_like_torch():
    a, b = torch.ones(2, 3, dtype=torch.long), torch.zeros(2, 3, dtype=torch.long)
    out = pairwise_distance(a, b)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.pairwise_distance(a, b))


def test_zero_distance_gradient_is_zero_like_torch():
    x1 = torch.zeros(2, 3, dtype=DT, requires_grad=True)
    x2 = torch.full((2, 3), 1e-6, dtype=DT)  # x1 - x2 + eps = 0 exactly
    for p in (1.0, 2.0, 3.0, math.inf):
        x1.grad = None
        pairwise_distance(x1, x2, p).sum().backward()
        ref = x1.detach().clone().requires_grad_()
        F.pairwise_distance(ref, x2, p).sum().backward()
        torch.testing.assert_close(x1.grad, ref.grad)


def test_inf_norm_shares_gradient_between_ties():
    x1 = torch.tensor([[2.0, -2.0, 1.0]], dtype=DT, requires_grad=True)
    pairwise_distance(x1, torch.zeros(1, 3, dtype=DT), math.inf, eps=0.0).sum().backward()
    torch.testing.assert_close(x1.grad, torch.tensor([[0.5, -0.5, 0.0]], dtype=DT))


@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, 1.5, 0.5, math.inf, -1.0])
@pytest.mark.parametrize("keepdim", [False, True])
def test_gradcheck(p, keepdim):
    x1 = torch.randn(3, 4, dtype=DT, requires_grad=True)
    x2 = torch.randn(4, dtype=DT, requires_grad=True)  # broadcast over the rows
    assert torch.autograd.gradcheck(
        lambda a, b: pairwise_distance(a, b, p, 1e-6, keepdim), (x1, x2))


def test_bad_arguments():
    with pytest.raises(ValueError, match=r"x1 of shape \(3, 4\) and x2 of shape \(3, 5\) do not "
                                         "broadcast"):
        pairwise_distance(torch.ones(3, 4), torch.ones(3, 5))
    with pytest.raises(ValueError, match="p=nan is not a valid norm degree"):
        pairwise_distance(torch.ones(3, 4), torch.ones(3, 4), p=math.nan)


@pytest.mark.parametrize("kwargs", [{}, {"p": 1.0, "eps": 0.0, "keepdim": True},
                                    {"p": math.inf}])
def test_module_matches_torch(kwargs):
    ours, theirs = PairwiseDistance(**kwargs), torch.nn.PairwiseDistance(**kwargs)
    assert repr(ours) == repr(theirs)
    assert (ours.norm, ours.eps, ours.keepdim) == (theirs.norm, theirs.eps, theirs.keepdim)
    ours.load_state_dict(theirs.state_dict())
    x1, x2 = torch.randn(5, 3, dtype=DT), torch.randn(5, 3, dtype=DT)
    assert_same_as_torch(ours, theirs, x1, x2)
