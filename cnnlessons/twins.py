"""Any torch model on the scratch layers: ``enabled()`` for calls, ``from_torch()`` for modules.

Every scratch function has a *twin* in ``torch.nn.functional`` with the same name and
signature, and every scratch layer class one in ``torch.nn``. Two ways put a torch model
on the scratch twins without editing it:

``enabled()``
    A ``TorchFunctionMode``: inside ``with cnnlessons.scratch.enabled():`` every call of
    a torch layer function that has a twin runs the twin instead, whether a
    ``torch.nn`` module makes it (``nn.Conv2d`` calls ``F.conv2d``, which is
    ``torch.conv2d``) or the model's own ``forward`` (torchvision's DenseNet calls
    ``F.relu`` and ``F.adaptive_avg_pool2d``). Tensor primitives (``add``, ``cat``,
    ``mean``, ``view``...) pass through. A layer call with no twin raises, or with
    ``strict=False`` runs torch's and is listed in ``.untwinned``.
``from_torch(model)``
    A copy of ``model`` whose every ``torch.nn`` layer is replaced by its scratch class,
    the copied parameters and buffers moved in. The modules change, the ``forward``
    code does not: calls a model makes itself still reach torch, so such a model (e.g.
    torchvision's googlenet, densenet, mobilenet) needs ``enabled()`` around it as well.

This module names torch's layer functions to replace them, which is why it lives
outside ``cnnlessons/scratch/`` (whose sources may not mention them at all).
"""
from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from cnnlessons.dispatch import FORBIDDEN_MODULES, forbidden_family

__all__ = ["ScratchFunctions", "enabled", "from_torch", "function_twins", "torch_layers"]


def _with_indices(fn: Callable) -> Callable:
    """``fn`` with ``return_indices=True`` forced, for torch's ``*_with_indices`` functions."""
    return functools.wraps(fn)(lambda *args, **kwargs: fn(*args, **{**kwargs,
                                                                   "return_indices": True}))


def _in_place(fn: Callable) -> Callable:
    """``fn`` with ``inplace=True`` forced, for ``torch.relu_`` and ``Tensor.relu_``."""
    return functools.wraps(fn)(lambda input: fn(input, inplace=True))


@functools.cache
def function_twins() -> dict[Callable, Callable]:
    """Every torch callable that ``enabled()`` replaces, mapped to its scratch twin.

    Derived: each name of ``cnnlessons.scratch.functional`` that ``torch.nn.functional``
    also has (``F.conv2d``, i.e. ``torch.conv2d``, -> ``scratch.functional.conv2d``),
    plus the other names under which torch's modules and functions reach a torch
    function mode (``F.max_pool2d(..., return_indices=True)`` arrives as
    ``F.max_pool2d_with_indices``; ``nn.Sigmoid`` calls ``torch.sigmoid``).

    >>> import torch
    >>> function_twins()[torch.conv2d].__module__
    'cnnlessons.scratch.conv'
    """
    from cnnlessons.scratch import functional as SF

    twins: dict[Callable, Callable] = {
        getattr(F, name): getattr(SF, name) for name in SF.__all__ if hasattr(F, name)
    }
    for name in ("max_pool1d", "max_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d"):
        twins[getattr(F, f"{name}_with_indices")] = _with_indices(getattr(SF, name))
    for name in ("relu", "sigmoid", "tanh", "softmax", "log_softmax"):
        twins[getattr(torch, name)] = twins[getattr(Tensor, name)] = getattr(SF, name)
    twins[torch.relu_] = twins[Tensor.relu_] = _in_place(SF.relu)
    return twins


def _layer_call(func: Callable) -> str | None:
    """The name of ``func`` if it is a torch layer function (one ``enabled()`` must not
    let through unnoticed), else ``None``.
    """
    name = getattr(func, "__name__", "")
    module = getattr(func, "__module__", None) or "Tensor"
    from_layers = module in FORBIDDEN_MODULES and not name.startswith("_")  # not _parse_to
    return f"{module}.{name}" if from_layers or forbidden_family(name) else None


class ScratchFunctions(TorchFunctionMode):
    """The mode ``enabled()`` returns: torch layer calls run their scratch twins.

    Attributes:
        strict: raise on a layer call with no twin (``True``) or run torch's.
        untwinned: with ``strict=False``, the names of the twin-less layer functions
            that ran torch's code, in order of first call.
    """

    def __init__(self, strict: bool = True) -> None:
        super().__init__()
        self.strict = strict
        self.untwinned: list[str] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        twin = function_twins().get(func)
        if twin is not None:
            return twin(*args, **kwargs)  # this mode is off inside: the twin's primitives pass
        name = _layer_call(func)
        if name is not None:
            if self.strict:
                raise NotImplementedError(
                    f"{name} has no scratch twin; use enabled(strict=False) to run torch's "
                    "and list it in .untwinned"
                )
            if name not in self.untwinned:
                self.untwinned.append(name)
        return func(*args, **kwargs)


def enabled(strict: bool = True) -> ScratchFunctions:
    """Run torch layer functions as their scratch twins inside a ``with`` block.

    Args:
        strict: if ``True`` (the default), a torch layer function with no scratch twin
            (``F.gelu``, ``F.interpolate``...) raises ``NotImplementedError`` naming it;
            if ``False`` it runs torch's code and its name is added to the returned
            object's ``untwinned`` list.

    Returns:
        The mode, a context manager; ``with enabled() as mode:`` binds it.

    >>> import torch
    >>> conv = torch.nn.Conv2d(1, 2, 3)
    >>> x = torch.randn(1, 1, 5, 5)
    >>> with enabled():
    ...     y = conv(x)             # torch's module, the scratch conv2d
    >>> torch.allclose(y, conv(x), atol=1e-6)
    True
    >>> with enabled(strict=False) as mode:
    ...     _ = torch.nn.functional.gelu(x)
    >>> mode.untwinned
    ['torch._C._nn.gelu']
    """
    return ScratchFunctions(strict)


