"""Scratch pooling against torch: values, indices (ties and NaN too), gradients, repr, errors."""
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlessons.scratch.pool as scratch_pool
from cnnlessons.scratch.pool import (
    AvgPool1d,
    AvgPool2d,
    MaxPool1d,
    MaxPool2d,
    avg_pool1d,
    avg_pool2d,
    avg_pool2d_loop,
    max_pool1d,
    max_pool2d,
    max_pool2d_loop,
)
from cnnlessons.scratch.unpool import MaxUnpool1d, MaxUnpool2d, max_unpool1d, max_unpool2d

DT = torch.float64
SETTINGS = settings(max_examples=40, deadline=None)
OURS = {"max_pool1d": max_pool1d, "max_pool2d": max_pool2d,
        "avg_pool1d": avg_pool1d, "avg_pool2d": avg_pool2d}
OURS_UNPOOL = {1: max_unpool1d, 2: max_unpool2d}


# ---------------------------------------------------------------- strategies


def _as_arg(draw, values):
    """Pass ``[3, 3]`` as ``3`` or ``(3, 3)``, both of which torch accepts."""
    if len(set(values)) == 1 and draw(st.booleans()):
        return values[0]
    return tuple(values)


@st.composite
def pool_configs(draw, dims, kind):
    """Valid arguments for ``{kind}_pool{dims}d`` and an input shape with a non-empty output."""
    kernel = [draw(st.integers(1, 4)) for _ in range(dims)]
    dilation = [draw(st.integers(1, 3)) for _ in range(dims)] if kind == "max" else [1] * dims
    padding = [draw(st.integers(0, k // 2)) for k in kernel]
    stride = draw(st.one_of(st.none(), st.just([]),
                            st.lists(st.integers(1, 3), min_size=dims, max_size=dims)))
    # The padded input must hold one dilated window: size + 2p >= d*(k-1) + 1.
    sizes = [draw(st.integers(max(1, d * (k - 1) + 1 - 2 * p), d * (k - 1) + 7))
             for k, d, p in zip(kernel, dilation, padding)]
    lead = [draw(st.integers(1, 2))] if draw(st.booleans()) else []  # unbatched too
    kwargs = dict(kernel_size=_as_arg(draw, kernel),
                  stride=stride if not stride else _as_arg(draw, stride),
                  padding=_as_arg(draw, padding), ceil_mode=draw(st.booleans()))
    if kind == "max":
        kwargs["dilation"] = _as_arg(draw, dilation)
    else:
        kwargs["count_include_pad"] = draw(st.booleans())
        if dims == 2 and draw(st.booleans()):
            kwargs["divisor_override"] = draw(st.integers(-3, 5).filter(bool))
    return tuple(lead + [draw(st.integers(1, 3))] + sizes), kwargs


@st.composite
def distinct_tensors(draw, shape):
    """A float64 tensor of distinct values (a shuffled ramp): no ties, so argmax is unique."""
    n = 1
    for s in shape:
        n *= s
    perm = draw(st.permutations(range(n)))
    return (torch.tensor(perm, dtype=DT) - n / 2).reshape(shape) / n


@st.composite
def float_tensors(draw, shape, bound=10.0):
    """A float64 tensor of ``shape`` whose every entry hypothesis draws."""
    n = 1
    for s in shape:
        n *= s
    values = draw(st.lists(st.floats(-bound, bound, allow_nan=False, width=64),
                           min_size=n, max_size=n))
    return torch.tensor(values, dtype=DT).reshape(shape)


def _forward_backward(fn, x, g_seed, **kwargs):
    """Output (and indices) of ``fn`` and d(sum(out * g))/dx for a seeded random ``g``."""
    x = x.detach().clone().requires_grad_()
    result = fn(x, **kwargs)
    out = result[0] if isinstance(result, tuple) else result
    g = torch.randn(out.shape, dtype=out.dtype, generator=torch.Generator().manual_seed(g_seed))
    out.backward(g)
    return result, x.grad


# ---------------------------------------------------------------- max pooling


@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data(), g_seed=st.integers(0, 2**31))
def test_max_pool_matches_torch(dims, data, g_seed):
    shape, kwargs = data.draw(pool_configs(dims, "max"))
    x = data.draw(distinct_tensors(shape))
    name = f"max_pool{dims}d"
    (out, idx), grad = _forward_backward(OURS[name], x, g_seed, return_indices=True, **kwargs)
    t_out, t_idx = getattr(F, name)(x, return_indices=True, **kwargs)
    assert out.shape == t_out.shape and out.dtype == t_out.dtype
    torch.testing.assert_close(out, t_out, rtol=0, atol=0)
    assert idx.dtype == torch.int64 and torch.equal(idx, t_idx)
    real = ~t_out.isinf()
    if real.all():
        t_grad = _forward_backward(getattr(F, name), x, g_seed, **kwargs)[1]
    else:
        # A window of padding only (possible with dilation) outputs -inf whatever the
        # input, so it sends no gradient back. Torch's backward writes such a window's
        # gradient to its out-of-window index and can corrupt memory (torch 2.14), so
        # build the expected gradient from torch's indices of the real windows instead.
        g = torch.randn(t_out.shape, dtype=DT, generator=torch.Generator().manual_seed(g_seed))
        t_grad = torch.zeros_like(x.flatten(-dims)).scatter_add_(
            -1, (t_idx * real).flatten(-dims), (g * real).flatten(-dims)).reshape(x.shape)
    torch.testing.assert_close(grad, t_grad)
    plain = OURS[name](x, **kwargs)  # without return_indices: just the tensor
    assert isinstance(plain, torch.Tensor) and torch.equal(plain, t_out.detach())


@st.composite
def tied_tensors(draw, shape):
    """Few distinct values (many ties), sometimes -inf and NaN: torch's tie rules matter."""
    n = 1
    for s in shape:
        n *= s
    pool = [0.0, 1.0, 2.0] + draw(st.sampled_from([[], [float("-inf")], [float("nan")],
                                                  [float("nan"), float("-inf")]]))
    return torch.tensor(draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n)),
                        dtype=DT).reshape(shape)


