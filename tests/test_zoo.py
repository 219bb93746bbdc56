"""torchvision's classic CNNs on the scratch layers, unchanged: same numbers as torch.

Each model is built by torchvision with random weights (nothing is downloaded), in
float64, and run forward and backward on a 2x3x64x64 batch with a random upstream
gradient, in training and in evaluation mode, three ways:

* plain torch (the reference);
* inside ``cnnlessons.scratch.enabled()``: torch's modules, the scratch functions;
* converted by ``cnnlessons.scratch.from_torch()``: the scratch modules (inside
  ``enabled()`` as well for the models whose ``forward`` calls ``F.*`` itself).

The outputs, the gradient of every parameter and every buffer afterwards (batch-norm
running statistics, ``num_batches_tracked``) must agree, and the dispatch recorder must
see none of torch's layer kernels, forward or backward. Dropout (AlexNet, VGG,
SqueezeNet, MobileNet, GoogLeNet) is compared *with* its randomness: the scratch
dropout draws its mask with the same ``bernoulli_`` call as torch's CPU kernel, so the
same seed before each run gives the same masks, which is a stronger check than
setting ``p = 0``.
"""
from __future__ import annotations

import contextlib

import pytest
import torch
import torchvision.models as tvm

from cnnlessons.dispatch import record
from cnnlessons.scratch import enabled, from_torch

DT = torch.float64

MODELS = {
    "alexnet": tvm.alexnet,
    "vgg11_bn": tvm.vgg11_bn,
    "resnet18": tvm.resnet18,
    "squeezenet1_1": tvm.squeezenet1_1,
    "mobilenet_v2": tvm.mobilenet_v2,
    "googlenet": lambda **kw: tvm.googlenet(aux_logits=False, init_weights=True, **kw),
    "densenet121": tvm.densenet121,
    "shufflenet_v2_x0_5": tvm.shufflenet_v2_x0_5,
}
#: The models whose own ``forward`` calls layer functions (``F.relu``,
#: ``F.adaptive_avg_pool2d``), which ``from_torch`` cannot reach, and the families those
#: calls belong to.
CALLS_F_ITSELF = {"mobilenet_v2": {"pooling"}, "googlenet": {"relu"},
                  "densenet121": {"relu", "pooling"}}


@pytest.fixture(scope="module", params=MODELS)
def model(request):
    torch.manual_seed(0)
    net = MODELS[request.param](weights=None, num_classes=10).to(DT)
    net.name = request.param
    return net


def run(net: torch.nn.Module, training: bool, context=contextlib.nullcontext):
    """Forward and backward on fixed data; the output, the gradients, the buffers and
    what ran. ``net`` is trained or evaluated from a copy of its initial buffers."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(2, 3, 64, 64, generator=gen, dtype=DT)
    net.train(training).zero_grad(set_to_none=True)
    with record() as rec, context():
        torch.manual_seed(2)  # the dropout masks
        out = net(x)
        out.backward(torch.randn(out.shape, generator=gen, dtype=DT))
    grads = {name: p.grad for name, p in net.named_parameters()}
    buffers = {name: b.clone() for name, b in net.named_buffers()}
    return out.detach(), grads, buffers, rec


def assert_close(actual, expected, what: str) -> None:
    """``torch.testing.assert_close`` (float64 tolerances), with a fast path: on VGG's
    100M-entry gradients the full comparison costs seconds, ``allclose`` a fraction."""
    if not (actual.dtype == expected.dtype and actual.shape == expected.shape
            and torch.allclose(actual, expected, rtol=1e-7, atol=1e-7)):
        torch.testing.assert_close(actual, expected, msg=what)  # the detailed message


def assert_same(result, reference):
    (out, grads, buffers, _), (out_ref, grads_ref, buffers_ref, _) = result, reference
    assert_close(out, out_ref, "output")
    assert grads.keys() == grads_ref.keys() and buffers.keys() == buffers_ref.keys()
    for name in grads_ref:
        assert_close(grads[name], grads_ref[name], f"gradient of {name}")
    for name in buffers_ref:
        assert_close(buffers[name], buffers_ref[name], f"buffer {name}")


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
def test_model_runs_from_scratch(model, training):
    initial = {name: b.clone() for name, b in model.named_buffers()}

    def restore():
        with torch.no_grad():
            for name, b in model.named_buffers():
                b.copy_(initial[name])

    reference = run(model, training)
    assert reference[3].offending(), "the recorder saw no torch kernel in plain torch"

    restore()
    scratch_functions = run(model, training, enabled)
    assert scratch_functions[3].offending() == []
    assert_same(scratch_functions, reference)

    restore()
    converted = from_torch(model)
    context = enabled if model.name in CALLS_F_ITSELF else contextlib.nullcontext
    scratch_modules = run(converted, training, context)
    assert scratch_modules[3].offending() == []
    assert_same(scratch_modules, reference)
    assert converted.state_dict().keys() == model.state_dict().keys()
    restore()


@pytest.mark.parametrize("name", CALLS_F_ITSELF)
def test_from_torch_alone_leaves_the_forward_calls(name):
    """Conversion is by module: what a model's ``forward`` calls itself stays torch's,
    and the recorder shows exactly those families."""
    torch.manual_seed(0)
    net = from_torch(MODELS[name](weights=None, num_classes=10).to(DT))
    assert run(net, training=False)[3].families() == CALLS_F_ITSELF[name]
