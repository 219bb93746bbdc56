"""Receptive-field arithmetic, checked against what the layers actually connect.

The oracle is autograd through torch's own layers: the input positions with a
nonzero gradient for one output element. ``empirical_receptive_field`` measures
it on a linearised copy (positive weights, pooling as a sum), and one test checks
the pooling geometry with torch's real ``MaxPool2d`` indices instead.
"""
import copy
import doctest
import itertools
import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from torch import nn

import cnnlessons.receptive_field as receptive_field_module
from cnnlessons import backend
from cnnlessons.receptive_field import (
    ReceptiveField,
    empirical_receptive_field,
    geometry,
    linearized,
    receptive_fields,
)

BACKENDS = ["torch", "scratch"]


def test_doctests():
    result = doctest.testmod(receptive_field_module)
    assert result.attempted > 0 and result.failed == 0


def test_notes_example_z_depends_on_9_of_x_and_4_of_y():
    """X 3x3 -> 2x2 kernel -> Y 2x2 -> 2x2 kernel -> z 1x1: z depends on all 9 elements of
    X (its receptive field, 3x3) and on all 4 of Y; the notes' sum 9 + 4 measures nothing."""
    x = torch.randn(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    kernel = torch.rand(1, 1, 2, 2, dtype=torch.float64) + 0.1  # positive: no cancellation
    y = F.conv2d(x, kernel)
    y.retain_grad()
    z = F.conv2d(y, kernel)
    assert z.shape == (1, 1, 1, 1)
    z.sum().backward()
    on_x, on_y = int(x.grad.ne(0).sum()), int(y.grad.ne(0).sum())
    assert (on_x, on_y) == (9, 4)

    y_rf, z_rf = receptive_fields([(2, 1, 0, 1), (2, 1, 0, 1)])
    (z_on_y,) = receptive_fields([(2, 1, 0, 1)])
    assert math.prod(z_rf.size) == on_x and math.prod(z_on_y.size) == on_y
    assert z_rf.size == (3, 3) and y_rf.size == (2, 2)


def test_recurrence_by_hand():
    # Two k=3, p=1, s=2 convolutions: r = 1 + 2*1 = 3, then 3 + 2*2 = 7; j = 2, 4;
    # start = 0 + (1 - 1)*1 = 0, then 0 + (1 - 1)*2 = 0.
    first, second = receptive_fields([(3, 2, 1, 1), (3, 2, 1, 1)], ndim=1)
    assert (first.size, first.jump, first.start) == ((3,), (2,), (0.0,))
    assert (second.size, second.jump, second.start) == ((7,), (4,), (0.0,))
    # Dilation 2 spreads a 3-tap kernel over 5: r = 5, start = (5-1)/2 - 0 = 2.
    (dilated,) = receptive_fields([(3, 1, 0, 2)], ndim=1)
    assert (dilated.size, dilated.start) == ((5,), (2.0,))
    # Even kernel: MaxPool 2 puts the first unit's centre between inputs 0 and 1.
    assert receptive_fields([(2, 2, 0, 1)], ndim=1)[0].start == (0.5,)


def test_then_matches_chain_and_per_dimension_values():
    rf = ReceptiveField.of_input(2).then((3, 5), stride=(1, 2), padding=(1, 0), dilation=(2, 1))
    assert rf == ReceptiveField(size=(5, 5), jump=(1, 2), start=(1.0, 2.0))


def test_of_input_defaults_to_two_spatial_dimensions():
    assert ReceptiveField.of_input() == ReceptiveField((1, 1), (1, 1), (0.0, 0.0))


def test_linear_layers_on_a_flat_input_see_the_one_vector():
    """An input with no spatial dimensions is already flat: Linear needs no Flatten."""
    fields = receptive_fields([nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)], input_size=())
    assert fields == [ReceptiveField.of_input(0)] * 3


# --- analytic vs empirical, on real torch layers --------------------------------------