@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data())
def test_max_pool_ties_nan_and_inf_pick_torchs_index(dims, data):
    shape, kwargs = data.draw(pool_configs(dims, "max"))
    x = data.draw(tied_tensors(shape))
    name = f"max_pool{dims}d"
    out, idx = OURS[name](x, return_indices=True, **kwargs)
    t_out, t_idx = getattr(F, name)(x, return_indices=True, **kwargs)
    torch.testing.assert_close(out, t_out, rtol=0, atol=0, equal_nan=True)
    assert torch.equal(idx, t_idx)


def test_max_pool_tie_explicit():
    """Torch keeps the first maximum in scan order; a NaN wins, the last NaN most of all."""
    x = torch.tensor([[[[1., 3., 3., 0.],
                        [3., 2., 5., 5.]]]], dtype=DT)
    out, idx = max_pool2d(x, 2, return_indices=True)
    assert torch.equal(idx, F.max_pool2d(x, 2, return_indices=True)[1])
    assert idx.tolist() == [[[[1, 6]]]]
    nan = float("nan")
    y = torch.tensor([[[1., nan, 3., nan, 0.]]], dtype=DT)
    out, idx = max_pool1d(y, 5, return_indices=True)
    assert out.isnan().all() and idx.item() == 3
    assert torch.equal(idx, F.max_pool1d(y, 5, return_indices=True)[1])


def test_max_pool_gradients_accumulate_over_overlapping_windows():
    x = torch.tensor([[[0., 9., 1., 2.]]], dtype=DT, requires_grad=True)
    max_pool1d(x, 2, stride=1).sum().backward()  # windows [0,9], [9,1], [1,2]
    assert x.grad.tolist() == [[[0., 2., 0., 1.]]]


# ---------------------------------------------------------------- average pooling


@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data(), g_seed=st.integers(0, 2**31))
def test_avg_pool_matches_torch(dims, data, g_seed):
    shape, kwargs = data.draw(pool_configs(dims, "avg"))
    x = data.draw(float_tensors(shape))
    name = f"avg_pool{dims}d"
    out, grad = _forward_backward(OURS[name], x, g_seed, **kwargs)
    t_out, t_grad = _forward_backward(getattr(F, name), x, g_seed, **kwargs)
    assert out.shape == t_out.shape and out.dtype == t_out.dtype
    torch.testing.assert_close(out, t_out)
    torch.testing.assert_close(grad, t_grad)


