"""``cnnlessons.shapes`` against the shapes torch's layers actually produce."""
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnlessons.shapes import (
    WindowGeometry,
    conv_geometry,
    conv_output_size,
    conv_transpose_arguments,
    conv_transpose_output_padding,
    pool_geometry,
    pool_output_size,
    same_padding,
    unpool_geometry,
    unpool_output_size,
    window_arguments,
)

SETTINGS = settings(max_examples=60, deadline=None)
# torch warns that 'same' with an even kernel may copy the input; not our concern here
TORCH_SAME_WARNING = pytest.mark.filterwarnings("ignore:Using padding='same'")


def _per_dim(draw, dims, values):
    """An int (same for every dimension) or a tuple with one entry per dimension."""
    entries = tuple(draw(values) for _ in range(dims))
    if len(set(entries)) == 1 and draw(st.booleans()):
        return entries[0]
    return entries


def _torch_shape(fn, *args, **kwargs):
    """The spatial output shape torch produces, or None if torch refuses."""
    try:
        return tuple(fn(*args, **kwargs).shape[2:])
    except RuntimeError:
        return None


@st.composite
def conv_cases(draw):
    dims = draw(st.sampled_from([1, 2]))
    size = tuple(draw(st.integers(1, 12)) for _ in range(dims))
    kernel = _per_dim(draw, dims, st.integers(1, 5))
    dilation = _per_dim(draw, dims, st.integers(1, 3))
    padding = draw(st.sampled_from(["valid", "same", "explicit"]))
    if padding == "explicit":
        padding = _per_dim(draw, dims, st.integers(0, 3))
    stride = 1 if padding == "same" else _per_dim(draw, dims, st.integers(1, 3))
    return dims, size, kernel, stride, padding, dilation


@TORCH_SAME_WARNING
@SETTINGS
@given(conv_cases())
def test_conv_output_size_matches_torch(case):
    dims, size, kernel, stride, padding, dilation = case
    k = (kernel,) * dims if isinstance(kernel, int) else kernel
    conv = F.conv1d if dims == 1 else F.conv2d
    expected = _torch_shape(conv, torch.zeros(1, 1, *size), torch.zeros(1, 1, *k),
                            stride=stride, padding=padding, dilation=dilation)
    if expected is None:                                  # torch: kernel larger than input
        with pytest.raises(ValueError, match="the output would be empty"):
            conv_output_size(size, kernel, stride, padding, dilation)
    else:
        assert conv_output_size(size, kernel, stride, padding, dilation) == expected
        if dims == 1 and all(isinstance(v, int) or isinstance(v, str)
                             for v in (kernel, stride, padding, dilation)):
            assert conv_output_size(size[0], kernel, stride, padding, dilation) == expected[0]


@SETTINGS
@given(st.data())
def test_pool_output_size_matches_torch(data):
    draw = data.draw
    dims = draw(st.sampled_from([1, 2]))
    size = tuple(draw(st.integers(1, 12)) for _ in range(dims))
    kernel = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    dilation = tuple(draw(st.integers(1, 2)) for _ in range(dims))
    ceil_mode = draw(st.booleans())
    pool = F.max_pool1d if dims == 1 else F.max_pool2d
    expected = _torch_shape(pool, torch.zeros(1, 1, *size), kernel, stride, padding,
                            dilation, ceil_mode)
    if expected is None:
        with pytest.raises(ValueError, match="the output would be empty"):
            pool_output_size(size, kernel, stride, padding, dilation, ceil_mode)
    else:
        assert pool_output_size(size, kernel, stride, padding, dilation, ceil_mode) == expected
        if dims == 1:
            assert pool_output_size(size[0], kernel[0], None if stride is None else stride[0],
                                    padding[0], dilation[0], ceil_mode) == expected[0]


@TORCH_SAME_WARNING
@SETTINGS
@given(st.integers(1, 5), st.integers(1, 5), st.integers(1, 3), st.integers(1, 3),
       st.integers(1, 9), st.integers(1, 9))
def test_same_padding_reproduces_torch_same(kh, kw, dh, dw, h, w):
    """Padding explicitly by ``same_padding`` then a valid conv equals torch's 'same'."""
    x = torch.randn(1, 2, h, w, dtype=torch.float64)
    weight = torch.randn(3, 2, kh, kw, dtype=torch.float64)
    (top, bottom), (left, right) = same_padding((kh, kw), (dh, dw))
    ours = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, dilation=(dh, dw))
    torch.testing.assert_close(ours, F.conv2d(x, weight, padding="same", dilation=(dh, dw)))


