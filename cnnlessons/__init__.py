"""cnnlessons: convolutional neural networks, from scratch and with torch, shown equal.

``cnnlessons.scratch`` mirrors ``torch.nn`` layer for layer (same names, arguments and
``state_dict`` keys) using tensor primitives and hand-written backward passes,
``cnnlessons.scratch.functional`` mirrors ``torch.nn.functional`` and
``cnnlessons.scratch.optim`` mirrors ``torch.optim``. ``backend(name)`` is the one
switch between the two: it returns either set under the same names, so one model
definition, one loss and one optimiser call build both ways.
"""
from __future__ import annotations

from types import SimpleNamespace

__version__ = "0.1.0"

BACKENDS = ("torch", "scratch")


def layer_names() -> tuple[str, ...]:
    """The layer classes ``backend`` hands out, in ``cnnlessons.scratch.__all__``'s order.

    Derived, not listed: every public class of ``cnnlessons.scratch`` that ``torch.nn``
    also has, so a new scratch layer is offered by both backends as soon as it is
    exported. torch's own classes that the scratch package re-exports (``Module``,
    ``Sequential``...: ``cnnlessons/scratch/containers.py``) are the same in both
    backends, so they are not layers to swap.

    >>> {"Conv2d", "MaxUnpool2d", "PairwiseDistance"} <= set(layer_names())
    True
    >>> "Sequential" in layer_names()
    False
    """
    # Imported on call, not at the top: `import cnnlessons.shapes` (plain arithmetic,
    # no torch) runs this file, and must not pay for importing torch.
    from torch import nn

    from cnnlessons import scratch

    return tuple(name for name in scratch.__all__
                 if isinstance(getattr(scratch, name), type) and hasattr(nn, name)
                 and getattr(scratch, name) is not getattr(nn, name))


def backend(name: str) -> SimpleNamespace:
    """The layers, functions and optimisers of one implementation, under torch's names.

    Args:
        name: ``"torch"`` for ``torch.nn``, ``torch.nn.functional`` and ``torch.optim``
            themselves, ``"scratch"`` for their from-scratch twins in
            ``cnnlessons.scratch``.

    Returns:
        A namespace with one attribute per class of ``layer_names()`` (e.g. ``.Conv2d``),
        plus ``.functional`` (``torch.nn.functional`` or
        ``cnnlessons.scratch.functional``) and ``.optim`` (``torch.optim`` or
        ``cnnlessons.scratch.optim``; both have ``SGD``).

    Raises:
        ValueError: ``name`` is not one of ``BACKENDS``.

    >>> nn = backend("scratch")
    >>> nn.Conv2d(1, 6, 5)
    Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1))
    >>> nn.functional.__name__, nn.optim.SGD.__module__
    ('cnnlessons.scratch.functional', 'cnnlessons.scratch.optim')
    """
    if name not in BACKENDS:
        raise ValueError(f"backend={name!r} must be one of {BACKENDS}")
    # Imported on call, for the reason given in layer_names.
    import torch.nn
    import torch.nn.functional
    import torch.optim

    from cnnlessons import scratch

    sources = {
        "torch": (torch.nn, torch.nn.functional, torch.optim),
        "scratch": (scratch, scratch.functional, scratch.optim),
    }
    layers, functional, optim = sources[name]
    return SimpleNamespace(**{layer: getattr(layers, layer) for layer in layer_names()},
                           functional=functional, optim=optim)
