"""Watch what torch really runs: a recorder of ATen kernels and torch-level calls.

Agreeing with torch does not prove that a layer is built from primitives: a "scratch"
``conv2d`` could simply call ``torch.conv2d``. ``record()`` watches the computation
instead, at two levels:

* a ``TorchDispatchMode`` sees every ATen operator that reaches a kernel, the forward
  ones and those the autograd engine runs for the backward passes;
* a ``TorchFunctionMode`` sees every torch-level call (``torch.*``, ``Tensor.*``,
  ``torch.nn.functional.*``); some torch layers (``F.linear`` on CPU) decompose into
  ``mm``/``addmm`` before they reach a kernel, and only their torch-level name gives
  them away.

``Recording.offending()`` lists what matches ``FORBIDDEN``: name patterns of torch's
convolution, pooling, normalisation, activation, dropout, softmax, loss, distance,
padding, im2col, upsampling and linear kernels.

>>> import torch
>>> with record() as rec:
...     by_torch = torch.nn.functional.relu(torch.randn(3) * 2)
...     by_hand = torch.randn(3).clamp_min(0)
>>> rec.offending()
['aten.relu.default (relu)', 'torch.nn.functional.relu (relu)']

Enter ``record()`` *outside* ``cnnlessons.scratch.enabled()``: modes act innermost
first, so the scratch functions have replaced torch's layer calls before the recorder
sees anything.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from torch._ops import OpOverload
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["FORBIDDEN", "FORBIDDEN_MODULES", "Recording", "forbidden_family", "record"]

#: Kernel families the scratch package must not use, as regular expressions searched in
#: an ATen operator's name (``func.overloadpacket.__name__``, e.g. ``max_pool2d_with_indices``)
#: or a torch function's ``__name__`` (e.g. ``conv2d``, ``dropout``).
FORBIDDEN: dict[str, str] = {
    # convolution, _convolution, convolution_backward, mkldnn_convolution, slow_conv2d,
    # conv_transpose2d, slow_conv_transpose2d...
    "convolution": r"conv|mkldnn|cudnn|miopen|nnpack",
    # max_pool2d_with_indices(_backward), avg_pool2d, adaptive_*, max_unpool2d, fractional_*
    "pooling": r"pool|adaptive_",
    # batch_norm, native_batch_norm(_backward), layer_norm, norm, linalg_vector_norm, renorm
    # (the torch kernel behind pairwise_distance is a norm); not ``normal_``.
    "normalisation": r"(?:^|_)norm(?:$|_)|renorm",
    # dropout, native_dropout(_backward), feature_dropout, alpha_dropout
    "dropout": r"dropout",
    # _softmax, _log_softmax, *_backward_data, logsumexp
    "softmax": r"softmax|logsumexp",
    # nll_loss_forward, nll_loss2d, mse_loss, binary_cross_entropy, cross_entropy_loss...
    "loss": r"loss|cross_entropy",
    # _pdist_forward, _cdist_forward, pairwise_distance, dist, cosine_similarity
    "distance": r"pdist|cdist|pairwise_distance|(?:^|_)dist(?:$|_)|cosine_similarity",
    # constant_pad_nd (F.pad's kernel), reflection_pad2d, replication_pad1d, _pad_circular
    "padding": r"pad",
    # F.unfold / F.fold (Tensor.unfold, a view, is allowed: its name is plain "unfold")
    "im2col": r"im2col|col2im",
    "upsampling": r"upsample",
    # aten.linear, _addmm_activation (fused linear + activation); mm/addmm/matmul allowed
    "linear": r"linear|_addmm_activation",
    # relu, relu_, leaky_relu, threshold_backward (ReLU's backward kernel)
    "relu": r"relu|threshold",
    # sigmoid(_backward), tanh(_backward), hardtanh(_), elu, gelu, silu, ...
    "activation": r"(?:^|_)(?:sigmoid|tanh|hardtanh|elu|celu|selu|gelu|silu|mish|softplus"
                  r"|hardswish|hardsigmoid|glu)(?:$|_)",
}
_FORBIDDEN_RE = {family: re.compile(pattern) for family, pattern in FORBIDDEN.items()}

#: Whole torch namespaces of layer functions: anything called from them is forbidden.
FORBIDDEN_MODULES = ("torch.nn.functional", "torch._C._nn")


def forbidden_family(name: str) -> str | None:
    """The kernel family ``name`` belongs to, or ``None`` for an allowed primitive.

    >>> forbidden_family("max_pool2d_with_indices"), forbidden_family("normal_")
    ('pooling', None)
    """
    for family, regex in _FORBIDDEN_RE.items():
        if regex.search(name):
            return family
    return None


class _AtenRecorder(TorchDispatchMode):
    """Every ATen operator dispatched, forward and backward (autograd runs above it)."""

    def __init__(self, ops: dict[str, str]) -> None:
        super().__init__()
        self.ops = ops

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        # "aten.max_pool2d_with_indices.default" -> "max_pool2d_with_indices"
        self.ops[str(func)] = func.overloadpacket.__name__
        return func(*args, **(kwargs or {}))


class _FunctionRecorder(TorchFunctionMode):
    """Every torch-level function or method called, with the module it comes from."""

    def __init__(self, calls: set[tuple[str, str]]) -> None:
        super().__init__()
        self.calls = calls

    def __torch_function__(self, func, types, args=(), kwargs=None):
        # Older torch (2.4) also shows this mode the ATen operators that the dispatch
        # recorder below calls; those are recorded there already, under their own name.
        if not isinstance(func, OpOverload):
            module = getattr(func, "__module__", None) or ""
            self.calls.add((module, getattr(func, "__name__", repr(func))))
        return func(*args, **(kwargs or {}))


@dataclass
class Recording:
    """What ran inside ``record()``: ATen operators and torch-level calls."""

    aten: dict[str, str] = field(default_factory=dict)  # operator -> its overload packet
    calls: set[tuple[str, str]] = field(default_factory=set)

    def offending(self) -> list[str]:
        """Each forbidden operator or call, with its family, sorted."""
        found = set()
        for op, packet in self.aten.items():
            family = forbidden_family(packet)
            if family:
                found.add(f"{op} ({family})")
        for module, name in self.calls:
            family = forbidden_family(name)
            family = family or ("torch layer function" if module in FORBIDDEN_MODULES else None)
            if family:
                found.add(f"{module + '.' if module else 'Tensor.'}{name} ({family})")
        return sorted(found)

    def families(self) -> set[str]:
        """The forbidden families seen (``{"convolution", "relu"}``), empty if none."""
        return {entry.rsplit("(", 1)[1].rstrip(")") for entry in self.offending()}


@contextmanager
def record() -> Iterator[Recording]:
    """Record everything torch runs inside a ``with`` block; yields the ``Recording``."""
    rec = Recording()
    with _FunctionRecorder(rec.calls), _AtenRecorder(rec.aten):
        yield rec
