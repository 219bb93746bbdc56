"""The from-scratch mirror of ``torch.nn``.

Every class here has the same name, constructor arguments, parameter and buffer names
and ``extra_repr`` as its ``torch.nn`` twin, so a model can swap ``torch.nn`` for
``cnnlessons.scratch`` and load the same ``state_dict``. The forward passes use tensor
primitives only and every backward pass is written by hand. The functions live in
``cnnlessons.scratch.functional``; the optimiser in ``cnnlessons.scratch.optim``.
"""
from cnnlessons.scratch import functional, optim
from cnnlessons.scratch.activation import LogSoftmax, ReLU, Softmax
from cnnlessons.scratch.conv import Conv1d, Conv2d
from cnnlessons.scratch.distance import PairwiseDistance
from cnnlessons.scratch.dropout import Dropout
from cnnlessons.scratch.flatten import Flatten
from cnnlessons.scratch.linear import Linear
from cnnlessons.scratch.loss import CrossEntropyLoss, MSELoss, NLLLoss
from cnnlessons.scratch.norm import BatchNorm1d, BatchNorm2d
from cnnlessons.scratch.pool import (AvgPool1d, AvgPool2d, MaxPool1d, MaxPool2d,
                                     MaxUnpool1d, MaxUnpool2d)

__all__ = [
    "functional", "optim",
    "Conv1d", "Conv2d", "MaxPool1d", "MaxPool2d", "AvgPool1d", "AvgPool2d",
    "MaxUnpool1d", "MaxUnpool2d", "Linear", "Flatten", "ReLU", "Softmax", "LogSoftmax",
    "Dropout", "BatchNorm1d", "BatchNorm2d", "NLLLoss", "CrossEntropyLoss", "MSELoss",
    "PairwiseDistance",
]
