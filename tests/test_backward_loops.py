"""The loop references of the backward passes (``conv_reference``, ``pool_reference``)
against autograd through torch's own layers, float64: every gradient, ties, overlapping
windows, padding, dilation, ceil mode and the average pooling divisors."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlessons.scratch.functional as SF
from cnnlessons.scratch import conv_reference, pool_reference
from cnnlessons.scratch.conv import conv1d_backward_loop, conv2d_backward_loop
from cnnlessons.scratch.pool import avg_pool2d_backward_loop, max_pool2d_backward_loop

SETTINGS = settings(max_examples=40, deadline=None)
DOUBLE = torch.float64


def _autograd(fn, upstream, *tensors):
    """The gradients autograd gets for ``tensors`` through ``fn`` under ``upstream``."""
    leaves = [t.detach().clone().requires_grad_() for t in tensors]
    return torch.autograd.grad(fn(*leaves), leaves, upstream)


@st.composite
def conv_cases(draw, dims):
    """Small convolutions (the loops are slow): argument combination and tensors."""
    groups = draw(st.sampled_from([1, 2]))
    in_channels, out_channels = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    stride = tuple(draw(st.integers(1, 3)) for _ in range(dims))
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, 2)) for _ in range(dims))
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
                 for k, d, p in zip(kernel, dilation, padding))
    seed = draw(st.integers(0, 2**31 - 1))
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(draw(st.integers(1, 2)), in_channels, *size, generator=gen, dtype=DOUBLE)
    w = torch.randn(out_channels, in_channels // groups, *kernel, generator=gen, dtype=DOUBLE)
    return x, w, dict(stride=stride, padding=padding, dilation=dilation, groups=groups), gen


@pytest.mark.parametrize("dims", [1, 2])
@SETTINGS
@given(data=st.data())
def test_conv_backward_loop_equals_autograd(dims, data):
    x, w, kwargs, gen = data.draw(conv_cases(dims))
    torch_conv = F.conv1d if dims == 1 else F.conv2d
    loop = conv1d_backward_loop if dims == 1 else conv2d_backward_loop
    b = torch.zeros(w.shape[0], dtype=DOUBLE)
    out = torch_conv(x, w, b, **kwargs)
    g = torch.randn(out.shape, generator=gen, dtype=DOUBLE)
    expected = _autograd(lambda x, w, b: torch_conv(x, w, b, **kwargs), g, x, w, b)
    for got, want in zip(loop(g, x, w, **kwargs), expected):
        torch.testing.assert_close(got, want)


@st.composite
def pool_cases(draw, dilated):
    """Pooling arguments, and an input of small integers so that windows often tie."""
    kernel = tuple(draw(st.integers(1, 3)) for _ in range(2))
    stride = draw(st.one_of(st.none(), st.tuples(st.integers(1, 3), st.integers(1, 3))))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(2)) if dilated else (1, 1)
    size = tuple(max(1, d * (k - 1) + 1 - 2 * p) + draw(st.integers(0, 4))
                 for k, d, p in zip(kernel, dilation, padding))
    batch = draw(st.sampled_from([(), (1,), (2,)]))   # () : unbatched
    shape = (*batch, draw(st.integers(1, 2)), *size)
    values = draw(st.lists(st.integers(-2, 2), min_size=torch.Size(shape).numel(),
                           max_size=torch.Size(shape).numel()))
    x = torch.tensor(values, dtype=DOUBLE).reshape(shape)
    args = dict(kernel_size=kernel, stride=stride, padding=padding,
                ceil_mode=draw(st.booleans()))
    return x, args, dilation, draw(st.integers(0, 2**31 - 1))


@SETTINGS
@given(pool_cases(dilated=True))
def test_max_pool2d_backward_loop_equals_autograd(case):
    x, args, dilation, seed = case
    fn = lambda x: F.max_pool2d(x, dilation=dilation, **args)  # noqa: E731
    out, indices = F.max_pool2d(x, dilation=dilation, return_indices=True, **args)
    g = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)
    real = ~out.isinf()
    if real.all():
        (expected,) = _autograd(fn, g, x)
    else:
        # A window of padding only (dilation) outputs -inf whatever the input and sends no
        # gradient back; torch's backward writes it to an out-of-window index (see
        # test_pool.py), so the expected gradient is torch's, for the real windows only.
        expected = torch.zeros_like(x.flatten(-2)).scatter_add_(
            -1, (indices * real).flatten(-2), (g * real).flatten(-2)).reshape(x.shape)
    torch.testing.assert_close(max_pool2d_backward_loop(g, x, dilation=dilation, **args),
                               expected)


@SETTINGS
@given(pool_cases(dilated=False), st.booleans(), st.sampled_from([None, 1, 3, -2]))
def test_avg_pool2d_backward_loop_equals_autograd(case, count_include_pad, divisor_override):
    x, args, _, seed = case
    kwargs = dict(args, count_include_pad=count_include_pad, divisor_override=divisor_override)
    fn = lambda x: F.avg_pool2d(x, **kwargs)  # noqa: E731
    g = torch.randn(fn(x).shape, generator=torch.Generator().manual_seed(seed), dtype=DOUBLE)
    (expected,) = _autograd(fn, g, x)
    torch.testing.assert_close(avg_pool2d_backward_loop(g, x, **kwargs), expected)


def test_max_pool_ties_go_to_the_first_maximum():
    x = torch.tensor([[[[1., 4., 4.], [4., 2., 0.]]]])
    g = torch.tensor([[[[10., 20.]]]])
    assert max_pool2d_backward_loop(g, x, 2, stride=1).tolist() == [[[[0., 30., 0.],
                                                                       [0., 0., 0.]]]]


def test_max_pool_nan_wins_as_in_torch():
    x = torch.tensor([[[[float("nan"), 4.], [float("nan"), 2.]]]], dtype=DOUBLE)
    g = torch.ones(1, 1, 1, 1, dtype=DOUBLE)
    (expected,) = _autograd(lambda x: F.max_pool2d(x, 2), g, x)
    torch.testing.assert_close(max_pool2d_backward_loop(g, x, 2), expected)


def test_padding_only_windows_send_nothing_back():
    """Width 1, padding 1, dilation 2: the one window's taps (-1 and 1) are both padding."""
    x = torch.randn(1, 2, 1, 1, dtype=DOUBLE)
    kwargs = dict(kernel_size=(1, 2), stride=1, padding=(0, 1), dilation=(1, 2))
    assert SF.max_pool2d(x, **kwargs).isinf().all()
    g = torch.ones(1, 2, 1, 1, dtype=DOUBLE)
    (expected,) = _autograd(lambda x: SF.max_pool2d(x, **kwargs), g, x)
    assert not expected.any()
    torch.testing.assert_close(max_pool2d_backward_loop(g, x, **kwargs), expected)


