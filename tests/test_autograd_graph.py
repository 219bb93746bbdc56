"""The graph walks of chapter 6 on graphs whose shape is known by construction."""
import pytest
import torch

from cnnlessons.autograd_graph import (
    depth,
    first_input_path,
    grad_fn_chain,
    input_names,
    node_name,
)
from cnnlessons.models import LeNet5FC

LENET_CHAIN = ("MseLossBackward0 <- AddmmBackward0 <- ReluBackward0 <- AddmmBackward0 <- "
               "ReluBackward0 <- AddmmBackward0 <- ViewBackward0 <- "
               "MaxPool2DWithIndicesBackward0 <- ReluBackward0 <- ConvolutionBackward0 <- "
               "MaxPool2DWithIndicesBackward0 <- ReluBackward0 <- ConvolutionBackward0")


@pytest.fixture(scope="module")
def lenet_loss():
    torch.manual_seed(0)
    net = LeNet5FC().double()
    x = torch.randn(1, 1, 28, 28, dtype=torch.float64)
    return net, torch.nn.MSELoss()(net(x), torch.zeros(1, 10, dtype=torch.float64))


def test_lenet_chain_is_the_network_backwards(lenet_loss):
    _, loss = lenet_loss
    assert " <- ".join(grad_fn_chain(loss)) == LENET_CHAIN


def test_first_input_path_is_the_tutorials_walk(lenet_loss):
    net, loss = lenet_loss
    assert first_input_path(loss, 3) == ["MseLossBackward0", "AddmmBackward0", "AccumulateGrad"]
    # AccumulateGrad has no inputs: asking for more steps stops there
    assert first_input_path(loss, 10) == first_input_path(loss, 3)
    addmm = loss.grad_fn.next_functions[0][0]
    assert addmm.next_functions[0][0].variable is net.output.bias
    assert input_names(addmm) == ["AccumulateGrad", "ReluBackward0", "TBackward0"]


def test_depth_counts_the_longest_path():
    w = torch.ones(3, requires_grad=True)
    assert depth(None) == 0
    leaf = (w * 1).grad_fn.next_functions[0][0]
    assert node_name(leaf) == "AccumulateGrad" and depth(leaf) == 1
    y = w.exp().sin() + w              # the exp branch is longer than the direct one
    assert depth(y.grad_fn) == 4       # Add <- Sin <- Exp <- AccumulateGrad
    assert grad_fn_chain(y) == ["AddBackward0", "SinBackward0", "ExpBackward0"]


def test_a_shared_node_is_not_walked_once_per_path():
    x = torch.ones(2, requires_grad=True)
    y = x
    for _ in range(60):                # 2**60 paths, 61 distinct nodes
        y = y * y
    assert depth(y.grad_fn) == 61
    assert len(grad_fn_chain(y)) == 60


def test_input_none_for_inputs_without_gradient():
    b = torch.zeros(2, requires_grad=True)
    assert input_names((b + torch.ones(2)).grad_fn) == ["AccumulateGrad", "None"]
    assert node_name(None) == "None"


def test_bad_input_names_the_argument():
    with pytest.raises(ValueError, match=r"tensor: its grad_fn is None \(requires_grad=False\)"):
        grad_fn_chain(torch.ones(2))
    with pytest.raises(ValueError, match=r"tensor: its grad_fn is None \(requires_grad=True\)"):
        first_input_path(torch.ones(2, requires_grad=True), 2)
    with pytest.raises(TypeError, match="tensor: expected a torch.Tensor, got list"):
        grad_fn_chain([1.0])
    y = torch.ones(2, requires_grad=True).sum()
    for steps in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match=r"steps: got .*at least 1"):
            first_input_path(y, steps)
    with pytest.raises(TypeError, match="node: expected a backward node"):
        input_names(y)
