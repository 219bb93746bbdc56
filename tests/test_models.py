"""The course's models: shapes, parameter counts, both backends, summary, receptive fields.

Expected shapes and parameter counts are written out by hand (from the papers and
the source notes), not computed by the code under test; the receptive fields are
checked against autograd.
"""
import doctest
import itertools

import pytest
import torch
from torch import nn

import cnnlessons.models as models_module
import cnnlessons.summary as summary_module
from cnnlessons import BACKENDS
from cnnlessons.models import (
    MODELS,
    CifarNet,
    LeNet5,
    LeNet5FC,
    MNISTConvNet,
    MNISTConvNetView320,
    build_model,
    copy_c5_to_fc,
    copy_fc_to_c5,
)
from cnnlessons.receptive_field import empirical_receptive_field
from cnnlessons.summary import summary

# Layer name -> output shape without the batch dimension, by hand.
LENET5_HEAD = [("c1", (6, 28, 28)), ("relu1", (6, 28, 28)), ("s2", (6, 14, 14)),
               ("c3", (16, 10, 10)), ("relu3", (16, 10, 10)), ("s4", (16, 5, 5))]
SHAPES = {
    "lenet5": LENET5_HEAD + [
        ("c5", (120, 1, 1)), ("relu5", (120, 1, 1)), ("flatten", (120,)),
        ("f6", (84,)), ("relu6", (84,)), ("output", (10,))],
    "lenet5fc": LENET5_HEAD + [
        ("flatten", (400,)), ("f5", (120,)), ("relu5", (120,)),
        ("f6", (84,)), ("relu6", (84,)), ("output", (10,))],
    "mnistconvnet": [
        ("conv1", (10, 24, 24)), ("relu1", (10, 24, 24)), ("pool1", (10, 12, 12)),
        ("conv2", (20, 8, 8)), ("relu2", (20, 8, 8)), ("pool2", (20, 4, 4)),
        ("flatten", (320,)), ("fc1", (50,)), ("fc2", (10,))],
    "cifarnet": [
        ("conv1", (6, 28, 28)), ("relu1", (6, 28, 28)), ("pool1", (6, 14, 14)),
        ("conv2", (16, 10, 10)), ("relu2", (16, 10, 10)), ("pool2", (16, 5, 5)),
        ("flatten", (400,)), ("fc1", (120,)), ("relu3", (120,)), ("fc2", (84,)),
        ("relu4", (84,)), ("fc3", (10,))],
}
INPUT_SIZES = {"lenet5": (1, 28, 28), "lenet5fc": (1, 28, 28), "mnistconvnet": (1, 28, 28),
               "cifarnet": (3, 32, 32)}


def conv_params(c_in, c_out, k):
    return c_out * c_in * k * k + c_out


def linear_params(n_in, n_out):
    return n_out * n_in + n_out


LENET5_LAYER_PARAMS = {"c1": conv_params(1, 6, 5), "c3": conv_params(6, 16, 5),
                       "c5": conv_params(16, 120, 5), "f6": linear_params(120, 84),
                       "output": linear_params(84, 10)}
TOTAL_PARAMS = {
    "lenet5": 61_706,
    "lenet5fc": 61_706,
    "mnistconvnet": conv_params(1, 10, 5) + conv_params(10, 20, 5)
    + linear_params(320, 50) + linear_params(50, 10),
    "cifarnet": conv_params(3, 6, 5) + conv_params(6, 16, 5) + linear_params(400, 120)
    + linear_params(120, 84) + linear_params(84, 10),
}


@pytest.mark.parametrize("module", [models_module, summary_module],
                         ids=lambda module: module.__name__)
def test_doctests(module):
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("batch", [1, 2])
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_shape_after_every_layer(name, batch, backend):
    model = build_model(name, backend=backend)
    assert model.input_size == INPUT_SIZES[name]
    x = torch.randn(batch, *model.input_size)
    seen = []
    for layer_name, layer in model.named_children():
        x = layer(x)
        seen.append((layer_name, tuple(x.shape)))
    assert seen == [(n, (batch, *shape)) for n, shape in SHAPES[name]]
    # The model's own forward gives the same last shape.
    assert model(torch.randn(batch, *model.input_size)).shape == (batch, 10)


