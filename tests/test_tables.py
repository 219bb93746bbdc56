"""The cost tables agree with torch: parameters allocated and the FLOP counter."""
import doctest

import pytest
import torch
from torch import nn

import cnnlessons.tables as tables_module
from cnnlessons import scratch
from cnnlessons.models import LeNet5
from cnnlessons.tables import cost_table, format_table, layer_cost, layer_label, measured_cost


def test_doctests():
    result = doctest.testmod(tables_module)
    assert result.attempted > 0 and result.failed == 0


@pytest.mark.parametrize("backend", ["torch", "scratch"])
def test_lenet5_table_matches_torch(backend):
    table = cost_table(LeNet5(backend=backend), (1, 28, 28))
    assert (table.total_params, table.total_macs) == measured_cost(LeNet5(), (1, 28, 28))
    assert (table["c3"].params, table["c3"].macs, table["c3"].output_shape) == (
        2416, 240_000, (1, 16, 10, 10))


@pytest.mark.parametrize("layer, size", [
    (nn.Conv2d(3, 16, 3, stride=2, padding=1), (32, 32)),
    (nn.Conv2d(4, 6, (1, 3), groups=2, bias=False), (5, 7)),
    (nn.Conv2d(2, 2, 3, dilation=2, padding="same"), (9, 9)),
])
def test_layer_cost_matches_torch(layer, size):
    assert layer_cost(layer, size) == measured_cost(layer, (layer.in_channels, *size))


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="input_size is needed"):
        layer_cost(nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match="has 1 cells, but the header has 2"):
        format_table(("a", "b"), [(1,)])
    with pytest.raises(KeyError, match="no layer called 'c9'"):
        cost_table(LeNet5(), (1, 28, 28))["c9"]


def test_training_mode_is_restored():
    model = LeNet5().train()
    cost_table(model, (1, 28, 28))
    assert model.training and torch.is_grad_enabled()


@pytest.mark.parametrize("layer", [
    nn.Conv2d(3, 16, 3, stride=2, padding=1),
    nn.Conv2d(4, 6, (1, 3), stride=(2, 1), groups=2, bias=False),
    nn.Conv2d(2, 2, 3, dilation=2, padding="same"),
    nn.Linear(120, 84, bias=False),
])
def test_layer_label_rebuilds_the_layer(layer):
    """The label is a constructor call: evaluated, it builds a layer of the same repr."""
    rebuilt = eval(f"nn.{layer_label(layer)}", {"nn": nn})
    assert repr(rebuilt) == repr(layer)


def test_layer_label_reads_the_scratch_twin_and_other_layers():
    assert layer_label(scratch.Conv2d(1, 6, 5, padding=2)) == "Conv2d(1, 6, 5, padding=2)"
    assert layer_label(nn.ReLU()) == "ReLU"
