"""Scratch nll_loss / cross_entropy / mse_loss and their modules against torch."""
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import DT, assert_same_as_torch, tensors, torch_mse_loss

from cnnlessons.scratch.loss import (
    CrossEntropyLoss,
    MSELoss,
    NLLLoss,
    cross_entropy,
    mse_loss,
    nll_loss,
)

SETTINGS = settings(max_examples=40, deadline=None)
REDUCTIONS = st.sampled_from(["mean", "sum", "none"])


@st.composite
def class_problems(draw):
    """Scores, int64 targets (some ignored), optional class weights, a reduction."""
    n, c = draw(st.integers(1, 4)), draw(st.integers(1, 5))
    extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))  # (N, C, d1, d2)
    unbatched = not extra and draw(st.booleans())  # (C,) with a 0-D target
    in_shape, t_shape = ((c,), ()) if unbatched else ((n, c) + extra, (n,) + extra)
    ignore_index = draw(st.sampled_from([-100, 0, c - 1, 7]))  # 7: never a class here
    labels = st.one_of(st.integers(0, c - 1), st.just(ignore_index))
    k = math.prod(t_shape)
    target = torch.tensor(draw(st.lists(labels, min_size=k, max_size=k)), dtype=torch.long)
    weight = draw(st.none() | tensors((c,), 0.1, 3.0))
    scale = draw(st.sampled_from([1.0, 100.0]))
    shift = draw(st.sampled_from([0.0, 1000.0]))  # logits of 1000 must stay finite
    x = draw(tensors(in_shape)) * scale + shift
    return x, target.reshape(t_shape), weight, ignore_index, draw(REDUCTIONS)


@SETTINGS
@given(class_problems())
def test_nll_loss_matches_torch(problem):
    x, target, weight, ignore_index, reduction = problem
    x = F.log_softmax(x, dim=0 if x.dim() == 1 else 1)  # log-probabilities, as in use

    def call(f):
        return lambda inp: f(inp, target, weight, ignore_index=ignore_index, reduction=reduction)
    assert_same_as_torch(call(nll_loss), call(F.nll_loss), x)


@SETTINGS
@given(class_problems(), st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0]))
def test_cross_entropy_matches_torch(problem, label_smoothing):
    x, target, weight, ignore_index, reduction = problem

    def call(f):
        return lambda inp: f(inp, target, weight, ignore_index=ignore_index,
                             reduction=reduction, label_smoothing=label_smoothing)
    assert_same_as_torch(call(cross_entropy), call(F.cross_entropy), x)