def test_parameter_counts():
    assert TOTAL_PARAMS["lenet5"] == sum(LENET5_LAYER_PARAMS.values()) == 61_706
    assert TOTAL_PARAMS["mnistconvnet"] == 21_840 and TOTAL_PARAMS["cifarnet"] == 62_006
    for name, total in TOTAL_PARAMS.items():
        assert sum(p.numel() for p in build_model(name).parameters()) == total, name
    lenet = LeNet5()
    for layer, count in LENET5_LAYER_PARAMS.items():
        assert sum(p.numel() for p in getattr(lenet, layer).parameters()) == count, layer


@pytest.mark.parametrize("backend", BACKENDS)
def test_num_classes(backend):
    for cls in (LeNet5, LeNet5FC, CifarNet):
        model = cls(num_classes=7, backend=backend)
        assert model(torch.randn(2, *model.input_size)).shape == (2, 7)
    with pytest.raises(ValueError, match="num_classes=0 must be positive"):
        LeNet5(num_classes=0)
    with pytest.raises(TypeError, match="num_classes='10' must be an int"):
        CifarNet(num_classes="10")
    with pytest.raises(ValueError, match="backend='numpy' must be one of"):
        MNISTConvNet(backend="numpy")


def test_build_model_and_registry():
    assert set(MODELS) == {"lenet5", "lenet5fc", "mnistconvnet", "cifarnet"}
    for name, cls in MODELS.items():
        assert type(build_model(name)) is cls
        assert cls.input_size == INPUT_SIZES[name]
    assert build_model("lenet5", num_classes=3).output.out_features == 3
    with pytest.raises(ValueError, match="name='alexnet' is not a model; choose one of"):
        build_model("alexnet")


def test_state_dict_keys_read_well():
    assert list(LeNet5().state_dict()) == [
        f"{layer}.{p}" for layer in ("c1", "c3", "c5", "f6", "output") for p in ("weight", "bias")]
    assert list(LeNet5FC().state_dict()) == [
        f"{layer}.{p}" for layer in ("c1", "c3", "f5", "f6", "output") for p in ("weight", "bias")]
    # The source notes' attribute names, so their checkpoints' keys match.
    assert list(MNISTConvNet().state_dict()) == [
        f"{layer}.{p}" for layer in ("conv1", "conv2", "fc1", "fc2") for p in ("weight", "bias")]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_backends_share_state_dict_and_function(name):
    torch.manual_seed(0)
    reference = build_model(name, backend="torch").double()
    torch.manual_seed(0)
    scratch = build_model(name, backend="scratch").double()
    # Same keys, same shapes, and (same RNG calls in reset_parameters) same initial weights.
    ref_state, scratch_state = reference.state_dict(), scratch.state_dict()
    assert list(ref_state) == list(scratch_state)
    for key in ref_state:
        torch.testing.assert_close(scratch_state[key], ref_state[key], rtol=0, atol=0)
    # Load torch's trained-looking weights into the scratch model: same outputs, same gradients.
    with torch.no_grad():
        for p in reference.parameters():
            p.normal_(0, 0.3)
    scratch.load_state_dict(reference.state_dict())
    x = torch.randn(3, *reference.input_size, dtype=torch.float64)
    out_ref, out_scratch = reference(x), scratch(x)
    torch.testing.assert_close(out_scratch, out_ref)
    g = torch.randn_like(out_ref)
    out_ref.backward(g)
    out_scratch.backward(g)
    for (key, p_ref), p_scratch in zip(reference.named_parameters(), scratch.parameters()):
        torch.testing.assert_close(p_scratch.grad, p_ref.grad, msg=key)