def check_against_empirical(model, input_size, output_index, rf) -> bool:
    """Compare ``rf`` for the output unit at ``output_index`` with autograd's answer.

    If the unit's box lies inside the input, no padding is involved and the box must
    be exact. Otherwise padding can only hide input (a zero stands in for a unit), so
    the measured region must lie within the clipped box. Returns whether exact.
    """
    spatial, position = tuple(input_size[1:]), tuple(output_index[1:])
    unclipped = rf.box(position)
    inside = all(lo >= 0 and hi < n for (lo, hi), n in zip(unclipped, spatial))
    try:
        measured = empirical_receptive_field(model, input_size, output_index)
    except ValueError as error:  # a unit that sees only padding
        assert not inside and "does not depend on the input" in str(error)
        return False
    if inside:
        assert measured.box == unclipped, (output_index, measured.box, unclipped)
        assert measured.size == rf.size
    else:
        for (lo, hi), (c_lo, c_hi) in zip(measured.box, rf.box(position, spatial)):
            assert c_lo <= lo <= hi <= c_hi, (output_index, measured.box, rf.box(position, spatial))
    return inside


@st.composite
def chains(draw):
    """A random chain of 1-3 conv/pool layers (ReLU after each) and an input size."""
    ndim = draw(st.sampled_from([1, 2]))
    conv_cls = (nn.Conv1d, nn.Conv2d)[ndim - 1]
    max_cls = (nn.MaxPool1d, nn.MaxPool2d)[ndim - 1]
    avg_cls = (nn.AvgPool1d, nn.AvgPool2d)[ndim - 1]
    per_dim = lambda lo, hi: st.tuples(*[st.integers(lo, hi)] * ndim)  # noqa: E731
    layers, channels = [], draw(st.integers(1, 2))
    in_channels = channels
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["conv", "max", "avg"]))
        k, s = draw(per_dim(1, 4)), draw(per_dim(1, 3))
        if kind == "conv":
            out = draw(st.integers(1, 2))
            layers.append(conv_cls(channels, out, k, stride=s, padding=draw(per_dim(0, 3)),
                                   dilation=draw(per_dim(1, 3)), bias=draw(st.booleans())))
            channels = out
        else:
            pad = tuple(draw(st.integers(0, ki // 2)) for ki in k)
            ceil = draw(st.booleans())
            if kind == "max":
                layers.append(max_cls(k, s, pad, dilation=draw(per_dim(1, 2)), ceil_mode=ceil))
            else:
                layers.append(avg_cls(k, s, pad, ceil_mode=ceil))
        layers.append(nn.ReLU())
    size = draw(per_dim(6, 40))
    return nn.Sequential(*layers), (in_channels, *size)


@settings(max_examples=50, deadline=None)
@given(chain=chains(), data=st.data())
def test_analytic_box_equals_empirical_box(chain, data):
    model, input_size = chain
    try:
        out_shape = model(torch.zeros(1, *input_size)).shape
    except RuntimeError:  # the chain shrank the input to nothing
        assume(False)
    # The linearised copy must compute the same shape as the real layers.
    assert linearized(model)(torch.zeros(1, *input_size, dtype=torch.float64)).shape == out_shape
    rf = receptive_fields(model, input_size=input_size[1:])[-1]
    positions = [p for p in itertools.product(*map(range, out_shape[2:]))]
    inside = [p for p in positions
              if all(lo >= 0 and hi < n for (lo, hi), n in zip(rf.box(p), input_size[1:]))]
    channel = data.draw(st.integers(0, out_shape[1] - 1))
    if inside:  # one unit whose box must be exact...
        unit = (channel, *data.draw(st.sampled_from(inside)))
        assert check_against_empirical(model, input_size, unit, rf)
    # ...and one anywhere, possibly at the border
    unit = (channel, *data.draw(st.sampled_from(positions)))
    check_against_empirical(model, input_size, unit, rf)


def test_strided_dilated_chain_every_position():
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3, stride=2, padding=1, dilation=2),
        nn.ReLU(),
        nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True),
        nn.Conv2d(2, 2, (3, 2), stride=(1, 2), padding=(2, 0), dilation=(1, 3)),
        nn.AvgPool2d(2, ceil_mode=True),
    )
    input_size = (1, 45, 53)
    out_shape = model(torch.zeros(1, *input_size)).shape
    rf = receptive_fields(model, input_size=input_size[1:])[-1]
    # By hand, rows: conv r = 1 + 4*1 = 5, j = 2; pool r = 5 + 4*2 = 13, j = 4;
    # conv r = 13 + 2*4 = 21, j = 4; avg pool r = 21 + 1*4 = 25, j = 8.
    assert rf.size[0] == 25 and rf.jump[0] == 8
    exact = [check_against_empirical(model, input_size, (1, i, j), rf)
             for i in range(out_shape[2]) for j in range(out_shape[3])]
    assert any(exact) and not all(exact)  # both kinds of unit were checked


