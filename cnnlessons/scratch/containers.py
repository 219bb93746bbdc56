"""What ``torch.nn`` has that computes nothing: torch's own classes, re-exported.

``import cnnlessons.scratch as nn`` must run a ``torch.nn`` model definition verbatim,
and such a definition also names the machinery around the layers: the ``Module`` base
class, the containers that hold layers (``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList``, ``ParameterDict``), ``Parameter`` and ``Buffer``, ``Identity`` (which
returns its input), and the initialisers in ``init``. None of them computes anything a
course on layers would rebuild (``Sequential`` only calls its layers in order), so they
are torch's objects themselves, not copies: ``cnnlessons.scratch.Module is
torch.nn.Module``, and a scratch layer is a ``torch.nn.Module`` like any other.

Because they are the same objects, ``cnnlessons.backend`` does not count them among the
layers it swaps, and ``cnnlessons.scratch.from_torch`` leaves them in place.

>>> import torch
>>> import cnnlessons.scratch as nn
>>> nn.Sequential is torch.nn.Sequential and nn.init is torch.nn.init
True
"""
from __future__ import annotations

from torch.nn import (
    Buffer,
    Identity,
    Module,
    ModuleDict,
    ModuleList,
    Parameter,
    ParameterDict,
    ParameterList,
    Sequential,
    init,
)

__all__ = ["Module", "Sequential", "ModuleList", "ModuleDict", "ParameterList",
           "ParameterDict", "Parameter", "Buffer", "Identity", "init"]