# Combinations the strategies draw only now and then, pinned (shape, kwargs).
RARE_MAX = [
    # ceil_mode's last window would start in the right padding: torch drops it (3, not 4).
    ((1, 1, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    # stride longer than the kernel: inputs between windows get no gradient
    ((1, 2, 7, 8), dict(kernel_size=2, stride=3, ceil_mode=True)),
    # every argument different per dimension, dilation overhanging in ceil_mode
    ((2, 1, 9, 10), dict(kernel_size=(1, 4), stride=(3, 1), padding=(0, 2), dilation=(2, 1),
                         ceil_mode=True)),
    # a window as large as the padded input: one output
    ((1, 1, 3, 3), dict(kernel_size=4, padding=(2, 1), stride=1, dilation=(1, 1))),
]
RARE_AVG = [
    ((1, 1, 5), dict(kernel_size=2, stride=2, padding=1, ceil_mode=True)),
    # the last window overhangs past the padding: its divisor is clipped
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=False)),
    ((1, 2, 6, 6), dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                        count_include_pad=True)),
    # a negative divisor (the strategy's integers(-3, 5)) and per-dimension arguments
    ((2, 1, 7, 5), dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), ceil_mode=True,
                        divisor_override=-3)),
]


@pytest.mark.parametrize("kind, shape, kwargs", [("max", *case) for case in RARE_MAX]
                         + [("avg", *case) for case in RARE_AVG])
def test_rare_combinations_match_torch(kind, shape, kwargs):
    name = f"{kind}_pool{len(shape) - 2}d"
    x = torch.randn(shape, dtype=DT, generator=torch.Generator().manual_seed(1))
    extra = dict(return_indices=True) if kind == "max" else {}
    got, grad = _forward_backward(OURS[name], x, 0, **extra, **kwargs)
    want, t_grad = _forward_backward(getattr(F, name), x, 0, **extra, **kwargs)
    if kind == "max":
        assert torch.equal(got[1], want[1])
        got, want = got[0], want[0]
    assert got.shape == want.shape
    torch.testing.assert_close(got, want)
    torch.testing.assert_close(grad, t_grad)
    if shape == (1, 1, 5):
        assert got.shape[-1] == 3  # the dropped window


def test_avg_pool_divisor_rule_in_ceil_mode():
    """Last window [3, 6) is clipped to the padded input [-1, 5): divisor 2 with pad, 1 without."""
    x = torch.arange(1., 5., dtype=DT).reshape(1, 1, 4)
    for count_include_pad in (True, False):
        kwargs = dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                      count_include_pad=count_include_pad)
        torch.testing.assert_close(avg_pool1d(x, **kwargs), F.avg_pool1d(x, **kwargs))
    assert avg_pool1d(x, **kwargs).tolist() == [[[1.5, 3.0, 4.0]]]


def test_source_note_examples():
    x = torch.tensor([[[1., 2., 3., 4., 5., 6., 7.]]])
    assert avg_pool1d(x, kernel_size=3, stride=2).tolist() == [[[2., 4., 6.]]]
    assert MaxPool1d(3, stride=2)(torch.randn(20, 16, 50)).shape == (20, 16, 24)


def test_float32_and_non_contiguous_input():
    x = torch.randn(3, 2, 9, 8).transpose(-1, -2)  # (3, 2, 8, 9), not contiguous
    for name in ("max_pool2d", "avg_pool2d"):
        out = OURS[name](x, 3, 2, 1)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out, getattr(F, name)(x, 3, 2, 1))
    torch.testing.assert_close(max_pool2d(x, 2, return_indices=True)[1],
                               F.max_pool2d(x, 2, return_indices=True)[1])


# ---------------------------------------------------------------- gradcheck


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=(3, 2), stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, dilation=(1, 2), ceil_mode=True),
])
def test_gradcheck_max_pool(kwargs):
    x = (torch.randperm(2 * 2 * 5 * 6, generator=torch.Generator().manual_seed(0)).to(DT)
         / 60).reshape(2, 2, 5, 6).requires_grad_()
    assert torch.autograd.gradcheck(lambda t: max_pool2d(t, **kwargs), (x,))
    k1 = {key: (v[0] if isinstance(v, tuple) else v) for key, v in kwargs.items()}
    assert torch.autograd.gradcheck(lambda t: max_pool1d(t.flatten(-2), **k1), (x,))