def test_dilation_leaves_holes_inside_the_box():
    conv = nn.Conv1d(1, 1, 3, dilation=3)
    measured = empirical_receptive_field(conv, (1, 10), (0, 1))
    assert measured.box == ((1, 7),) and measured.count == 3  # taps 1, 4, 7
    assert receptive_fields([conv], ndim=1)[0].box((1,)) == ((1, 7),)


def test_max_pool_geometry_with_torch_indices():
    """Check pooling without the linearised copy: the input positions torch's own
    MaxPool2d picks as maxima, over many random inputs, are exactly the window's
    taps inside the input, and the analytic box runs from its first tap to its last."""
    torch.manual_seed(0)
    k, s, p, d = (3, 2), (2, 3), (1, 1), (2, 1)
    height, width = 11, 10
    pool = nn.MaxPool2d(k, s, p, d, ceil_mode=True, return_indices=True)
    _, idx = pool(torch.randn(400, 1, height, width))
    (rf,) = receptive_fields([pool], input_size=(height, width))
    for i in range(idx.shape[2]):
        for j in range(idx.shape[3]):
            picked = {(int(f) // width, int(f) % width) for f in idx[:, 0, i, j].unique()}
            taps = {(i * s[0] - p[0] + a * d[0], j * s[1] - p[1] + b * d[1])
                    for a in range(k[0]) for b in range(k[1])}
            assert picked == {(r, c) for r, c in taps if 0 <= r < height and 0 <= c < width}
            assert rf.box((i, j)) == ((i * s[0] - p[0], i * s[0] - p[0] + (k[0] - 1) * d[0]),
                                      (j * s[1] - p[1], j * s[1] - p[1] + (k[1] - 1) * d[1]))


def test_plain_function_without_linearising():
    kernel = torch.ones(1, 1, 3, 3, dtype=torch.float64)

    def fn(x):
        return F.conv2d(F.conv2d(x, kernel, stride=2), kernel, padding=1, dilation=2)

    rf = receptive_fields([(3, 2, 0, 1), (3, 1, 1, 2)], input_size=(15, 15))[-1]
    # Unit (2, 3) is inside: its box is exact. Unit (0, 0) reaches Y's padding: the
    # zeros there stand in for rows and columns -2..0 of X, so X's rows 0 and 1 are
    # not reached although they lie in the clipped box.
    assert check_against_empirical(fn, (1, 15, 15), (0, 2, 3), rf)
    assert empirical_receptive_field(fn, (1, 15, 15), (0, 0, 0)).box == ((2, 8), (2, 8))
    assert rf.box((0, 0), (15, 15)) == ((0, 8), (0, 8))


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")
def test_same_padding_with_even_kernel():
    conv = nn.Conv2d(1, 1, 4, padding="same")  # torch pads 1 left, 2 right
    assert geometry(conv) == ((4, 4), (1, 1), (1, 1), (1, 1))
    rf = receptive_fields([conv], input_size=(9, 9))[0]
    for pos in [(0, 0), (4, 5), (8, 8)]:
        assert rf.box(pos, (9, 9)) == empirical_receptive_field(conv, (1, 9, 9), (0, *pos)).box
    # a geometry tuple and then() read 'same' as the module does
    assert receptive_fields([(4, 1, "same", 1)], input_size=(9, 9)) == [rf]
    assert ReceptiveField.of_input(2).then(4, padding="same") == rf


def test_flatten_then_linear_sees_the_whole_map():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, stride=2), nn.Flatten(), nn.Linear(2 * 4 * 4, 3),
                          nn.Softmax(dim=1))
    fields = receptive_fields(model, input_size=(9, 10))
    assert fields[1] == fields[0]  # flattening moves nothing
    assert fields[2].size == (9, 9)  # 3 + (4-1)*2 rows, 3 + (4-1)*2 columns
    assert fields[3] == fields[2]
    measured = empirical_receptive_field(model, (1, 9, 10), (2,))
    assert measured.box == fields[3].box((0, 0), (9, 10)) == ((0, 8), (0, 8))


