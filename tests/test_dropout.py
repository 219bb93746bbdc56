"""Scratch dropout: statistics, same-mask backward, and agreement with torch's CPU path."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.autograd import gradcheck

from cnnlessons.scratch.dropout import Dropout, Dropout2d, dropout, dropout2d

DT = torch.float64


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_statistics(p):
    """Fraction of zeros ~ p, survivors exactly 1/(1-p), mean preserved (n = 200 000)."""
    torch.manual_seed(0)
    n = 200_000
    out = dropout(torch.ones(n, dtype=DT), p=p)
    zeros = (out == 0).double().mean().item()
    sigma = math.sqrt(p * (1 - p) / n)  # std of the observed fraction of zeros
    assert abs(zeros - p) < 5 * sigma
    assert torch.equal(out[out != 0], torch.full_like(out[out != 0], 1 / (1 - p)))
    # mean = (1 - zeros) / (1 - p), whose std is sigma / (1 - p)
    assert abs(out.mean().item() - 1) < 5 * sigma / (1 - p)


def test_masks_differ_between_calls():
    torch.manual_seed(0)
    x = torch.ones(1000, dtype=DT)
    assert not torch.equal(dropout(x), dropout(x))


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    p=st.floats(0.05, 0.95),
    seed=st.integers(0, 2**31 - 1),
)
def test_backward_uses_the_forward_mask(shape, p, seed):
    torch.manual_seed(seed)
    x = torch.ones(shape, dtype=DT, requires_grad=True)
    out = dropout(x, p=p)
    g = torch.randn_like(out)
    out.backward(g)
    scale = 1 / (1 - p)
    assert torch.equal(x.grad, g * (out != 0) * scale)
    x.grad = None
    dropout(x, p=p).backward(torch.ones(shape, dtype=DT))
    assert torch.equal(x.grad, x.grad.ne(0).to(DT) * scale)  # only 0 or 1/(1-p)


@settings(max_examples=40, deadline=None)
@given(
    shape=st.lists(st.integers(1, 6), min_size=1, max_size=4),
    p=st.floats(0.0, 1.0),
    inplace=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_matches_torch_on_cpu(shape, p, inplace, seed):
    """Not required by dropout's contract, but on CPU ATen draws the mask with the same
    bernoulli_ call, so with the same seed outputs and gradients agree bit for bit."""
    x = torch.randn(shape, dtype=DT)
    g = torch.randn(shape, dtype=DT)

    def run(fn):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(seed)
        out = fn(leaf * 1, p=p, inplace=inplace)  # "* 1": in-place needs a non-leaf
        out.backward(g)
        return out, leaf.grad

    (out_o, grad_o), (out_t, grad_t) = run(dropout), run(F.dropout)
    assert torch.equal(out_o, out_t)
    assert torch.equal(grad_o, grad_t)


def test_p_one_gives_zeros_and_zero_gradient():
    x = torch.randn(4, 5, dtype=DT, requires_grad=True)
    out = dropout(x, p=1.0)
    assert torch.equal(out, torch.zeros_like(out))
    out.backward(torch.randn_like(out))
    assert torch.equal(x.grad, torch.zeros_like(x))


def test_identity_cases_return_the_input():
    x = torch.randn(3, 4)
    assert dropout(x, p=0.5, training=False) is x
    assert dropout(x, p=0.0) is x
    empty = torch.empty(0, 3)
    assert dropout(empty) is empty


def test_inplace_overwrites_the_input():
    torch.manual_seed(0)
    x = torch.ones(100, dtype=DT)
    out = dropout(x, p=0.5, inplace=True)
    assert out is x
    assert set(x.unique().tolist()) == {0.0, 2.0}


def test_gradcheck():
    x = torch.randn(3, 4, dtype=DT, requires_grad=True)

    # gradcheck evaluates many times: reseed so that every call draws the same mask.
    def f(x):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return dropout(x, p=0.4)

    assert gradcheck(f, (x,))


def test_module_matches_torch_module():
    for kwargs in [{}, dict(p=0.2), dict(p=0.7, inplace=True)]:
        ours, theirs = Dropout(**kwargs), torch.nn.Dropout(**kwargs)
        assert repr(ours) == repr(theirs)
        x = torch.randn(6, 7, dtype=DT)
        torch.manual_seed(1)
        a = ours(x.clone())
        torch.manual_seed(1)
        b = theirs(x.clone())
        assert torch.equal(a, b)
        ours.eval()
        assert ours(x) is x
    assert list(Dropout().state_dict()) == []


@pytest.mark.parametrize("p", [1.5, -0.1, float("nan")])
def test_rejects_bad_p(p):
    with pytest.raises(ValueError, match=rf"between 0 and 1, but got p={p}"):
        dropout(torch.ones(3), p=p)
    with pytest.raises(ValueError, match=rf"between 0 and 1, but got p={p}"):
        Dropout(p)


# ---------------------------------------------------------------- dropout2d / Dropout2d


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 5), hw=st.integers(1, 4), p=st.floats(0.0, 1.0),
       inplace=st.booleans(), seed=st.integers(0, 2**31 - 1))
def test_dropout2d_matches_torch_on_cpu(n, c, hw, p, inplace, seed):
    """Same seed, same (N, C, 1, 1) bernoulli_ draw as ATen's feature dropout."""
    x = torch.randn(n, c, hw, hw + 1, dtype=DT)
    g = torch.randn_like(x)

    def run(fn):
        leaf = x.clone().requires_grad_()
        torch.manual_seed(seed)
        out = fn(leaf * 1, p=p, inplace=inplace)
        out.backward(g)
        return out, leaf.grad

    (out_o, grad_o), (out_t, grad_t) = run(dropout2d), run(F.dropout2d)
    assert torch.equal(out_o, out_t) and torch.equal(grad_o, grad_t)


