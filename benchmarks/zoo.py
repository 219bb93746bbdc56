"""How fast do torchvision's classic CNNs run on the scratch layers? Each against torch.

For each of the eight models of issue 14 (random weights, nothing downloaded) one
forward + backward pass in training mode is timed, float32 on the CPU, a batch of 8
images of 3x64x64, 2 threads, three ways:

* ``torch``: the model as torchvision builds it;
* ``enabled``: the same modules inside ``cnnlessons.scratch.enabled()``, so every layer
  call runs its scratch function;
* ``from_torch``: the model converted by ``cnnlessons.scratch.from_torch()`` (inside
  ``enabled()`` as well for the models whose own ``forward`` calls ``F.*``).

The backward pass gets a fixed random upstream gradient and the gradients are dropped
after each step, as in :mod:`cnnlessons.benchmark`, whose interleaved timing
(``benchmark.time_interleaved``) is used here too. The last line is its LeNet-5
training step (batch 128). Targets (issue 14): ResNet-18's step within 2x
torch's, LeNet-5's within 1.2x.

Run ``python benchmarks/zoo.py`` (``--json benchmarks/results/zoo.json`` stores the
table that appendix A3 prints); ``--profile resnet18`` prints where a scratch model's
time goes instead (a ``torch.profiler`` table of the top operators).
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
from dataclasses import asdict
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from cnnlessons import benchmark, zoo  # noqa: E402
from cnnlessons.zoo import MODELS, Row  # noqa: E402  (the models and rows, shared with A3)

#: Issue 14's targets: scratch time / torch time.
RESNET18_TARGET, LENET5_TARGET = 2.0, 1.2


def run(models: list[str] | None = None, repeats: int = 7, warmup: int = 2,
        statistic: str = "median", threads: int = 2) -> list[Row]:
    """Time every model of ``MODELS`` (or just ``models``) in the three ways
    (``zoo.time_models``, batch 8 of 3x64x64, with ``benchmark.time_interleaved``).

    Args:
        models: names from ``MODELS``; default all, in order.
        repeats: timed samples of each way, summarised by ``statistic``.
        warmup: untimed steps of each way first.
        statistic: ``"median"`` or ``"min"`` (see ``benchmark.time_interleaved``).
        threads: ``torch.set_num_threads`` while timing (restored after).
    """
    for name in models or ():
        if name not in MODELS:
            raise ValueError(f"models contains {name!r}, which is not one of {list(MODELS)}")

    def timer(work, repeats, warmup):
        return benchmark.time_interleaved(work, repeats, warmup, statistic=statistic)

    rows = []
    for name in models or MODELS:
        rows += zoo.time_models([name], batch_size=8, size=64, repeats=repeats, warmup=warmup,
                                threads=threads, timer=timer)
        print(f"  timed {name}", file=sys.stderr, flush=True)
    return rows


def format_table(rows: list[Row], lenet: benchmark.Row | None = None) -> str:
    """The rows as a fixed-width text table, then the LeNet-5 step and both verdicts."""
    lines = zoo.format_rows(rows).split("\n")
    if lenet is not None:
        lines.append(f"{'LeNet-5 step (b128)':<20}{'':>8}{lenet.torch_ms:>10.1f}{'':>19}"
                     f"{lenet.scratch_ms:>15.1f}{lenet.ratio:>7.2f}")
    resnet = [r for r in rows if r.model == "resnet18"]
    for label, ratio, target in [("ResNet-18 step", resnet[0].from_torch_ratio if resnet
                                  else None, RESNET18_TARGET),
                                 ("LeNet-5 step", lenet.ratio if lenet else None, LENET5_TARGET)]:
        if ratio is not None:
            verdict = "within" if ratio <= target else "OVER"
            lines.append(f"{label}: scratch/torch = {ratio:.2f}, {verdict} the target of {target}")
    return "\n".join(lines)


def profile(name: str, way: str = "from_torch", steps_profiled: int = 3, top: int = 15) -> str:
    """Where one way's step of model ``name`` spends its time: ``torch.profiler``'s
    table of the ``top`` operators by total CPU time (self time included), 2 threads.
    """
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    step = zoo.steps(name)[way]
    with benchmark.torch_threads(2):
        step()  # warm up
        with torch_profile(activities=[ProfilerActivity.CPU]) as prof:
            for _ in range(steps_profiled):
                step()
    return prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=top)


def write_json(path: Path, rows: list[Row], lenet: benchmark.Row | None, settings: dict) -> None:
    """The settings and every row, for appendix A3 to print without timing anything."""
    record = dict(
        settings, torch=torch.__version__, python=platform.python_version(),
        machine=platform.machine(), cpu=benchmark.cpu_name(),
        models=[dict(asdict(r), enabled_ratio=round(r.enabled_ratio, 3),
                     from_torch_ratio=round(r.from_torch_ratio, 3)) for r in rows],
        lenet5_step=None if lenet is None else dict(asdict(lenet), ratio=round(lenet.ratio, 3)),
        targets={"resnet18": RESNET18_TARGET, "lenet5": LENET5_TARGET})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=1) + "\n")
    print(f"results written to {path}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS), default=None)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--statistic", choices=list(benchmark.STATISTICS), default="median",
                        help="summary of the samples (min: for a busy machine)")
    parser.add_argument("--no-lenet", action="store_true", help="skip the LeNet-5 step")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="also write the settings and the table to PATH")
    parser.add_argument("--profile", choices=list(MODELS), default=None, metavar="MODEL",
                        help="print a torch.profiler table of MODEL's scratch step instead")
    args = parser.parse_args(argv)
    if args.profile:
        print(profile(args.profile))
        return
    busy = benchmark.other_cpu_use()
    print(f"torch {torch.__version__}, float32, batch 8 of 3x64x64, 2 threads, "
          f"{args.statistic} of {args.repeats}; LeNet-5: batch 128")
    if busy is not None and busy > 0.2:
        print(f"warning: {busy:.0%} of the CPUs were busy before starting: timings are "
              f"unreliable, run again when the machine is idle")
    rows = run(args.models, args.repeats, statistic=args.statistic)
    lenet = None
    if not args.no_lenet:
        [lenet] = benchmark.run(batch_size=128, repeats=args.repeats, threads=2,
                             layers=["LeNet-5 training step"], statistic=args.statistic)
    print(format_table(rows, lenet))
    if args.json is not None:
        settings = dict(batch_size=8, image="3x64x64", dtype="float32", threads=2,
                        repeats=args.repeats, statistic=args.statistic,
                        lenet5_batch_size=128,
                        busy_before=None if busy is None else round(busy, 2))
        write_json(args.json, rows, lenet, settings)


if __name__ == "__main__":
    main()
