"""Scratch relu / softmax / log_softmax and their modules against torch."""
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from oracle import DT, assert_same_as_torch, tensors

from cnnlessons.scratch.activation import (
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    ReLU6,
    Sigmoid,
    Softmax,
    Tanh,
    hardtanh,
    leaky_relu,
    log_softmax,
    relu,
    relu6,
    sigmoid,
    softmax,
    tanh,
)

SETTINGS = settings(max_examples=40, deadline=None)


shapes = st.lists(st.integers(1, 4), max_size=4).map(tuple)  # () included: a scalar


# ---------------------------------------------------------------- relu


@SETTINGS
@given(shapes.flatmap(tensors))
def test_relu_matches_torch(x):
    x = x.round()  # many exact zeros: the kink, where both take gradient 0
    assert_same_as_torch(relu, F.relu, x)


@SETTINGS
@given(shapes.flatmap(tensors))
def test_relu_inplace_matches_torch(x):
    def inplace(f):
        return lambda t: f(t * 1, inplace=True)  # t * 1: in place on a non-leaf, as in a net
    assert_same_as_torch(inplace(relu), inplace(F.relu), x)


def test_relu_inplace_returns_the_input_overwritten():
    x = torch.tensor([-1.0, 0.5, 2.0])
    assert relu(x, inplace=True) is x
    assert torch.equal(x, torch.tensor([0.0, 0.5, 2.0]))


def test_relu_gradcheck():
    x = torch.tensor([-2.0, -0.5, 0.3, 1.7], dtype=DT, requires_grad=True)  # away from 0
    assert torch.autograd.gradcheck(relu, (x,))


def test_relu_integers_like_torch_and_rejects_bool():
    x = torch.tensor([-3, 0, 4])
    out = relu(x)
    assert out.dtype == torch.int64 and torch.equal(out, F.relu(x))
    with pytest.raises(TypeError, match=r"^relu: input has dtype torch.bool; booleans are not "
                                        r"supported$"):
        relu(x > 0)


