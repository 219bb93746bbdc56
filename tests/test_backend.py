"""``cnnlessons.backend``: torch's layers and the scratch layers are interchangeable.

``backend(name)`` hands out every public scratch class that ``torch.nn`` also has, the
functional module and the optimisers, derived from ``cnnlessons.scratch.__all__``. Every
public scratch layer class has at least one row in the table below (a test fails if
one is missing); for each row, built with the same arguments from both backends: the
same seed gives the same ``state_dict`` (keys, shapes, dtypes, values); torch's
``state_dict`` loads into the scratch layer with ``strict=True``; the two then give the
same outputs and gradients in train and eval mode (float64); batch norm updates its
running statistics identically; and both print the same.
"""
from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import torch
import torch.nn.functional
import torch.optim
from torch import nn

import cnnlessons
import cnnlessons.scratch as scratch
from cnnlessons import backend, layer_names

TORCH, SCRATCH = backend("torch"), backend("scratch")

DT = torch.float64


# --------------------------------------------------------------------------------------
# backend(name)
# --------------------------------------------------------------------------------------

def _public_scratch_classes() -> set[str]:
    """Every class ``cnnlessons.scratch`` exports, but torch's own ``Module``,
    ``Sequential``... that it re-exports (``scratch/containers.py``): no layers to compare.
    """
    return {name for name in scratch.__all__ if inspect.isclass(getattr(scratch, name))
            and getattr(scratch, name) is not getattr(nn, name, None)}


def test_torch_backend_is_torch_itself():
    for name in layer_names():
        assert getattr(TORCH, name) is getattr(nn, name), name
    assert TORCH.functional is torch.nn.functional
    assert TORCH.optim is torch.optim


def test_scratch_backend_is_the_scratch_classes():
    for name in layer_names():
        cls = getattr(SCRATCH, name)
        assert cls is getattr(scratch, name), name
        assert cls is not getattr(nn, name), name
        assert cls.__module__.startswith("cnnlessons.scratch."), (name, cls.__module__)
        assert issubclass(cls, nn.Module), name
    assert SCRATCH.functional is scratch.functional
    assert SCRATCH.optim is scratch.optim


def test_backends_offer_the_same_names():
    assert set(vars(TORCH)) == set(vars(SCRATCH)) == {*layer_names(), "functional", "optim"}
    assert TORCH.optim.SGD is torch.optim.SGD and SCRATCH.optim.SGD is scratch.optim.SGD


def test_every_public_scratch_layer_is_offered_by_both_backends():
    """The list is derived: a scratch layer class with a torch.nn twin is handed out."""
    layers = {name for name in _public_scratch_classes()
              if issubclass(getattr(scratch, name), nn.Module)}
    assert layers == set(layer_names())
    assert {"MaxUnpool1d", "MaxUnpool2d", "PairwiseDistance"} <= set(layer_names())


@pytest.mark.parametrize("name", ["tensorflow", "Torch", "", "numpy"])
def test_unknown_backend_is_a_value_error_naming_it(name):
    with pytest.raises(ValueError, match=f"backend={name!r}"):
        backend(name)


def test_backends_are_the_documented_ones():
    assert set(cnnlessons.BACKENDS) == {"torch", "scratch"}


# --------------------------------------------------------------------------------------
# The table: one row per layer configuration
# --------------------------------------------------------------------------------------

def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=DT)


def _shape(*shape: int) -> Callable[[torch.Generator], tuple]:
    """Inputs: one random tensor of ``shape``."""
    return lambda gen: (_randn(gen, *shape),)


def _classes(n: int, classes: int) -> Callable[[torch.Generator], tuple]:
    """Inputs: logits ``(n, classes)`` and class targets ``(n,)``."""
    return lambda gen: (_randn(gen, n, classes), torch.randint(classes, (n,), generator=gen))


def _regression(*shape: int) -> Callable[[torch.Generator], tuple]:
    return lambda gen: (_randn(gen, *shape), _randn(gen, *shape))


def _pooled(shape: tuple[int, ...], kernel_size: int, stride: int) -> Callable:
    """Inputs of MaxUnpool: a max pool's output and indices, from torch (the oracle)."""
    pool = nn.functional.max_pool1d if len(shape) == 3 else nn.functional.max_pool2d

    def make(gen):
        out, idx = pool(_randn(gen, *shape), kernel_size, stride, return_indices=True)
        return out, idx
    return make


@dataclass(frozen=True)
class Row:
    """A layer class, its constructor arguments, and how to make its inputs."""

    cls: str
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    inputs: Callable[[torch.Generator], tuple] = _shape(2, 3)
    modes: tuple[bool, ...] = (True, False)  # train, eval

    @property
    def id(self) -> str:
        parts = [repr(a) for a in self.args] + [f"{k}={v!r}" for k, v in self.kwargs.items()]
        return f"{self.cls}({', '.join(parts)})"


