"""The course's networks, each buildable from torch's layers or from scratch ones.

Every model is a ``Sequential`` of named layers, built from
``cnnlessons.backend(backend)``: ``backend="torch"`` uses ``torch.nn``,
``backend="scratch"`` the from-scratch twins. Both builds have the same
``state_dict`` keys, so weights move freely between them.

* ``LeNet5``: LeCun et al. (1998) on 28x28 MNIST, C5 a convolution as in the paper.
* ``LeNet5FC``: the same network with C5 written as Flatten + Linear(400, 120);
  ``copy_c5_to_fc`` / ``copy_fc_to_c5`` show the two are one function.
* ``MNISTConvNet``: the source notes' small MNIST network, and
  ``MNISTConvNetView320``, the notes' ``forward`` with its ``.view(320)`` bug.
* ``CifarNet``: the source notes' network for 32x32 colour images.

``cnnlessons.summary.summary(model)`` tabulates any of them layer by layer.
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

from cnnlessons import backend as get_backend
from cnnlessons.arguments import check_count


class _Network(nn.Sequential):
    """A ``Sequential`` of named layers whose slices are plain ``Sequential`` s.

    torch slices a ``Sequential`` by calling ``self.__class__`` on the chosen
    layers, which a subclass with its own constructor cannot accept; and
    ``net[:3](x)``, the network cut after its third layer, is too useful to lose.
    """

    #: One sample's shape ``(C, H, W)``, without the batch dimension.
    input_size: tuple[int, ...]

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return nn.Sequential(OrderedDict(list(self._modules.items())[idx]))
        return super().__getitem__(idx)


class LeNet5(_Network):
    """LeNet-5 for 28x28 MNIST digits, with C5 a convolution as in the paper.

    C1's ``padding=2`` turns the 28x28 digit into the paper's 32x32 input. C5 is a
    5x5 convolution on a 5x5 map, so it yields 120 maps of size 1x1: a fully
    connected layer in all but name. The output is logits (train with
    cross-entropy); ReLU and max pooling replace the paper's scaled tanh and
    trainable subsampling, and a linear layer its RBF output.

    ======  ============================  =================
    Layer   Module                        Output shape
    ======  ============================  =================
    input                                 (N, 1, 28, 28)
    c1      Conv2d(1, 6, 5, padding=2)    (N, 6, 28, 28)
    relu1   ReLU                          (N, 6, 28, 28)
    s2      MaxPool2d(2)                  (N, 6, 14, 14)
    c3      Conv2d(6, 16, 5)              (N, 16, 10, 10)
    relu3   ReLU                          (N, 16, 10, 10)
    s4      MaxPool2d(2)                  (N, 16, 5, 5)
    c5      Conv2d(16, 120, 5)            (N, 120, 1, 1)
    relu5   ReLU                          (N, 120, 1, 1)
    flatten Flatten                       (N, 120)
    f6      Linear(120, 84)               (N, 84)
    relu6   ReLU                          (N, 84)
    output  Linear(84, num_classes)       (N, num_classes)
    ======  ============================  =================

    61,706 parameters with 10 classes: 156 + 2,416 + 48,120 + 10,164 + 850. (The
    paper's C3 joined each of its 16 maps to only some of S2's 6: 1,516 parameters
    instead of 2,416; here every map sees all six, as in most implementations.)

    Args:
        num_classes: number of output logits.
        backend: ``"torch"`` or ``"scratch"`` layers.

    Shape:
        - Input: ``(N, 1, 28, 28)``
        - Output: ``(N, num_classes)``

    >>> LeNet5()(torch.zeros(2, 1, 28, 28)).shape
    torch.Size([2, 10])
    """

    input_size = (1, 28, 28)

    def __init__(self, num_classes: int = 10, backend: str = "torch"):
        check_count(num_classes, "num_classes")
        nn_ = get_backend(backend)
        super().__init__(OrderedDict([
            ("c1", nn_.Conv2d(1, 6, 5, padding=2)),
            ("relu1", nn_.ReLU()),
            ("s2", nn_.MaxPool2d(2)),
            ("c3", nn_.Conv2d(6, 16, 5)),
            ("relu3", nn_.ReLU()),
            ("s4", nn_.MaxPool2d(2)),
            ("c5", nn_.Conv2d(16, 120, 5)),
            ("relu5", nn_.ReLU()),
            ("flatten", nn_.Flatten()),
            ("f6", nn_.Linear(120, 84)),
            ("relu6", nn_.ReLU()),
            ("output", nn_.Linear(84, num_classes)),
        ]))


class LeNet5FC(_Network):
    """LeNet-5 with C5 as Flatten + Linear(400, 120), the form most code uses.

    Identical to ``LeNet5`` up to S4; then the (N, 16, 5, 5) map is flattened and
    ``f5`` connects all 400 values to each of 120 units, exactly what C5's 5x5
    kernels do on a 5x5 map. Same parameter count (61,706 with 10 classes).

    ======  ============================  =================
    Layer   Module                        Output shape
    ======  ============================  =================
    c1..s4  as in ``LeNet5``              (N, 16, 5, 5)
    flatten Flatten                       (N, 400)
    f5      Linear(400, 120)              (N, 120)
    relu5   ReLU                          (N, 120)
    f6      Linear(120, 84)               (N, 84)
    relu6   ReLU                          (N, 84)
    output  Linear(84, num_classes)       (N, num_classes)
    ======  ============================  =================

    Args:
        num_classes: number of output logits.
        backend: ``"torch"`` or ``"scratch"`` layers.

    Shape:
        - Input: ``(N, 1, 28, 28)``
        - Output: ``(N, num_classes)``
    """

    input_size = (1, 28, 28)

    def __init__(self, num_classes: int = 10, backend: str = "torch"):
        check_count(num_classes, "num_classes")
        nn_ = get_backend(backend)
        super().__init__(OrderedDict([
            ("c1", nn_.Conv2d(1, 6, 5, padding=2)),
            ("relu1", nn_.ReLU()),
            ("s2", nn_.MaxPool2d(2)),
            ("c3", nn_.Conv2d(6, 16, 5)),
            ("relu3", nn_.ReLU()),
            ("s4", nn_.MaxPool2d(2)),
            ("flatten", nn_.Flatten()),
            ("f5", nn_.Linear(16 * 5 * 5, 120)),
            ("relu5", nn_.ReLU()),
            ("f6", nn_.Linear(120, 84)),
            ("relu6", nn_.ReLU()),
            ("output", nn_.Linear(84, num_classes)),
        ]))


def copy_c5_to_fc(lenet5: LeNet5, lenet5fc: LeNet5FC) -> LeNet5FC:
    """Copy all of ``lenet5``'s weights into ``lenet5fc`` so both compute the same function.

    C5's weight ``(120, 16, 5, 5)`` becomes f5's ``(120, 400)`` by a reshape: Flatten
    orders the (16, 5, 5) map channel first, then row, then column, the same
    row-major order in which reshape lays out each kernel, so weight ``[o, c, i, j]``
    meets input ``[c, i, j]`` in both networks.

    Returns:
        ``lenet5fc``, modified in place.
    """
    if not isinstance(lenet5, LeNet5) or not isinstance(lenet5fc, LeNet5FC):
        raise TypeError(f"copy_c5_to_fc(lenet5, lenet5fc) needs a LeNet5 and a LeNet5FC, got "
                        f"{type(lenet5).__name__} and {type(lenet5fc).__name__}")
    state = lenet5.state_dict()
    weight = state.pop("c5.weight")
    state["f5.weight"] = weight.reshape(weight.shape[0], -1)  # (120, 16*5*5)
    state["f5.bias"] = state.pop("c5.bias")
    lenet5fc.load_state_dict(state)
    return lenet5fc


def copy_fc_to_c5(lenet5fc: LeNet5FC, lenet5: LeNet5) -> LeNet5:
    """The reverse of ``copy_c5_to_fc``: f5's ``(120, 400)`` becomes C5's ``(120, 16, 5, 5)``.

    Returns:
        ``lenet5``, modified in place.
    """
    if not isinstance(lenet5fc, LeNet5FC) or not isinstance(lenet5, LeNet5):
        raise TypeError(f"copy_fc_to_c5(lenet5fc, lenet5) needs a LeNet5FC and a LeNet5, got "
                        f"{type(lenet5fc).__name__} and {type(lenet5).__name__}")
    state = lenet5fc.state_dict()
    weight = state.pop("f5.weight")
    state["c5.weight"] = weight.reshape(weight.shape[0], 16, 5, 5)
    state["c5.bias"] = state.pop("f5.bias")
    lenet5.load_state_dict(state)
    return lenet5


class MNISTConvNet(_Network):
    """The source notes' small MNIST network, flattening per sample.

    As in the notes, ReLU follows the two convolutions only: ``fc1`` and ``fc2``
    have no nonlinearity between them, so together they are one linear map of
    rank at most 50. The layer names are the notes' attribute names, so the
    ``state_dict`` keys match theirs.

    ======  ====================  ===============
    Layer   Module                Output shape
    ======  ====================  ===============
    input                         (N, 1, 28, 28)
    conv1   Conv2d(1, 10, 5)      (N, 10, 24, 24)
    relu1   ReLU                  (N, 10, 24, 24)
    pool1   MaxPool2d(2, 2)       (N, 10, 12, 12)
    conv2   Conv2d(10, 20, 5)     (N, 20, 8, 8)
    relu2   ReLU                  (N, 20, 8, 8)
    pool2   MaxPool2d(2, 2)       (N, 20, 4, 4)
    flatten Flatten               (N, 320)
    fc1     Linear(320, 50)       (N, 50)
    fc2     Linear(50, 10)        (N, 10)
    ======  ====================  ===============

    21,840 parameters: 260 + 5,020 + 16,050 + 510.

    Args:
        backend: ``"torch"`` or ``"scratch"`` layers.

    Shape:
        - Input: ``(N, 1, 28, 28)``
        - Output: ``(N, 10)``
    """

    input_size = (1, 28, 28)

    def __init__(self, backend: str = "torch"):
        nn_ = get_backend(backend)
        super().__init__(OrderedDict([
            ("conv1", nn_.Conv2d(1, 10, 5)),
            ("relu1", nn_.ReLU()),
            ("pool1", nn_.MaxPool2d(2, 2)),
            ("conv2", nn_.Conv2d(10, 20, 5)),
            ("relu2", nn_.ReLU()),
            ("pool2", nn_.MaxPool2d(2, 2)),
            # Flatten keeps dim 0, the batch: (N, 20, 4, 4) -> (N, 320) for any N.
            ("flatten", nn_.Flatten()),
            ("fc1", nn_.Linear(320, 50)),
            ("fc2", nn_.Linear(50, 10)),
        ]))


class MNISTConvNetView320(MNISTConvNet):
    """``MNISTConvNet`` with the source notes' ``forward``, bug included.

    ``.view(320)`` asks for one vector of 320 numbers, which is one sample's
    (20, 4, 4) map: a batch of 2 holds 640 numbers and the view fails. The fix
    is to keep the batch dimension, ``x.flatten(1)`` (``MNISTConvNet``'s Flatten).

    >>> MNISTConvNetView320()(torch.zeros(2, 1, 28, 28))
    Traceback (most recent call last):
        ...
    RuntimeError: shape '[320]' is invalid for input of size 640

    Shape:
        - Input: ``(1, 1, 28, 28)``, batch size 1 only
        - Output: ``(10,)``, the batch dimension is gone
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.relu1(self.conv1(input)))
        x = self.pool2(self.relu2(self.conv2(x))).view(320)
        x = self.fc1(x)
        x = self.fc2(x)
        return x