@pytest.mark.parametrize("kwargs", [
    dict(kernel_size=2),
    dict(kernel_size=(3, 2), stride=1, padding=1, count_include_pad=False),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, divisor_override=4),
])
def test_gradcheck_avg_pool(kwargs):
    x = torch.randn(2, 2, 5, 6, dtype=DT, generator=torch.Generator().manual_seed(1),
                    requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: avg_pool2d(t, **kwargs), (x,))
    kwargs.pop("divisor_override", None)
    k1 = {key: (v[0] if isinstance(v, tuple) else v) for key, v in kwargs.items()}
    assert torch.autograd.gradcheck(lambda t: avg_pool1d(t.flatten(-2), **k1), (x,))


def test_gradcheck_max_unpool():
    x = torch.randn(2, 3, 6, 6, dtype=DT, generator=torch.Generator().manual_seed(2))
    pooled, idx = F.max_pool2d(x, 2, return_indices=True)
    pooled.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: max_unpool2d(t, idx, 2), (pooled,))
    pooled1, idx1 = F.max_pool1d(x.flatten(-2), 3, return_indices=True)
    pooled1.requires_grad_()
    assert torch.autograd.gradcheck(lambda t: max_unpool1d(t, idx1, 3), (pooled1,))


# ---------------------------------------------------------------- slow references


@SETTINGS
@given(data=st.data())
def test_loop_references_equal_vectorised(data):
    kernel = (data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4)))
    padding = tuple(data.draw(st.integers(0, k // 2)) for k in kernel)
    stride = data.draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    sizes = tuple(data.draw(st.integers(max(1, k - 2 * p), k + 5)) for k, p in zip(kernel, padding))
    lead = (2,) if data.draw(st.booleans()) else ()
    x = data.draw(float_tensors(lead + (2,) + sizes))
    for loop, fast in ((max_pool2d_loop, max_pool2d), (avg_pool2d_loop, avg_pool2d)):
        torch.testing.assert_close(loop(x, kernel, stride, padding),
                                   fast(x, kernel, stride, padding))


# ---------------------------------------------------------------- unpooling


@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data(), g_seed=st.integers(0, 2**31))
def test_max_unpool_matches_torch(dims, data, g_seed):
    shape, kwargs = data.draw(pool_configs(dims, "max"))
    kwargs["dilation"] = 1  # unpooling inverts undilated pooling
    x = data.draw(distinct_tensors(shape))
    pooled, idx = getattr(F, f"max_pool{dims}d")(x, return_indices=True, **kwargs)
    unpool_kwargs = dict(kernel_size=kwargs["kernel_size"], stride=kwargs["stride"] or None,
                         padding=kwargs["padding"],
                         output_size=shape[-dims:] if data.draw(st.booleans()) else None)
    try:
        expected = getattr(F, f"max_unpool{dims}d")(pooled, idx, **unpool_kwargs)
    except (ValueError, RuntimeError):  # e.g. the default size cannot hold every index
        expected = None
    if expected is None or expected.numel() == 0:
        # Torch "unpools" into an empty tensor, silently dropping every value; we refuse.
        with pytest.raises(ValueError):
            OURS_UNPOOL[dims](pooled, idx, **unpool_kwargs)
        return
    ours = OURS_UNPOOL[dims]
    out, grad = _forward_backward(lambda t, **kw: ours(t, idx, **kw), pooled, g_seed,
                                  **unpool_kwargs)
    t_out, t_grad = _forward_backward(
        lambda t, **kw: getattr(F, f"max_unpool{dims}d")(t, idx, **kw), pooled, g_seed,
        **unpool_kwargs)
    torch.testing.assert_close(out, t_out, rtol=0, atol=0)
    torch.testing.assert_close(grad, t_grad)


def test_unpool_modules_undo_pooling_like_torch():
    x = torch.randn(2, 3, 7, 7)
    out, idx = MaxPool2d(2, return_indices=True)(x)
    t_out, t_idx = tnn.MaxPool2d(2, return_indices=True)(x)
    assert torch.equal(idx, t_idx)
    torch.testing.assert_close(MaxUnpool2d(2)(out, idx, output_size=x.shape),
                               tnn.MaxUnpool2d(2)(t_out, t_idx, output_size=x.shape))
    y = torch.tensor([[[1., 2., 3., 4., 5., 6., 7., 8.]]])
    assert MaxUnpool1d(2)(*MaxPool1d(2, return_indices=True)(y)).tolist() == \
        [[[0., 2., 0., 4., 0., 6., 0., 8.]]]


# ---------------------------------------------------------------- modules


MODULE_CASES = [
    ("MaxPool1d", (3,), dict(stride=2)),
    ("MaxPool1d", (2,), dict(padding=1, dilation=2, return_indices=True, ceil_mode=True)),
    ("MaxPool2d", (2,), {}),
    ("MaxPool2d", ((3, 2),), dict(stride=(2, 1), padding=(1, 0), dilation=(1, 2))),
    ("AvgPool1d", (3,), {}),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True, count_include_pad=False)),
    ("AvgPool2d", (2,), {}),
    ("AvgPool2d", ((3, 2),), dict(stride=1, padding=(1, 0), divisor_override=2)),
    # 1-tuples as torch's _single makes them; padding with the default count_include_pad;
    # ceil_mode that adds a window (9 -> 5, not 4), so every argument must reach forward
    ("AvgPool1d", ((2,),), dict(stride=(2,), padding=(1,), ceil_mode=True)),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True)),
    ("MaxUnpool1d", (2,), {}),
    ("MaxUnpool2d", ((2, 3),), dict(stride=1, padding=(0, 1))),
]
SCRATCH_MODULES = {"MaxPool1d": MaxPool1d, "MaxPool2d": MaxPool2d, "AvgPool1d": AvgPool1d,
                   "AvgPool2d": AvgPool2d, "MaxUnpool1d": MaxUnpool1d, "MaxUnpool2d": MaxUnpool2d}


