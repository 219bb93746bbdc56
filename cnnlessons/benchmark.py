"""Timing the scratch layers against torch: forward + backward at LeNet-5 shapes.

Every workload times one layer's forward pass followed by its backward pass (with a
fixed random upstream gradient), float32, batch 128 by default, on 2 threads. The last
one times a whole LeNet-5 training step: zero the gradients, forward, cross-entropy,
backward, SGD step (lr 0.01, momentum 0.9), with ``cnnlessons.models.LeNet5(backend=...)``
and the matching optimiser, ``cnnlessons.backend(impl).optim.SGD``.

Method: both implementations get identical weights and inputs; each is warmed up; then
the two are *interleaved* (torch, scratch, scratch, torch, ...) so that a slow patch of
the machine hurts both alike, and each time reported is the median (or the minimum)
over the repeats of one sample of ``number`` calls (``number`` chosen so a sample lasts
at least a few milliseconds). Python's garbage collector is off while timing, as in
``timeit``.

It lives in the package (not only in ``benchmarks/``) so that appendix A2 runs wherever
``cnnlessons`` is installed, Colab included; ``benchmarks/layers.py`` is its command
line::

    from cnnlessons.benchmark import format_table, run
    print(format_table(run(quick=True)))
"""
from __future__ import annotations

import contextlib
import gc
import platform
import statistics
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from cnnlessons import BACKENDS, backend
from cnnlessons.models import LeNet5

IMPLEMENTATIONS = BACKENDS
#: The target for the scratch LeNet-5 training step (issue 14): within 1.2x torch's time.
TARGET_RATIO = 1.2


@dataclass(frozen=True)
class Row:
    """One line of the table: a layer's forward+backward time in each implementation."""

    layer: str
    shape: str  # the input shape
    torch_ms: float
    scratch_ms: float

    @property
    def ratio(self) -> float:
        """Scratch time / torch time: 1 is as fast as torch, 2 is twice as slow."""
        return self.scratch_ms / self.torch_ms


# --------------------------------------------------------------------------------------
# What is timed
# --------------------------------------------------------------------------------------

#: ``f(impl, batch_size) -> (step, input shape)``: ``step()`` runs once forward + backward.
Workload = Callable[[str, int], tuple[Callable[[], None], tuple[int, ...]]]


def _fwd_bwd(forward: Callable[[], torch.Tensor], leaves: list[torch.Tensor]) -> Callable[[], None]:
    """A step: forward, backward with a fixed upstream gradient, gradients dropped after.

    Dropping ``.grad`` (as ``zero_grad`` does) keeps every step the same work, instead of
    adding gradient accumulation from the second step on.
    """
    out = forward()
    upstream = torch.randn_like(out)

    def step() -> None:
        forward().backward(upstream)
        for leaf in leaves:
            leaf.grad = None
    return step


def _layer(make: Callable[[str], Callable], shape: Callable[[int], tuple[int, ...]],
           input_grad: bool = True) -> Workload:
    """A workload timing ``make(impl)(x)`` on a random input of ``shape(batch_size)``.

    ``make(impl)`` is called under the same seed for both implementations, so module
    layers start from identical weights.
    """
    def workload(impl: str, batch_size: int):
        torch.manual_seed(0)
        fn = make(impl)
        x = torch.randn(shape(batch_size), generator=torch.Generator().manual_seed(1))
        x.requires_grad_(input_grad)
        params = list(fn.parameters()) if isinstance(fn, torch.nn.Module) else []
        leaves = params + ([x] if input_grad else [])
        return _fwd_bwd(lambda: fn(x), leaves), tuple(x.shape)
    return workload


def _max_pool2x2(impl: str) -> Callable[[torch.Tensor], torch.Tensor]:
    # The function is looked up once, here: a backend() call inside the timed step
    # would be timed too.
    max_pool2d = backend(impl).functional.max_pool2d
    return lambda x: max_pool2d(x, 2)