class CifarNet(_Network):
    """The source notes' network for 32x32 colour images (CIFAR-10).

    LeNet-5's layout on 3 input channels, without padding: two 5x5 convolutions
    each followed by ReLU and 2x2 max pooling, then three linear layers.

    ======  ======================  ===============
    Layer   Module                  Output shape
    ======  ======================  ===============
    input                           (N, 3, 32, 32)
    conv1   Conv2d(3, 6, 5)         (N, 6, 28, 28)
    relu1   ReLU                    (N, 6, 28, 28)
    pool1   MaxPool2d(2, 2)         (N, 6, 14, 14)
    conv2   Conv2d(6, 16, 5)        (N, 16, 10, 10)
    relu2   ReLU                    (N, 16, 10, 10)
    pool2   MaxPool2d(2, 2)         (N, 16, 5, 5)
    flatten Flatten                 (N, 400)
    fc1     Linear(400, 120)        (N, 120)
    relu3   ReLU                    (N, 120)
    fc2     Linear(120, 84)         (N, 84)
    relu4   ReLU                    (N, 84)
    fc3     Linear(84, num_classes) (N, num_classes)
    ======  ======================  ===============

    62,006 parameters with 10 classes: 456 + 2,416 + 48,120 + 10,164 + 850.

    Args:
        num_classes: number of output logits.
        backend: ``"torch"`` or ``"scratch"`` layers.

    Shape:
        - Input: ``(N, 3, 32, 32)``
        - Output: ``(N, num_classes)``
    """

    input_size = (3, 32, 32)

    def __init__(self, num_classes: int = 10, backend: str = "torch"):
        check_count(num_classes, "num_classes")
        nn_ = get_backend(backend)
        # The notes reuse one pool module twice; two keep one row per layer in a summary.
        super().__init__(OrderedDict([
            ("conv1", nn_.Conv2d(3, 6, 5)),
            ("relu1", nn_.ReLU()),
            ("pool1", nn_.MaxPool2d(2, 2)),
            ("conv2", nn_.Conv2d(6, 16, 5)),
            ("relu2", nn_.ReLU()),
            ("pool2", nn_.MaxPool2d(2, 2)),
            ("flatten", nn_.Flatten()),
            ("fc1", nn_.Linear(16 * 5 * 5, 120)),
            ("relu3", nn_.ReLU()),
            ("fc2", nn_.Linear(120, 84)),
            ("relu4", nn_.ReLU()),
            ("fc3", nn_.Linear(84, num_classes)),
        ]))


#: Command-line names of the models; each class's ``input_size`` is its sample shape.
MODELS: dict[str, type[_Network]] = {
    "lenet5": LeNet5,
    "lenet5fc": LeNet5FC,
    "mnistconvnet": MNISTConvNet,
    "cifarnet": CifarNet,
}


def build_model(name: str, backend: str = "torch", **kwargs) -> _Network:
    """Build a model by its command-line name, e.g. ``build_model("lenet5")``.

    Args:
        name: a key of ``MODELS``.
        backend: ``"torch"`` or ``"scratch"`` layers.
        **kwargs: passed to the model's constructor (e.g. ``num_classes``).
    """
    if name not in MODELS:
        raise ValueError(f"name={name!r} is not a model; choose one of {sorted(MODELS)}")
    return MODELS[name](backend=backend, **kwargs)
