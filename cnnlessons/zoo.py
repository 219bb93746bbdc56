"""torchvision's classic CNNs on the scratch layers: build, run, compare, time.

The plumbing of appendix A3 ("Famous networks on your layers"), ``tests/test_zoo.py``
and ``benchmarks/zoo.py``. A model is built by torchvision with random weights (nothing
is downloaded) and run forward and backward three ways:

* plain torch (the reference);
* inside ``cnnlessons.scratch.enabled()``: torch's modules, the scratch functions;
* converted by ``cnnlessons.scratch.from_torch()``: the scratch modules, inside
  ``enabled()`` as well for the models whose own ``forward`` calls ``F.*``
  (``scratch_context``).

>>> net = build("squeezenet1_1")  # no batch norm: no running statistics to reset
>>> x = torch.randn(2, 3, 32, 32, dtype=torch.float64)
>>> reference = forward_backward(net, x)
>>> with_scratch = forward_backward(net, x, context=enabled)
>>> max_difference(with_scratch, reference) < 1e-10, dict(families(with_scratch.recording))
(True, {})
"""
from __future__ import annotations

import contextlib
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torchvision.models as tvm
from torch import Tensor, nn
from torch.utils._python_dispatch import TorchDispatchMode

from cnnlessons.benchmark import time_interleaved, torch_threads
from cnnlessons.dispatch import Recording, forbidden_family, record
from cnnlessons.twins import enabled, from_torch

__all__ = ["CALLS_F_ITSELF", "MODELS", "Pass", "Row", "WAYS", "build", "families",
           "describe_results", "find_results", "format_rows", "forward_backward", "input_size",
           "load_results",
           "max_difference", "replaced",
           "scratch_context", "steps", "time_models"]

#: The eight models of issue 14, by torchvision name: ``f(**kwargs) -> nn.Module``.
MODELS: dict[str, Callable[..., nn.Module]] = {
    "alexnet": tvm.alexnet,
    "vgg11_bn": tvm.vgg11_bn,
    "resnet18": tvm.resnet18,
    "squeezenet1_1": tvm.squeezenet1_1,
    "mobilenet_v2": tvm.mobilenet_v2,
    # init_weights=True: torchvision's own initialisation, and no warning about it
    "googlenet": lambda **kw: tvm.googlenet(**{"aux_logits": False, "init_weights": True, **kw}),
    "densenet121": tvm.densenet121,
    "shufflenet_v2_x0_5": tvm.shufflenet_v2_x0_5,
}
#: The models whose own ``forward`` calls layer functions (``F.relu``,
#: ``F.adaptive_avg_pool2d``), which ``from_torch`` cannot reach, and the families of
#: those calls.
CALLS_F_ITSELF: dict[str, set[str]] = {"mobilenet_v2": {"pooling"}, "googlenet": {"relu"},
                                       "densenet121": {"relu", "pooling"}}
#: The three ways of running a model, in table order.
WAYS = ("torch", "enabled", "from_torch")
#: Input sides other than 32 (see ``input_size``).
_INPUT_SIZE = {"alexnet": 64, "densenet121": 64, "resnet18": 48, "mobilenet_v2": 48}


def _check_name(name: str) -> None:
    if name not in MODELS:
        raise ValueError(f"name={name!r} is not one of {list(MODELS)}")


def input_size(name: str) -> int:
    """A small square input side for model ``name`` that keeps float64 comparisons
    meaningful: 32, or 48 for ResNet-18 and MobileNetV2, 64 for AlexNet and DenseNet-121.

    AlexNet takes nothing under 63 (its stride-4 stem and three 3x3 max pools). The
    others run on 16 to 32 pixels, but a batch of two images whose last stages shrink
    to 1x1 has training-mode batch norms that normalise two numbers each, and those
    are so ill-conditioned that two correct implementations' gradients part by far more
    than rounding (DenseNet-121's by thousands at 48x48); 2x2 maps are enough.

    >>> input_size("alexnet"), input_size("resnet18"), input_size("vgg11_bn")
    (64, 48, 32)
    """
    _check_name(name)
    return _INPUT_SIZE.get(name, 32)


def build(name: str, dtype: torch.dtype = torch.float64, seed: int = 0, **kwargs) -> nn.Module:
    """Model ``name`` of ``MODELS`` with 10 classes and random weights drawn after
    ``torch.manual_seed(seed)``, in ``dtype``; ``kwargs`` go to torchvision
    (``aux_logits=True`` for GoogLeNet's auxiliary heads).
    """
    _check_name(name)
    torch.manual_seed(seed)
    return MODELS[name](**{"weights": None, "num_classes": 10, **kwargs}).to(dtype)


def scratch_context(name: str) -> Callable[[], contextlib.AbstractContextManager]:
    """What a ``from_torch`` model ``name`` runs inside to be all scratch: ``enabled``
    for the models in ``CALLS_F_ITSELF``, else a context that does nothing.
    """
    _check_name(name)
    return enabled if name in CALLS_F_ITSELF else contextlib.nullcontext


