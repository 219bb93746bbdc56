"""Where tensors live: the default device, and the device a model's weights are on."""
from __future__ import annotations

import torch
from torch import nn

__all__ = ["default_device", "model_device"]


def default_device() -> torch.device:
    """``cuda`` if a GPU is available, else ``cpu``."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: nn.Module) -> torch.device | None:
    """The device of ``model``'s first parameter, or ``None`` for a model without any.

    Inputs must follow the weights, so code that feeds a model asks it where they are.

    >>> model_device(nn.Linear(2, 3))
    device(type='cpu')
    >>> model_device(nn.ReLU()) is None
    True
    """
    parameter = next(model.parameters(), None)
    return None if parameter is None else parameter.device
