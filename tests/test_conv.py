"""``cnnlessons.scratch.conv`` against torch: ``conv1d``/``conv2d`` values and every
gradient, gradcheck, the loop references, the modules, and the ValueErrors."""
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

from cnnlessons.scratch.conv import Conv1d, Conv2d, conv1d, conv2d, conv2d_loop, corr2d

SETTINGS = settings(max_examples=50, deadline=None)
# torch warns that 'same' with an even kernel may copy the input; not our concern here
TORCH_SAME_WARNING = pytest.mark.filterwarnings("ignore:Using padding='same'")
DOUBLE = torch.float64


def _per_dim(draw, dims, values):
    """An int (same for every dimension) or a tuple with one entry per dimension."""
    entries = tuple(draw(values) for _ in range(dims))
    return entries[0] if len(set(entries)) == 1 and draw(st.booleans()) else entries


def _as_tuple(value, dims):
    return (value,) * dims if isinstance(value, int) else tuple(value)


@st.composite
def conv_cases(draw, dims):
    """A valid argument combination and input shape for a ``dims``-D convolution."""
    groups = draw(st.sampled_from([1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 2))
    out_channels = groups * draw(st.integers(1, 2))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    dilation = _per_dim(draw, dims, st.integers(1, 3))
    kind = draw(st.sampled_from(["int", "tuple", "valid", "same"]))
    if kind == "int":
        padding = draw(st.integers(0, 3))
    elif kind == "tuple":
        padding = tuple(draw(st.integers(0, 3)) for _ in range(dims))
    else:
        padding = kind
    stride = 1 if kind == "same" else _per_dim(draw, dims, st.integers(1, 3))
    # each spatial size at least the dilated kernel minus the padding: non-empty output
    pads = _as_tuple(0 if isinstance(padding, str) else padding, dims)
    spans = [d * (k - 1) + 1 for d, k in zip(_as_tuple(dilation, dims), kernel)]
    size = [max(1, span - 2 * p) + draw(st.integers(0, 5)) for span, p in zip(spans, pads)]
    if draw(st.booleans()):
        # a wide last dimension: 16+ output columns take conv2d's other memory layout
        size[-1] += 15 * _as_tuple(stride, dims)[-1]
    size = tuple(size)
    batch = draw(st.one_of(st.none(), st.integers(1, 3)))    # None: unbatched input
    return dict(
        input_shape=((batch,) if batch else ()) + (in_channels, *size),
        weight_shape=(out_channels, in_channels // groups, *kernel),
        bias=draw(st.booleans()), input_grad=draw(st.booleans()),
        kwargs=dict(stride=stride, padding=padding, dilation=dilation, groups=groups),
    )


def _compare_with_torch(ours, theirs, case, seed):
    """Same output and same gradients of input, weight and bias under a random
    upstream gradient."""
    torch.manual_seed(seed)
    x = torch.randn(case["input_shape"], dtype=DOUBLE, requires_grad=case["input_grad"])
    w = torch.randn(case["weight_shape"], dtype=DOUBLE, requires_grad=True)
    b = torch.randn(case["weight_shape"][0], dtype=DOUBLE, requires_grad=True) \
        if case["bias"] else None
    leaves = [t for t in (x, w, b) if t is not None and t.requires_grad]
    out = ours(x, w, b, **case["kwargs"])
    expected = theirs(x, w, b, **case["kwargs"])
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(expected)
    grads = torch.autograd.grad(out, leaves, g)
    expected_grads = torch.autograd.grad(expected, leaves, g)
    for got, want in zip(grads, expected_grads):
        torch.testing.assert_close(got, want)


def _case(input_shape, weight_shape, bias=True, input_grad=True, **kwargs):
    return dict(input_shape=input_shape, weight_shape=weight_shape, bias=bias,
                input_grad=input_grad, kwargs=dict(stride=1, dilation=1, groups=1) | kwargs)


# 'same' with an even dilated span pads one more on the right than on the left: the
# backward must crop that extra column. conv_cases draws it only now and then.
SAME_EVEN_2D = _case((2, 2, 7, 6), (2, 2, 4, 2), padding="same")         # 1+2 rows, 0+1 cols
SAME_EVEN_2D_WIDE = _case((1, 4, 6, 23), (2, 2, 2, 3), bias=False, padding="same",
                          dilation=(3, 1), groups=2)                      # 1+2 rows, 16+ cols
SAME_EVEN_1D = _case((3, 8), (3, 1, 4), padding="same", groups=3)         # unbatched, 1+2
SAME_EVEN_1D_DILATED = _case((2, 2, 9), (4, 2, 2), padding="same", dilation=3)   # 1+2


@TORCH_SAME_WARNING
@SETTINGS
@given(conv_cases(dims=2), st.integers(0, 2**31 - 1))
@example(SAME_EVEN_2D, 0)
@example(SAME_EVEN_2D_WIDE, 1)
@example(_case((1, 3, 5, 6), (2, 3, 2, 3), stride=(3, 2), padding=(0, 3)), 2)  # pad > kernel
def test_conv2d_matches_torch(case, seed):
    _compare_with_torch(conv2d, F.conv2d, case, seed)


@TORCH_SAME_WARNING
@SETTINGS
@given(conv_cases(dims=1), st.integers(0, 2**31 - 1))
@example(SAME_EVEN_1D, 0)
@example(SAME_EVEN_1D_DILATED, 1)
def test_conv1d_matches_torch(case, seed):
    _compare_with_torch(conv1d, F.conv1d, case, seed)


@pytest.mark.parametrize("fn, x_shape, w_shape, kwargs", [
    (conv2d, (1, 4, 4, 5), (4, 2, 3, 2), dict(groups=2)),
    (conv2d, (1, 3, 7, 6), (2, 3, 2, 3), dict(stride=(2, 3), padding=(1, 2), dilation=(2, 1))),
    (conv2d, (3, 6, 6), (3, 1, 2, 2), dict(padding="same", dilation=2, groups=3)),
    (conv1d, (2, 4, 9), (6, 2, 3), dict(stride=2, padding=1, dilation=2, groups=2)),
    (conv2d, (1, 2, 2, 18), (2, 1, 2, 3), dict(padding=(1, 0), groups=2)),   # 16 columns out
    (conv2d, (2, 3, 3), (4, 2, 5, 5), dict(padding=1)),      # kernel covers the padded input
    (conv2d, (1, 2, 5, 6), (2, 2, 4, 2), dict(padding="same")),   # asymmetric padding
    (conv1d, (1, 2, 7), (2, 1, 2), dict(padding="same", dilation=3, groups=2)),
])
def test_gradcheck(fn, x_shape, w_shape, kwargs):
    torch.manual_seed(0)
    x = torch.randn(x_shape, dtype=DOUBLE, requires_grad=True)
    w = torch.randn(w_shape, dtype=DOUBLE, requires_grad=True)
    b = torch.randn(w_shape[0], dtype=DOUBLE, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: fn(x, w, b, **kwargs), (x, w, b))


@pytest.mark.parametrize("width", [12, 40])          # narrow and wide outputs
def test_non_contiguous_input(width):
    """im2col reads the input through its strides (and storage offset): any layout works."""
    x = torch.randn(2, 3, 10, width, dtype=DOUBLE)
    w = torch.randn(4, 3, 3, 3, dtype=DOUBLE)
    for view in (x.to(memory_format=torch.channels_last), x[:, :, 1::2, 1:], x[1],
                 x[:, :, :, ::2], x.transpose(2, 3)):
        torch.testing.assert_close(conv2d(view, w), F.conv2d(view, w))


def test_float32_lenet_shapes():
    """The LeNet-5 layers in float32 agree with torch to float32 accuracy."""
    torch.manual_seed(0)
    for x_shape, w_shape, padding in (((8, 1, 28, 28), (6, 1, 5, 5), 2),
                                      ((8, 6, 14, 14), (16, 6, 5, 5), 0),
                                      ((8, 16, 5, 5), (120, 16, 5, 5), 0)):
        x = torch.randn(x_shape, requires_grad=True)
        w = torch.randn(w_shape, requires_grad=True)
        out, expected = conv2d(x, w, padding=padding), F.conv2d(x, w, padding=padding)
        torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
        g = torch.randn_like(out)
        for got, want in zip(torch.autograd.grad(out, (x, w), g),
                             torch.autograd.grad(expected, (x, w), g)):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)


# --- loop references ---------------------------------------------------------------

def test_corr2d_hand_checked():
    X = torch.tensor([[0., 1., 2.], [3., 4., 5.], [6., 7., 8.]])
    K = torch.tensor([[0., 1.], [2., 3.]])
    assert corr2d(X, K).tolist() == [[19., 25.], [37., 43.]]     # 0*0 + 1*1 + 3*2 + 4*3 = 19


@SETTINGS
@given(st.integers(1, 7), st.integers(1, 7), st.integers(1, 3), st.integers(1, 3))
def test_corr2d_equals_conv2d(h, w, kh, kw):
    X = torch.randn(h + kh - 1, w + kw - 1, dtype=DOUBLE)
    K = torch.randn(kh, kw, dtype=DOUBLE)
    torch.testing.assert_close(corr2d(X, K), conv2d(X[None, None], K[None, None])[0, 0])


@settings(max_examples=25, deadline=None)
@given(conv_cases(dims=2), st.integers(0, 2**31 - 1))
def test_conv2d_loop_equals_vectorised(case, seed):
    kwargs = dict(case["kwargs"])
    if isinstance(kwargs["padding"], str):                      # the loop takes numbers only
        kwargs["padding"] = 0 if kwargs["padding"] == "valid" else 1
    shape = case["input_shape"]
    shape = shape if len(shape) == 4 else (1, *shape)           # the loop takes batches only
    torch.manual_seed(seed)
    x = torch.randn(shape, dtype=DOUBLE)
    w = torch.randn(case["weight_shape"], dtype=DOUBLE)
    b = torch.randn(w.shape[0], dtype=DOUBLE) if case["bias"] else None
    torch.testing.assert_close(conv2d_loop(x, w, b, **kwargs), conv2d(x, w, b, **kwargs))


# --- modules -----------------------------------------------------------------------

MODULE_CONFIGS = [
    (Conv1d, tnn.Conv1d, (16, 33, 3), dict(stride=2)),
    (Conv1d, tnn.Conv1d, (4, 6, 4), dict(padding="same", dilation=2, groups=2, bias=False)),
    (Conv2d, tnn.Conv2d, (1, 6, 5), dict(padding=2)),
    (Conv2d, tnn.Conv2d, (16, 33, (3, 5)), dict(stride=(2, 1), padding=(4, 2))),
    (Conv2d, tnn.Conv2d, (16, 33, (3, 5)), dict(stride=(2, 1), padding=(4, 2), dilation=(3, 1))),
    (Conv2d, tnn.Conv2d, (6, 9, 3), dict(padding="valid", groups=3, bias=False)),
    (Conv2d, tnn.Conv2d, (4, 4, (2, 3)), dict(padding="same", padding_mode="reflect")),
    (Conv1d, tnn.Conv1d, (1, 3, 1), {}),   # fan_in = 1: the bias bound is 1, not 0
]


@TORCH_SAME_WARNING
@pytest.mark.parametrize("ours, theirs, args, kwargs", MODULE_CONFIGS)
def test_module_same_seed_same_weights_repr_and_results(ours, theirs, args, kwargs):
    torch.manual_seed(7)
    a = ours(*args, **kwargs)
    torch.manual_seed(7)
    b = theirs(*args, **kwargs)
    assert repr(a) == repr(b)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    # Not only the repr: each configuration computes what torch's does, both ways.
    a, b = a.double(), b.double()
    spatial = (13,) if ours is Conv1d else (9, 8)
    x = torch.randn(2, args[0], *spatial, dtype=DOUBLE, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    out, expected = a(x), b(x_ref)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


@pytest.mark.parametrize("ours, theirs, args, kwargs", MODULE_CONFIGS)
def test_module_rng_state_after_init_matches(ours, theirs, args, kwargs):
    """Same RNG calls in the same order: the generator ends in the same state."""
    torch.manual_seed(3)
    ours(*args, **kwargs)
    after_ours = torch.rand(3)
    torch.manual_seed(3)
    theirs(*args, **kwargs)
    assert torch.equal(after_ours, torch.rand(3))


@TORCH_SAME_WARNING
@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
@pytest.mark.parametrize("ours, theirs, shape, kwargs", [
    (Conv1d, tnn.Conv1d, (2, 4, 9), dict(padding=2, stride=2)),
    (Conv1d, tnn.Conv1d, (4, 9), dict(padding="same", dilation=2, groups=2)),
    (Conv2d, tnn.Conv2d, (2, 4, 7, 8), dict(padding=(1, 2), dilation=(2, 1))),
    (Conv2d, tnn.Conv2d, (4, 6, 5), dict(padding="same", groups=4)),
    (Conv2d, tnn.Conv2d, (2, 4, 6, 6), dict(padding="valid", stride=2)),
])
def test_module_load_state_dict_and_padding_modes(ours, theirs, shape, kwargs, mode):
    a = ours(4, 8, 3, padding_mode=mode, dtype=DOUBLE, **kwargs)
    b = theirs(4, 8, 3, padding_mode=mode, dtype=DOUBLE, **kwargs)
    a.load_state_dict(b.state_dict())
    x = torch.randn(shape, dtype=DOUBLE, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    out, expected = a(x), b(x_ref)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)
    torch.testing.assert_close(a.weight.grad, b.weight.grad)
    torch.testing.assert_close(a.bias.grad, b.bias.grad)


def test_module_device_and_dtype():
    layer = Conv2d(2, 3, 3, dtype=DOUBLE, device="cpu")
    assert layer.weight.dtype == DOUBLE and layer.weight.shape == (3, 2, 3, 3)
    assert layer.bias.shape == (3,)


def test_source_examples():
    """The shapes in the source notes."""
    assert Conv1d(16, 33, 3, stride=2)(torch.randn(20, 16, 50)).shape == (20, 33, 24)
    x = torch.randn(20, 16, 50, 100)
    for kwargs in (dict(stride=(2, 1), padding=(4, 2)),
                   dict(stride=(2, 1), padding=(4, 2), dilation=(3, 1))):
        expected = tnn.Conv2d(16, 33, (3, 5), **kwargs)(x).shape
        assert Conv2d(16, 33, (3, 5), **kwargs)(x).shape == expected
    assert expected == (20, 33, 26, 100)


# --- invalid arguments -------------------------------------------------------------

def _zeros(*shape):
    return torch.zeros(shape)


@pytest.mark.parametrize("call, match", [
    (lambda: conv2d(_zeros(1, 6, 5, 5), _zeros(8, 2, 3, 3), groups=4),
     r"in_channels=6 is not divisible by groups=4"),
    (lambda: conv2d(_zeros(1, 6, 5, 5), _zeros(5, 3, 3, 3), groups=2),
     r"out_channels=5 \(weight.shape\[0\]\) is not divisible by groups=2"),
    (lambda: conv2d(_zeros(1, 4, 5, 5), _zeros(2, 3, 3, 3)),
     r"weight expects 3 input channels per group x groups=1 = 3, but input has 4 channels"),
    (lambda: conv2d(_zeros(5, 5), _zeros(2, 1, 3, 3)), r"input has shape \(5, 5\) \(2-D\)"),
    (lambda: conv1d(_zeros(1, 1, 2, 5), _zeros(2, 1, 3)), r"input has shape \(1, 1, 2, 5\)"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3)),
     r"weight has shape \(2, 1, 3\) \(3-D\); expected a 4-D "
     r"\(out_channels, in_channels/groups, kH, kW\)$"),
    (lambda: conv1d(_zeros(1, 1, 5), _zeros(2, 1, 3, 3)),
     r"weight has shape \(2, 1, 3, 3\) \(4-D\); expected a 3-D "
     r"\(out_channels, in_channels/groups, kL\)$"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), _zeros(3)),
     r"bias has shape \(3,\); expected \(2,\)"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), stride=2, padding="same"),
     r"padding='same' needs stride=1"),
    (lambda: conv2d(_zeros(1, 1, 4, 5), _zeros(2, 1, 3, 3), dilation=2),
     r"kernel_size=3 with dilation=2 spans 5 elements, more than the padded input size 4"),
    (lambda: conv1d(_zeros(1, 1, 2), _zeros(2, 1, 5), padding=1),
     r"spans 5 elements, more than the padded input size 2 \+ 2\*1 = 4"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), stride=0),
     r"stride=0 must be positive"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), dilation=(1, 0)),
     r"dilation=\(1, 0\) must be positive"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), padding=-1),
     r"padding=-1 must be non-negative"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), padding="full"),
     r"padding='full' must be an int, a tuple, 'valid' or 'same'"),
    (lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), groups=0),
     r"groups=0 must be positive"),
    (lambda: Conv2d(6, 8, 3, groups=4), r"in_channels=6 is not divisible by groups=4"),
    (lambda: Conv2d(6, 9, 3, groups=2), r"out_channels=9 is not divisible by groups=2"),
    (lambda: Conv2d(6, 8, 3, groups=0), r"groups=0 must be positive"),
    (lambda: Conv2d(0, 8, 3), r"^in_channels=0 must be positive"),
    (lambda: Conv2d(6, 0, 3), r"^out_channels=0 must be positive"),
    (lambda: Conv2d(6, 8, 3, padding_mode="mirror"), r"padding_mode='mirror' must be one of"),
    (lambda: Conv2d(6, 8, 3, padding="full"), r"padding='full' must be an int"),
    (lambda: Conv2d(6, 8, 3, stride=(1, 2), padding="same"), r"padding='same' needs stride=1"),
    (lambda: Conv2d(6, 8, 0), r"kernel_size=0 must be positive"),
    (lambda: Conv1d(6, 8, 3, padding=-2), r"padding=-2 must be non-negative"),
    (lambda: Conv1d(6, 8, (3, 3)), r"kernel_size=\(3, 3\) must be an int or a tuple of 1 ints"),
    (lambda: Conv2d(2, 4, 3)(_zeros(1, 3, 5, 5)),
     r"weight expects 2 input channels per group x groups=1 = 2, but input has 3 channels"),
    (lambda: corr2d(_zeros(2, 2), _zeros(3, 1)), r"larger than X"),
    (lambda: conv2d_loop(_zeros(1, 5, 5), _zeros(2, 1, 3, 3)), r"takes a batch \(N, C, H, W\)"),
    (lambda: conv2d_loop(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), padding="same"),
     r"int or tuple padding only"),
    (lambda: conv2d_loop(_zeros(1, 6, 5, 5), _zeros(8, 2, 3, 3), groups=4),
     r"in_channels=6 is not divisible by groups=4"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: conv2d(_zeros(1, 1, 5, 5), _zeros(2, 1, 3, 3), groups=1.0),
    lambda: Conv2d(2, 4, 3, groups=True),
    lambda: Conv2d(2.0, 4, 3),
])
def test_wrong_types(call):
    with pytest.raises(TypeError, match=r"must be an int"):
        call()


@pytest.mark.parametrize("fn, weight_shape", [(conv1d, (2, 1, 3)), (conv2d, (2, 1, 3, 3))])
def test_weight_dtype_must_match_the_input(fn, weight_shape):
    x = _zeros(1, 1, *(5,) * (len(weight_shape) - 2))
    name = fn.__name__
    with pytest.raises(TypeError, match=rf"^{name}: weight has dtype torch.float64 but input "
                                        r"has dtype torch.float32; they must be equal$"):
        fn(x, _zeros(*weight_shape).double())


def test_zeros_mode_takes_a_one_entry_padding_tuple():
    """As torch: ``padding=(1,)`` pads every dimension by 1 (other modes reject it)."""
    layer = Conv2d(2, 4, 3, padding=(1,))
    assert layer.padding == (1, 1)
    assert layer(_zeros(1, 2, 5, 5)).shape == (1, 4, 5, 5)
