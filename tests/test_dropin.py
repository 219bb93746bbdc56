"""``import cnnlessons.scratch as nn``: torch model definitions run verbatim, and equal torch.

The networks below are the source notes' (``class Net(nn.Module)`` with ``F.relu`` and
``F.max_pool2d`` in ``forward``) and d2l's sigmoid LeNet, written once as source text
and executed twice: with ``nn, F = torch.nn, torch.nn.functional`` and with
``nn, F = cnnlessons.scratch, cnnlessons.scratch.functional``. Same seed, same
initialisation; the outputs, the gradients and the ``state_dict`` must agree, and the
scratch run must use primitives only.
"""
import inspect

import pytest
import torch

import cnnlessons.scratch
import cnnlessons.scratch.functional
from cnnlessons import layer_names
from cnnlessons.dispatch import record
from cnnlessons.scratch import containers, from_torch
from cnnlessons.twins import torch_layers

DT = torch.float64

SOURCE = '''
class MNISTConvNet(nn.Module):          # the source notes' network (cnnlessons.models)
    def __init__(self):
        super(MNISTConvNet, self).__init__()
        self.conv1 = nn.Conv2d(1, 10, 5)
        self.pool1 = nn.MaxPool2d(2, 2)
        self.conv2 = nn.Conv2d(10, 20, 5)
        self.pool2 = nn.MaxPool2d(2, 2)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, input):
        x = self.pool1(F.relu(self.conv1(input)))
        x = self.pool2(F.relu(self.conv2(x))).view(-1, 320)
        x = self.fc1(x)
        x = self.fc2(x)
        return x


class Net(nn.Module):                   # the notes' LeNet with functional pooling
    def __init__(self):
        super(Net, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, 5)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, input):
        c1 = F.relu(self.conv1(input))
        s2 = F.max_pool2d(c1, (2, 2))
        c3 = F.relu(self.conv2(s2))
        s4 = F.max_pool2d(c3, 2)
        s4 = torch.flatten(s4, 1)
        f5 = F.relu(self.fc1(s4))
        f6 = F.relu(self.fc2(f5))
        return self.fc3(f6)


class Net3(nn.Module):                  # the notes' MNIST net with a log-softmax head
    def __init__(self):
        super(Net3, self).__init__()
        self.conv1 = nn.Conv2d(1, 6, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, kernel_size=5)
        self.conv3 = nn.Conv2d(16, 120, kernel_size=5)
        self.mp = nn.MaxPool2d(2)
        self.relu = nn.ReLU()
        self.fc1 = nn.Linear(120, 84)
        self.fc2 = nn.Linear(84, 10)
        self.logsoftmax = nn.LogSoftmax(dim=1)  # the notes' LogSoftmax() guesses dim=1

    def forward(self, x):
        in_size = x.size(0)
        out = self.relu(self.mp(self.conv1(x)))
        out = self.relu(self.mp(self.conv2(out)))
        out = self.relu(self.conv3(out))
        out = out.view(in_size, -1)
        out = self.relu(self.fc1(out))
        out = self.fc2(out)
        return self.logsoftmax(out)


def lenet_sigmoid():                    # d2l's LeNet: sigmoid and average pooling
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))


class Residual(nn.Module):              # containers, init and in-place ops, d2l style
    def __init__(self, channels):
        super().__init__()
        self.body = nn.ModuleList([nn.Conv2d(channels, channels, 3, padding=1, bias=False),
                                   nn.BatchNorm2d(channels), nn.LeakyReLU(0.1, inplace=True)])
        self.head = nn.ModuleDict({"pool": nn.AdaptiveAvgPool2d(1), "skip": nn.Identity()})
        self.scale = nn.Parameter(torch.ones(1))
        nn.init.kaiming_normal_(self.body[0].weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x):
        y = x
        for layer in self.body:
            y = layer(y)
        y = y * self.scale + self.head["skip"](x)
        return torch.flatten(self.head["pool"](F.relu6(y, inplace=True)), 1)
'''

NETWORKS = {"MNISTConvNet": (28, "MNISTConvNet"), "Net": (32, "Net"), "Net3": (28, "Net3"),
            "lenet_sigmoid": (28, "lenet_sigmoid"), "Residual": (8, "Residual")}