@pytest.mark.parametrize("name, args, kwargs", MODULE_CASES)
def test_module_repr_and_forward_match_torch(name, args, kwargs):
    ours, theirs = SCRATCH_MODULES[name](*args, **kwargs), getattr(tnn, name)(*args, **kwargs)
    assert repr(ours) == repr(theirs)
    x = torch.randn((2, 3, 9) if name.endswith("1d") else (2, 3, 9, 8), dtype=DT)
    if "Unpool" in name:
        # Unpool what the matching pooling picked, and send a gradient back through it.
        dims = int(name[-2])
        pooled, idx = getattr(F, f"max_pool{dims}d")(x, *args, return_indices=True, **kwargs)
        got, grad = _forward_backward(lambda t: ours(t, idx), pooled, 0)
        want, t_grad = _forward_backward(lambda t: theirs(t, idx), pooled, 0)
        assert got.shape == want.shape and got.count_nonzero() > 0
        torch.testing.assert_close(got, want, rtol=0, atol=0)
        torch.testing.assert_close(grad, t_grad)
        return
    a, b = ours(x), theirs(x)
    if isinstance(b, tuple):
        assert torch.equal(a[1], b[1])
        a, b = a[0], b[0]
    torch.testing.assert_close(a, b)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("call, message", [
    (lambda x: max_pool2d(x, 3, padding=2), r"padding=2 must be at most half of kernel_size=3"),
    (lambda x: avg_pool2d(x, 3, padding=2), r"padding=2 must be at most half of kernel_size=3"),
    (lambda x: max_pool2d(x, 0), r"kernel_size=0 must be positive"),
    (lambda x: max_pool2d(x, 2, stride=0), r"stride=0 must be positive"),
    (lambda x: max_pool2d(x, 2, dilation=(1, 0)), r"dilation=\(1, 0\) must be positive"),
    (lambda x: avg_pool2d(x, 2, padding=-1), r"padding=-1 must be non-negative"),
    (lambda x: max_pool2d(x, 8), r"kernel_size=8 .* spans 8 elements.*output would be empty"),
    (lambda x: max_pool2d(x, 4, dilation=3), r"spans 10 elements.*output would be empty"),
    (lambda x: max_pool2d(x[0, 0], 2), r"expected a 4-D batch \(N, C, H, W\) or a 3-D"),
    (lambda x: max_pool1d(x, 2), r"expected a 3-D batch \(N, C, L\) or a 2-D"),
    (lambda x: avg_pool1d(x[0, 0, 0], 2), r"expected a 3-D batch"),
    (lambda x: avg_pool2d(x, 2, divisor_override=0), r"^divisor_override=0 must be non-zero \(it"),
    (lambda x: max_pool2d(x, (2, 2, 2)), r"kernel_size=\(2, 2, 2\) must be an int or a tuple of 2"),
    (lambda x: max_unpool2d(x, torch.zeros_like(x, dtype=torch.long), 2, output_size=(20, 20)),
     r"output_size=\(20, 20\) is invalid: dimension 0 must be between 8 and 12"),
    (lambda x: max_unpool2d(x, torch.full_like(x, 100, dtype=torch.long), 2),
     r"indices must lie in \[0, 100\)"),
    (lambda x: max_unpool2d(x, torch.zeros(1, 1, 5, 4, dtype=torch.long), 2),
     r"indices has shape \(1, 1, 5, 4\) but input has shape \(1, 1, 5, 5\)"),
])
def test_bad_arguments_raise_value_error(call, message):
    x = torch.randn(1, 1, 5, 5)
    with pytest.raises(ValueError, match=message):
        call(x)