@pytest.mark.parametrize("backend", BACKENDS)
def test_c5_conv_and_fc_are_one_function(backend):
    torch.manual_seed(1)
    lenet5, lenet5fc = LeNet5(backend=backend).double(), LeNet5FC(backend=backend).double()
    x = torch.randn(4, 1, 28, 28, dtype=torch.float64)
    assert not torch.allclose(lenet5(x), lenet5fc(x))  # different random weights so far
    assert copy_c5_to_fc(lenet5, lenet5fc) is lenet5fc
    torch.testing.assert_close(lenet5fc(x), lenet5(x))
    assert lenet5fc.f5.weight.shape == (120, 400)

    fresh = LeNet5(backend=backend).double()
    assert copy_fc_to_c5(lenet5fc, fresh) is fresh
    torch.testing.assert_close(fresh(x), lenet5(x))
    torch.testing.assert_close(fresh.c5.weight, lenet5.c5.weight, rtol=0, atol=0)
    with pytest.raises(TypeError, match="needs a LeNet5 and a LeNet5FC, got LeNet5FC and LeNet5"):
        copy_c5_to_fc(lenet5fc, lenet5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_notes_view320_bug_and_fix(backend):
    torch.manual_seed(2)
    fixed = MNISTConvNet(backend=backend)
    buggy = MNISTConvNetView320(backend=backend)
    buggy.load_state_dict(fixed.state_dict())
    batch = torch.randn(2, 1, 28, 28)
    with pytest.raises(RuntimeError, match=r"shape '\[320\]' is invalid for input of size 640"):
        buggy(batch)
    out = fixed(batch)
    assert out.shape == (2, 10)
    # With one sample the notes' forward works (and drops the batch dimension).
    single = buggy(batch[:1])
    assert single.shape == (10,)
    torch.testing.assert_close(single, out[0])


def test_slicing_gives_a_plain_sequential():
    lenet = LeNet5()
    head = lenet[:3]
    assert type(head) is nn.Sequential
    assert list(dict(head.named_children())) == ["c1", "relu1", "s2"]
    assert head(torch.zeros(2, 1, 28, 28)).shape == (2, 6, 14, 14)
    assert lenet[0] is lenet.c1


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_summary_rows_match_a_forward_pass(name, backend):
    model = build_model(name, backend=backend)
    model.train()
    table = summary(model, batch_size=2)
    assert model.training  # the mode is restored
    x = torch.randn(2, *model.input_size)
    expected = []
    for layer_name, layer in model.named_children():
        x = layer(x)
        expected.append((layer_name, type(layer).__name__, tuple(x.shape),
                         sum(p.numel() for p in layer.parameters())))
    assert [(r.name, r.type, r.output_shape, r.params) for r in table.rows] == expected
    assert table.total_params == TOTAL_PARAMS[name]
    assert table.input_shape == (2, *INPUT_SIZES[name])
    text = str(table)
    assert repr(table) == text
    assert text.splitlines()[0] == f"{type(model).__name__}, input {table.input_shape}"
    assert text.splitlines()[-1] == f"Total params: {TOTAL_PARAMS[name]:,}"


def test_summary_text_lenet5():
    lines = str(summary(LeNet5())).splitlines()
    assert lines[2].split() == ["Layer", "Type", "Output", "shape", "Params", "RF", "size",
                                "Jump", "RF", "start"]
    assert lines[4].split() == ["c1", "Conv2d", "(1,", "6,", "28,", "28)", "156", "5x5", "1x1",
                                "0,", "0"]
    # C5 sees 32x32: the paper's padded input, from -2 to 29.
    assert lines[10].split() == ["c5", "Conv2d", "(1,", "120,", "1,", "1)", "48,120", "32x32",
                                 "4x4", "13.5,", "13.5"]
    with pytest.raises(ValueError, match="input_size is needed: Conv2d has no input_size"):
        summary(nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match=r"batch_size=0 must be positive \(at least 1\)"):
        summary(LeNet5(), batch_size=0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(MODELS))
def test_summary_receptive_fields_are_measured(name, backend):
    """Every row's analytic field against autograd, cutting the model after that row.

    These models pad only their first layer and their fields have no holes, so the
    clipped box is exact everywhere, borders included.
    """
    model = build_model(name, backend=backend)
    spatial = model.input_size[1:]
    for i, row in enumerate(summary(model).rows):
        head = model[: i + 1]
        shape = row.output_shape[1:]
        if len(shape) == 3:  # a feature map: corners and centre of the last channel
            rows, cols = shape[1], shape[2]
            positions = set(itertools.product({0, rows - 1}, {0, cols - 1}))
            positions.add((rows // 2, cols // 2))
            cases = [((shape[0] - 1, *p), p) for p in sorted(positions)]
        else:  # flat: feature 0 comes from position (0, 0); after Linear all see all
            cases = [((0,), (0, 0))]
        for index, position in cases:
            measured = empirical_receptive_field(head, model.input_size, index)
            assert measured.box == row.receptive_field.box(position, spatial), (row.name, index)


def test_lenet5_c5_sees_the_whole_digit():
    rf = summary(LeNet5()).rows[6].receptive_field  # c5
    assert rf.size == (32, 32) and rf.box((0, 0)) == ((-2, 29), (-2, 29))
    field = empirical_receptive_field(LeNet5()[:7], (1, 28, 28), (0, 0, 0))
    assert field.count == 28 * 28
