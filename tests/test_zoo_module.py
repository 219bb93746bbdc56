"""``cnnlessons.zoo``: the plumbing of appendix A3, on small models (the full
torchvision comparison is ``tests/test_zoo.py``)."""
from __future__ import annotations

import contextlib
import json
import math

import pytest
import torch
from torch import nn

from cnnlessons import zoo
from cnnlessons.dispatch import record
from cnnlessons.scratch import enabled, from_torch

DT = torch.float64


class TwoHeads(nn.Module):
    """Returns a tuple in training mode, as GoogLeNet with auxiliary heads does."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.bn = nn.BatchNorm2d(2)
        self.head = nn.Linear(2 * 4 * 4, 3)

    def forward(self, x):
        h = torch.relu(self.bn(self.conv(x)))
        out = self.head(h.flatten(1))
        return (out, h.mean((2, 3))) if self.training else out


def small():
    torch.manual_seed(0)
    return TwoHeads().to(DT)


def test_names_are_checked():
    for fn in (zoo.input_size, zoo.build, zoo.scratch_context):
        with pytest.raises(ValueError, match=r"name='lenet' is not one of \['alexnet'"):
            fn("lenet")
    with pytest.raises(ValueError, match="name='nope'"):
        zoo.time_models(["nope"])


def test_input_sizes_and_contexts():
    assert {name: zoo.input_size(name) for name in zoo.MODELS} == {
        "alexnet": 64, "vgg11_bn": 32, "resnet18": 48, "squeezenet1_1": 32,
        "mobilenet_v2": 48, "googlenet": 32, "densenet121": 64, "shufflenet_v2_x0_5": 32}
    assert zoo.scratch_context("densenet121") is enabled
    assert zoo.scratch_context("resnet18") is contextlib.nullcontext
    assert set(zoo.CALLS_F_ITSELF) < set(zoo.MODELS)


def test_build_is_seeded_and_typed():
    a, b = zoo.build("squeezenet1_1"), zoo.build("squeezenet1_1")
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert next(a.parameters()).dtype == DT
    assert zoo.build("googlenet", torch.float32, aux_logits=True).aux1 is not None
    assert zoo.build("googlenet", torch.float32).aux1 is None


def test_forward_backward_tuple_outputs_buffers_and_kernels():
    net = small()
    x = torch.randn(4, 1, 6, 6, dtype=DT)
    run = zoo.forward_backward(net, x, count_kernels=True)
    assert len(run.outputs) == 2 and not run.outputs[0].requires_grad
    assert all(g is not None for g in run.grads.values())
    assert run.buffers["bn.num_batches_tracked"].item() == 1
    assert zoo.families(run.recording) == {"convolution": 3, "normalisation": 3, "relu": 3,
                                           "linear": 1}
    assert run.kernel_calls["convolution"] == 2 and run.kernel_calls["primitive"] > 0
    again = zoo.forward_backward(small(), x)  # a fresh copy: same buffers to start from
    assert zoo.max_difference(run, again) == 0.0
    evaluated = zoo.forward_backward(small(), x, training=False)
    assert len(evaluated.outputs) == 1


def test_forward_backward_on_the_scratch_layers():
    x = torch.randn(4, 1, 6, 6, dtype=DT)
    reference = zoo.forward_backward(small(), x)
    with_scratch = zoo.forward_backward(small(), x, context=enabled, count_kernels=True)
    alone = zoo.forward_backward(from_torch(small()), x)
    assert zoo.families(alone.recording) == {"relu": 3}  # forward calls torch.relu itself
    converted = zoo.forward_backward(from_torch(small()), x, context=enabled)
    assert set(with_scratch.kernel_calls) == {"primitive"} and converted.kernel_calls is None
    for run in (with_scratch, converted):
        assert zoo.families(run.recording) == {}
        assert 0 < zoo.max_difference(run, reference) < 1e-12


def test_max_difference_is_infinite_on_any_mismatch():
    x = torch.randn(4, 1, 6, 6, dtype=DT)
    run = zoo.forward_backward(small(), x)
    fewer = zoo.Pass(run.outputs[:1], run.grads, run.buffers, run.recording, run.kernel_calls)
    counted = zoo.Pass(run.outputs, run.grads, {**run.buffers,
                                                "bn.num_batches_tracked": torch.tensor(2)},
                       run.recording, run.kernel_calls)
    missing = zoo.Pass(run.outputs, {**run.grads, "conv.bias": None}, run.buffers,
                       run.recording, run.kernel_calls)
    for other in (fewer, counted, missing):
        assert zoo.max_difference(other, run) == math.inf
    shifted = zoo.Pass((run.outputs[0] + 0.5, run.outputs[1]), run.grads, run.buffers,
                       run.recording, run.kernel_calls)
    assert zoo.max_difference(shifted, run) == pytest.approx(0.5)


def test_replaced_counts_modules_not_calls():
    relu = nn.ReLU()
    net = nn.Sequential(nn.Conv2d(1, 2, 3), relu, nn.Conv2d(2, 2, 3), relu)
    assert zoo.replaced(net, from_torch(net)) == {"Conv2d": 2, "ReLU": 1}
    assert zoo.replaced(net, net) == {}


def test_time_models_and_the_steps_are_scratch():
    [row] = zoo.time_models(["squeezenet1_1"], batch_size=1, size=32, repeats=1, warmup=0,
                            threads=1)
    assert row.model == "squeezenet1_1" and row.parameters == 727_626
    assert all(math.isfinite(r) and r > 0 for r in (row.enabled_ratio, row.from_torch_ratio))
    assert "squeezenet1_1" in zoo.format_rows([row])
    work = zoo.steps("mobilenet_v2", batch_size=2, size=32)
    for way in ("enabled", "from_torch"):
        with record() as rec:
            work[way]()
        assert rec.offending() == [], way


def test_results_are_found_loaded_and_described(tmp_path):
    assert zoo.find_results(tmp_path) is None
    path = tmp_path / zoo.RESULTS
    path.parent.mkdir(parents=True)
    row = dict(model="resnet18", parameters=11181642, torch_ms=10.0, enabled_ms=15.0,
               from_torch_ms=12.0, enabled_ratio=1.5, from_torch_ratio=1.2)
    path.write_text(json.dumps(dict(
        batch_size=8, image="3x64x64", dtype="float32", threads=2, repeats=7,
        statistic="median", lenet5_batch_size=128, busy_before=None, torch="2.x",
        models=[row], lenet5_step=dict(layer="LeNet-5 training step", shape="128x1x28x28",
                                       torch_ms=10.0, scratch_ms=11.0, ratio=1.1))))
    deeper = tmp_path / "chapters"
    deeper.mkdir()
    assert zoo.find_results(deeper) == path
    settings, rows = zoo.load_results(path)
    assert rows == [zoo.Row("resnet18", 11181642, 10.0, 15.0, 12.0)] and "models" not in settings
    text = zoo.describe_results(path)
    assert "busy before starting: unknown" in text and "ratio 1.10" in text
    assert "resnet18" in text and "1.20" in text
    assert "CPU:" not in text  # results written before the CPU was recorded
    stored = json.loads(path.read_text())
    path.write_text(json.dumps(dict(stored, cpu="AMD EPYC")))
    assert zoo.describe_results(path).splitlines()[0].endswith("; CPU: AMD EPYC")