@st.composite
def probability_problems(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    c = shape[0] if len(shape) == 1 else shape[1]
    return (draw(tensors(shape)) * draw(st.sampled_from([1.0, 1000.0])),
            draw(tensors(shape, 0.0, 1.0)), draw(tensors((c,), 0.1, 3.0)),
            draw(st.booleans()), draw(REDUCTIONS), draw(st.sampled_from([0.0, 0.2])))


@SETTINGS
@given(probability_problems())
def test_cross_entropy_probability_targets_match_torch(problem):
    x, q, weight, weighted, reduction, ls = problem

    def call(f):
        if weighted:  # the weight's gradient is compared too
            return lambda a, b, w: f(a, b, w, reduction=reduction, label_smoothing=ls)
        return lambda a, b: f(a, b, reduction=reduction, label_smoothing=ls)
    inputs = (x, q, weight) if weighted else (x, q)
    assert_same_as_torch(call(cross_entropy), call(F.cross_entropy), *inputs)


@st.composite
def regression_problems(draw):
    shape = tuple(draw(st.lists(st.integers(1, 3), max_size=3)))
    weight = draw(st.none() | tensors(shape, 0.1, 3.0))
    return draw(tensors(shape)), draw(tensors(shape)), weight, draw(REDUCTIONS)


@SETTINGS
@given(regression_problems())
def test_mse_loss_matches_torch(problem):
    x, y, weight, reduction = problem
    if weight is None:
        assert_same_as_torch(lambda a, b: mse_loss(a, b, reduction=reduction),
                             lambda a, b: F.mse_loss(a, b, reduction=reduction), x, y)
    else:
        assert_same_as_torch(lambda a, b, w: mse_loss(a, b, reduction=reduction, weight=w),
                             lambda a, b, w: torch_mse_loss(a, b, reduction, weight=w),
                             x, y, weight)


def test_weighted_mean_is_divided_by_the_target_weights():
    logp = torch.log(torch.tensor([[0.5, 0.5], [0.25, 0.75], [0.1, 0.9]], dtype=DT))
    target, weight = torch.tensor([0, 1, -100]), torch.tensor([2.0, 6.0], dtype=DT)
    expected = (2 * math.log(2) + 6 * -math.log(0.75)) / (2 + 6)  # the 3rd is ignored
    assert nll_loss(logp, target, weight).item() == pytest.approx(expected)


def test_all_targets_ignored_gives_nan_mean_and_zero_grad_like_torch():
    x = torch.randn(3, 4, dtype=DT, requires_grad=True)
    target = torch.full((3,), -100)
    loss = cross_entropy(x, target)
    assert torch.isnan(loss) and torch.isnan(F.cross_entropy(x, target))
    loss.backward()
    assert torch.equal(x.grad, torch.zeros_like(x))
    assert nll_loss(x, target, reduction="sum").item() == 0.0


def test_uint8_targets_accepted_like_torch():
    x, target = torch.randn(3, 4, dtype=DT), torch.tensor([0, 3, 1], dtype=torch.uint8)
    torch.testing.assert_close(cross_entropy(x, target), F.cross_entropy(x, target))


def test_float32_dtype_preserved():
    x, target = torch.randn(5, 3) * 1000, torch.tensor([0, 1, 2, 1, 0])
    for ours, theirs in [(cross_entropy, F.cross_entropy), (nll_loss, F.nll_loss)]:
        out = ours(x, target)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, theirs(x, target))


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_nll_loss(reduction):
    x = torch.randn(4, 3, 2, dtype=DT, requires_grad=True)
    target = torch.tensor([[0, 2], [1, -100], [2, 2], [0, 1]])
    weight = torch.tensor([0.5, 2.0, 1.0], dtype=DT)
    assert torch.autograd.gradcheck(
        lambda t: nll_loss(t, target, weight, reduction=reduction), (x,))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_cross_entropy_with_smoothing(reduction):
    x = torch.randn(5, 4, dtype=DT, requires_grad=True)
    target = torch.tensor([0, 3, -100, 1, 3])
    weight = torch.tensor([0.5, 2.0, 1.0, 1.5], dtype=DT)
    assert torch.autograd.gradcheck(
        lambda t: cross_entropy(t, target, weight, reduction=reduction, label_smoothing=0.2),
        (x,))


def test_gradcheck_cross_entropy_probabilities():
    x = torch.randn(3, 4, dtype=DT, requires_grad=True)
    q = torch.rand(3, 4, dtype=DT, requires_grad=True)
    w = torch.rand(4, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: cross_entropy(a, b, c), (x, q, w))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_mse_loss(reduction):
    x, y, w = (torch.randn(3, 4, dtype=DT, requires_grad=True) for _ in range(3))
    assert torch.autograd.gradcheck(lambda a, b: mse_loss(a, b, reduction=reduction), (x, y))
    assert torch.autograd.gradcheck(
        lambda a, b, c: mse_loss(a, b, reduction=reduction, weight=c), (x, y, w))


# ---------------------------------------------------------------- deprecated arguments


@pytest.mark.parametrize("size_average, reduce",
                         [p for p in itertools.product([None, True, False], repeat=2)
                          if p != (None, None)])
