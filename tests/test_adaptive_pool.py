"""Scratch adaptive average and max pooling against torch: values, indices, gradients."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import DT, assert_same_as_torch, tensors

from cnnlessons.scratch.adaptive_pool import (
    AdaptiveAvgPool1d,
    AdaptiveAvgPool2d,
    AdaptiveMaxPool1d,
    AdaptiveMaxPool2d,
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
)

SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def pool_args(draw, dims):
    """A batched or unbatched input with 1-9 per spatial dimension, and an output size
    smaller, equal or larger than it (``None`` keeps a size)."""
    spatial = [draw(st.integers(1, 9)) for _ in range(dims)]
    lead = draw(st.sampled_from([(2, 3), (3,)]))
    x = draw(tensors((*lead, *spatial)))
    if draw(st.booleans()):
        x = x.round()  # ties: the first maximum wins, in both
    out = [draw(st.integers(1, 11)) for _ in range(dims)]
    if dims == 2 and draw(st.booleans()):
        out[draw(st.integers(0, 1))] = None
    size = out[0] if dims == 1 or (out[0] == out[1] and draw(st.booleans())) else tuple(out)
    return x, size


@pytest.mark.parametrize("ours, theirs, dims", [
    (adaptive_avg_pool1d, F.adaptive_avg_pool1d, 1),
    (adaptive_avg_pool2d, F.adaptive_avg_pool2d, 2),
    (adaptive_max_pool1d, F.adaptive_max_pool1d, 1),
    (adaptive_max_pool2d, F.adaptive_max_pool2d, 2),
])
@SETTINGS
@given(data=st.data())
def test_matches_torch(ours, theirs, dims, data):
    x, size = data.draw(pool_args(dims))
    assert_same_as_torch(lambda t: ours(t, size), lambda t: theirs(t, size), x)


@pytest.mark.parametrize("ours, theirs, dims", [
    (adaptive_max_pool1d, F.adaptive_max_pool1d, 1),
    (adaptive_max_pool2d, F.adaptive_max_pool2d, 2),
])
@SETTINGS
@given(data=st.data())
def test_indices_are_torchs(ours, theirs, dims, data):
    x, size = data.draw(pool_args(dims))
    out, idx = ours(x, size, return_indices=True)
    expected, expected_idx = theirs(x, size, return_indices=True)
    assert torch.equal(out, expected) and torch.equal(idx, expected_idx)
    assert idx.dtype == torch.int64


@pytest.mark.parametrize("fn", [adaptive_avg_pool2d, adaptive_max_pool2d])
def test_gradcheck(fn):
    x = torch.randn(2, 2, 5, 7, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fn(t, (3, 4)), (x,))


def test_hand_checkable_windows():
    # L = 5, O = 3: windows [0, 2), [1, 4), [3, 5)
    x = torch.tensor([[[1.0, 2.0, 3.0, 4.0, 5.0]]])
    assert adaptive_avg_pool1d(x, 3).tolist() == [[[1.5, 3.0, 4.5]]]
    assert adaptive_max_pool1d(x, 3).tolist() == [[[2.0, 4.0, 5.0]]]


@pytest.mark.parametrize("output_size", [(3, 4), (2, 2), (5, 7)])
def test_average_of_inf_and_nan_stays_in_its_windows(output_size):
    # A window average of matrices multiplies an inf outside the window by 0 (NaN); the
    # non-finite path averages each window's own slice, as torch does: an inf or NaN
    # reaches exactly the windows that contain it (overlapping ones included).
    x = torch.randn(2, 2, 5, 7, dtype=DT)
    x[0, 0, 0, 0], x[0, 1, 4, 6], x[1, 0, 2, 3] = torch.inf, -torch.inf, torch.nan
    x[1, 1, 1, 1], x[1, 1, 1, 2] = torch.inf, -torch.inf          # inf - inf = NaN
    ours = adaptive_avg_pool2d(x, output_size)
    torch.testing.assert_close(ours, F.adaptive_avg_pool2d(x, output_size), equal_nan=True)
    assert ours.isfinite().any(), "only the windows holding a non-finite value are"


@pytest.mark.parametrize("fn", [adaptive_avg_pool2d, adaptive_max_pool2d])
def test_errors(fn):
    with pytest.raises(ValueError, match=r"input has shape \(4, 4\) \(2-D\); expected a 4-D"):
        fn(torch.randn(4, 4), 2)
    with pytest.raises(ValueError, match="output_size=0 must be positive"):
        fn(torch.randn(1, 1, 4, 4), (0, 2))
    with pytest.raises(ValueError, match=r"output_size=\(1, 2, 3\) must be an int or a tuple of 2"):
        fn(torch.randn(1, 1, 4, 4), (1, 2, 3))
    # an integer input's message: tests/test_error_messages.py, for every function
    with pytest.raises(TypeError, match=rf"^{fn.__name__}: input must be a torch.Tensor, not list"):
        fn([[[[1.0]]]], 1)
    with pytest.raises(ValueError, match="non-empty channel and spatial dimensions"):
        fn(torch.randn(1, 1, 0, 4), 2)


@pytest.mark.parametrize("ours, theirs", [
    (AdaptiveAvgPool1d(3), torch.nn.AdaptiveAvgPool1d(3)),
    (AdaptiveAvgPool2d((3, None)), torch.nn.AdaptiveAvgPool2d((3, None))),
    (AdaptiveMaxPool1d(4), torch.nn.AdaptiveMaxPool1d(4)),
    (AdaptiveMaxPool2d(2, return_indices=True), torch.nn.AdaptiveMaxPool2d(2, return_indices=True)),
])
def test_modules_match_torch(ours, theirs):
    assert repr(ours) == repr(theirs)
    x = torch.randn(2, 3, 7, 5, dtype=DT) if "2d" in type(ours).__name__ else \
        torch.randn(2, 3, 7, dtype=DT)
    torch.testing.assert_close(ours(x), theirs(x))  # compares (output, indices) pairs too
