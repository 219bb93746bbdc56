"""How fast are the scratch layers? Forward + backward, each against torch, at LeNet-5 shapes.

The command line of :mod:`cnnlessons.benchmark` (which says what is timed and how):
``python benchmarks/layers.py`` prints the table, ``--quick`` a fast, rougher one.
"""
from __future__ import annotations

import argparse

import torch

from cnnlessons.benchmark import (  # noqa: F401  (re-exported for benchmarks/zoo.py)
    FULL,
    QUICK,
    STATISTICS,
    TARGET_RATIO,
    WORKLOADS,
    Row,
    format_table,
    other_cpu_use,
    run,
    time_interleaved,
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed samples per layer and implementation (default 30, quick 7)")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    parser.add_argument("--quick", action="store_true",
                        help="fewer, shorter samples: a rough table in a few seconds")
    parser.add_argument("--statistic", choices=list(STATISTICS), default="median",
                        help="summary of the samples (min: for a busy machine)")
    args = parser.parse_args(argv)
    repeats = args.repeats or (QUICK if args.quick else FULL)[0]
    print(f"torch {torch.__version__}, float32, batch {args.batch_size}, "
          f"{args.threads} threads, {args.statistic} of {repeats}")
    busy = other_cpu_use()
    if busy is not None and busy > 0.2:
        # A parallel region waits for its slowest thread; on a busy machine that thread
        # is often descheduled for a whole time slice, which swamps millisecond timings.
        print(f"warning: {busy:.0%} of the CPUs were busy before starting: timings are "
              f"unreliable, run again when the machine is idle")
    print(format_table(run(args.batch_size, repeats, args.threads, quick=args.quick,
                           statistic=args.statistic)))


if __name__ == "__main__":
    main()
