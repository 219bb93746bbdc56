"""Torch as the oracle: shared hypothesis strategies and comparisons for the layer tests."""
import inspect
import math

import torch
import torch.nn.functional as F
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


# ------------------------------------------------------------ older torch as the oracle
# The package supports torch 2.4 and later (pyproject.toml), while two arguments the
# scratch layers mirror arrived later: ``BatchNorm*d(bias=...)`` (torch 2.12) and
# ``F.mse_loss(weight=...)`` (torch 2.6). On an older torch the oracle for those two is
# built from what that torch has, so the comparison still runs rather than being skipped.

#: Whether the installed torch's ``BatchNorm*d`` takes ``bias=`` (and shows it in its repr).
TORCH_BATCH_NORM_HAS_BIAS = "bias" in inspect.signature(torch.nn.BatchNorm1d).parameters

#: Whether the installed torch's ``F.mse_loss`` takes ``weight=``.
TORCH_MSE_LOSS_HAS_WEIGHT = "weight" in inspect.signature(F.mse_loss).parameters


def torch_batch_norm(cls: str, num_features: int, bias: bool = True, **kwargs):
    """torch's ``BatchNorm1d``/``BatchNorm2d`` with ``bias=``: on a torch without the
    argument, an affine layer whose ``bias`` parameter is removed, which is what
    ``bias=False`` means (no ``bias`` key in the state dict, no shift in forward)."""
    module_class = getattr(torch.nn, cls)
    if TORCH_BATCH_NORM_HAS_BIAS:
        return module_class(num_features, bias=bias, **kwargs)
    module = module_class(num_features, **kwargs)
    if not bias and module.affine:
        module.register_parameter("bias", None)
    return module


def torch_mse_loss(input, target, reduction="mean", weight=None):
    """torch's ``F.mse_loss`` with ``weight=``; on a torch without the argument, its
    definition in torch 2.6+ from torch's unweighted elementwise loss: ``weight`` times
    the squared errors, ``'mean'`` divided by ``weight.sum()``."""
    if weight is None or TORCH_MSE_LOSS_HAS_WEIGHT:
        return F.mse_loss(input, target, reduction=reduction, weight=weight)
    losses = weight * F.mse_loss(input, target, reduction="none")
    return {"none": losses, "sum": losses.sum(), "mean": losses.sum() / weight.sum()}[reduction]