def _flattened(layers, input_size, classes=3):
    """``layers`` then Flatten and a Linear over whatever map they leave."""
    features = nn.Sequential(*layers)(torch.zeros(1, *input_size)).numel()
    return nn.Sequential(*layers, nn.Flatten(), nn.Linear(features, classes))


@pytest.mark.parametrize("layers, input_size, field", [
    # ceil_mode's last window overhangs: the 7x7 input gives a 4x4 map, not 3x3, so the
    # Linear sees all 7 rows and columns (floor mode would give 3x3: a field of 6).
    ([nn.MaxPool2d(2, ceil_mode=True)], (1, 7, 7), (7, 7)),
    ([nn.AvgPool2d(2, ceil_mode=True)], (1, 7, 7), (7, 7)),
    ([nn.Conv2d(1, 2, 3), nn.ReLU(), nn.MaxPool2d(2, ceil_mode=True)], (1, 10, 9), (10, 9)),
    ([nn.MaxPool2d(3, 2, ceil_mode=True), nn.AvgPool2d(2, ceil_mode=True)], (1, 12, 8),
     (12, 8)),
    ([nn.MaxPool1d(2, ceil_mode=True), nn.MaxPool1d(2, ceil_mode=True)], (2, 9), (9,)),
    # and without ceil_mode the leftover row and column are really not seen
    ([nn.MaxPool2d(2)], (1, 7, 7), (6, 6)),
])
def test_ceil_mode_pooling_before_flatten_and_linear_against_empirical(layers, input_size,
                                                                       field):
    model = _flattened(layers, input_size)
    rf = receptive_fields(model, input_size=input_size[1:])[-1]
    measured = empirical_receptive_field(model, input_size, (1,))
    clipped = rf.box((0,) * (len(input_size) - 1), input_size[1:])
    assert measured.size == field
    assert measured.box == clipped


def test_output_that_sees_only_padding():
    """Found by hypothesis: stride 3 with padding 1 on a 2-row map keeps padded rows 0
    and 3, both padding, so nothing after the convolution depends on the input."""
    layers = [nn.MaxPool2d(1, (3, 1)), nn.Conv2d(1, 1, 1, stride=(3, 1), padding=(1, 0),
                                                 bias=False)]
    model = _flattened(layers, (1, 6, 6))
    with pytest.raises(ValueError, match=r"output_index=\(0,\) does not depend on the input"):
        empirical_receptive_field(model, (1, 6, 6), (0,))


def _windows(model):
    # receptive_field decides which layers are windows; the test asks it, not a name prefix
    return [layer for layer in model if receptive_field_module._kind(layer) == "window"]


def _later_window_overhangs(model, input_size) -> bool:
    """Whether a ceil_mode window after the first window layer runs past the map it
    reads. That acts like padding: the clipped box is clipped at the input only, so it
    counts input positions behind the missing part of the map (an upper bound)."""
    x, first = torch.zeros(1, *input_size), _windows(model)[:1]
    for layer in model:
        if getattr(layer, "ceil_mode", False) and layer not in first:
            floor = copy.copy(layer)
            floor.ceil_mode = False
            try:
                if floor(x).shape != layer(x).shape:
                    return True
            except RuntimeError:  # only the overhanging window fits
                return True
        x = layer(x)
    return False


def test_overhang_after_the_first_window_makes_the_box_an_upper_bound():
    """Found by hypothesis: 7 rows pool (floor) to 3, which pool with ceil_mode to 2;
    the second window reads map rows 2 and 3, and row 3 (input rows 6-7) is not there."""
    layers = [nn.AvgPool2d((2, 1)), nn.AvgPool2d((2, 1), ceil_mode=True)]
    model = _flattened(layers, (1, 7, 6))
    assert _later_window_overhangs(model, (1, 7, 6))
    assert not _later_window_overhangs(_flattened(layers[::-1], (1, 7, 6)), (1, 7, 6))
    clipped = receptive_fields(model, input_size=(7, 6))[-1].box((0, 0), (7, 6))
    assert empirical_receptive_field(model, (1, 7, 6), (0,)).box == ((0, 5), (0, 5))
    assert clipped == ((0, 6), (0, 5))