def build(nn, F, name: str) -> torch.nn.Module:
    namespace = {"nn": nn, "F": F, "torch": torch}
    exec(SOURCE, namespace)
    torch.manual_seed(0)
    factory = namespace[name]
    net = factory(3) if name == "Residual" else factory()
    return net.to(DT)


@pytest.mark.parametrize("name", NETWORKS)
def test_source_network_equals_its_torch_twin(name):
    size = NETWORKS[name][0]
    channels = 3 if name == "Residual" else 1
    ours = build(cnnlessons.scratch, cnnlessons.scratch.functional, name)
    theirs = build(torch.nn, torch.nn.functional, name)
    assert repr(ours) == repr(theirs)
    assert ours.state_dict().keys() == theirs.state_dict().keys()
    for a, b in zip(ours.state_dict().values(), theirs.state_dict().values()):
        assert torch.equal(a, b)  # the same initialisation, draw for draw
    x = torch.randn(4, channels, size, size, dtype=DT)
    g = torch.randn(4, 10 if name != "Residual" else 3, dtype=DT)
    with record() as rec:
        out = ours(x)
        out.backward(g)
    assert rec.offending() == []
    expected = theirs(x)
    expected.backward(g)
    torch.testing.assert_close(out, expected)
    for (pname, p), q in zip(ours.named_parameters(), theirs.parameters()):
        torch.testing.assert_close(p.grad, q.grad, msg=pname)


def test_infrastructure_is_torchs_own():
    for name in containers.__all__:
        assert getattr(cnnlessons.scratch, name) is getattr(torch.nn, name), name
    assert set(containers.__all__).isdisjoint(cnnlessons.scratch.functional.__all__)
    assert not set(containers.__all__) & set(layer_names())  # backend() swaps layers only
    assert "init" not in cnnlessons.scratch.functional.__all__


def test_every_other_scratch_class_is_a_scratch_layer():
    for name in cnnlessons.scratch.__all__:
        obj = getattr(cnnlessons.scratch, name)
        if inspect.isclass(obj) and name not in containers.__all__:
            assert obj is not getattr(torch.nn, name) and obj.__module__.startswith(
                "cnnlessons.scratch."), name


# ------------------------------------------------------------------------------ from_torch


def test_from_torch_copies_and_keeps_everything():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4),
                              torch.nn.ReLU(inplace=True), torch.nn.Flatten()).to(DT)
    net[0].weight.requires_grad_(False)  # frozen stays frozen
    net[1].eval()
    state = {k: v.clone() for k, v in net.state_dict().items()}
    converted = from_torch(net)
    assert all(type(m).__module__.startswith("cnnlessons.scratch") for m in converted)
    assert type(net[0]) is torch.nn.Conv2d  # the original is untouched
    assert converted[0].weight is not net[0].weight  # a copy: build the optimiser after
    assert not converted[0].weight.requires_grad and converted[0].bias.requires_grad
    assert converted.training and not converted[1].training
    assert list(converted.state_dict()) == list(state)
    for k, v in converted.state_dict().items():
        assert torch.equal(v, state[k]), k
    net.load_state_dict(converted.state_dict())  # loads both ways
    converted.load_state_dict(state)


def test_from_torch_shared_layers_stay_shared_and_a_single_layer_converts():
    relu = torch.nn.ReLU()
    converted = from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), relu, torch.nn.Linear(2, 2),
                                               relu))
    assert converted[1] is converted[3]
    assert type(from_torch(torch.nn.Linear(2, 3))).__module__ == "cnnlessons.scratch.linear"


def test_from_torch_names_the_layers_without_a_twin():
    class MyConv(torch.nn.Conv2d):  # a subclass's own forward would be lost
        pass

    net = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.GELU(), MyConv(2, 2, 1))
    with pytest.raises(ValueError, match=r"no scratch twin for 1 \(GELU\), 2 \(MyConv\); "
                                         "pass strict=False"):
        from_torch(net)
    kept = from_torch(net, strict=False)
    assert torch_layers(kept) == ["1 (GELU)", "2 (MyConv)"]
    assert type(kept[0]).__module__ == "cnnlessons.scratch.conv"


def test_from_torch_does_not_draw_random_numbers():
    net = torch.nn.Sequential(torch.nn.Linear(50, 40), torch.nn.Conv2d(3, 8, 3))
    torch.manual_seed(0)
    from_torch(net)
    assert torch.equal(torch.rand(3), torch.manual_seed(0) and torch.rand(3))