def test_legacy_size_average_reduce_follow_torch(size_average, reduce):
    x, target = torch.randn(4, 3, dtype=DT), torch.tensor([0, 2, 1, 2])
    kwargs = {"size_average": size_average, "reduce": reduce}
    for ours, theirs, y in [(nll_loss, F.nll_loss, target),
                            (cross_entropy, F.cross_entropy, target),
                            (mse_loss, F.mse_loss, x.flip(0))]:
        with pytest.warns(UserWarning, match="size_average and reduce args will be deprecated"):
            out = ours(x, y, **kwargs)
        with pytest.warns(UserWarning):
            torch.testing.assert_close(out, theirs(x, y, **kwargs))
    with pytest.warns(UserWarning):
        ours_module = NLLLoss(**kwargs)
    with pytest.warns(UserWarning):
        assert ours_module.reduction == torch.nn.NLLLoss(**kwargs).reduction


def test_elementwise_mean_is_a_deprecated_mean():
    x, y = torch.randn(3, dtype=DT), torch.randn(3, dtype=DT)
    with pytest.warns(UserWarning, match="elementwise_mean' is deprecated"):
        torch.testing.assert_close(mse_loss(x, y, reduction="elementwise_mean"), F.mse_loss(x, y))


# ---------------------------------------------------------------- bad arguments


X, T = torch.randn(4, 10), torch.tensor([1, 2, 3, 4])


@pytest.mark.parametrize("fn", [nll_loss, cross_entropy])
@pytest.mark.parametrize("kwargs, error, match", [
    ({"target": torch.tensor([1, 2, 10, 4])}, ValueError,
     r"target contains 10, but input has 10 classes: targets must be in \[0, 9\]"),
    ({"target": torch.tensor([1, -1, 3, 4])}, ValueError, r"target contains -1, .*\[0, 9\]"),
    ({"target": torch.tensor([1, 2, 3])}, ValueError,
     r"target has shape \(3,\) but input of shape \(4, 10\) needs target shape \(4,\)"),
    ({"target": T.int()}, TypeError, "target has dtype torch.int32; class indices must be int64"),
    ({"weight": torch.ones(9)}, ValueError, r"weight has shape \(9,\); expected \(10,\)"),
    ({"weight": torch.ones(10, dtype=DT)}, TypeError, "weight has dtype torch.float64"),
    ({"weight": torch.ones(10, requires_grad=True)}, ValueError, "weight requires grad"),
    ({"reduction": "avg"}, ValueError,
     r"reduction='avg' is not valid: use 'none', 'mean' or 'sum'"),
    ({"input": torch.tensor(1.0)}, ValueError, "input is 0-D"),
    ({"input": torch.ones(4, 10, dtype=torch.long)}, TypeError, "input has dtype torch.int64"),
])
def test_class_losses_bad_arguments(fn, kwargs, error, match):
    args = {"input": X, "target": T, **kwargs}
    with pytest.raises(error, match=match):
        fn(**args)


def test_nll_loss_rejects_float_target_and_unbatched_shape():
    with pytest.raises(TypeError, match="class probabilities, which only cross_entropy accepts"):
        nll_loss(X, T.double())
    with pytest.raises(ValueError, match=r"target has shape \(1,\) but input of shape \(10,\) "
                                         r"needs target shape \(\)"):
        nll_loss(X[0], T[:1])


@pytest.mark.parametrize("kwargs, match", [
    ({"label_smoothing": 1.5}, r"label_smoothing=1.5 must be in \[0, 1\]"),
    ({"label_smoothing": -0.1}, r"label_smoothing=-0.1 must be in \[0, 1\]"),
    ({"target": torch.rand(4, 9)}, r"floating target of shape \(4, 9\) .* input's shape \(4, 10\)"),
    ({"target": torch.rand(4, 10), "ignore_index": 1}, "ignore_index=1 is not supported"),
])
def test_cross_entropy_bad_arguments(kwargs, match):
    args = {"input": X, "target": T, **kwargs}
    with pytest.raises(ValueError, match=match):
        cross_entropy(**args)


