"""torchvision's classic CNNs on the scratch layers, unchanged: same numbers as torch.

Each model of ``cnnlessons.zoo.MODELS`` is built by torchvision with random weights
(nothing is downloaded), in float64, and run forward and backward on a batch of two
small images (``zoo.input_size``: 32x32, AlexNet 64x64, the smallest convenient size
each architecture takes) with a random upstream gradient, in training and in
evaluation mode, three ways:

* plain torch (the reference, run once and shared by the other two);
* inside ``cnnlessons.scratch.enabled()``: torch's modules, the scratch functions;
* converted by ``cnnlessons.scratch.from_torch()``: the scratch modules (inside
  ``enabled()`` as well for the models whose ``forward`` calls ``F.*`` itself).

The outputs, the gradient of every parameter and every buffer afterwards (batch-norm
running statistics, ``num_batches_tracked``) must agree, and the dispatch recorder must
see none of torch's layer kernels, forward or backward. GoogLeNet is built with its two
auxiliary heads, so in training mode its three outputs are compared (in evaluation mode
the heads are skipped). Dropout (AlexNet, VGG, SqueezeNet, MobileNet, GoogLeNet) is
compared *with* its randomness: the scratch dropout draws its mask with the same
``bernoulli_`` call as torch's CPU kernel, so the same seed before each run gives the
same masks, which is a stronger check than setting ``p = 0``.
"""
from __future__ import annotations

import contextlib
from types import SimpleNamespace

import pytest
import torch

from cnnlessons import zoo
from cnnlessons.dispatch import record
from cnnlessons.scratch import enabled, from_torch

DT = torch.float64
#: Keyword arguments for torchvision, per model: GoogLeNet with its auxiliary heads.
EXTRA = {"googlenet": {"aux_logits": True}}


@pytest.fixture(scope="module", params=zoo.MODELS)
def case(request):
    """The model, its conversion (made once) and their initial buffers."""
    name = request.param
    model = zoo.build(name, DT, **EXTRA.get(name, {}))
    converted = from_torch(model)
    size = zoo.input_size(name)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(1), dtype=DT)
    initial = {key: b.clone() for key, b in model.named_buffers()}

    def run(net, training, context=None):
        with torch.no_grad():  # every run starts from the initial running statistics
            for key, b in net.named_buffers():
                b.copy_(initial[key])
        return zoo.forward_backward(net, x, training, context or contextlib.nullcontext)

    yield SimpleNamespace(name=name, model=model, converted=converted, initial=initial,
                          run=run)


def assert_close(actual, expected, what: str) -> None:
    """``torch.testing.assert_close`` (float64 tolerances), with a fast path: on VGG's
    100M-entry gradients the full comparison costs seconds, ``allclose`` a fraction."""
    if actual is None or expected is None:
        assert actual is None and expected is None, what
        return
    if not (actual.dtype == expected.dtype and actual.shape == expected.shape
            and (torch.equal(actual, expected) if not actual.is_floating_point()
                 else torch.allclose(actual, expected, rtol=1e-7, atol=1e-7))):
        torch.testing.assert_close(actual, expected, msg=what)  # the detailed message


def assert_same(result: zoo.Pass, reference: zoo.Pass) -> None:
    assert len(result.outputs) == len(reference.outputs)
    for i, (out, out_ref) in enumerate(zip(result.outputs, reference.outputs)):
        assert_close(out, out_ref, f"output {i}")
    assert result.grads.keys() == reference.grads.keys()
    assert result.buffers.keys() == reference.buffers.keys()
    for name in reference.grads:
        assert_close(result.grads[name], reference.grads[name], f"gradient of {name}")
    for name in reference.buffers:
        assert_close(result.buffers[name], reference.buffers[name], f"buffer {name}")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_model_runs_from_scratch(case, training):
    reference = case.run(case.model, training)
    assert reference.recording.offending(), "the recorder saw no torch kernel in plain torch"
    if training:  # every parameter is used, and the running statistics moved
        assert all(g is not None for g in reference.grads.values())
        if case.name == "googlenet":
            assert len(reference.outputs) == 3  # logits and the two auxiliary heads
    running = [k for k in case.initial if k.endswith(("running_mean", "running_var"))]
    moved = [k for k in running if not torch.equal(reference.buffers[k], case.initial[k])]
    assert moved == (running if training else [])

    scratch_functions = case.run(case.model, training, enabled)
    assert scratch_functions.recording.offending() == []
    assert_same(scratch_functions, reference)

    scratch_modules = case.run(case.converted, training, zoo.scratch_context(case.name))
    assert scratch_modules.recording.offending() == []
    assert_same(scratch_modules, reference)  # the running statistics included
    assert case.converted.state_dict().keys() == case.model.state_dict().keys()
    assert zoo.replaced(case.model, case.converted)  # the modules really are scratch ones


@pytest.mark.parametrize("name", zoo.CALLS_F_ITSELF)
def test_from_torch_alone_leaves_the_forward_calls(name):
    """Conversion is by module: what a model's ``forward`` calls itself stays torch's,
    and the recorder shows exactly those families (forward only: the backward kernels
    of those calls belong to the same families)."""
    net = from_torch(zoo.build(name, DT)).eval()
    size = zoo.input_size(name)
    with torch.no_grad(), record() as rec:
        net(torch.randn(1, 3, size, size, dtype=DT))
    assert rec.families() == zoo.CALLS_F_ITSELF[name]
