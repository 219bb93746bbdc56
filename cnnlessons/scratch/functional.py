"""The from-scratch mirror of PyTorch's functional API, imported as ``F``.

Same names, signatures and results as torch's functions; each is built from tensor
primitives with a hand-written backward pass, in the module named after its concept.
``import cnnlessons.scratch.functional as SF`` and use ``SF.conv2d`` where you would use
``F.conv2d``.
"""
from cnnlessons.scratch.activation import log_softmax, relu, softmax
from cnnlessons.scratch.conv import conv1d, conv2d
from cnnlessons.scratch.distance import pairwise_distance
from cnnlessons.scratch.dropout import dropout
from cnnlessons.scratch.linear import linear
from cnnlessons.scratch.loss import cross_entropy, mse_loss, nll_loss
from cnnlessons.scratch.norm import batch_norm
from cnnlessons.scratch.padding import pad
from cnnlessons.scratch.pool import (avg_pool1d, avg_pool2d, max_pool1d, max_pool2d,
                                     max_unpool1d, max_unpool2d)

__all__ = [
    "conv1d", "conv2d", "pad",
    "max_pool1d", "max_pool2d", "avg_pool1d", "avg_pool2d", "max_unpool1d", "max_unpool2d",
    "linear", "relu", "softmax", "log_softmax",
    "nll_loss", "cross_entropy", "mse_loss",
    "dropout", "batch_norm", "pairwise_distance",
]
