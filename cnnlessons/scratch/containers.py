"""What ``torch.nn`` has that computes nothing: torch's own classes, re-exported.

``import cnnlessons.scratch as nn`` must run a ``torch.nn`` model definition verbatim,
and such a definition also names the machinery around the layers: the ``Module`` base
class, the containers that hold layers (``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList``, ``ParameterDict``), ``Parameter`` and ``Buffer`` (torch 2.5 and
later), ``Identity`` (which returns its input), and the initialisers in ``init``. None
of them computes anything a course on layers would rebuild (``Sequential`` only calls
its layers in order), so they are torch's objects themselves, not copies:
``cnnlessons.scratch.Module is torch.nn.Module``, and a scratch layer is a
``torch.nn.Module`` like any other.

Because they are the same objects, ``cnnlessons.backend`` does not count them among the
layers it swaps, and ``cnnlessons.scratch.from_torch`` leaves them in place.

>>> import torch
>>> import cnnlessons.scratch as nn
>>> nn.Sequential is torch.nn.Sequential and nn.init is torch.nn.init
True
"""
from __future__ import annotations

import torch
from torch.nn import (
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
           "ParameterDict", "Parameter", "Identity", "init"]

# ``torch.nn.Buffer`` arrived in torch 2.5; on older torch there is nothing to re-export
# (a model written for those versions registers buffers with ``register_buffer``).
if hasattr(torch.nn, "Buffer"):
    Buffer = torch.nn.Buffer
    __all__.insert(__all__.index("Identity"), "Buffer")