def test_source_examples():
    assert conv_output_size(50, 3, stride=2) == 24              # Conv1d(16, 33, 3, stride=2)
    assert conv_output_size((50, 100), (3, 5), (2, 1), (4, 2)) == (28, 100)
    assert conv_output_size((50, 100), (3, 5), (2, 1), (4, 2), (3, 1)) == (26, 100)
    assert conv_output_size((28, 28), 5, padding=2) == (28, 28)          # LeNet-5 C1
    assert pool_output_size(5, 2) == 2 and pool_output_size(5, 2, ceil_mode=True) == 3
    assert same_padding(4) == ((1, 2),)


@pytest.mark.parametrize("call, match", [
    (lambda: conv_output_size(4, 5), r"kernel_size=5 with dilation=1 spans 5 elements, more "
                                     r"than the padded input size 4 \+ 2\*0 = 4"),
    (lambda: conv_output_size(4, 3, dilation=2), r"spans 5 elements.*the output would be empty"),
    (lambda: conv_output_size(8, 3, stride=2, padding="same"), r"padding='same' needs stride=1"),
    (lambda: conv_output_size((8, 8), 3, stride=(1, 2), padding="same"),
     r"padding='same' needs stride=1"),
    (lambda: conv_output_size(8, 3, padding="full"), r"padding='full' must be an int"),
    (lambda: conv_output_size(8, 3, padding=-1), r"padding=-1 must be non-negative"),
    (lambda: conv_output_size(8, 3, stride=0), r"stride=0 must be positive"),
    (lambda: conv_output_size(8, 0), r"kernel_size=0 must be positive"),
    (lambda: conv_output_size((8, 8), (3, 3, 3)),
     r"kernel_size=\(3, 3, 3\) must be an int or a tuple of 2"),
    (lambda: pool_output_size(1, 3), r"the output would be empty"),
    (lambda: pool_output_size(8, 3, padding=2), r"padding=2 must be at most half of kernel_size=3"),
    (lambda: pool_output_size(8, 2, dilation=0), r"dilation=0 must be positive"),
])
def test_invalid_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# ---------------------------------------------------------------- the geometry itself


@TORCH_SAME_WARNING
@SETTINGS
@given(conv_cases())
def test_conv_geometry_is_window_arguments_plus_the_size(case):
    """The geometry holds the normalised arguments, the pads and the output size."""
    dims, size, kernel, stride, padding, dilation = case
    try:
        g = conv_geometry(size, kernel, stride, padding, dilation)
    except ValueError:
        return  # an empty output; the size test above covers it
    assert (g.kernel_size, g.stride, g.dilation, g.padding) == window_arguments(
        dims, kernel, stride, padding, dilation)
    assert g.output_size == conv_output_size(size, kernel, stride, padding, dilation)
    assert g.span == tuple(d * (k - 1) + 1 for k, d in zip(g.kernel_size, g.dilation))
    assert g.padded_size == tuple(n + a + b for n, (a, b) in zip(size, g.padding))
    assert g.flat_padding == sum(g.padding, ())
    assert g.pad_before == tuple(a for a, _ in g.padding)
    # the windows reach no further than the padded input, and drop less than a stride
    for reach, padded, s in zip(g.extent, g.padded_size, g.stride):
        assert padded - s < reach <= padded


def test_geometry_properties_and_as_2d():
    g = pool_geometry(5, 2, ceil_mode=True)                # windows [0, 2), [2, 4), [4, 6)
    assert g.output_size == (3,) and g.extent == (6,) and g.padded_size == (5,)
    lifted = g.as_2d()
    assert lifted.input_size == (1, 5) and lifted.kernel_size == (1, 2)
    assert lifted.stride == (1, 2) and lifted.dilation == (1, 1)
    assert lifted.padding == ((0, 0), (0, 0)) and lifted.output_size == (1, 3)
    same = conv_geometry((6, 6), (4, 3), padding="same", dilation=(1, 2))
    assert same.padding == ((1, 2), (2, 2)) and same.pad_before == (1, 2)
    assert same.flat_padding == (1, 2, 2, 2) and same.output_size == (6, 6)


def test_pool_stride_defaults_to_the_kernel():
    for stride in (None, [], ()):
        assert pool_geometry((6, 6), (3, 2), stride).stride == (3, 2)
        assert unpool_geometry((2, 3), (3, 2), stride).stride == (3, 2)