@settings(max_examples=40, deadline=None)
@given(chain=chains())
def test_flatten_and_linear_after_any_chain_against_empirical(chain):
    """Conv/pool chains (ceil_mode often) closed by Flatten + Linear: the Linear's
    clipped field is the measured one exactly when nothing pads or dilates and no
    window after the first overhangs its map (then every window is a contiguous run
    inside its input), and contains it always."""
    model, input_size = chain
    try:
        model = _flattened(list(model), input_size)
    except RuntimeError:  # the chain shrank the input to nothing
        assume(False)
    rf = receptive_fields(model, input_size=input_size[1:])[-1]
    clipped = rf.box((0,) * (len(input_size) - 1), input_size[1:])
    plain = all(all(p == 0 for p in geometry(layer, len(input_size) - 1)[2])
                and all(d == 1 for d in geometry(layer, len(input_size) - 1)[3])
                for layer in _windows(model)) and not _later_window_overhangs(model, input_size)
    try:
        measured = empirical_receptive_field(model, input_size, (0,))
    except ValueError as error:
        # Every window a strided, padded layer keeps can lie in its padding (see
        # test_output_that_sees_only_padding): an empty field, inside any box, and only
        # padding can cause it.
        assert "does not depend on the input" in str(error) and not plain, (model, error)
        return
    if plain:
        assert measured.box == clipped, (model, input_size)
    else:
        for (lo, hi), (c_lo, c_hi) in zip(measured.box, clipped):
            assert c_lo <= lo <= hi <= c_hi


@pytest.mark.parametrize("name", BACKENDS)
def test_backends_read_alike(name):
    nn_ = backend(name)
    layers = [nn_.Conv2d(3, 4, 3, stride=2, padding=1, dilation=2), nn_.ReLU(),
              nn_.BatchNorm2d(4), nn_.MaxPool2d(2, ceil_mode=True), nn_.AvgPool2d(3, 1, 1),
              nn_.Dropout(), nn_.Flatten(), nn_.Linear(4 * 4 * 4, 5), nn_.LogSoftmax(dim=1)]
    reference = [nn.Conv2d(3, 4, 3, stride=2, padding=1, dilation=2), nn.ReLU(),
                 nn.BatchNorm2d(4), nn.MaxPool2d(2, ceil_mode=True), nn.AvgPool2d(3, 1, 1),
                 nn.Dropout(), nn.Flatten(), nn.Linear(4 * 4 * 4, 5), nn.LogSoftmax(dim=1)]
    assert receptive_fields(layers, input_size=(15, 15)) == receptive_fields(
        reference, input_size=(15, 15))


@pytest.mark.parametrize("name", BACKENDS)
def test_empirical_runs_each_backends_own_layers(name):
    nn_ = backend(name)
    model = nn.Sequential(nn_.Conv1d(2, 3, 3, stride=2, dilation=2), nn_.ReLU(),
                          nn_.MaxPool1d(2), nn_.Conv1d(3, 1, 2, padding=1))
    rf = receptive_fields(model, input_size=(23,))[-1]
    out_length = model(torch.zeros(1, 2, 23)).shape[-1]
    for i in range(out_length):
        assert empirical_receptive_field(model, (2, 23), (0, i)).box == rf.box((i,), (23,))


def test_linearized_copy_counts_the_paths():
    """The notes' X 3x3 -> Y 2x2 -> z: in the linearised copy weights are 1, biases 0
    and no weight needs a gradient, so the gradient of z counts the paths from each
    element of X (a corner reaches z through one element of Y, the centre through 4).
    The model itself is left as it was."""
    model = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Conv2d(1, 1, 2))
    before = copy.deepcopy(model.state_dict())
    copied = linearized(model)
    for conv in copied:
        assert conv.weight.dtype == torch.float64
        assert torch.equal(conv.weight, torch.ones_like(conv.weight))
        assert torch.equal(conv.bias, torch.zeros_like(conv.bias))
    assert not any(p.requires_grad for p in copied.parameters())
    x = torch.rand(1, 1, 3, 3, dtype=torch.float64, requires_grad=True)
    copied(x).sum().backward()
    assert x.grad[0, 0].tolist() == [[1, 2, 1], [2, 4, 2], [1, 2, 1]]
    assert torch.equal(copied(torch.zeros_like(x)), torch.zeros(1, 1, 1, 1, dtype=torch.float64))
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())
    assert all(p.requires_grad for p in model.parameters())