def test_bad_arguments_are_rejected_by_torch_too():
    x = torch.randn(1, 1, 5, 5)
    for call in (lambda f: f.max_pool2d(x, 3, padding=2), lambda f: f.avg_pool2d(x, 0),
                 lambda f: f.max_pool2d(x, 8), lambda f: f.max_pool2d(x, 2, dilation=0)):
        with pytest.raises(ValueError):
            call(scratch_pool)
        with pytest.raises(RuntimeError):
            call(F)


def test_integer_input_raises_type_error():
    with pytest.raises(TypeError, match="floating-point"):
        max_pool2d(torch.ones(1, 1, 4, 4, dtype=torch.long), 2)
    with pytest.raises(TypeError, match="divisor_override=1.5 must be an int"):
        avg_pool2d(torch.ones(1, 1, 4, 4), 2, divisor_override=1.5)


def test_max_unpool1d_module_with_its_own_stride_and_output_size_matches_torch():
    # Overlapping windows (stride 2 < kernel 3) and an output_size one longer than the
    # default 9: the module must pass both on.
    x = torch.randn(2, 3, 9, dtype=torch.float64)
    out, idx = tnn.MaxPool1d(3, stride=2, return_indices=True)(x)
    for kwargs in ({}, {"output_size": (10,)}):
        torch.testing.assert_close(MaxUnpool1d(3, stride=2)(out, idx, **kwargs),
                                   tnn.MaxUnpool1d(3, stride=2)(out, idx, **kwargs))


def test_max_unpool1d_unbatched_matches_torch():
    x = torch.randn(3, 8, dtype=torch.float64)  # (C, L)
    out, idx = F.max_pool1d(x, 2, return_indices=True)
    torch.testing.assert_close(max_unpool1d(out, idx, 2), F.max_unpool1d(out, idx, 2))


def _boosted(shape, seed=0):
    """Distinct float64 values with a large first row, so windows take their maximum there."""
    n = torch.Size(shape).numel()
    x = torch.randperm(n, generator=torch.Generator().manual_seed(seed)).to(DT).reshape(shape)
    x[..., 0, :] += n
    return x


@pytest.mark.parametrize("shape, kwargs", [
    # stride differs per dimension while rows start in the padding: output row 1 starts at
    # input row 0 (stride 2), so its first real tap is tap row 0, not 1
    ((1, 2, 6, 5), dict(kernel_size=(4, 2), stride=(2, 1), padding=(2, 1))),
    # dilation differs per dimension: row taps at -2, 0, 2, 4, the first real one is tap 1
    ((1, 2, 6, 4), dict(kernel_size=(4, 2), stride=1, padding=(2, 0), dilation=(2, 1))),
])
def test_max_pool_per_dimension_padding_start_matches_torch(shape, kwargs):
    x = _boosted(shape)
    (out, idx), grad = _forward_backward(max_pool2d, x, 0, return_indices=True, **kwargs)
    (t_out, t_idx), t_grad = _forward_backward(F.max_pool2d, x, 0, return_indices=True,
                                               **kwargs)
    torch.testing.assert_close(out, t_out, rtol=0, atol=0)
    assert torch.equal(idx, t_idx)
    torch.testing.assert_close(grad, t_grad)