def test_conv_backward_hand_checked():
    x, w = torch.arange(9.).view(1, 1, 3, 3), torch.ones(1, 1, 2, 2)
    grad_input, grad_weight, grad_bias = conv2d_backward_loop(torch.ones(1, 1, 2, 2), x, w)
    assert grad_input[0, 0].tolist() == [[1., 2., 1.], [2., 4., 2.], [1., 2., 1.]]
    assert grad_weight[0, 0].tolist() == [[8., 12.], [20., 24.]] and grad_bias.tolist() == [4.]


def test_loops_are_reference_versions_not_in_SF():
    names = {"conv1d_backward_loop", "conv2d_backward_loop", "max_pool2d_backward_loop",
             "avg_pool2d_backward_loop", "corr2d", "conv2d_loop", "max_pool2d_loop",
             "avg_pool2d_loop"}
    assert names == set(SF._REFERENCE_VERSIONS)
    assert not names & set(SF.__all__)


def _zeros(*shape):
    return torch.zeros(shape)


@pytest.mark.parametrize("call, match", [
    (lambda: conv2d_backward_loop(_zeros(1, 2, 4, 4), _zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3)),
     r"grad_output has shape \(1, 2, 4, 4\); expected \(1, 2, 3, 3\), the shape of"),
    (lambda: conv2d_backward_loop(_zeros(2, 3, 3), _zeros(1, 5, 5), _zeros(2, 1, 3, 3)),
     r"conv2d_backward_loop takes a batch \(N, C, H, W\)"),
    (lambda: conv1d_backward_loop(_zeros(1, 2, 5), _zeros(1, 1, 5), _zeros(2, 1, 1),
                                  padding="same"),
     r"padding='same': conv1d_backward_loop takes int or tuple padding only"),
    (lambda: conv1d_backward_loop(_zeros(1, 2, 5), _zeros(1, 4, 5), _zeros(2, 1, 1), groups=3),
     r"in_channels=4 is not divisible by groups=3"),
    (lambda: max_pool2d_backward_loop(_zeros(1, 2, 2), _zeros(1, 4, 4), 2, stride=1),
     r"grad_output has shape \(1, 2, 2\); expected \(1, 3, 3\), the shape of the pooling"),
    (lambda: max_pool2d_backward_loop(_zeros(1, 2, 2), _zeros(1, 4, 4), 2, padding=2),
     r"padding=2 must be at most half of kernel_size=2"),
    (lambda: avg_pool2d_backward_loop(_zeros(1, 2, 2), _zeros(1, 4, 4), 2, divisor_override=0),
     r"divisor_override=0 must be non-zero"),
    (lambda: conv1d_backward_loop(_zeros(2, 3), _zeros(1, 5), _zeros(2, 1, 3)),
     r"conv1d_backward_loop takes a batch \(N, C, L\), got input of shape \(1, 5\)"),
    (lambda: conv2d_backward_loop(_zeros(1, 2, 5, 5), _zeros(1, 1, 5, 5), _zeros(2, 1, 1, 1),
                                  padding="same"),
     r"padding='same': conv2d_backward_loop takes int or tuple padding only"),
    (lambda: conv_reference.corr2d(_zeros(1, 4, 4), _zeros(2, 2)),
     r"corr2d takes a 2-D X and a 2-D K"),
    (lambda: conv_reference.corr2d(_zeros(4, 4), _zeros(1, 2, 2)),
     r"corr2d takes a 2-D X and a 2-D K"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_loop_references_have_the_fast_functions_defaults():
    # The slow references are called with defaults in the chapters: the same as conv2d's.
    import inspect

    from cnnlessons.scratch import conv_reference
    from cnnlessons.scratch.functional import conv2d
    fast = {name: p.default for name, p in inspect.signature(conv2d).parameters.items()
            if p.default is not inspect.Parameter.empty and name != "bias"}
    for fn in (conv_reference.conv2d_loop, conv_reference.conv2d_backward_loop,
               conv_reference.conv1d_backward_loop):
        params = inspect.signature(fn).parameters
        assert {name: params[name].default for name in fast} == fast, fn.__name__


def test_loop_references_called_with_their_defaults_equal_the_fast_functions():
    """The same defaults, checked by calling: ``inspect.signature`` cannot see a default
    changed behind a wrapper (mutation testing's trampolines are one), a call can."""
    from cnnlessons.scratch import conv_reference
    g = torch.Generator().manual_seed(0)
    x = torch.randn(1, 2, 7, 7, generator=g, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 2, 3, 3, generator=g, dtype=torch.float64, requires_grad=True)
    y = F.conv2d(x, w)
    torch.testing.assert_close(conv_reference.conv2d_loop(x, w), y)
    dy = torch.randn(y.shape, generator=g, dtype=torch.float64)
    expected = torch.autograd.grad(y, (x, w), dy)
    torch.testing.assert_close(conv2d_backward_loop(dy, x.detach(), w.detach())[:2], expected)
    x1, w1 = x[:, :, 0].detach().requires_grad_(), w[:, :, 0].detach().requires_grad_()
    y1 = F.conv1d(x1, w1)
    dy1 = torch.randn(y1.shape, generator=g, dtype=torch.float64)
    torch.testing.assert_close(conv1d_backward_loop(dy1, x1.detach(), w1.detach())[:2],
                               torch.autograd.grad(y1, (x1, w1), dy1))
    # 5x5 with 2x2 windows: ceil_mode would add a row and a column of windows, and
    # padding=1 makes count_include_pad matter.
    p = torch.randn(1, 1, 5, 5, generator=g, dtype=torch.float64, requires_grad=True)
    for pool, loop, kwargs in [(F.avg_pool2d, avg_pool2d_backward_loop, {}),
                               (F.avg_pool2d, avg_pool2d_backward_loop, {"padding": 1}),
                               (F.max_pool2d, max_pool2d_backward_loop, {})]:
        out = pool(p, 2, **kwargs)
        dout = torch.randn(out.shape, generator=g, dtype=torch.float64)
        torch.testing.assert_close(loop(dout, p.detach(), 2, **kwargs),
                                   torch.autograd.grad(out, p, dout)[0])


def test_conv2d_loop_checks_its_bias():
    from cnnlessons.scratch import conv_reference
    with pytest.raises(ValueError, match=r"bias has shape \(2,\); expected \(4,\)"):
        conv_reference.conv2d_loop(torch.zeros(1, 2, 5, 5), torch.zeros(4, 2, 3, 3),
                                   torch.zeros(2))


@pytest.mark.parametrize("name", ["max_pool2d_loop", "avg_pool2d_loop",
                                  "max_pool2d_backward_loop", "avg_pool2d_backward_loop"])
def test_pool_loops_name_themselves_in_dtype_errors(name):
    """An integer input is refused with a message that starts with the loop's own name."""
    x = torch.zeros(1, 1, 4, 4, dtype=torch.long)
    args = (x,) if name.endswith("pool2d_loop") else (torch.zeros(1, 1, 2, 2), x)
    with pytest.raises(TypeError, match=rf"^{name}: input has dtype torch.int64"):
        getattr(pool_reference, name)(*args, 2)


def test_avg_pool2d_backward_loop_without_padded_zeros_equals_autograd():
    """count_include_pad=False: every window's divisor counts its real elements only."""
    g = torch.Generator().manual_seed(5)
    x = torch.randn(2, 1, 5, 6, generator=g, dtype=DOUBLE)
    kwargs = dict(kernel_size=3, stride=2, padding=1, count_include_pad=False)
    fn = lambda x: F.avg_pool2d(x, **kwargs)  # noqa: E731
    dy = torch.randn(fn(x).shape, generator=g, dtype=DOUBLE)
    (expected,) = _autograd(fn, dy, x)
    torch.testing.assert_close(avg_pool2d_backward_loop(dy, x, **kwargs), expected)
