"""Torch as the oracle: shared hypothesis strategies and comparisons for the layer tests."""
import math

import torch
from hypothesis import strategies as st

DT = torch.float64


@st.composite
def tensors(draw, shape, lo=-10.0, hi=10.0):
    """A float64 tensor of ``shape`` whose every entry hypothesis draws from [lo, hi]."""
    n = math.prod(shape)
    values = draw(st.lists(st.floats(lo, hi, allow_nan=False, width=64), min_size=n, max_size=n))
    return torch.tensor(values, dtype=DT).reshape(shape)


def assert_same_as_torch(ours, theirs, *inputs):
    """Same output (value, shape, dtype; NaN where torch has NaN) and, for a random
    upstream gradient, the same gradient for every input (torch leaves ``None`` where a
    gradient is identically zero, e.g. ``pairwise_distance`` with ``p=0``)."""
    mine = [t.detach().clone().requires_grad_() for t in inputs]
    ref = [t.detach().clone().requires_grad_() for t in inputs]
    out, expected = ours(*mine), theirs(*ref)
    assert out.shape == expected.shape and out.dtype == expected.dtype
    torch.testing.assert_close(out, expected, equal_nan=True)
    g = torch.randn_like(expected)
    out.backward(g)
    expected.backward(g)
    for a, b in zip(mine, ref):
        expected_grad = torch.zeros_like(b) if b.grad is None else b.grad
        torch.testing.assert_close(a.grad, expected_grad, equal_nan=True)