@pytest.mark.parametrize("fn, torch_fn", [(dropout, F.dropout), (dropout2d, F.dropout2d)])
def test_one_element_is_dropped_too(fn, torch_fn):
    # A single number is not a special case: with p = 0.5 it is zeroed about half the
    # time, with the same draws as torch's.
    x = torch.ones(1, 1, 1, 1, dtype=DT)
    ours, theirs = [], []
    for seed in range(20):
        torch.manual_seed(seed)
        ours.append(fn(x, p=0.5).item())
        torch.manual_seed(seed)
        theirs.append(torch_fn(x, p=0.5).item())
    assert ours == theirs and set(ours) == {0.0, 2.0}


def test_dropout2d_drops_whole_channels():
    torch.manual_seed(0)
    out = dropout2d(torch.ones(4, 8, 3, 3, dtype=DT), p=0.5)
    per_map = out.flatten(2)
    assert torch.equal(per_map.amin(2), per_map.amax(2))  # every map constant: 0 or 2
    assert set(per_map.unique().tolist()) == {0.0, 2.0}


def test_dropout2d_gradcheck_and_identity_cases():
    x = torch.randn(2, 3, 2, 2, dtype=DT, requires_grad=True)

    def f(x):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            return dropout2d(x, p=0.4)

    assert gradcheck(f, (x,))
    assert dropout2d(x, training=False) is x and dropout2d(x, p=0.0) is x


def _caller_file(under_mutation_testing: bool) -> str:
    """The file a correct stacklevel=2 names: this one, or mutmut's trampoline when the
    function called runs in mutmut's copy."""
    if under_mutation_testing:
        from mutmut.mutation import trampoline
        return trampoline.__file__
    return __file__


def test_dropout2d_input_rank(under_mutation_testing):
    with pytest.warns(UserWarning, match=r"^dropout2d: received a 3-D input; like torch, it is "
                      r"read as \(N, C, \*\) with one mask entry per \(n, c\)$") as caught:
        dropout2d(torch.ones(2, 3, 4))
    # stacklevel=2: the warning points at the caller, which under mutation testing is
    # mutmut's trampoline (it stands between every mutated function and its caller)
    assert caught[0].filename == _caller_file(under_mutation_testing)
    with pytest.raises(ValueError, match=r"dropout2d: input has shape \(3,\); expected"):
        dropout2d(torch.ones(3))
    with pytest.raises(ValueError, match="between 0 and 1, but got p=2"):
        dropout2d(torch.ones(1, 1, 2, 2), p=2)


def test_dropout2d_module_matches_torch_module():
    ours, theirs = Dropout2d(0.3), torch.nn.Dropout2d(0.3)
    assert repr(ours) == repr(theirs)
    x = torch.randn(3, 4, 2, 2, dtype=DT)
    torch.manual_seed(1)
    a = ours(x)
    torch.manual_seed(1)
    assert torch.equal(a, theirs(x))
    assert ours.eval()(x) is x