ROWS = [
    Row("Conv1d", (3, 4, 3), dict(stride=2, padding=1), _shape(2, 3, 10)),
    Row("Conv1d", (4, 6, 3), dict(padding=2, dilation=2, groups=2, bias=False,
                                  padding_mode="reflect"), _shape(2, 4, 9)),
    Row("Conv2d", (1, 6, 5), dict(padding=2), _shape(2, 1, 12, 12)),
    Row("Conv2d", (4, 6, (3, 5)), dict(padding="same", dilation=(1, 2), groups=2,
                                       padding_mode="circular"), _shape(2, 4, 7, 9)),
    Row("Conv2d", (3, 4, 3), dict(stride=(2, 1), padding="valid", bias=False,
                                  padding_mode="replicate"), _shape(2, 3, 8, 7)),
    Row("Conv2d", (2, 3, 2), dict(padding=(1, 0), padding_mode="zeros"), _shape(2, 5, 6)),
    Row("ConvTranspose1d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2),
        _shape(2, 4, 7)),
    Row("ConvTranspose2d", (16, 6, 5), {}, _shape(2, 16, 10, 10)),
    Row("ConvTranspose2d", (4, 6, (3, 2)), dict(stride=(2, 1), padding=(1, 0),
                                                output_padding=(1, 0), dilation=(1, 2),
                                                groups=2, bias=False), _shape(4, 5, 6)),
    Row("MaxPool1d", (3,), dict(stride=2, padding=1), _shape(2, 3, 10)),
    Row("MaxPool1d", (2,), dict(return_indices=True, ceil_mode=True), _shape(2, 3, 9)),
    Row("MaxPool2d", (2,), {}, _shape(2, 3, 8, 8)),
    Row("MaxPool2d", (3,), dict(stride=2, padding=1, dilation=(1, 2), ceil_mode=True,
                                return_indices=True), _shape(2, 3, 9, 10)),
    Row("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False),
        _shape(2, 3, 10)),
    Row("AvgPool2d", (2,), {}, _shape(2, 3, 8, 8)),
    Row("AvgPool2d", ((3, 2),), dict(stride=2, padding=1, ceil_mode=True, divisor_override=4),
        _shape(3, 7, 8)),
    Row("MaxUnpool1d", (2,), {}, _pooled((2, 3, 8), 2, 2)),
    Row("MaxUnpool2d", (3,), dict(stride=2), _pooled((2, 3, 7, 7), 3, 2)),
    Row("Linear", (5, 3), {}, _shape(4, 5)),
    Row("Linear", (5, 3), dict(bias=False), _shape(2, 4, 5)),
    Row("ReLU", (), {}, _shape(4, 5)),
    Row("LeakyReLU", (0.2,), {}, _shape(4, 5)),
    Row("Hardtanh", (-2.0, 0.5), {}, _shape(4, 5)),
    Row("ReLU6", (), {}, _shape(4, 5)),
    Row("Sigmoid", (), {}, _shape(4, 5)),
    Row("Tanh", (), {}, _shape(4, 5)),
    Row("AdaptiveAvgPool1d", (3,), {}, _shape(2, 3, 8)),
    Row("AdaptiveAvgPool2d", ((3, None),), {}, _shape(2, 3, 7, 5)),
    Row("AdaptiveMaxPool1d", (3,), dict(return_indices=True), _shape(2, 3, 8)),
    Row("AdaptiveMaxPool2d", (2,), {}, _shape(3, 7, 5)),
    Row("Dropout2d", (), dict(p=0.3), _shape(2, 3, 4, 4), modes=(False,)),
    Row("Softmax", (), dict(dim=1), _shape(4, 5)),
    Row("LogSoftmax", (), dict(dim=-1), _shape(2, 3, 5)),
    Row("Flatten", (), {}, _shape(2, 3, 4, 5)),
    Row("Flatten", (), dict(start_dim=0, end_dim=2), _shape(2, 3, 4, 5)),
    Row("Dropout", (), dict(p=0.3), _shape(4, 5), modes=(False,)),
    Row("BatchNorm1d", (4,), {}, _shape(6, 4)),
    Row("BatchNorm1d", (4,), dict(affine=False, momentum=None), _shape(5, 4, 3)),
    Row("BatchNorm2d", (3,), dict(eps=1e-3, momentum=0.2), _shape(4, 3, 5, 5)),
    Row("BatchNorm2d", (3,), dict(track_running_stats=False), _shape(4, 3, 2, 2)),
    Row("NLLLoss", (), {}, _classes(6, 4)),
    Row("NLLLoss", (), dict(weight=torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=DT),
                            ignore_index=1, reduction="sum"), _classes(6, 4)),
    Row("CrossEntropyLoss", (), {}, _classes(6, 4)),
    Row("CrossEntropyLoss", (), dict(weight=torch.tensor([1.0, 2.0, 0.5, 1.5], dtype=DT),
                                     label_smoothing=0.1), _classes(6, 4)),
    Row("MSELoss", (), dict(reduction="sum"), _regression(3, 4)),
    Row("PairwiseDistance", (), dict(p=1.0, keepdim=True), _regression(4, 5)),
    Row("PairwiseDistance", (), {}, _regression(4, 5)),
]


