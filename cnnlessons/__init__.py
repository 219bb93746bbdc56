"""cnnlessons: convolutional neural networks, from scratch and with torch, shown equal.

``cnnlessons.scratch`` mirrors ``torch.nn`` layer for layer (same names, arguments and
``state_dict`` keys) using tensor primitives and hand-written backward passes, and
``cnnlessons.scratch.functional`` mirrors ``torch.nn.functional``. ``backend(name)``
returns either set of layer classes under the same names, so one model definition
builds both ways.
"""
from __future__ import annotations

from types import SimpleNamespace

__version__ = "0.1.0"

#: The layer classes a model can ask a backend for.
LAYER_NAMES = (
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "Linear", "ReLU", "Softmax", "LogSoftmax", "Flatten", "Dropout",
    "BatchNorm1d", "BatchNorm2d", "NLLLoss", "CrossEntropyLoss", "MSELoss",
)
BACKENDS = ("torch", "scratch")


def backend(name: str) -> SimpleNamespace:
    """The layer classes of one implementation, under torch's names.

    Args:
        name: ``"torch"`` for the ``torch.nn`` classes themselves, ``"scratch"`` for
            their from-scratch twins in ``cnnlessons.scratch``.

    Returns:
        A namespace with one attribute per name in ``LAYER_NAMES``, e.g.
        ``backend("scratch").Conv2d``.

    >>> nn = backend("scratch")
    >>> nn.Conv2d(1, 6, 5)
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    """
    if name == "torch":
        import torch.nn as source
    elif name == "scratch":
        from cnnlessons import scratch as source
    else:
        raise ValueError(f"backend={name!r} must be one of {BACKENDS}")
    return SimpleNamespace(**{layer: getattr(source, layer) for layer in LAYER_NAMES})