@pytest.mark.parametrize("dims, size, kernel", [(2, 17, 17), (1, 257, 257)])
def test_max_pool_with_more_than_256_taps_matches_torch(dims, size, kernel):
    """Tap numbers above 255 (17*17 = 289 and 257 taps) do not fit in a uint8."""
    shape = (3,) + (size,) * dims
    x = torch.randn(shape, dtype=DT, generator=torch.Generator().manual_seed(3))
    x.view(3, -1)[0, -1] = 100.0   # the last tap of the (only) window
    x.view(3, -1)[1, 256] = 100.0  # tap 256, which a uint8 wraps to 0
    name = f"max_pool{dims}d"
    (out, idx), grad = _forward_backward(OURS[name], x, 0, return_indices=True,
                                         kernel_size=kernel)
    (t_out, t_idx), t_grad = _forward_backward(getattr(F, name), x, 0, return_indices=True,
                                               kernel_size=kernel)
    torch.testing.assert_close(out, t_out, rtol=0, atol=0)
    assert torch.equal(idx, t_idx)
    torch.testing.assert_close(grad, t_grad)


def test_max_pool_kernel_1_output_does_not_alias_the_input():
    """A 1x1 window copies the input; the copy must not share its storage, as in torch."""
    x = torch.randn(2, 3, 4, 5, dtype=DT, generator=torch.Generator().manual_seed(4))
    before = x.clone()
    outs = [max_pool2d(x, 1), max_pool1d(x[0], 1), F.max_pool2d(x, 1)]
    x.add_(1.0)
    torch.testing.assert_close(outs[0], before, rtol=0, atol=0)
    torch.testing.assert_close(outs[1], before[0], rtol=0, atol=0)
    torch.testing.assert_close(outs[2], before, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["max_pool1d", "avg_pool1d", "max_pool2d", "avg_pool2d"])
def test_empty_batch_matches_torch(name):
    """Only the batch may be empty; the (C, *spatial) sample is what must be non-empty."""
    x = torch.randn((0, 2, 5) if name.endswith("1d") else (0, 2, 5, 4), dtype=DT)
    out, t_out = OURS[name](x, 2), getattr(F, name)(x, 2)
    assert out.shape == t_out.shape == (0, 2, 2) + ((2,) if name.endswith("2d") else ())
    with pytest.raises(ValueError, match="non-empty channel"):
        OURS[name](x.new_empty((0, *x.shape[2:])), 2)  # unbatched, with no channels


def test_max_unpool_rejects_int32_indices_like_torch():
    x = torch.randn(1, 1, 3, 3)
    idx = torch.zeros(1, 1, 3, 3, dtype=torch.int32)
    with pytest.raises(TypeError, match="indices must be an int64 tensor"):
        max_unpool2d(x, idx, 2)
    with pytest.raises(RuntimeError):
        F.max_unpool2d(x, idx, 2)


@pytest.mark.parametrize("size, ok", [(8, False), (9, True), (11, True), (12, False)])
def test_max_unpool_output_size_bounds_are_exclusive_like_torch(size, ok):
    """5 pooled by 2 unpools to 10 by default; torch takes sizes in (10 - 2, 10 + 2)."""
    x = torch.randn(1, 1, 5, 5, dtype=DT)
    idx = torch.arange(25).reshape(x.shape)  # distinct, valid for every size here
    if ok:
        torch.testing.assert_close(max_unpool2d(x, idx, 2, output_size=(size, 10)),
                                   F.max_unpool2d(x, idx, 2, output_size=(size, 10)))
        return
    with pytest.raises(ValueError, match="must be between 8 and 12"):
        max_unpool2d(x, idx, 2, output_size=(size, 10))
    with pytest.raises(ValueError):
        F.max_unpool2d(x, idx, 2, output_size=(size, 10))