@SETTINGS
@given(st.data())
def test_unpool_output_size_matches_torch(data):
    draw = data.draw
    dims = draw(st.sampled_from([1, 2]))
    size = tuple(draw(st.integers(1, 6)) for _ in range(dims))
    kernel = tuple(draw(st.integers(1, 4)) for _ in range(dims))
    stride = None if draw(st.booleans()) else tuple(draw(st.integers(1, 3)) for _ in range(dims))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    restored = unpool_output_size(size, kernel, stride, padding)
    g = unpool_geometry(size, kernel, stride, padding)
    assert g.input_size == restored and g.output_size == size
    if min(restored) < 1:
        return  # nothing to unpool into; max_unpool refuses it
    unpool = F.max_unpool1d if dims == 1 else F.max_unpool2d
    x = torch.zeros(1, 1, *size)
    out = unpool(x, torch.zeros_like(x, dtype=torch.long), kernel, stride, padding)
    assert tuple(out.shape[2:]) == restored
    if dims == 1:
        assert unpool_output_size(size[0], kernel[0], None if stride is None else stride[0],
                                  padding[0]) == restored[0]


@pytest.mark.parametrize("call, match", [
    (lambda: window_arguments(2, 3, stride=2, padding="same"), r"padding='same' needs stride=1"),
    (lambda: window_arguments(1, 3, padding=-1), r"padding=-1 must be non-negative"),
    (lambda: window_arguments(2, (3, 0)), r"kernel_size=\(3, 0\) must be positive"),
    (lambda: window_arguments(1, 3, padding="full"), r"padding='full' must be an int"),
    (lambda: pool_geometry(5, 3, padding="same"), r"padding='same' must be an int or a tuple"),
    (lambda: unpool_geometry(5, 2, stride=0), r"stride=0 must be positive"),
    (lambda: unpool_geometry(5, 2, padding=-1), r"padding=-1 must be non-negative"),
])
def test_invalid_window_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()


# Pinned by mutation testing: the defaults and the argument names in the messages of the
# geometry helpers that the layers' own tests reach only with every argument given.

def test_unpool_and_conv_transpose_helpers_have_torchs_defaults():
    assert unpool_geometry((2, 2), 2) == WindowGeometry(
        input_size=(4, 4), kernel_size=(2, 2), stride=(2, 2), dilation=(1, 1),
        padding=((0, 0), (0, 0)), output_size=(2, 2))
    assert conv_transpose_arguments(2, 3) == ((3, 3), (1, 1), (1, 1), (0, 0), (0, 0))
    assert window_arguments(2, 3) == ((3, 3), (1, 1), (1, 1), ((0, 0), (0, 0)))


def test_pool_geometry_and_output_padding_have_torchs_defaults():
    # ceil_mode=False rounds down, stride=1 allows exactly one output size
    assert pool_geometry((5, 5), 2).output_size == (2, 2)
    assert conv_transpose_output_padding(5, 7, 3) == (0,)


@pytest.mark.parametrize("call, message", [
    (lambda: unpool_geometry((2, 2), 2, None, (1, 2, 3)),
     r"^padding=\(1, 2, 3\) must be an int or a tuple of 2 ints$"),
    (lambda: conv_transpose_arguments(2, 3, 1, 0, (1, 2, 3)),
     r"^output_padding=\(1, 2, 3\) must be an int or a tuple of 2 ints$"),
    (lambda: conv_transpose_output_padding((5, 5), (10, 9), 3, stride=(2, 2, 2)),
     r"^stride=\(2, 2, 2\) must be an int or a tuple of 2 ints$"),
    (lambda: conv_transpose_output_padding((5, 5), (10,), 3, stride=2),
     r"^output_size=\(10,\) must have 2 entries, one per spatial dimension$"),
    (lambda: window_arguments(2, 3, dilation=(1, 2, 3)),
     r"^dilation=\(1, 2, 3\) must be an int or a tuple of 2 ints$"),
    (lambda: window_arguments(2, 3, padding=(1, 2, 3)),
     r"^padding=\(1, 2, 3\) must be an int or a tuple of 2 ints$"),
    (lambda: same_padding(3, dilation=(1, 2)),
     r"^dilation=\(1, 2\) must be an int or a tuple of 1 ints$"),
    # the bound is shown as an int (k // 2), not as k / 2
    (lambda: pool_geometry(5, 4, padding=3),
     r"^padding=3 must be at most half of kernel_size=4 \(at most 2\), "),
    # 'same' pads unevenly for an even kernel, and the message shows both pads
    (lambda: conv_output_size(0, 4, padding="same"),
     r"spans 4 elements, more than the padded input size 0 \+ 1 \+ 2 = 3:"),
])
def test_geometry_helpers_name_the_argument(call, message):
    with pytest.raises(ValueError, match=message):
        call()
