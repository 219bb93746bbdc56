"""cnnlessons.benchmark: what appendix A2 and `make benchmarks` time, tested for what it
returns (never for how fast anything is: speed is measured by the benchmark, not here)."""
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from cnnlessons import benchmark
from cnnlessons.benchmark import (
    TARGET_RATIO,
    WORKLOADS,
    Row,
    format_table,
    other_cpu_use,
    run,
    time_interleaved,
    torch_threads,
)

ROOT = Path(__file__).resolve().parent.parent


def test_run_times_both_implementations_of_the_chosen_layers_and_restores_threads():
    threads = torch.get_num_threads()
    rows = run(batch_size=2, repeats=1, threads=1, warmup=0, min_sample_s=0.0,
               layers=["relu", "linear 84->10"])
    assert [r.layer for r in rows] == ["relu", "linear 84->10"]
    assert [r.shape for r in rows] == ["2x6x28x28", "2x84"]
    assert all(r.torch_ms > 0 and r.scratch_ms > 0 for r in rows)
    assert torch.get_num_threads() == threads


def test_torch_threads_sets_the_count_inside_and_restores_it_after_an_error():
    before = torch.get_num_threads()
    inside = 1 if before != 1 else 2
    with pytest.raises(KeyError), torch_threads(inside):
        assert torch.get_num_threads() == inside
        raise KeyError("a step that fails while timed")
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before


def test_every_workload_builds_and_steps_in_both_implementations():
    for name, workload in WORKLOADS.items():
        for impl in ("torch", "scratch"):
            step, shape = workload(impl, 2)
            step()
            assert shape[0] == 2, name


def test_time_interleaved_runs_every_step_warmup_plus_repeats_times_at_least():
    calls = {"a": 0, "b": 0}

    def counter(name):
        def step():
            calls[name] += 1
        return step

    times = time_interleaved({"a": counter("a"), "b": counter("b")}, repeats=3, warmup=2,
                             min_sample_s=0.0)
    assert set(times) == {"a", "b"} and all(t >= 0 for t in times.values())
    assert calls["a"] >= 2 + 1 + 3 and calls["b"] >= 2 + 1 + 3  # warmup, probe, samples


@pytest.mark.parametrize("kwargs, message", [
    (dict(layers=["conv9"]), "layers contains 'conv9', which is not one of"),
    (dict(batch_size=0), "batch_size=0 and repeats=30 must be positive"),
    (dict(statistic="mean", layers=["relu"], repeats=1, batch_size=1),
     "statistic='mean' must be one of"),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        run(**kwargs)


def test_the_table_says_whether_the_lenet_step_meets_the_target():
    within = Row("LeNet-5 training step", "128x1x28x28", 10.0, 10.0 * TARGET_RATIO)
    over = Row("LeNet-5 training step", "128x1x28x28", 10.0, 10.0 * TARGET_RATIO + 0.5)
    assert format_table([within]).splitlines()[-1] == (
        f"LeNet-5 step: scratch/torch = {TARGET_RATIO:.2f}, within the target of "
        f"{TARGET_RATIO}")
    assert "OVER the target" in format_table([over]).splitlines()[-1]
    assert "LeNet-5 step" not in format_table([Row("relu", "1", 1.0, 2.0)])
    assert Row("relu", "1", 2.0, 3.0).ratio == 1.5


def test_other_cpu_use_is_a_fraction():
    busy = other_cpu_use(0.05)
    assert busy is None or 0.0 <= busy <= 1.0


def test_the_command_line_prints_the_table():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "layers.py"), "--quick",
                          "--repeats", "1", "--batch-size", "2"], capture_output=True,
                         text=True, check=True, timeout=600).stdout
    assert out.splitlines()[0].startswith(f"torch {torch.__version__}, float32, batch 2")
    assert "LeNet-5 step: scratch/torch = " in out


def test_cpu_name_reads_cpuinfo_and_falls_back_to_platform(monkeypatch, tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n")
    real_open = open
    monkeypatch.setattr(benchmark, "open", lambda path, *a: real_open(cpuinfo, *a), raising=False)
    assert benchmark.cpu_name() == "AMD EPYC 7B13"

    def missing(path, *args):
        raise FileNotFoundError(path)
    monkeypatch.setattr(benchmark, "open", missing, raising=False)
    monkeypatch.setattr(benchmark.platform, "processor", lambda: "")
    assert benchmark.cpu_name() == benchmark.platform.machine() != ""