def _cross_entropy(impl: str, batch_size: int):
    gen = torch.Generator().manual_seed(1)
    logits = torch.randn(batch_size, 10, generator=gen, requires_grad=True)
    target = torch.randint(10, (batch_size,), generator=gen)
    loss = backend(impl).functional.cross_entropy
    return _fwd_bwd(lambda: loss(logits, target), [logits]), tuple(logits.shape)


def _lenet5_step(impl: str, batch_size: int):
    """One training step of LeNet-5 on a fixed random batch of 28x28 "digits"."""
    torch.manual_seed(0)
    model = LeNet5(backend=impl)
    nn = backend(impl)
    optimiser = nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    loss_fn = nn.functional.cross_entropy
    gen = torch.Generator().manual_seed(1)
    images = torch.randn(batch_size, 1, 28, 28, generator=gen)
    labels = torch.randint(10, (batch_size,), generator=gen)

    def step() -> None:
        optimiser.zero_grad()
        loss_fn(model(images), labels).backward()
        optimiser.step()
    return step, tuple(images.shape)


#: The table's rows, in LeNet-5's order (C1 ... output, loss; plus a transposed
#: convolution), then the whole step.
WORKLOADS: dict[str, Workload] = {
    # C1's input is the image batch: no gradient wanted, as in training
    "conv1 1->6 5x5 pad 2": _layer(lambda i: backend(i).Conv2d(1, 6, 5, padding=2),
                                   lambda n: (n, 1, 28, 28), input_grad=False),
    "relu": _layer(lambda i: backend(i).functional.relu, lambda n: (n, 6, 28, 28)),
    "max_pool2d 2x2": _layer(_max_pool2x2, lambda n: (n, 6, 28, 28)),
    "conv2 6->16 5x5": _layer(lambda i: backend(i).Conv2d(6, 16, 5), lambda n: (n, 6, 14, 14)),
    "max_pool2d 2x2 (S4)": _layer(_max_pool2x2, lambda n: (n, 16, 10, 10)),
    "C5 conv 16->120 5x5": _layer(lambda i: backend(i).Conv2d(16, 120, 5), lambda n: (n, 16, 5, 5)),
    "linear 120->84": _layer(lambda i: backend(i).Linear(120, 84), lambda n: (n, 120)),
    # Not in LeNet-5: upsampling S4's 10x10 maps back to 14x14, as a decoder would
    "conv_transpose 16->6 5x5": _layer(lambda i: backend(i).ConvTranspose2d(16, 6, 5),
                                       lambda n: (n, 16, 10, 10)),
    "linear 84->10": _layer(lambda i: backend(i).Linear(84, 10), lambda n: (n, 84)),
    "cross_entropy": _cross_entropy,
    "LeNet-5 training step": _lenet5_step,
}


# --------------------------------------------------------------------------------------
# Timing
# --------------------------------------------------------------------------------------

@contextlib.contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block, the caller's count restored
    after it (also on error); ``None`` leaves the count alone.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _sample(step: Callable[[], None], number: int) -> float:
    """Seconds per call, over ``number`` back-to-back calls."""
    start = time.perf_counter()
    for _ in range(number):
        step()
    return (time.perf_counter() - start) / number


STATISTICS = {"median": statistics.median, "min": min}


def time_interleaved(steps: dict[str, Callable[[], None]], repeats: int, warmup: int = 3,
                     min_sample_s: float = 0.005, statistic: str = "median") -> dict[str, float]:
    """Milliseconds per call of each step, the steps timed in alternation.

    Args:
        steps: name -> a function doing the work once.
        repeats: samples per step, summarised by ``statistic``.
        warmup: untimed calls of each step first (allocator, caches, lazy imports).
        min_sample_s: each sample repeats the call until it lasts about this long, so
            microsecond-scale layers are not lost in the clock's noise.
        statistic: ``"median"``, or ``"min"``, the best sample: on a machine busy with
            other work the minimum is the least disturbed estimate.
    """
    if statistic not in STATISTICS:
        raise ValueError(f"statistic={statistic!r} must be one of {list(STATISTICS)}")
    for step in steps.values():
        for _ in range(warmup):
            step()
    # One `number` for all, from the fastest step, so all samples are alike in length.
    fastest = min(_sample(step, 1) for step in steps.values())
    number = max(1, round(min_sample_s / max(fastest, 1e-9)))
    samples: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(repeats):
            for name in names if r % 2 == 0 else reversed(names):  # ABBA order
                samples[name].append(_sample(steps[name], number))
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: STATISTICS[statistic](s) * 1e3 for name, s in samples.items()}


