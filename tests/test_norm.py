"""Scratch batch normalisation against torch.nn.functional.batch_norm / torch.nn.BatchNorm*d."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import TORCH_BATCH_NORM_HAS_BIAS, torch_batch_norm
from torch.autograd import gradcheck

from cnnlessons.scratch.norm import BatchNorm1d, BatchNorm2d, batch_norm

DT = torch.float64
SETTINGS = settings(max_examples=35, deadline=None)


def randn(gen, *shape, requires_grad=False):
    return torch.randn(*shape, generator=gen, dtype=DT).requires_grad_(requires_grad)


@st.composite
def bn_shapes(draw, ndim=None):
    """An (N, C, *spatial) shape with at least 2 values per channel."""
    ndim = draw(st.sampled_from([2, 3, 4])) if ndim is None else ndim
    spatial = tuple(draw(st.integers(1, 3)) for _ in range(ndim - 2))
    min_n = 2 if torch.Size(spatial).numel() == 1 else 1
    return (draw(st.integers(min_n, 4)), draw(st.integers(1, 3))) + spatial


@SETTINGS
@given(
    shape=bn_shapes(),
    training=st.booleans(),
    with_stats=st.booleans(),
    with_weight=st.booleans(),
    with_bias=st.booleans(),
    momentum=st.floats(0.0, 1.0),
    eps=st.sampled_from([1e-5, 1e-3, 0.5]),
    frozen=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_batch_norm_matches_torch(shape, training, with_stats, with_weight, with_bias, momentum,
                                  eps, frozen, seed):
    """frozen: weight and bias do not require grad (only the input gradient is asked for)."""
    with_stats = with_stats or not training  # evaluation mode needs running statistics
    gen = torch.Generator().manual_seed(seed)
    C = shape[1]
    x = randn(gen, *shape) * 3 + 1
    w = randn(gen, C) if with_weight else None
    b = randn(gen, C) if with_bias else None
    rm = randn(gen, C) if with_stats else None
    rv = (randn(gen, C).abs() + 0.1) if with_stats else None
    g = randn(gen, *shape)

    def run(fn):
        xs = x.clone().requires_grad_()
        ws = w.clone().requires_grad_(not frozen) if w is not None else None
        bs = b.clone().requires_grad_(not frozen) if b is not None else None
        rms = rm.clone() if rm is not None else None
        rvs = rv.clone() if rv is not None else None
        out = fn(xs, rms, rvs, ws, bs, training=training, momentum=momentum, eps=eps)
        out.backward(g)
        grads = [t.grad for t in (xs, ws, bs) if t is not None]
        assert all(gr is not None for gr in grads) or frozen
        return out, rms, rvs, grads

    ours, theirs = run(batch_norm), run(F.batch_norm)
    torch.testing.assert_close(ours[0], theirs[0])
    for a, t in zip(ours[1:3], theirs[1:3]):  # running stats, updated in place (or not)
        if t is None:
            assert a is None
        else:
            torch.testing.assert_close(a, t)
    for a, t in zip(ours[3], theirs[3]):
        torch.testing.assert_close(a, t)  # None == None for frozen weight and bias


def test_running_stats_by_hand():
    """x = [[1], [3]]: mean 2, biased variance 1, unbiased variance 2."""
    x = torch.tensor([[1.0], [3.0]], dtype=DT)
    rm, rv = torch.zeros(1, dtype=DT), torch.ones(1, dtype=DT)
    out = batch_norm(x, rm, rv, training=True, momentum=0.1, eps=1e-12)
    torch.testing.assert_close(out, torch.tensor([[-1.0], [1.0]], dtype=DT))
    torch.testing.assert_close(rm, torch.tensor([0.2], dtype=DT))
    torch.testing.assert_close(rv, torch.tensor([0.9 + 0.1 * 2.0], dtype=DT))


@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("ndim", [2, 3, 4])
def test_gradcheck(training, ndim):
    gen = torch.Generator().manual_seed(ndim)
    shape = (3, 2) + (2,) * (ndim - 2)
    x = randn(gen, *shape, requires_grad=True)
    w = randn(gen, 2, requires_grad=True)
    b = randn(gen, 2, requires_grad=True)
    rm, rv = randn(gen, 2), randn(gen, 2).abs() + 0.5

    # Fresh copies of the buffers on every call: gradcheck evaluates many times and the
    # running statistics must not drift between evaluations.
    def f(x, w, b):
        return batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)

    assert gradcheck(f, (x, w, b))
    assert gradcheck(lambda x: batch_norm(x, None if training else rm, None if training else rv,
                                          training=training), (x,))


@st.composite
def module_cases(draw):
    cls = draw(st.sampled_from(["BatchNorm1d", "BatchNorm2d"]))
    ndim = 4 if cls == "BatchNorm2d" else draw(st.sampled_from([2, 3]))
    shape = draw(bn_shapes(ndim))
    kwargs = dict(
        momentum=draw(st.sampled_from([None, 0.1, 0.5, 1.0])),
        affine=draw(st.booleans()),
        track_running_stats=draw(st.booleans()),
        eps=draw(st.sampled_from([1e-5, 1e-2])),
        bias=draw(st.booleans()),
    )
    return cls, shape, kwargs, draw(st.integers(0, 2**31 - 1))


@settings(max_examples=25, deadline=None)
@given(case=module_cases())
def test_module_matches_torch(case):
    cls, shape, kwargs, seed = case
    ours = {"BatchNorm1d": BatchNorm1d, "BatchNorm2d": BatchNorm2d}[cls](shape[1], dtype=DT,
                                                                         **kwargs)
    theirs = torch_batch_norm(cls, shape[1], dtype=DT, **kwargs)
    gen = torch.Generator().manual_seed(seed)
    if kwargs["affine"]:  # move away from the (1, 0) init so the parameters matter
        with torch.no_grad():
            for p in theirs.parameters():
                p.copy_(randn(gen, *p.shape))
    ours.load_state_dict(theirs.state_dict())

    for step in range(4):  # several training steps: running averages, momentum=None counter
        x = randn(gen, *shape) * (step + 1) + step
        g = randn(gen, *shape)
        xo, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
        out_o, out_t = ours(xo), theirs(xt)
        torch.testing.assert_close(out_o, out_t)
        out_o.backward(g)
        out_t.backward(g)
        torch.testing.assert_close(xo.grad, xt.grad)
        for (name, po), pt in zip(ours.named_parameters(), theirs.parameters()):
            torch.testing.assert_close(po.grad, pt.grad, msg=name)
        for (name, bo), bt in zip(ours.named_buffers(), theirs.buffers()):
            torch.testing.assert_close(bo, bt, msg=name)

    ours.eval(), theirs.eval()
    x = randn(gen, *shape)
    torch.testing.assert_close(ours(x), theirs(x))
    assert ours.num_batches_tracked == theirs.num_batches_tracked  # eval does not count

    # And back: torch loads our state and agrees in evaluation mode.
    fresh = torch_batch_norm(cls, shape[1], dtype=DT, **kwargs).eval()
    fresh.load_state_dict(ours.state_dict())
    torch.testing.assert_close(fresh(x), ours(x))


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
@pytest.mark.parametrize(
    "kwargs",
    [{}, dict(momentum=None), dict(affine=False), dict(track_running_stats=False),
     dict(eps=1e-3, bias=False)],
)
def test_module_layout_repr_and_init(cls, kwargs):
    ours = {"BatchNorm1d": BatchNorm1d, "BatchNorm2d": BatchNorm2d}[cls](5, **kwargs)
    theirs = torch_batch_norm(cls, 5, **kwargs)
    if TORCH_BATCH_NORM_HAS_BIAS or kwargs.get("bias", True):  # an older torch cannot say it
        assert repr(ours) == repr(theirs)
    so, st_ = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st_)
    for k in so:
        assert so[k].dtype == st_[k].dtype
        assert torch.equal(so[k], st_[k]), k
    assert so._metadata[""]["version"] == st_._metadata[""]["version"]
    # reset brings everything back to torch's initial values
    with torch.no_grad():
        for t in list(ours.parameters()) + [b for b in ours.buffers() if b.is_floating_point()]:
            t.add_(1)
    ours.reset_parameters()
    for k, v in ours.state_dict().items():
        assert torch.equal(v, st_[k]), k


def test_module_device_dtype():
    m = BatchNorm2d(3, dtype=torch.float64)
    assert m.weight.dtype == m.running_mean.dtype == torch.float64
    assert m.num_batches_tracked.dtype == torch.long


# ---------------------------------------------------------------- invalid arguments


def test_batch_norm_rejects_bad_arguments():
    x = torch.randn(4, 3, dtype=DT)
    rm, rv = torch.zeros(3, dtype=DT), torch.ones(3, dtype=DT)
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        batch_norm(torch.randn(1, 3, 1, 1), None, None, training=True)
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        batch_norm(torch.randn(1, 3), rm.float(), rv.float(), training=True)
    batch_norm(torch.randn(1, 3, dtype=DT), rm, rv, training=False)  # fine in evaluation
    with pytest.raises(ValueError, match=r"both be None or neither"):
        batch_norm(x, rm, None, training=True)
    with pytest.raises(ValueError, match=r"must be given when training=False"):
        batch_norm(x, None, None, training=False)
    with pytest.raises(ValueError, match=r"running_mean has 2 elements .* C=3"):
        batch_norm(x, torch.zeros(2, dtype=DT), torch.ones(2, dtype=DT), training=True)
    with pytest.raises(ValueError, match=r"weight has 4 elements .* C=3"):
        batch_norm(x, rm, rv, weight=torch.ones(4, dtype=DT))
    with pytest.raises(ValueError, match=r"bias has 1 elements .* C=3"):
        batch_norm(x, rm, rv, bias=torch.ones(1, dtype=DT))
    with pytest.raises(ValueError, match=r"input has shape \(3,\) \(1-D\)"):
        batch_norm(torch.randn(3), None, None, training=True)
    with pytest.raises(ValueError, match=r"eps=0.0 must be positive during training"):
        batch_norm(x, rm, rv, training=True, eps=0.0)
    with pytest.raises(ValueError, match=r"eps=-1.0 must be non-negative"):
        batch_norm(x, rm, rv, training=False, eps=-1.0)
    with pytest.raises(ValueError, match=r"running_mean requires grad"):
        batch_norm(x, rm.clone().requires_grad_(), rv, training=False)


def test_modules_reject_bad_input():
    with pytest.raises(ValueError, match=r"BatchNorm2d expects 4-D input \(N, C, H, W\), got 3-D"):
        BatchNorm2d(3)(torch.randn(3, 4, 4))
    with pytest.raises(ValueError, match=r"BatchNorm1d expects 2-D input .* got 4-D"):
        BatchNorm1d(3)(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError,
                       match=r"num_features=3\) got input of shape \(2, 4, 5, 5\) with 4 channels"):
        BatchNorm2d(3)(torch.randn(2, 4, 5, 5))
    with pytest.raises(ValueError, match=r"more than 1 value per channel"):
        BatchNorm1d(3)(torch.randn(1, 3))
    BatchNorm1d(3).eval()(torch.randn(1, 3))  # a single sample is fine in evaluation
    with pytest.raises(ValueError, match=r"num_features=0 must be positive"):
        BatchNorm1d(0)


@pytest.mark.parametrize("mixed", [False, True])
@pytest.mark.parametrize("training", [True, False])
def test_float16_matches_torch(training, mixed):
    """float16 input, float16 (or float32: mixed) parameters and buffers, values far from 0:
    the statistics must be computed in float32 and rounded where torch rounds them.
    """
    gen = torch.Generator().manual_seed(0)
    pd = torch.float32 if mixed else torch.float16
    x = (torch.randn(8, 3, 5, generator=gen) * 30 + 1000).half()
    w, b = torch.randn(3, generator=gen).to(pd), torch.randn(3, generator=gen).to(pd)
    rm = (torch.randn(3, generator=gen) * 10 + 1000).to(pd)
    rv = (torch.rand(3, generator=gen) * 900 + 1).to(pd)
    g = torch.randn(8, 3, 5, generator=gen).half()

    def run(fn):
        xs, ws, bs = (t.clone().requires_grad_() for t in (x, w, b))
        rms, rvs = rm.clone(), rv.clone()
        out = fn(xs, rms, rvs, ws, bs, training=training, momentum=0.3, eps=1e-5)
        out.backward(g)
        return out, rms, rvs, xs.grad, ws.grad, bs.grad

    ours, theirs = run(batch_norm), run(F.batch_norm)
    for a, t in zip(ours, theirs):
        assert a.dtype == t.dtype
        torch.testing.assert_close(a, t)
    if not mixed:  # all float16: the buffers and gradients agree bit for bit
        for name, a, t in zip(["running_mean", "running_var", "dx", "dw", "db"], ours[1:],
                              theirs[1:]):
            assert torch.equal(a, t), name


@pytest.mark.parametrize("name", ["running_mean", "running_var", "weight", "bias"])
def test_batch_norm_messages_name_the_vector(name):
    """Each (C,) vector is named in its dtype, length and requires-grad errors."""
    x = torch.randn(4, 3, dtype=DT)
    good = dict(running_mean=torch.zeros(3, dtype=DT), running_var=torch.ones(3, dtype=DT),
                weight=torch.ones(3, dtype=DT), bias=torch.zeros(3, dtype=DT))
    with pytest.raises(TypeError, match=rf"batch_norm: {name} has dtype torch.float32 but "
                                        r"input has dtype torch.float64"):
        batch_norm(x, **{**good, name: good[name].float()}, training=True)
    with pytest.raises(ValueError, match=rf"^{name} has 2 elements .* C=3 channels"):
        batch_norm(x, **{**good, name: good[name][:2]}, training=True)
    if name.startswith("running"):
        with pytest.raises(ValueError, match=rf"^{name} requires grad"):
            batch_norm(x, **{**good, name: good[name].clone().requires_grad_()})


def test_batch_norm_rejects_mixed_vector_dtypes():
    """A float16 input allows float16 or float32 vectors, but not both at once (as torch)."""
    x = torch.randn(4, 3).half()
    w, b = torch.ones(3), torch.zeros(3).half()
    with pytest.raises(RuntimeError):
        F.batch_norm(x, None, None, w, b, training=True)
    with pytest.raises(TypeError, match=r"have dtypes \['torch.float16', 'torch.float32'\]; "
                                        r"the given ones must share one dtype"):
        batch_norm(x, None, None, w, b, training=True)


def test_batch_norm_eval_defaults_and_zero_eps():
    """training defaults to False (the buffers are used, not updated); eps=0 is fine there."""
    gen = torch.Generator().manual_seed(0)
    x, rm, rv = randn(gen, 4, 3), randn(gen, 3), randn(gen, 3).abs() + 0.5
    rm0, rv0 = rm.clone(), rv.clone()
    torch.testing.assert_close(batch_norm(x, rm, rv), F.batch_norm(x, rm0, rv0))
    assert torch.equal(rm, rm0) and torch.equal(rv, rv0)
    torch.testing.assert_close(batch_norm(x, rm, rv, eps=0.0), F.batch_norm(x, rm, rv, eps=0.0))


def test_module_buffers_follow_device():
    """num_batches_tracked is created on the requested device, as the other buffers."""
    m = BatchNorm2d(3, device="meta")
    assert {t.device.type for t in m.state_dict().values()} == {"meta"}


@pytest.mark.parametrize("cls", ["BatchNorm1d", "BatchNorm2d"])
def test_module_tracking_switched_off_later(cls):
    """track_running_stats=False set after construction: training leaves the buffers alone,
    evaluation still uses them (torch's rule, buffers passed only to update or to use).
    """
    shape = (4, 3) if cls == "BatchNorm1d" else (4, 3, 2, 2)
    ours = {"BatchNorm1d": BatchNorm1d, "BatchNorm2d": BatchNorm2d}[cls](3, dtype=DT)
    theirs = torch_batch_norm(cls, 3, dtype=DT)
    gen = torch.Generator().manual_seed(1)
    ours(randn(gen, *shape)), theirs(randn(gen, *shape))  # some non-trivial statistics
    ours.load_state_dict(theirs.state_dict())
    ours.track_running_stats = theirs.track_running_stats = False
    x = randn(gen, *shape) * 2 + 1
    torch.testing.assert_close(ours(x), theirs(x))
    for (name, bo), bt in zip(ours.named_buffers(), theirs.buffers()):
        torch.testing.assert_close(bo, bt, msg=name)
    ours.eval(), theirs.eval()
    torch.testing.assert_close(ours(x), theirs(x))
