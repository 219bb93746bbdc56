"""The from-scratch mirror of PyTorch's functional API, imported as ``F``.

Same names, signatures and results as torch's functions; each is built from tensor
primitives with a hand-written backward pass, in the module named after its concept.
``import cnnlessons.scratch.functional as SF`` and use ``SF.conv2d`` where you would use
``F.conv2d``.

Nothing here is listed by hand: ``SF`` holds the functions in the ``__all__`` of every
layer module (``LAYER_MODULES``, found on disk), except the chapters' reference versions
that torch does not have. A new function, or a new module, joins by being listed in its
module's ``__all__``; ``SF.__all__`` shows what is here.
"""
from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

#: Every module of ``cnnlessons.scratch`` but this one and the optimiser, in file-name
#: order: one concept each (``activation``, ``conv``, ``pool``, ...). The package
#: ``cnnlessons.scratch`` takes its classes from the same modules.
LAYER_MODULES = tuple(
    importlib.import_module(f"cnnlessons.scratch.{info.name}")
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name not in ("functional", "optim") and not info.name.startswith("_")
)

#: Public functions of the layer modules that torch's ``F`` does not have: the slow loop
#: references the chapters read (``corr2d``, ``conv2d_loop``, ``max_pool2d_backward_loop``,
#: ...), i.e. everything a ``*_reference`` module exports (its layer module re-exports
#: them). Left out, so that ``SF`` mirrors ``F``.
_REFERENCE_VERSIONS = frozenset(
    name for module in LAYER_MODULES if module.__name__.endswith("_reference")
    for name in module.__all__
)

# Functions: callables that are not classes (``containers.init``, a module, is neither).
_FUNCTIONS = {
    name: getattr(module, name)
    for module in LAYER_MODULES
    for name in module.__all__
    if callable(obj := getattr(module, name)) and not isinstance(obj, type)
    and name not in _REFERENCE_VERSIONS
}
globals().update(_FUNCTIONS)
__all__ = list(_FUNCTIONS)