#: (repeats, warmup, min_sample_s): the full measurement and the quick one.
FULL, QUICK = (30, 3, 0.005), (7, 1, 0.002)


def run(batch_size: int = 128, repeats: int | None = None, threads: int | None = 2, *,
        quick: bool = False, warmup: int | None = None, min_sample_s: float | None = None,
        layers: list[str] | None = None, statistic: str = "median") -> list[Row]:
    """Time every workload of ``WORKLOADS`` (or just ``layers``) in both implementations.

    Args:
        batch_size: images per batch (128 in the brief).
        repeats: timed samples per implementation and layer (default 30, or 7 if quick).
        threads: ``torch.set_num_threads`` while timing (restored after); ``None``
            leaves torch's setting alone.
        quick: fewer and shorter samples, for a rough table in about ten seconds.
        warmup: untimed calls before timing (default 3, or 1 if quick).
        min_sample_s: the shortest a timed sample may be (see ``time_interleaved``).
        layers: names from ``WORKLOADS``; default all, LeNet-5 step last.
        statistic: ``"median"`` or ``"min"`` of the samples.

    Returns:
        One ``Row`` per workload, in order.
    """
    defaults = QUICK if quick else FULL
    repeats = defaults[0] if repeats is None else repeats
    warmup = defaults[1] if warmup is None else warmup
    min_sample_s = defaults[2] if min_sample_s is None else min_sample_s
    for name in layers or ():
        if name not in WORKLOADS:
            raise ValueError(f"layers contains {name!r}, which is not one of {list(WORKLOADS)}")
    if batch_size < 1 or repeats < 1:
        raise ValueError(f"batch_size={batch_size} and repeats={repeats} must be positive")
    rows = []
    with torch_threads(threads):
        for name in layers or WORKLOADS:
            steps, shapes = {}, set()
            for impl in IMPLEMENTATIONS:
                steps[impl], shape = WORKLOADS[name](impl, batch_size)
                shapes.add(shape)
            times = time_interleaved(steps, repeats, warmup, min_sample_s, statistic)
            rows.append(Row(name, "x".join(map(str, shapes.pop())), times["torch"],
                            times["scratch"]))
    return rows


def other_cpu_use(seconds: float = 0.5) -> float | None:
    """The fraction of all CPU time used (by other processes) over ``seconds``, from
    ``/proc/stat``; ``None`` where that file does not exist (not Linux).
    """
    def snapshot():
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        return fields[3] + fields[4], sum(fields[:8])  # idle + iowait, total
    try:
        idle0, total0 = snapshot()
        time.sleep(seconds)
        idle1, total1 = snapshot()
    except OSError:
        return None
    return 1 - (idle1 - idle0) / max(total1 - total0, 1)


def cpu_name() -> str:
    """The processor's model name from ``/proc/cpuinfo`` (e.g. ``AMD EPYC``), else what
    :mod:`platform` knows: ratios move with the machine, so results say which one.
    """
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def format_table(rows: list[Row]) -> str:
    """The rows as a fixed-width text table, with the LeNet-5 verdict underneath."""
    lines = [f"{'layer':<24}{'input':>16}{'torch ms':>11}{'scratch ms':>12}{'ratio':>8}"]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(f"{r.layer:<24}{r.shape:>16}{r.torch_ms:>11.3f}{r.scratch_ms:>12.3f}"
                     f"{r.ratio:>8.2f}")
    step = [r for r in rows if r.layer == "LeNet-5 training step"]
    if step:
        verdict = "within" if step[0].ratio <= TARGET_RATIO else "OVER"
        lines.append(f"LeNet-5 step: scratch/torch = {step[0].ratio:.2f}, {verdict} the "
                     f"target of {TARGET_RATIO}")
    return "\n".join(lines)