def test_mse_loss_bad_arguments():
    x = torch.randn(4, 1)
    with pytest.raises(ValueError, match=r"target has shape \(4,\) but input has shape \(4, 1\)"):
        mse_loss(x, torch.randn(4))  # torch would broadcast to (4, 4)
    with pytest.raises(ValueError, match=r"weight has shape \(4,\); it must have the input's"):
        mse_loss(x, x, weight=torch.ones(4))
    with pytest.raises(ValueError, match="reduction='total' is not valid"):
        mse_loss(x, x, reduction="total")
    with pytest.raises(TypeError, match="target has dtype torch.int64"):
        mse_loss(x, torch.ones(4, 1, dtype=torch.long))


# ---------------------------------------------------------------- modules


@pytest.mark.parametrize("ours, theirs", [
    (NLLLoss(weight=torch.ones(5, dtype=DT)),
     torch.nn.NLLLoss(weight=torch.rand(5, dtype=DT), ignore_index=1, reduction="sum")),
    (NLLLoss(), torch.nn.NLLLoss()),
    (CrossEntropyLoss(weight=torch.ones(5, dtype=DT)),
     torch.nn.CrossEntropyLoss(weight=torch.rand(5, dtype=DT), label_smoothing=0.1)),
    (CrossEntropyLoss(), torch.nn.CrossEntropyLoss(reduction="none")),
])
def test_class_loss_modules_load_torch_state_and_agree(ours, theirs):
    assert repr(ours) == repr(theirs)
    assert dict(ours.named_buffers()).keys() == dict(theirs.named_buffers()).keys()
    ours.load_state_dict(theirs.state_dict())
    # the constructor's plain attributes are not in the state_dict: copy them over
    ours.ignore_index, ours.reduction = theirs.ignore_index, theirs.reduction
    ours.label_smoothing = getattr(theirs, "label_smoothing", 0.0)
    x = torch.randn(6, 5, dtype=DT) * 10
    if isinstance(ours, NLLLoss):
        x = F.log_softmax(x, 1)
    target = torch.tensor([0, 1, 4, 1, 3, 2])
    assert_same_as_torch(lambda a: ours(a, target), lambda a: theirs(a, target), x)


@pytest.mark.parametrize("kwargs", [{}, {"ignore_index": 3, "label_smoothing": 0.3,
                                         "reduction": "sum"}])
def test_cross_entropy_module_constructor_matches_torch(kwargs):
    ours, theirs = CrossEntropyLoss(**kwargs), torch.nn.CrossEntropyLoss(**kwargs)
    assert (ours.ignore_index, ours.reduction, ours.label_smoothing, ours.weight) == \
        (theirs.ignore_index, theirs.reduction, theirs.label_smoothing, theirs.weight)
    x, target = torch.randn(4, 5, dtype=DT), torch.tensor([3, 0, 4, 3])
    torch.testing.assert_close(ours(x, target), theirs(x, target))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_MSELoss_matches_torch(reduction):
    ours, theirs = MSELoss(reduction=reduction), torch.nn.MSELoss(reduction=reduction)
    assert repr(ours) == repr(theirs) == "MSELoss()"
    ours.load_state_dict(theirs.state_dict())
    x, y = torch.randn(3, 4, dtype=DT), torch.randn(3, 4, dtype=DT)
    assert_same_as_torch(ours, theirs, x, y)


@pytest.mark.filterwarnings("ignore:size_average and reduce args will be deprecated")
@pytest.mark.parametrize("kwargs", [{"size_average": False}, {"reduce": False}])
def test_cross_entropy_module_keeps_the_deprecated_arguments(kwargs):
    x = torch.randn(4, 3, dtype=DT)
    t = torch.tensor([0, 1, 2, 1])
    torch.testing.assert_close(CrossEntropyLoss(**kwargs)(x, t),
                               torch.nn.CrossEntropyLoss(**kwargs)(x, t))


def test_cross_entropy_probability_targets_name_the_function_in_errors():
    with pytest.raises(TypeError, match=r"^cross_entropy: input has dtype torch.int64"):
        cross_entropy(torch.ones(2, 3, dtype=torch.long), torch.rand(2, 3))
    with pytest.raises(ValueError, match=r"^cross_entropy: "):
        cross_entropy(torch.ones(2, 3), torch.rand(2, 3), weight=torch.ones(2))
