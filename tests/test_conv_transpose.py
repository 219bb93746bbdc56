"""``cnnlessons.scratch.conv_transpose`` against torch: ``conv_transpose1d/2d`` values and
every gradient, gradcheck, the modules (weights, repr, ``state_dict``, ``output_size``),
the output-size arithmetic in ``shapes`` and the ValueErrors."""
import pytest
import torch
import torch.nn as tnn
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlessons.receptive_field import receptive_fields
from cnnlessons.scratch.conv_transpose import (
    ConvTranspose1d,
    ConvTranspose2d,
    conv_transpose1d,
    conv_transpose2d,
)
from cnnlessons.shapes import (
    conv_transpose_geometry,
    conv_transpose_output_padding,
    conv_transpose_output_size,
)

SETTINGS = settings(max_examples=60, deadline=None)
DOUBLE = torch.float64
FUNCTIONS = {1: (conv_transpose1d, F.conv_transpose1d), 2: (conv_transpose2d, F.conv_transpose2d)}


def _per_dim(draw, entries):
    """The entries as an int when they are all equal (sometimes), else as a tuple."""
    return entries[0] if len(set(entries)) == 1 and draw(st.booleans()) else tuple(entries)


@st.composite
def transpose_cases(draw, dims):
    """A valid argument combination and input shape for a ``dims``-D transposed convolution."""
    groups = draw(st.sampled_from([1, 2, 3]))
    in_channels = groups * draw(st.integers(1, 2))
    out_per_group = draw(st.integers(1, 2))
    kernel = [draw(st.integers(1, 4)) for _ in range(dims)]
    stride = [draw(st.integers(1, 3)) for _ in range(dims)]
    dilation = [draw(st.integers(1, 3)) for _ in range(dims)]
    # torch's rule: output_padding < stride or output_padding < dilation
    output_padding = [draw(st.integers(0, max(s, d) - 1)) for s, d in zip(stride, dilation)]
    size = [draw(st.integers(1, 5)) for _ in range(dims)]
    if draw(st.booleans()):
        size[-1] += 16           # 16+ input columns take the other memory layout
    padding = []
    for n, k, s, d, op in zip(size, kernel, stride, dilation, output_padding):
        room = (n - 1) * s + d * (k - 1) + op        # the output size is room - 2p + 1 >= 1
        padding.append(draw(st.integers(0, min(3, room // 2))))
    batch = draw(st.one_of(st.none(), st.integers(1, 3)))   # None: unbatched input
    return dict(
        input_shape=((batch,) if batch else ()) + (in_channels, *size),
        weight_shape=(in_channels, out_per_group, *kernel),
        bias=draw(st.booleans()), input_grad=draw(st.booleans()),
        kwargs=dict(stride=_per_dim(draw, stride), padding=_per_dim(draw, padding),
                    output_padding=_per_dim(draw, output_padding), groups=groups,
                    dilation=_per_dim(draw, dilation)),
    )


def _compare_with_torch(dims, case, seed):
    """Same output and same gradients of input, weight and bias under a random upstream
    gradient."""
    ours, theirs = FUNCTIONS[dims]
    torch.manual_seed(seed)
    x = torch.randn(case["input_shape"], dtype=DOUBLE, requires_grad=case["input_grad"])
    w = torch.randn(case["weight_shape"], dtype=DOUBLE, requires_grad=True)
    b = torch.randn(case["weight_shape"][1] * case["kwargs"]["groups"], dtype=DOUBLE,
                    requires_grad=True) if case["bias"] else None
    leaves = [t for t in (x, w, b) if t is not None and t.requires_grad]
    out = ours(x, w, b, **case["kwargs"])
    expected = theirs(x, w, b, **case["kwargs"])
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(expected)
    for got, want in zip(torch.autograd.grad(out, leaves, g),
                         torch.autograd.grad(expected, leaves, g)):
        torch.testing.assert_close(got, want)


@SETTINGS
@given(transpose_cases(dims=2), st.integers(0, 2**31 - 1))
def test_conv_transpose2d_matches_torch(case, seed):
    _compare_with_torch(2, case, seed)


@SETTINGS
@given(transpose_cases(dims=1), st.integers(0, 2**31 - 1))
def test_conv_transpose1d_matches_torch(case, seed):
    _compare_with_torch(1, case, seed)


@SETTINGS
@given(transpose_cases(dims=2))
def test_output_size_formula_matches_torch(case):
    kwargs = dict(case["kwargs"])
    kwargs.pop("groups")
    spatial = case["input_shape"][-2:]
    expected = F.conv_transpose2d(torch.zeros(1, *case["input_shape"][-3:]),
                                  torch.zeros(case["weight_shape"]),
                                  groups=case["kwargs"]["groups"], **kwargs).shape[2:]
    assert conv_transpose_output_size(spatial, case["weight_shape"][2:], **kwargs) == expected


@pytest.mark.parametrize("fn, x_shape, w_shape, kwargs", [
    (conv_transpose2d, (2, 4, 3, 3), (4, 1, 3, 2), dict(stride=2, padding=1, output_padding=1,
                                                        groups=2)),
    (conv_transpose2d, (1, 2, 2, 17), (2, 3, 2, 3), dict(stride=(1, 2), dilation=(2, 1))),
    (conv_transpose2d, (2, 3, 3), (2, 2, 2, 2), dict(dilation=3, output_padding=2)),
    (conv_transpose1d, (2, 4, 5), (4, 2, 3), dict(stride=3, padding=2, output_padding=1,
                                                  groups=2, dilation=2)),
    (conv_transpose2d, (1, 2, 1, 1), (2, 2, 3, 3), {}),   # one input pixel: the kernel itself
])
def test_gradcheck(fn, x_shape, w_shape, kwargs):
    torch.manual_seed(0)
    x = torch.randn(x_shape, dtype=DOUBLE, requires_grad=True)
    w = torch.randn(w_shape, dtype=DOUBLE, requires_grad=True)
    b = torch.randn(w_shape[1] * kwargs.get("groups", 1), dtype=DOUBLE, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: fn(x, w, b, **kwargs), (x, w, b))


def test_hand_checked_scatter():
    """Each input spreads the kernel, stride 2 apart; overlaps add: 1*[1, 2, 3] and 10*[1, 2, 3]
    meet at position 2."""
    out = conv_transpose1d(torch.tensor([[[1., 10.]]]), torch.tensor([[[1., 2., 3.]]]), stride=2)
    assert out.tolist() == [[[1., 2., 13., 20., 30.]]]


def test_is_the_adjoint_of_conv2d():
    """<conv2d(x, W), y> = <x, conv_transpose2d(y, W)>: the transposed matrix, literally."""
    torch.manual_seed(0)
    x, w = torch.randn(2, 3, 9, 8, dtype=DOUBLE), torch.randn(4, 3, 3, 2, dtype=DOUBLE)
    kwargs = dict(stride=2, padding=1, dilation=(1, 2))
    y = torch.randn_like(F.conv2d(x, w, **kwargs))
    output_padding = tuple(a - b for a, b in zip(x.shape[2:], conv_transpose_output_size(
        tuple(y.shape[2:]), (3, 2), **kwargs)))
    back = conv_transpose2d(y, w, output_padding=output_padding, **kwargs)
    torch.testing.assert_close((F.conv2d(x, w, **kwargs) * y).sum(), (x * back).sum())


@pytest.mark.parametrize("width", [5, 20])
def test_non_contiguous_input_and_upstream_gradient(width):
    torch.manual_seed(0)
    x = torch.randn(3, 4, 6, width, dtype=DOUBLE)
    w = torch.randn(4, 2, 3, 3, dtype=DOUBLE, requires_grad=True)
    for view in (x.to(memory_format=torch.channels_last), x[:, :, 1::2], x.transpose(2, 3)):
        view = view.requires_grad_()
        out, expected = conv_transpose2d(view, w, stride=2), F.conv_transpose2d(view, w, stride=2)
        torch.testing.assert_close(out, expected)
        g = torch.ones(()).expand(out.shape)             # stride-0 upstream gradient
        for got, want in zip(torch.autograd.grad(out, (view, w), g),
                             torch.autograd.grad(expected, (view, w), g)):
            torch.testing.assert_close(got, want)


def test_float32_lenet_upsampling():
    """``ConvTranspose2d(16, 6, 5)`` from LeNet's 10x10 maps, float32, to float32 accuracy."""
    torch.manual_seed(0)
    x = torch.randn(8, 16, 10, 10, requires_grad=True)
    w = torch.randn(16, 6, 5, 5, requires_grad=True)
    out, expected = conv_transpose2d(x, w), F.conv_transpose2d(x, w)
    assert out.shape == (8, 6, 14, 14)
    torch.testing.assert_close(out, expected, rtol=1e-4, atol=1e-4)
    g = torch.randn_like(out)
    for got, want in zip(torch.autograd.grad(out, (x, w), g),
                         torch.autograd.grad(expected, (x, w), g)):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-3)


# --- modules -----------------------------------------------------------------------

MODULE_CONFIGS = [
    (ConvTranspose1d, tnn.ConvTranspose1d, (16, 33, 3), dict(stride=2)),
    (ConvTranspose1d, tnn.ConvTranspose1d, (4, 6, 4), dict(padding=1, output_padding=1,
                                                          stride=2, groups=2, bias=False)),
    (ConvTranspose2d, tnn.ConvTranspose2d, (16, 6, 5), {}),
    (ConvTranspose2d, tnn.ConvTranspose2d, (16, 33, (3, 5)), dict(stride=(2, 1),
                                                                  padding=(4, 2))),
    (ConvTranspose2d, tnn.ConvTranspose2d, (6, 9, 3), dict(stride=2, output_padding=(1, 0),
                                                           groups=3, dilation=(1, 2))),
    (ConvTranspose2d, tnn.ConvTranspose2d, (4, 4, 2), dict(dilation=3, output_padding=2)),
]


@pytest.mark.parametrize("ours, theirs, args, kwargs", MODULE_CONFIGS)
def test_module_same_seed_same_weights_repr_and_rng_state(ours, theirs, args, kwargs):
    torch.manual_seed(7)
    a = ours(*args, **kwargs)
    after_ours = torch.rand(3)
    torch.manual_seed(7)
    b = theirs(*args, **kwargs)
    assert torch.equal(after_ours, torch.rand(3))
    assert repr(a) == repr(b)
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for key in sa:
        assert torch.equal(sa[key], sb[key]), key
    for name in ("in_channels", "out_channels", "kernel_size", "stride", "padding",
                 "output_padding", "dilation", "groups", "padding_mode", "transposed"):
        assert getattr(a, name) == getattr(b, name), name


@pytest.mark.parametrize("ours, theirs, args, kwargs", MODULE_CONFIGS)
def test_module_load_state_dict_and_compute_the_same(ours, theirs, args, kwargs):
    a, b = ours(*args, dtype=DOUBLE, **kwargs), theirs(*args, dtype=DOUBLE, **kwargs)
    with torch.no_grad():
        for t in b.parameters():
            t.add_(torch.rand_like(t))
    a.load_state_dict(b.state_dict(), strict=True)
    x = torch.randn(2, args[0], *(4,) * ours._dims, dtype=DOUBLE, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_()
    out, expected = a(x), b(x_ref)
    torch.testing.assert_close(out, expected)
    g = torch.randn_like(out)
    out.backward(g)
    expected.backward(g)
    torch.testing.assert_close(x.grad, x_ref.grad)
    for (name, p), q in zip(a.named_parameters(), b.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=name)


@pytest.mark.parametrize("ours, theirs, shape, output_size", [
    (ConvTranspose2d, tnn.ConvTranspose2d, (2, 4, 5, 5), (10, 9)),
    (ConvTranspose2d, tnn.ConvTranspose2d, (4, 5, 5), (9, 10)),
    (ConvTranspose2d, tnn.ConvTranspose2d, (4, 5, 5), (6, 10, 9)),         # unbatched, whole
    (ConvTranspose2d, tnn.ConvTranspose2d, (2, 4, 5, 5), (2, 6, 10, 10)),   # the whole shape
    (ConvTranspose2d, tnn.ConvTranspose2d, (2, 4, 5, 5), torch.Size([9, 9])),
    (ConvTranspose1d, tnn.ConvTranspose1d, (2, 4, 7), [14]),
    (ConvTranspose1d, tnn.ConvTranspose1d, (4, 7), (6, 13)),
])
def test_forward_output_size(ours, theirs, shape, output_size):
    torch.manual_seed(0)
    a = ours(4, 6, 3, stride=2, padding=1, dtype=DOUBLE)
    b = theirs(4, 6, 3, stride=2, padding=1, dtype=DOUBLE)
    b.load_state_dict(a.state_dict())
    x = torch.randn(shape, dtype=DOUBLE)
    out, expected = a(x, output_size=output_size), b(x, output_size=output_size)
    assert out.shape == expected.shape
    torch.testing.assert_close(out, expected)


def test_output_padding_from_output_size():
    assert conv_transpose_output_padding((5, 5), (10, 9), 3, stride=2, padding=1) == (1, 0)
    assert conv_transpose_output_padding(7, 23, 3, stride=3) == (2,)    # 21 + 2


def test_geometry_is_the_transposed_convolutions():
    g = conv_transpose_geometry((10, 10), 5)
    assert g.input_size == (14, 14) and g.output_size == (10, 10)    # LeNet: 10 -> 14
    assert g.padded_size == (14, 14) and g.extent == (14, 14)


def test_no_receptive_field_rule():
    with pytest.raises(ValueError, match="layer ConvTranspose2d has no receptive-field rule"):
        receptive_fields([tnn.Conv2d(1, 2, 3), ConvTranspose2d(2, 2, 3)])


# --- invalid arguments -------------------------------------------------------------

def _zeros(*shape):
    return torch.zeros(shape)


@pytest.mark.parametrize("call, match", [
    (lambda: conv_transpose2d(_zeros(1, 4, 5, 5), _zeros(3, 2, 3, 3)),
     r"weight has 3 input channels \(weight.shape\[0\]\) but input has 4 channels"),
    (lambda: conv_transpose2d(_zeros(1, 6, 5, 5), _zeros(6, 2, 3, 3), groups=4),
     r"in_channels=6 is not divisible by groups=4"),
    (lambda: conv_transpose2d(_zeros(1, 2, 5, 5), _zeros(2, 1, 3, 3), groups=0),
     r"groups=0 must be positive"),
    (lambda: conv_transpose2d(_zeros(1, 4, 5, 5), _zeros(4, 2, 3, 3), _zeros(2), groups=2),
     r"bias has shape \(2,\); expected \(4,\)"),
    (lambda: conv_transpose2d(_zeros(5, 5), _zeros(1, 1, 3, 3)), r"input has shape \(5, 5\)"),
    (lambda: conv_transpose1d(_zeros(1, 1, 5), _zeros(1, 1, 3, 3)),
     r"weight has shape \(1, 1, 3, 3\) \(4-D\); expected a 3-D "
     r"\(in_channels, out_channels/groups, kL\)$"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3)),
     r"weight has shape \(1, 1, 3\) \(3-D\); expected a 4-D "
     r"\(in_channels, out_channels/groups, kH, kW\)$"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), stride=2, output_padding=2),
     r"output_padding=2 must be smaller than stride=2 or dilation=1"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), output_padding=(0, 1)),
     r"output_padding=\(0, 1\) must be smaller than stride=1 or dilation=1"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), output_padding=-1),
     r"output_padding=-1 must be non-negative"),
    (lambda: conv_transpose2d(_zeros(1, 1, 2, 2), _zeros(1, 1, 2, 2), padding=2),
     r"padding=2 is too large: the output size .* = -1 must be positive"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), padding="same"),
     r"padding='same' must be an int or a tuple: a transposed convolution takes no padding"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), padding=-1),
     r"padding=-1 must be non-negative"),
    (lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), stride=0),
     r"stride=0 must be positive"),
    (lambda: conv_transpose1d(_zeros(1, 1, 5), _zeros(1, 1, 3), dilation=0),
     r"dilation=0 must be positive"),
    (lambda: ConvTranspose2d(6, 8, 3, groups=4), r"in_channels=6 is not divisible by groups=4"),
    (lambda: ConvTranspose2d(6, 9, 3, groups=2), r"out_channels=9 is not divisible by groups=2"),
    (lambda: ConvTranspose2d(6, 8, 3, padding_mode="reflect"),
     r"padding_mode='reflect' must be 'zeros': ConvTranspose2d pads with zeros only"),
    (lambda: ConvTranspose2d(6, 8, 3, stride=2, output_padding=2),
     r"output_padding=2 must be smaller than stride=2 or dilation=1"),
    (lambda: ConvTranspose1d(6, 8, 3, padding="valid"), r"padding='valid' must be an int or"),
    (lambda: ConvTranspose2d(2, 2, 3, stride=2, padding=1)(_zeros(1, 2, 5, 5), output_size=(11, 9)),
     r"output_size=\(11, 9\) is out of range: for an input of size \(5, 5\) the output sizes "
     r"run from \(9, 9\) to \(10, 10\)"),
    (lambda: ConvTranspose2d(2, 2, 3)(_zeros(1, 2, 5, 5), output_size=(7,)),
     r"output_size=\(7,\) must have 2 entries"),
    (lambda: ConvTranspose2d(2, 2, 3)(_zeros(5, 5, 5), output_size=(7, 7)),
     r"weight has 2 input channels \(weight.shape\[0\]\) but input has 5 channels"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("call", [
    lambda: conv_transpose2d(_zeros(1, 1, 5, 5), _zeros(1, 1, 3, 3), groups=1.0),
    lambda: ConvTranspose2d(2, 4, 3, groups=True),
    lambda: ConvTranspose2d(2.0, 4, 3),
])
def test_wrong_types(call):
    with pytest.raises(TypeError, match=r"must be an int"):
        call()


def test_weight_dtype_must_match_and_bias_must_be_floating():
    x, w = _zeros(1, 1, 5, 5), _zeros(1, 2, 3, 3)
    with pytest.raises(TypeError, match=r"^conv_transpose2d: weight has dtype torch.float64 "
                                        r"but input has dtype torch.float32; they must be equal$"):
        conv_transpose2d(x, w.double())
    with pytest.raises(TypeError, match=r"^conv_transpose2d: bias has dtype torch.int64; it "
                                        r"needs a floating-point dtype"):
        conv_transpose2d(x, w, torch.zeros(2, dtype=torch.long))


def test_bias_of_another_floating_dtype_is_cast_as_in_torch():
    torch.manual_seed(0)
    x, w, b = torch.randn(1, 2, 4, 4), torch.randn(2, 3, 3, 3), torch.randn(3, dtype=DOUBLE)
    out = conv_transpose2d(x, w, b, stride=2)
    assert out.dtype == torch.float32
    torch.testing.assert_close(out, F.conv_transpose2d(x, w, b, stride=2))


def test_input_gradient_without_weight_gradient():
    """A frozen weight: only the input needs a gradient (the weight must still be saved)."""
    torch.manual_seed(0)
    x = torch.randn(1, 2, 4, 4, dtype=DOUBLE, requires_grad=True)
    w = torch.randn(2, 3, 3, 3, dtype=DOUBLE)
    x_ref = x.detach().clone().requires_grad_()
    conv_transpose2d(x, w, stride=2).sum().backward()
    F.conv_transpose2d(x_ref, w, stride=2).sum().backward()
    torch.testing.assert_close(x.grad, x_ref.grad)


@pytest.mark.parametrize("output_size", [(12, 11), (2, 3, 12, 11)])
def test_module_output_size_with_dilation_matches_torch(output_size):
    # The spatial sizes alone or with (N, C) in front, and a dilated kernel: the output
    # padding the module derives must use the last two entries and the dilation.
    torch.manual_seed(0)
    ours = ConvTranspose2d(4, 3, 3, stride=2, dilation=2).double()
    theirs = tnn.ConvTranspose2d(4, 3, 3, stride=2, dilation=2).double()
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(2, 4, 4, 4, dtype=torch.float64)
    out = ours(x, output_size=output_size)
    torch.testing.assert_close(out, theirs(x, output_size=output_size))
    assert out.shape[2:] == output_size[-2:]