def test_relu_inplace_on_leaf_requiring_grad_raises_before_writing():
    x = torch.tensor([-1.0, 1.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"^relu: inplace=True on a leaf tensor that requires "
                                         r"grad; .* apply relu to a computed tensor"):
        relu(x, inplace=True)
    assert x[0].item() == -1.0


# ---------------------------------------------------------------- softmax / log_softmax


@st.composite
def softmax_args(draw):
    shape = draw(shapes)
    ndim = max(len(shape), 1)
    dim = draw(st.integers(-ndim, ndim - 1))
    scale = draw(st.sampled_from([1.0, 100.0]))
    shift = draw(st.sampled_from([0.0, 1000.0, -1000.0]))  # huge logits must stay finite
    return draw(tensors(shape)) * scale + shift, dim


@pytest.mark.parametrize("ours, theirs", [(softmax, F.softmax), (log_softmax, F.log_softmax)])
@SETTINGS
@given(args=softmax_args())
def test_softmax_family_matches_torch(ours, theirs, args):
    x, dim = args
    assert_same_as_torch(lambda t: ours(t, dim), lambda t: theirs(t, dim), x)


@pytest.mark.parametrize("ours, theirs", [(softmax, F.softmax), (log_softmax, F.log_softmax)])
def test_large_logits_stay_finite(ours, theirs):
    x = torch.tensor([[1000.0, 0.0, -1000.0], [1000.0, 1000.0, 999.0]], dtype=DT)
    out = ours(x, dim=1)
    assert torch.isfinite(out).all()
    torch.testing.assert_close(out, theirs(x, dim=1))
    # float32 too: exp(1000) would overflow to inf without the max shift
    torch.testing.assert_close(ours(x.float(), dim=1), theirs(x.float(), dim=1))


def test_softmax_hand_checkable():
    out = softmax(torch.tensor([0.0, math.log(3.0)], dtype=DT), dim=0)
    torch.testing.assert_close(out, torch.tensor([0.25, 0.75], dtype=DT))


@pytest.mark.parametrize("fn", [softmax, log_softmax])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family_gradcheck(fn, dim):
    x = torch.randn(3, 4, dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fn(t, dim), (x,))


@pytest.mark.parametrize("ours, theirs", [(softmax, F.softmax), (log_softmax, F.log_softmax)])
def test_dtype_argument_casts_first(ours, theirs):
    x = torch.randn(2, 5)
    for dtype in (torch.float64, torch.float32):
        out = ours(x, 1, dtype=dtype)
        assert out.dtype == dtype
        torch.testing.assert_close(out, theirs(x, 1, dtype=dtype))
    ints = torch.tensor([1, 2, 3])
    torch.testing.assert_close(ours(ints, 0, dtype=DT), theirs(ints, 0, dtype=DT))


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_dim_none_raises_and_asks_for_dim(fn):
    with pytest.raises(ValueError,
                       match=r"dim=None; pass dim explicitly.*guess dim=1 for this 2-D"):
        fn(torch.randn(2, 3))


@pytest.mark.parametrize("fn, name, theirs", [(softmax, "softmax", F.softmax),
                                              (log_softmax, "log_softmax", F.log_softmax)])
@pytest.mark.parametrize("ndim, guess", [(0, 0), (1, 0), (2, 1), (3, 0), (4, 1)])
def test_dim_none_message_names_the_function_and_torch_guess(fn, name, theirs, ndim, guess):
    x = torch.randn((2,) * ndim, dtype=DT)
    with pytest.warns(UserWarning, match="Implicit dimension choice"):
        torch.testing.assert_close(theirs(x), theirs(x, guess))  # torch's guess, checked
    with pytest.raises(ValueError, match=rf"^{name}: dim=None; .*guess dim={guess} for "
                                         rf"this {ndim}-D input"):
        fn(x)


@pytest.mark.parametrize("fn, name", [(softmax, "softmax"), (log_softmax, "log_softmax")])
def test_dim_errors_name_the_function(fn, name):
    with pytest.raises(ValueError, match=rf"^{name}: dim=2 is out of range"):
        fn(torch.randn(2, 3), 2)


@pytest.mark.parametrize("ours, theirs", [(softmax, F.softmax), (log_softmax, F.log_softmax)])
def test_float16_computed_in_float32_like_torch(ours, theirs):
    """A float16 input is normalised in float32 and rounded once."""
    x = (torch.randn(4, 50, generator=torch.Generator().manual_seed(0)) * 4).half()
    out = ours(x, 1)
    assert out.dtype == torch.float16
    assert torch.equal(out, theirs(x.float(), 1).half())


@pytest.mark.parametrize("fn", [softmax, log_softmax])
def test_bad_dim_and_dtype(fn):
    with pytest.raises(ValueError,
                       match=r"dim=2 is out of range for a 2-D input: it must be in \[-2, 1\]"):
        fn(torch.randn(2, 3), 2)
    with pytest.raises(TypeError, match="dim=True must be an int"):
        fn(torch.randn(2, 3), True)
    with pytest.raises(TypeError, match="dtype torch.int64; it needs a floating-point input"):
        fn(torch.tensor([1, 2]), 0)


# ---------------------------------------------------------------- modules


@pytest.mark.parametrize("ours, theirs", [
    (ReLU(), torch.nn.ReLU()), (ReLU(inplace=True), torch.nn.ReLU(inplace=True)),
    (Softmax(), torch.nn.Softmax()), (Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (LogSoftmax(), torch.nn.LogSoftmax()), (LogSoftmax(-1), torch.nn.LogSoftmax(-1)),
])
def test_module_repr_and_state_dict(ours, theirs):
    assert repr(ours) == repr(theirs)
    ours.load_state_dict(theirs.state_dict())  # empty, but the keys must agree


@pytest.mark.parametrize("ours, theirs", [
    (ReLU(), torch.nn.ReLU()), (Softmax(dim=1), torch.nn.Softmax(dim=1)),
    (LogSoftmax(dim=1), torch.nn.LogSoftmax(dim=1)),
])
def test_module_forward_matches_torch(ours, theirs):
    assert_same_as_torch(ours, theirs, torch.randn(4, 3, dtype=DT) * 50)


@pytest.mark.parametrize("cls", [Softmax, LogSoftmax])
def test_module_without_dim_builds_but_forward_raises(cls):
    layer = cls()  # as in the source notes' nn.LogSoftmax()
    assert layer.dim is None
    with pytest.raises(ValueError, match="dim=None; pass dim explicitly"):
        layer(torch.randn(2, 3))
    with pytest.raises(TypeError, match="dim must be an int or None, got <class 'str'>"):
        cls(dim="1")


# ---------------------------------------------------------------- leaky_relu, hardtanh, relu6,
# ---------------------------------------------------------------- sigmoid, tanh


@SETTINGS
@given(x=shapes.flatmap(tensors), slope=st.floats(-2, 2), inplace=st.booleans())
def test_leaky_relu_matches_torch(x, slope, inplace):
    x = x.round()  # exact zeros: torch gives them the slope, and so do we
    if inplace and slope < 0:  # torch's in-place backward refuses a negative slope
        inplace = False
    assert_same_as_torch(lambda t: leaky_relu(t * 1, slope, inplace),
                         lambda t: F.leaky_relu(t * 1, slope, inplace), x)


def test_leaky_relu_inplace_negative_slope_keeps_the_mask():
    x = torch.tensor([-2.0, 3.0], dtype=DT, requires_grad=True)
    y = x * 1
    assert leaky_relu(y, -0.5, inplace=True) is y
    y.backward(torch.ones(2, dtype=DT))
    assert x.grad.tolist() == [-0.5, 1.0]


@SETTINGS
@given(x=shapes.flatmap(tensors), low=st.integers(-3, 0), width=st.integers(1, 4),
       inplace=st.booleans())
def test_hardtanh_matches_torch(x, low, width, inplace):
    x = x.round()  # values on the edges: gradient 0 there, in both
    lo, hi = float(low), float(low + width)
    assert_same_as_torch(lambda t: hardtanh(t * 1, lo, hi, inplace),
                         lambda t: F.hardtanh(t * 1, lo, hi, inplace), x)


@SETTINGS
@given(x=shapes.flatmap(tensors), inplace=st.booleans())
def test_relu6_matches_torch(x, inplace):
    assert_same_as_torch(lambda t: relu6(t.round() * 1, inplace),
                         lambda t: F.relu6(t.round() * 1, inplace), x)


@pytest.mark.parametrize("ours, theirs", [(sigmoid, torch.sigmoid), (tanh, torch.tanh)])
@SETTINGS
@given(x=shapes.flatmap(tensors), scale=st.sampled_from([1e-12, 1.0, 100.0]))
def test_sigmoid_tanh_match_torch(ours, theirs, x, scale):
    assert_same_as_torch(ours, theirs, x * scale)  # tiny, ordinary and saturated inputs


@pytest.mark.parametrize("fn", [lambda t: leaky_relu(t, 0.1), lambda t: hardtanh(t, -1.5, 1.5),
                                relu6, sigmoid, tanh])
def test_new_activations_gradcheck(fn):
    x = torch.tensor([-3.1, -1.7, -0.4, 0.3, 1.2, 7.3], dtype=DT, requires_grad=True)
    assert torch.autograd.gradcheck(fn, (x,))


def test_sigmoid_tanh_extremes_and_integers():
    x = torch.tensor([-1000.0, 1e-300, 1000.0], dtype=DT)
    assert torch.equal(sigmoid(x), torch.sigmoid(x)) and torch.equal(tanh(x), torch.tanh(x))
    ints = torch.tensor([-1, 0, 2])
    torch.testing.assert_close(sigmoid(ints), torch.sigmoid(ints))
    torch.testing.assert_close(tanh(ints), torch.tanh(ints))


def test_inplace_activations_return_the_input():
    for fn in (lambda t: leaky_relu(t, inplace=True), lambda t: hardtanh(t, inplace=True),
               lambda t: relu6(t, inplace=True)):
        x = torch.tensor([-3.0, 0.5, 9.0])
        assert fn(x) is x


def test_new_activation_errors():
    with pytest.raises(ValueError, match=r"hardtanh: min_val=2.0 must not be greater than "
                                         r"max_val=1.0"):
        hardtanh(torch.randn(3), 2.0, 1.0)
    with pytest.raises(ValueError, match=r"max_val=1.0 must be greater than min_val=1.0"):
        Hardtanh(1.0, 1.0)
    with pytest.raises(TypeError, match="leaky_relu: input has dtype torch.int64"):
        leaky_relu(torch.tensor([1, 2]))
    with pytest.raises(ValueError, match="relu6: inplace=True on a leaf tensor|hardtanh: inplace"):
        relu6(torch.randn(3, requires_grad=True), inplace=True)


@pytest.mark.parametrize("ours, theirs", [
    (LeakyReLU(), torch.nn.LeakyReLU()), (LeakyReLU(0.2, True), torch.nn.LeakyReLU(0.2, True)),
    (Hardtanh(), torch.nn.Hardtanh()), (Hardtanh(-2, 3, True), torch.nn.Hardtanh(-2, 3, True)),
    (ReLU6(), torch.nn.ReLU6()), (ReLU6(inplace=True), torch.nn.ReLU6(inplace=True)),
    (Sigmoid(), torch.nn.Sigmoid()), (Tanh(), torch.nn.Tanh()),
])
def test_new_modules_repr_and_forward(ours, theirs):
    assert repr(ours) == repr(theirs)
    x = torch.randn(4, 3, dtype=DT) * 4
    assert_same_as_torch(lambda t: ours(t * 1), lambda t: theirs(t * 1), x)


def test_relu6_module_caps_at_six():
    # The module's cap is its own constant (it passes 0 and 6 to Hardtanh): compared
    # with torch's above 6, where a wrong cap shows.
    x = torch.tensor([-1.0, 0.0, 3.0, 6.0, 6.5, 100.0])
    torch.testing.assert_close(ReLU6()(x), torch.nn.ReLU6()(x))
    assert ReLU6()(x).max().item() == 6.0


def test_leaky_relu_default_slope_and_inplace_check():
    x = torch.tensor([-2.0, 0.5], dtype=DT)
    torch.testing.assert_close(leaky_relu(x), F.leaky_relu(x))
    with pytest.raises(ValueError, match=r"^leaky_relu: inplace=True on a leaf tensor that "
                                         r"requires grad.*apply leaky_relu to a computed"):
        leaky_relu(x.clone().requires_grad_(), inplace=True)