@dataclass
class Pass:
    """One forward and backward pass: the outputs, every parameter's gradient, every
    buffer afterwards (batch-norm running statistics) and what torch ran.
    """

    outputs: tuple[Tensor, ...]
    grads: dict[str, Tensor | None]
    buffers: dict[str, Tensor]
    recording: Recording
    #: With ``count_kernels``: ATen kernel calls, forward and backward, by forbidden
    #: family (``"primitive"`` for the allowed ones: ``mm``, ``add``, ``view``...).
    kernel_calls: Counter | None = None


class _KernelCounter(TorchDispatchMode):
    """Counts every ATen kernel call by family."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.calls[forbidden_family(func.overloadpacket.__name__) or "primitive"] += 1
        return func(*args, **(kwargs or {}))


def forward_backward(net: nn.Module, x: Tensor, training: bool = True,
                     context: Callable[[], contextlib.AbstractContextManager] =
                     contextlib.nullcontext, seed: int = 2, count_kernels: bool = False) -> Pass:
    """Run ``net`` on ``x`` forward and backward, recorded, inside ``context()``.

    The upstream gradient of each output (GoogLeNet in training mode with auxiliary
    heads returns three) is random, drawn from a generator seeded with ``seed``, and
    ``torch.manual_seed(seed)`` is set first, so dropout draws the same masks on every
    call: the scratch dropout calls the same ``bernoulli_`` as torch's CPU kernel.
    The gradients are cleared first; the buffers are *not* reset (see ``Pass``).
    ``count_kernels`` also counts every kernel call by family (``Pass.kernel_calls``),
    which costs a Python call per kernel.
    """
    net.train(training).zero_grad(set_to_none=True)
    gen = torch.Generator().manual_seed(seed)
    counter = _KernelCounter() if count_kernels else contextlib.nullcontext()
    with record() as rec, counter, context():
        torch.manual_seed(seed)
        out = net(x)
        outputs = tuple(out) if isinstance(out, tuple) else (out,)
        upstream = [torch.randn(o.shape, generator=gen, dtype=o.dtype) for o in outputs]
        torch.autograd.backward(outputs, upstream)
    return Pass(tuple(o.detach() for o in outputs),
                {name: p.grad for name, p in net.named_parameters()},
                {name: b.clone() for name, b in net.named_buffers()}, rec,
                counter.calls if count_kernels else None)


def max_difference(a: Pass, b: Pass) -> float:
    """The largest absolute difference between two passes, over the outputs, the
    gradients and the floating-point buffers (``inf`` if their names or shapes differ).
    """
    if (len(a.outputs) != len(b.outputs) or a.grads.keys() != b.grads.keys()
            or a.buffers.keys() != b.buffers.keys()):
        return float("inf")
    pairs = list(zip(a.outputs, b.outputs))
    pairs += [(a.grads[k], b.grads[k]) for k in a.grads]
    pairs += [(a.buffers[k], b.buffers[k]) for k in a.buffers]
    worst = 0.0
    for u, v in pairs:
        if u is None or v is None:
            if u is not v:
                return float("inf")
            continue
        if u.shape != v.shape:
            return float("inf")
        if not u.is_floating_point():
            if not torch.equal(u, v):
                return float("inf")
            continue
        worst = max(worst, (u - v).abs().max().item() if u.numel() else 0.0)
    return worst


def families(recording: Recording) -> Counter:
    """How many distinct torch layer kernels and functions of each forbidden family
    (``cnnlessons.dispatch.FORBIDDEN``) a recording saw: ``Counter({"convolution": 4})``.
    """
    return Counter(entry.rsplit("(", 1)[1].rstrip(")") for entry in recording.offending())


def replaced(model: nn.Module, converted: nn.Module) -> Counter:
    """Which modules ``from_torch`` replaced: ``Counter`` of torch class name ->
    number of modules (a module shared in several places counts once).
    """
    theirs = dict(converted.named_modules())
    return Counter(type(m).__name__ for name, m in model.named_modules()
                   if type(theirs[name]) is not type(m))


# ------------------------------------------------------------------------------- timing


@dataclass(frozen=True)
class Row:
    """One model: milliseconds per forward + backward step in each of ``WAYS``."""

    model: str
    parameters: int
    torch_ms: float
    enabled_ms: float
    from_torch_ms: float

    @property
    def enabled_ratio(self) -> float:
        """``enabled()`` time / torch time."""
        return self.enabled_ms / self.torch_ms

    @property
    def from_torch_ratio(self) -> float:
        """``from_torch()`` time / torch time."""
        return self.from_torch_ms / self.torch_ms


def steps(name: str, batch_size: int = 8, size: int = 64,
          dtype: torch.dtype = torch.float32) -> dict[str, Callable[[], None]]:
    """The training-mode forward + backward step of model ``name`` in each of ``WAYS``:
    the same weights, input and upstream gradient for all three; the gradients are
    dropped after each step, so every step does the same work.
    """
    model = build(name, dtype).train()
    converted = from_torch(model)
    x = torch.randn(batch_size, 3, size, size, generator=torch.Generator().manual_seed(1),
                    dtype=dtype)

    def step(net: nn.Module, context: Callable) -> Callable[[], None]:
        def forward() -> Tensor:
            with context():
                return net(x)
        upstream = torch.randn_like(forward())
        parameters = list(net.parameters())

        def run() -> None:
            forward().backward(upstream)
            for p in parameters:
                p.grad = None
        return run

    return {"torch": step(model, contextlib.nullcontext), "enabled": step(model, enabled),
            "from_torch": step(converted, scratch_context(name))}


def _one_call_samples(work: dict[str, Callable[[], None]], repeats: int,
                      warmup: int) -> dict[str, float]:
    # A model's step lasts long enough to be timed one call at a time.
    return time_interleaved(work, repeats, warmup, min_sample_s=0.0)


def time_models(models: list[str] | None = None, batch_size: int = 8, size: int = 64,
                repeats: int = 3, warmup: int = 1, threads: int | None = 2,
                timer: Callable[..., dict[str, float]] | None = None) -> list[Row]:
    """Time a float32 training step of each model (default all of ``MODELS``) in the
    three ``WAYS``.

    Args:
        models: names from ``MODELS``.
        batch_size, size: the input batch, ``batch_size x 3 x size x size``.
        repeats, warmup: passed to ``timer``.
        threads: ``torch.set_num_threads`` while timing (restored after); ``None``
            leaves it alone.
        timer: ``f(work, repeats, warmup) -> {way: ms}``; default
            :func:`cnnlessons.benchmark.time_interleaved` with one call per sample.
    """
    for name in models or ():
        _check_name(name)
    timer = timer or _one_call_samples
    rows = []
    with torch_threads(threads):
        for name in models or MODELS:
            work = steps(name, batch_size, size)
            ms = timer(work, repeats, warmup)
            parameters = sum(p.numel() for p in build(name, torch.float32).parameters())
            rows.append(Row(name, parameters, ms["torch"], ms["enabled"], ms["from_torch"]))
    return rows


def format_rows(rows: list[Row]) -> str:
    """The rows as a fixed-width text table: parameters, milliseconds and ratios."""
    lines = [f"{'model':<20}{'params':>8}{'torch ms':>10}{'enabled ms':>12}{'ratio':>7}"
             f"{'from_torch ms':>15}{'ratio':>7}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r.model:<20}{r.parameters / 1e6:>7.1f}M{r.torch_ms:>10.1f}"
                     f"{r.enabled_ms:>12.1f}{r.enabled_ratio:>7.2f}{r.from_torch_ms:>15.1f}"
                     f"{r.from_torch_ratio:>7.2f}")
    return "\n".join(lines)


#: Where ``benchmarks/zoo.py --json`` stores the full table, relative to a checkout.
RESULTS = Path("benchmarks") / "results" / "zoo.json"


def find_results(start: Path | None = None) -> Path | None:
    """``benchmarks/results/zoo.json`` in ``start`` (default the working directory) or
    the nearest parent that has it; ``None`` where there is none (an installed package,
    Colab).
    """
    start = Path.cwd() if start is None else Path(start)
    for folder in (start, *start.parents):
        if (folder / RESULTS).is_file():
            return folder / RESULTS
    return None


def load_results(path: Path) -> tuple[dict, list[Row]]:
    """The settings (everything but the rows) and the ``Row`` of every model from a
    JSON file written by ``benchmarks/zoo.py --json``.
    """
    stored = json.loads(Path(path).read_text())
    fields = ("model", "parameters", "torch_ms", "enabled_ms", "from_torch_ms")
    rows = [Row(**{k: m[k] for k in fields}) for m in stored.pop("models")]
    return stored, rows


def describe_results(path: Path) -> str:
    """The stored table of ``path`` (``benchmarks/zoo.py --json``) as text: a line of
    settings (how busy the machine was, and which CPU, included), the rows, the LeNet-5
    step.
    """
    settings, rows = load_results(path)
    busy = settings.get("busy_before")
    lines = [f"torch {settings['torch']}, {settings['dtype']}, batch {settings['batch_size']} of "
             f"{settings['image']}, {settings['threads']} threads, {settings['statistic']} of "
             f"{settings['repeats']}; CPUs busy before starting: "
             f"{'unknown' if busy is None else f'{busy:.0%}'}"
             + (f"; CPU: {settings['cpu']}" if settings.get("cpu") else ""), format_rows(rows)]
    lenet = settings.get("lenet5_step")
    if lenet:
        lines.append(f"LeNet-5 training step (batch {settings['lenet5_batch_size']}): torch "
                     f"{lenet['torch_ms']:.1f} ms, scratch {lenet['scratch_ms']:.1f} ms, "
                     f"ratio {lenet['ratio']:.2f}")
    return "\n".join(lines)
