"""``cnnlessons.scratch.padding.pad`` against ``torch.nn.functional.pad``: values,
gradients (random upstream gradient), gradcheck and the ValueErrors."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from cnnlessons.scratch.padding import pad

SETTINGS = settings(max_examples=60, deadline=None)
MODES = ("constant", "reflect", "replicate", "circular")


def _pad_range(mode: str, size: int) -> tuple[int, int]:
    """Amounts torch accepts per side for ``mode`` (negative = crop)."""
    if mode == "reflect":
        return -(size - 1), size - 1
    if mode == "circular":
        return 0, size
    return -(size - 1), 3


@st.composite
def pad_cases(draw):
    mode = draw(st.sampled_from(MODES))
    k = draw(st.integers(1, 3))                                # padded dimensions
    if mode == "constant":
        ndim = draw(st.integers(k, 4))                         # any leading dims
    else:
        ndim = k + draw(st.integers(1, 2))                     # unbatched or batched
    shape = [draw(st.integers(1, 4)) for _ in range(ndim)]
    flat = []
    for size in reversed(shape[ndim - k:]):                    # last dimension first
        lo, hi = _pad_range(mode, size)
        before, after = draw(st.integers(lo, hi)), draw(st.integers(lo, hi))
        assume(size + before + after >= 1)
        flat += [before, after]
    value = draw(st.floats(-3, 3)) if mode == "constant" and draw(st.booleans()) else None
    return mode, shape, flat, value


@SETTINGS
@given(pad_cases(), st.integers(0, 2**31 - 1))
def test_pad_matches_torch(case, seed):
    mode, shape, flat, value = case
    torch.manual_seed(seed)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    kwargs = {} if value is None else {"value": value}
    out = pad(x, flat, mode=mode, **kwargs)
    expected = F.pad(x_ref, flat, mode=mode, **kwargs)
    torch.testing.assert_close(out, expected, rtol=0, atol=0)
    g = torch.randn_like(expected)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("flat", [(2, 1), (1, 0, 2, 2), (0, 1, 1, 2, 2, 0)])
def test_gradcheck(mode, flat):
    shape = (2, 3, 3, 4)[4 - len(flat) // 2 - 1:]              # unbatched (C, *spatial)
    x = torch.randn(shape, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pad(t, flat, mode=mode), (x,))


def test_gradcheck_constant_crop():
    x = torch.randn(2, 5, 4, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: pad(t, (-1, 2, 1, -2), value=1.5), (x,))


def test_docstring_table():
    """The four modes on the row [1, 2, 3] padded by two, as in the module docstring."""
    x = torch.tensor([[[1., 2., 3.]]])
    rows = {mode: pad(x, (2, 2), mode=mode)[0, 0].tolist() for mode in MODES}
    assert rows == {
        "constant": [0, 0, 1, 2, 3, 0, 0],
        "reflect": [3, 2, 1, 2, 3, 2, 1],
        "replicate": [1, 1, 1, 2, 3, 3, 3],
        "circular": [2, 3, 1, 2, 3, 1, 2],
    }


def test_edge_gradients_accumulate():
    """Replicate copies the edge element three times, so it collects three gradients."""
    x = torch.tensor([[1., 2., 3.]], requires_grad=True)
    pad(x, (2, 0), mode="replicate").sum().backward()
    assert x.grad.tolist() == [[3., 1., 1.]]


def test_follows_input_dtype():
    x = torch.arange(6, dtype=torch.float32).view(1, 2, 3)
    for mode in MODES:
        assert pad(x, (1, 1), mode=mode).dtype == torch.float32
    assert pad(torch.arange(3).view(1, 3), (1, 1), value=7).tolist() == [[7, 0, 1, 2, 7]]


def test_zero_padding_returns_copy():
    x = torch.randn(1, 2, 3)
    for mode in MODES:
        out = pad(x, (0, 0), mode=mode)
        assert torch.equal(out, x) and out.data_ptr() != x.data_ptr()


@pytest.mark.parametrize("shape, flat, kwargs, match", [
    ((1, 2, 3), (1,), {}, r"pad=\(1,\) has length 1, which is odd"),
    ((1, 2, 3), (1, 1, 1, 1, 1, 1, 1, 1), {}, r"pads 4 dimensions, but input has only 3"),
    ((1, 2, 3), (1, 1), {"mode": "zeros"}, r"mode='zeros' must be one of"),
    ((1, 2, 3), (1, 1), {"mode": "reflect", "value": 1.0},
     r"value=1.0 is only used by mode='constant', not mode='reflect'"),
    ((1, 2, 3), (3, 0), {"mode": "reflect"},
     r"reflect padding must be smaller than the padded dimension: got padding \(3, 0\) "
     r"for dimension 2 of size 3"),
    ((1, 2, 3), (-1, 1), {"mode": "circular"}, r"circular padding must be non-negative"),
    ((1, 2, 3), (4, 0), {"mode": "circular"}, r"circular padding must be at most"),
    ((3,), (1, 1), {"mode": "reflect"}, r"needs a \(k\+1\)-D or \(k\+2\)-D input.*1-D"),
    ((1, 1, 2, 3), (1, 1), {"mode": "replicate"}, r"length 2 and a 4-D input"),
    ((1, 2, 0), (1, 1), {"mode": "replicate"}, r"needs a non-empty dimension 2"),
    ((1, 2, 3), (-2, -1), {"mode": "replicate"}, r"crops dimension 2 of size 3 to 0"),
    ((1, 2, 3), (-4, 0), {}, r"crops a dimension of size 3 to -1 elements"),
    # torch crops before it pads: cropping 3 of 2 fails though the total (1) is positive
    ((1, 2), (-3, 2), {}, r"crops a dimension of size 2 by 3 elements, more than it has"),
    ((1, 2, 3), (0, 3), {"mode": "reflect"},
     r"got padding \(0, 3\) for dimension 2 of size 3"),
    ((2, 0, 5), (1, 1), {"mode": "reflect"},
     r"needs non-empty channel and padded dimensions .* shape \(2, 0, 5\) with 0 channels"),
    ((3, 0), (1, 1), {"mode": "replicate"},
     r"needs non-empty channel and padded dimensions .* shape \(3, 0\) with 3 channels"),
])
def test_invalid_arguments(shape, flat, kwargs, match):
    with pytest.raises(ValueError, match=match):
        pad(torch.zeros(shape), flat, **kwargs)


@pytest.mark.parametrize("mode", ["reflect", "replicate"])
def test_empty_batch_is_allowed(mode):
    """Only the batch may be empty: the result is torch's, an empty padded batch."""
    x = torch.zeros(0, 3, 5)
    assert pad(x, (1, 1), mode=mode).shape == F.pad(x, (1, 1), mode=mode).shape == (0, 3, 7)


@pytest.mark.parametrize("flat", [(1.5, 1), "11", (True, 1)])
def test_pad_must_be_ints(flat):
    with pytest.raises(TypeError, match=r"must be a tuple or list of ints"):
        pad(torch.zeros(1, 2, 3), flat)