# ------------------------------------------------------------------------------ modules


def _containers() -> tuple[type, ...]:
    """Torch's classes that compute nothing: the scratch package re-exports them."""
    from cnnlessons.scratch import containers

    return tuple(getattr(containers, name) for name in containers.__all__
                 if isinstance(getattr(containers, name), type))


def _torch_layer_class(module: nn.Module) -> type | None:
    """The ``torch.nn`` layer class ``module`` is or inherits from (``None`` for
    containers and the user's own modules).
    """
    containers = _containers()
    for cls in type(module).__mro__:
        if cls.__module__.startswith("torch.nn.") and cls not in containers:
            return cls
    return None


def _twin_class(module: nn.Module) -> type | None:
    """The scratch class replacing ``module``: only an exact ``torch.nn`` layer has one
    (a subclass may override ``forward``, which the twin would silently drop).
    """
    from cnnlessons import scratch

    cls = type(module)
    twin = getattr(scratch, cls.__name__, None) if _torch_layer_class(module) is cls else None
    return twin if isinstance(twin, type) and twin is not cls else None


def torch_layers(model: nn.Module) -> list[str]:
    """The modules of ``model`` that are (or subclass) a ``torch.nn`` layer with no
    scratch twin, as ``"name (Class)"``: what ``from_torch`` cannot replace.

    >>> torch_layers(torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.GELU()))
    ['1 (GELU)']
    """
    return [f"{name or type(model).__name__} ({type(m).__name__})"
            for name, m in model.named_modules()
            if _torch_layer_class(m) is not None and _twin_class(m) is None]


def _constructor_arguments(layer: nn.Module, twin_class: type) -> dict:
    """The twin's constructor arguments, read from the torch layer's attributes (torch
    keeps each as an attribute of the same name; ``bias=True`` is a ``bias`` tensor).
    """
    arguments = {}
    for p in list(inspect.signature(twin_class.__init__).parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or not hasattr(layer, p.name):
            continue
        value = getattr(layer, p.name)
        if isinstance(p.default, bool) and (value is None or isinstance(value, Tensor)):
            value = value is not None
        arguments[p.name] = value
    if "device" in inspect.signature(twin_class.__init__).parameters:
        arguments["device"] = "meta"  # no memory, no random draws: the tensors are moved in
    return arguments


def _twin(layer: nn.Module) -> nn.Module:
    """The scratch twin of one torch layer, holding the layer's own tensors."""
    twin_class = _twin_class(layer)
    twin = twin_class(**_constructor_arguments(layer, twin_class))
    for kind in ("_parameters", "_buffers"):
        ours, theirs = getattr(twin, kind), getattr(layer, kind)
        if list(ours) != list(theirs):
            raise ValueError(f"from_torch: {type(layer).__name__} has {kind[1:]} {list(theirs)} "
                             f"but its scratch twin {list(ours)}")
        ours.update(theirs)
    twin._non_persistent_buffers_set = set(layer._non_persistent_buffers_set)
    twin.train(layer.training)
    if repr(twin) != repr(layer):
        raise ValueError(f"from_torch: the scratch twin {twin!r} does not reproduce {layer!r}")
    return twin


def from_torch(model: nn.Module, strict: bool = True) -> nn.Module:
    """A copy of ``model`` with every ``torch.nn`` layer replaced by its scratch twin.

    The model is deep-copied first (``model`` itself is untouched); each layer of the
    copy that has a twin is rebuilt as the scratch class with the same configuration and
    given the copy's own ``Parameter`` and buffer objects, so ``state_dict`` keys,
    values and order, ``requires_grad`` and training mode are all kept. Build the
    optimiser on the returned model's parameters. Containers (``Sequential``...) and the
    user's own module classes stay, their layers converted; a module shared in several
    places stays shared. Hooks registered on a replaced layer are not carried over.

    Only modules are converted: layer functions the model's ``forward`` calls directly
    (``F.relu(x)``) still run torch's code; wrap the calls in ``enabled()`` for those.

    Args:
        model: any ``torch.nn.Module`` (a single layer too).
        strict: if ``True``, a ``torch.nn`` layer with no twin (or a subclass of one,
            whose own ``forward`` a twin would drop) raises a ``ValueError`` naming every
            such module; if ``False`` they are kept as they are (``torch_layers`` of the
            result lists them).

    >>> net = torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU())
    >>> scratch_net = from_torch(net)
    >>> type(scratch_net[0]).__module__, type(scratch_net).__name__
    ('cnnlessons.scratch.conv', 'Sequential')
    """
    kept = torch_layers(model)
    if strict and kept:
        raise ValueError(f"from_torch: no scratch twin for {', '.join(kept)}; pass "
                         "strict=False to keep them as they are")
    converted = copy.deepcopy(model)
    if _twin_class(converted) is not None:
        return _twin(converted)
    memo: dict[int, nn.Module] = {}  # id(torch layer) -> its twin: shared layers stay shared

    def convert(parent: nn.Module) -> None:
        for name, child in list(parent._modules.items()):  # named_children skips repeats
            if child is None:
                continue
            if _twin_class(child) is not None:
                if id(child) not in memo:
                    memo[id(child)] = _twin(child)
                setattr(parent, name, memo[id(child)])
            else:
                convert(child)

    convert(converted)
    return converted