def test_linearized_ignores_the_weights_values():
    """Connectivity, not weights: a pruned (all-zero) convolution still connects its taps."""
    conv = nn.Conv1d(1, 1, 3, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
    field = empirical_receptive_field(conv, (1, 6), (0, 2))
    assert field.box == ((2, 4),) and field.count == 3


@pytest.mark.parametrize("layer", [nn.Tanh(), nn.Sigmoid(), nn.Dropout(p=1.0),
                                   nn.BatchNorm2d(1), nn.Softmax(dim=1), nn.LogSoftmax(dim=1)])
def test_pointwise_and_softmax_layers_do_not_hide_the_field(layer):
    """Each of these has a zero gradient here if kept (a tanh or sigmoid saturated by the
    copy's sum of 25 ones, dropout of everything in training mode, a softmax over one
    channel); a batch norm in training mode even refuses one value per channel. The
    linearised copy makes them all the identity."""
    model = nn.Sequential(nn.Conv2d(1, 1, 5), layer)
    assert isinstance(linearized(model)[1], nn.Identity)
    field = empirical_receptive_field(model, (1, 5, 5), (0, 0, 0))
    assert field.box == ((0, 4), (0, 4)) and field.count == 25


def test_a_plain_function_gets_one_sample_of_ones_in_float64():
    seen = []

    def fn(x):
        seen.append(x.detach().clone())
        return 2 * x

    field = empirical_receptive_field(fn, (2, 3), (1, 2))
    (x,) = seen
    assert x.dtype == torch.float64 and torch.equal(x, torch.ones(1, 2, 3, dtype=torch.float64))
    assert field.box == ((2, 2),) and field.count == 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_empirical_field_of_a_model_on_the_gpu():
    model = nn.Sequential(nn.Conv2d(1, 1, 2), nn.Conv2d(1, 1, 2)).cuda()
    field = empirical_receptive_field(model, (1, 3, 3), (0, 0, 0))
    assert field.box == ((0, 2), (0, 2)) and field.count == 9


# --- bad input -----------------------------------------------------------------------

def test_errors():
    with pytest.raises(ValueError, match="Upsample has no receptive-field rule"):
        receptive_fields([nn.Upsample(scale_factor=2)])
    with pytest.raises(ValueError, match=r"layers\[1\] \(Linear\) acts on a spatial map"):
        receptive_fields([nn.Conv2d(1, 1, 3), nn.Linear(3, 3)], input_size=(5, 5))
    with pytest.raises(ValueError, match=r"layers\[1\] \(Conv2d\) comes after Flatten"):
        receptive_fields([nn.Flatten(), nn.Conv2d(1, 1, 3)])
    with pytest.raises(ValueError, match="input_size is needed"):
        receptive_fields([nn.Flatten(), nn.Linear(4, 2)])
    with pytest.raises(ValueError, match=r"Softmax\(dim=2\) on a spatial map"):
        receptive_fields([nn.Softmax(dim=2)])
    with pytest.raises(ValueError, match="padding_mode='circular'"):
        receptive_fields([nn.Conv2d(1, 1, 3, padding=1, padding_mode="circular")])
    for mode in ("reflect", "circular"):  # linearized keeps the layer: it must refuse it
        conv = nn.Conv2d(1, 1, 3, padding=1, padding_mode=mode)
        with pytest.raises(ValueError, match=f"padding_mode='{mode}'; only 'zeros'"):
            linearized(nn.Sequential(conv))
        with pytest.raises(ValueError, match=f"padding_mode='{mode}'; only 'zeros'"):
            empirical_receptive_field(conv, (1, 5, 5), (0, 2, 2))
    with pytest.raises(ValueError, match="Conv1d has 1 spatial dimension"):
        receptive_fields([nn.Conv1d(1, 1, 3)], ndim=2)
    with pytest.raises(ValueError, match="kernel_size=0 must be positive"):
        receptive_fields([(0, 1, 0, 1)])
    with pytest.raises(ValueError, match="padding=-1 must be non-negative"):
        receptive_fields([(3, 1, -1, 1)])
    with pytest.raises(ValueError, match="must be a .kernel_size, stride, padding, dilation"):
        receptive_fields([(3, 1)])
    with pytest.raises(ValueError, match=r"index=\(0,\) must have 2 entries"):
        ReceptiveField.of_input(2).box((0,))
    with pytest.raises(ValueError, match="does not depend on the input"):
        empirical_receptive_field(lambda x: x * 0, (1, 3), (0, 1))