def _without_row(rows: list[Row]) -> set[str]:
    """The public scratch layer classes that no row of ``rows`` builds."""
    layers = {name for name in _public_scratch_classes()
              if issubclass(getattr(scratch, name), nn.Module)}
    return layers - {row.cls for row in rows}


def test_table_covers_every_public_scratch_class():
    assert _without_row(ROWS) == set()
    assert {row.cls for row in ROWS} <= set(layer_names())


def test_coverage_check_can_fail():
    assert _without_row([row for row in ROWS if row.cls != "MaxUnpool2d"]) == {"MaxUnpool2d"}


def _build(row: Row, source, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    # each layer gets its own copy of a tensor argument (a loss's class weights)
    kwargs = {k: v.clone() if isinstance(v, torch.Tensor) else v for k, v in row.kwargs.items()}
    return getattr(source, row.cls)(*row.args, **kwargs)


def _tensors(out) -> list[torch.Tensor]:
    """A layer's output as a list of tensors (pools may return ``(out, indices)``)."""
    return list(out) if isinstance(out, tuple) else [out]


def _assert_same_state(scratch_layer: nn.Module, torch_layer: nn.Module) -> None:
    s, t = scratch_layer.state_dict(), torch_layer.state_dict()
    assert list(s) == list(t)  # same keys, same order
    for key in t:
        assert s[key].shape == t[key].shape, key
        assert s[key].dtype == t[key].dtype, key
        torch.testing.assert_close(s[key], t[key], rtol=0, atol=0, msg=key)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_same_seed_same_state_dict(row):
    _assert_same_state(_build(row, SCRATCH), _build(row, TORCH))


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_same_repr(row):
    assert repr(_build(row, SCRATCH)) == repr(_build(row, TORCH))


def _perturb(layer: nn.Module, gen: torch.Generator) -> None:
    """Move every floating parameter and buffer off its initial value (variances stay
    positive), so loading a ``state_dict`` has something to do."""
    parameters = dict(layer.named_parameters())
    with torch.no_grad():
        for key, t in layer.state_dict().items():  # state_dict tensors share storage
            if not t.is_floating_point():
                continue
            noise = torch.rand(t.shape, generator=gen, dtype=t.dtype)
            # running variances and loss class weights (a buffer) must stay positive
            positive = key.endswith("running_var") or key not in parameters and key == "weight"
            t.mul_(noise + 0.5) if positive else t.add_(noise - 0.5)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.id)
def test_load_torch_state_and_compute_the_same(row):
    gen = torch.Generator().manual_seed(1)
    torch_layer, scratch_layer = _build(row, TORCH).to(DT), _build(row, SCRATCH, seed=2).to(DT)
    _perturb(torch_layer, gen)
    result = scratch_layer.load_state_dict(torch_layer.state_dict(), strict=True)
    assert not result.missing_keys and not result.unexpected_keys
    _assert_same_state(scratch_layer, torch_layer)

    for training in row.modes:
        torch_layer.train(training), scratch_layer.train(training)
        inputs = row.inputs(gen)
        t_in = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
        s_in = [x.clone().requires_grad_(x.is_floating_point()) for x in inputs]
        t_out, s_out = _tensors(torch_layer(*t_in)), _tensors(scratch_layer(*s_in))
        assert len(s_out) == len(t_out)
        for s, t in zip(s_out, t_out):
            assert s.dtype == t.dtype and s.shape == t.shape
            torch.testing.assert_close(s, t, msg=f"output, training={training}")

        # Same upstream gradient into the float output, compare every gradient.
        upstream = torch.randn(t_out[0].shape, generator=gen, dtype=DT)
        t_out[0].backward(upstream)
        s_out[0].backward(upstream)
        for s, t in zip(s_in, t_in):
            if t.requires_grad:
                torch.testing.assert_close(s.grad, t.grad, msg=f"input grad, training={training}")
        for (name, s), (_, t) in zip(scratch_layer.named_parameters(),
                                     torch_layer.named_parameters()):
            torch.testing.assert_close(s.grad, t.grad, msg=f"{name}.grad, training={training}")
        # Running statistics (batch norm) moved the same way.
        for (key, s), t in zip(scratch_layer.state_dict().items(),
                               torch_layer.state_dict().values()):
            torch.testing.assert_close(s, t, msg=f"{key} after a step, training={training}")
