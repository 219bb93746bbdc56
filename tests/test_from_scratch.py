"""From scratch, really: the scratch package never calls torch's own layer kernels.

Agreement with torch (the other test files) does not prove that a layer is built from
primitives: ``scratch.conv2d`` could simply call ``torch.conv2d``. These tests watch what
actually runs. Two recorders (``cnnlessons.dispatch.record``) sit under the scratch code
while it computes forward *and* backward passes:

* a ``TorchDispatchMode`` sees every ATen operator that reaches a kernel, including the
  ones the autograd engine runs for the hand-written backward passes;
* a ``TorchFunctionMode`` sees every torch-level call (``torch.*``, ``Tensor.*``,
  ``torch.nn.functional.*``). It is needed because some torch layers are *composite*: on
  CPU ``F.linear`` and ``F.dropout`` decompose into ``mm``/``bernoulli_``/``mul`` before
  reaching the dispatcher, so only the torch-level name gives them away. (Calls made
  inside ``backward()`` are invisible at this level: a mode is switched off while it
  handles a call. The dispatch level and the static import check below cover them.)

Each recorded name is matched against ``FORBIDDEN``, name patterns for torch's
convolution, pooling, unpooling, normalisation, dropout, softmax, loss, distance,
padding, im2col, linear and ReLU kernels. Allowed are the primitives the course builds
with: arithmetic, reductions, indexing (``gather``, ``scatter_add_``, ``index_add_``),
views (``as_strided``, ``Tensor.unfold``), ``mm``/``bmm``/``addmm``/``matmul``, ``exp``,
``log``, ``where``, ``bernoulli_``, ``new_zeros`` with slice copies.

Every public scratch function has at least one case (a test fails if one is missing),
and each check is shown able to fail: the same cases built from ``torch.nn`` and
``torch.nn.functional`` must be flagged.
"""
from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

import cnnlessons
import cnnlessons.scratch
import cnnlessons.scratch.functional as SF
from cnnlessons import backend, layer_names
from cnnlessons.dispatch import Recording, forbidden_family, record
from cnnlessons.models import LeNet5

DT = torch.float64

# --------------------------------------------------------------------------------------
# The cases: one per scratch function or layer configuration
# --------------------------------------------------------------------------------------

#: One implementation, ``cnnlessons.backend(name)``: its layer classes (``I.Conv2d``),
#: its functions (``I.functional.conv2d``) and its optimisers (``I.optim.SGD``).
Impl = SimpleNamespace
SCRATCH, TORCH = backend("scratch"), backend("torch")


def leaf(*shape: int) -> torch.Tensor:
    return torch.randn(*shape, dtype=DT, requires_grad=True)


def targets(n: int, classes: int) -> torch.Tensor:
    return torch.randint(classes, (n,))


def probabilities(n: int, classes: int) -> torch.Tensor:
    p = torch.rand(n, classes, dtype=DT) + 0.1
    return p / p.sum(1, keepdim=True)  # not .softmax(1): that would be recorded too


def _unpool2d(I: Impl) -> torch.Tensor:
    out, idx = I.functional.max_pool2d(leaf(2, 3, 6, 7), 2, return_indices=True)
    return I.functional.max_unpool2d(out, idx, 2, output_size=(6, 7))


def _unpool1d(I: Impl) -> torch.Tensor:
    out, idx = I.functional.max_pool1d(leaf(2, 3, 9), 3, stride=2, return_indices=True)
    return I.functional.max_unpool1d(out, idx, 3, stride=2, output_size=(9,))


def _batch_norm(I: Impl, training: bool) -> torch.Tensor:
    mean, var = torch.zeros(3, dtype=DT), torch.ones(3, dtype=DT)
    return I.functional.batch_norm(leaf(4, 3, 5, 5), mean, var, leaf(3), leaf(3), training=training)


def _bn_module(I: Impl, cls: str, shape: tuple[int, ...], training: bool) -> torch.Tensor:
    layer = getattr(I, cls)(shape[1], dtype=DT).train(training)
    return layer(leaf(*shape))


#: name -> function(Impl) returning an output that depends on every input leaf. A name
#: starts with the function (or class) the case exercises.
CASES: dict[str, Callable[[Impl], torch.Tensor]] = {
    "conv1d": lambda I: I.functional.conv1d(leaf(2, 4, 11), leaf(6, 2, 3), leaf(6), stride=2,
                                            padding=2, dilation=2, groups=2),
    "conv1d same": lambda I: I.functional.conv1d(leaf(2, 3, 8), leaf(4, 3, 4), padding="same"),
    "conv2d groups dilation": lambda I: I.functional.conv2d(
        leaf(2, 4, 9, 8), leaf(6, 2, 3, 2), leaf(6), stride=(2, 1), padding=(1, 2),
        dilation=(2, 1), groups=2),
    "conv2d same": lambda I: I.functional.conv2d(leaf(2, 3, 7, 6), leaf(4, 3, 3, 4),
                                                 padding="same"),
    **{f"Conv2d padding_mode={mode}": (
        lambda I, mode=mode: I.Conv2d(4, 4, 3, padding=2, dilation=2, groups=2,
                                      padding_mode=mode, dtype=DT)(leaf(2, 4, 7, 7)))
       for mode in ("zeros", "reflect", "replicate", "circular")},
    "conv_transpose1d": lambda I: I.functional.conv_transpose1d(
        leaf(2, 4, 6), leaf(4, 3, 3), leaf(6), stride=2, padding=1, output_padding=1, groups=2),
    "conv_transpose2d": lambda I: I.functional.conv_transpose2d(
        leaf(2, 4, 5, 17), leaf(4, 1, 3, 2), leaf(2), stride=(2, 1), padding=1,
        output_padding=(1, 0), groups=2, dilation=(1, 2)),
    "ConvTranspose2d output_size": lambda I: I.ConvTranspose2d(3, 2, 3, stride=2, padding=1,
                                                               dtype=DT)(
        leaf(2, 3, 4, 4), output_size=(8, 8)),
    "Conv1d padding_mode=reflect": lambda I: I.Conv1d(2, 3, 3, padding=1, padding_mode="reflect",
                                                      dtype=DT)(leaf(2, 2, 9)),
    **{f"pad {mode}": (
        lambda I, mode=mode: I.functional.pad(leaf(2, 3, 5, 6), (1, 2, 2, 1), mode=mode))
       for mode in ("constant", "reflect", "replicate", "circular")},
    "max_pool1d indices": lambda I: I.functional.max_pool1d(
        leaf(2, 3, 10), 3, stride=2, padding=1, return_indices=True)[0],
    "max_pool2d indices": lambda I: I.functional.max_pool2d(
        leaf(2, 3, 9, 8), (3, 2), stride=2, padding=1, dilation=(1, 2), ceil_mode=True,
        return_indices=True)[0],
    "MaxPool2d": lambda I: I.MaxPool2d(2)(leaf(2, 3, 8, 8)),
    "avg_pool1d": lambda I: I.functional.avg_pool1d(leaf(2, 3, 10), 3, stride=2, padding=1,
                                                    ceil_mode=True, count_include_pad=False),
    "avg_pool2d": lambda I: I.functional.avg_pool2d(leaf(2, 3, 9, 8), 3, stride=2, padding=1,
                                                    divisor_override=5),
    "AvgPool2d": lambda I: I.AvgPool2d(2)(leaf(2, 3, 8, 8)),
    "max_unpool1d": _unpool1d,
    "max_unpool2d": _unpool2d,
    "batch_norm train": lambda I: _batch_norm(I, training=True),
    "batch_norm eval": lambda I: _batch_norm(I, training=False),
    "BatchNorm1d train": lambda I: _bn_module(I, "BatchNorm1d", (5, 4), training=True),
    "BatchNorm2d train": lambda I: _bn_module(I, "BatchNorm2d", (3, 4, 3, 3), training=True),
    "BatchNorm2d eval": lambda I: _bn_module(I, "BatchNorm2d", (3, 4, 3, 3), training=False),
    "dropout train": lambda I: I.functional.dropout(leaf(4, 6), 0.5, training=True),
    "Dropout train": lambda I: I.Dropout(0.3)(leaf(4, 6)),
    "linear": lambda I: I.functional.linear(leaf(4, 5), leaf(3, 5), leaf(3)),
    "Linear": lambda I: I.Linear(5, 3, dtype=DT)(leaf(2, 4, 5)),
    "relu": lambda I: I.functional.relu(leaf(4, 5)),
    "relu inplace": lambda I: I.functional.relu(leaf(4, 5) * 1, inplace=True),
    "ReLU": lambda I: I.ReLU()(leaf(4, 5)),
    "leaky_relu": lambda I: I.functional.leaky_relu(leaf(4, 5), 0.2),
    "leaky_relu inplace": lambda I: I.functional.leaky_relu(leaf(4, 5) * 1, inplace=True),
    "LeakyReLU": lambda I: I.LeakyReLU()(leaf(4, 5)),
    "hardtanh": lambda I: I.functional.hardtanh(leaf(4, 5), -0.5, 0.5),
    "Hardtanh": lambda I: I.Hardtanh()(leaf(4, 5)),
    "relu6": lambda I: I.functional.relu6(leaf(4, 5) * 4, inplace=True),
    "ReLU6": lambda I: I.ReLU6()(leaf(4, 5) * 4),
    "sigmoid": lambda I: I.functional.sigmoid(leaf(4, 5)),
    "Sigmoid": lambda I: I.Sigmoid()(leaf(4, 5)),
    "tanh": lambda I: I.functional.tanh(leaf(4, 5)),
    "Tanh": lambda I: I.Tanh()(leaf(4, 5)),
    "adaptive_avg_pool1d": lambda I: I.functional.adaptive_avg_pool1d(leaf(2, 3, 7), 3),
    "adaptive_avg_pool2d": lambda I: I.functional.adaptive_avg_pool2d(leaf(2, 3, 7, 5), (3, 2)),
    "AdaptiveAvgPool2d": lambda I: I.AdaptiveAvgPool2d(1)(leaf(2, 3, 4, 4)),
    "adaptive_max_pool1d": lambda I: I.functional.adaptive_max_pool1d(leaf(2, 3, 7), 3),
    "adaptive_max_pool2d indices": lambda I: I.functional.adaptive_max_pool2d(
        leaf(2, 3, 7, 5), (3, 2), return_indices=True)[0],
    "AdaptiveMaxPool2d": lambda I: I.AdaptiveMaxPool2d(2)(leaf(2, 3, 5, 5)),
    "dropout2d": lambda I: I.functional.dropout2d(leaf(2, 6, 3, 3), 0.5),
    "Dropout2d": lambda I: I.Dropout2d(0.3)(leaf(2, 6, 3, 3)),
    "softmax": lambda I: I.functional.softmax(leaf(4, 5), dim=1),
    "log_softmax": lambda I: I.functional.log_softmax(leaf(4, 5), dim=0),
    "nll_loss": lambda I: I.functional.nll_loss(leaf(6, 4), targets(6, 4),
                                                weight=torch.rand(4, dtype=DT), ignore_index=2),
    "nll_loss 2d": lambda I: I.functional.nll_loss(leaf(2, 3, 4, 4),
                                                   torch.randint(3, (2, 4, 4))),
    "cross_entropy": lambda I: I.functional.cross_entropy(leaf(6, 4), targets(6, 4),
                                                          label_smoothing=0.1),
    "cross_entropy probabilities": lambda I: I.functional.cross_entropy(leaf(6, 4),
                                                                        probabilities(6, 4)),
    "CrossEntropyLoss": lambda I: I.CrossEntropyLoss()(leaf(6, 4), targets(6, 4)),
    "mse_loss": lambda I: I.functional.mse_loss(leaf(3, 4), torch.randn(3, 4, dtype=DT)),
    "pairwise_distance": lambda I: I.functional.pairwise_distance(leaf(4, 5), leaf(4, 5)),
    "pairwise_distance p=1": lambda I: I.functional.pairwise_distance(leaf(4, 5), leaf(4, 5),
                                                                      p=1, keepdim=True),
}


def _exercised(case_names) -> set[str]:
    """What the cases exercise: a case's name starts with its function's (or class's) name."""
    return {name.split()[0] for name in case_names}


def _public_functions() -> set[str]:
    """Every function ``cnnlessons.scratch.functional`` exports."""
    return {name for name in SF.__all__ if inspect.isfunction(getattr(SF, name))}


def test_every_public_scratch_function_has_a_case():
    assert _public_functions() - _exercised(CASES) == set()


def test_case_names_start_with_what_they_exercise():
    unknown = _exercised(CASES) - _public_functions() - set(layer_names())
    assert not unknown, f"case names that name no scratch function or class: {unknown}"


def test_function_coverage_check_can_fail():
    fewer = [name for name in CASES if not name.startswith("max_unpool1d")]
    assert _public_functions() - _exercised(fewer) == {"max_unpool1d"}


def run_case(case: Callable[[Impl], torch.Tensor], impl: Impl) -> Recording:
    """Forward and backward of one case (random upstream gradient), recorded."""
    torch.manual_seed(0)
    with record() as rec:
        out = case(impl)
        out.backward(torch.randn_like(out))
    return rec


@pytest.mark.parametrize("name", CASES)
def test_scratch_case_uses_primitives_only(name):
    offending = run_case(CASES[name], SCRATCH).offending()
    assert not offending, f"scratch {name} uses torch kernels: {offending}"


@pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel")  # torch's, not ours
@pytest.mark.parametrize("name", CASES)
def test_recorder_flags_the_torch_version(name):
    """The same case run by torch is caught: each check above is able to fail."""
    rec = run_case(CASES[name], TORCH)
    assert rec.offending(), f"torch {name} ran only {sorted(rec.aten)}: the recorder is blind"


@pytest.mark.parametrize("impl", [SCRATCH, TORCH], ids=["scratch", "torch"])
def test_backward_pass_alone_is_recorded(impl):
    """The dispatch recorder sees the autograd engine's work, not only the forward pass:
    torch's pooling backward kernel is caught, and the scratch backward's ops are seen."""
    torch.manual_seed(0)
    out = CASES["max_pool2d indices"](impl)
    with record() as rec:
        out.backward(torch.ones_like(out))
    assert rec.aten, "nothing recorded during backward"
    if impl is TORCH:
        assert "aten.max_pool2d_with_indices_backward.default" in rec.aten
    else:
        assert not rec.offending(), rec.offending()


# --------------------------------------------------------------------------------------
# A whole network, trained for two SGD steps and then evaluated
# --------------------------------------------------------------------------------------

class _Net(torch.nn.Module):
    """A small network touching every layer kind, on a 1-d and a 2-d input.

    1-d branch ``(N, 2, 16)``: Conv1d (dilated, circular padding) -> ReLU ->
    MaxPool1d -> max_pool1d with indices -> AvgPool1d -> grouped conv1d -> (N, 8).
    2-d branch ``(N, 2, 10, 10)``: Conv2d (reflect) -> Conv2d (grouped, dilated,
    replicate) -> BatchNorm2d -> ReLU -> MaxPool2d with indices -> max_unpool2d ->
    Conv2d ('same') -> Conv2d (stride 2) -> AvgPool2d -> max_pool2d -> Flatten -> (N, 36).
    Head: concatenate -> BatchNorm1d -> Dropout -> Linear -> 5 logits.
    """

    def __init__(self, I: Impl) -> None:
        super().__init__()
        nn_, self.F = I, I.functional
        self.conv1d = nn_.Conv1d(2, 4, 3, padding=2, dilation=2, padding_mode="circular")
        self.relu = nn_.ReLU()
        self.pool1d = nn_.MaxPool1d(2)
        self.avg1d = nn_.AvgPool1d(2)
        self.w1d = torch.nn.Parameter(torch.randn(4, 2, 1) / 2)
        self.conv_reflect = nn_.Conv2d(2, 4, 3, padding=1, padding_mode="reflect")
        self.conv_grouped = nn_.Conv2d(4, 6, 3, padding=2, dilation=2, groups=2,
                                       padding_mode="replicate")
        self.bn2d = nn_.BatchNorm2d(6)
        self.pool2d = nn_.MaxPool2d(2, return_indices=True)
        self.conv_same = nn_.Conv2d(6, 4, 3, padding="same")
        self.conv_stride = nn_.Conv2d(4, 4, 3, stride=2, padding=1)
        self.avg2d = nn_.AvgPool2d(2, stride=1)
        self.flatten = nn_.Flatten()
        self.bn1d = nn_.BatchNorm1d(44)
        self.dropout = nn_.Dropout(0.5)
        self.fc = nn_.Linear(44, 5)
        self.softmax, self.log_softmax = nn_.Softmax(dim=1), nn_.LogSoftmax(dim=1)
        self.cross_entropy, self.nll = nn_.CrossEntropyLoss(), nn_.NLLLoss()
        self.mse = nn_.MSELoss()

    def forward(self, x1, x2):
        F = self.F
        a = self.pool1d(self.relu(self.conv1d(x1)))                      # (N, 4, 8)
        a, _ = F.max_pool1d(a, 2, return_indices=True)                  # (N, 4, 4)
        a = F.conv1d(self.avg1d(a), self.w1d, groups=2)                  # (N, 4, 2)
        b = self.conv_grouped(self.conv_reflect(x2))                     # (N, 6, 10, 10)
        b, idx = self.pool2d(self.relu(self.bn2d(b)))                    # (N, 6, 5, 5)
        b = F.max_unpool2d(b, idx, 2)                                    # (N, 6, 10, 10)
        b = self.conv_stride(F.relu(self.conv_same(b)))                  # (N, 4, 5, 5)
        b = F.max_pool2d(self.avg2d(b), 2, padding=1)                    # (N, 4, 3, 3)
        h = torch.cat([self.flatten(a), self.flatten(b)], dim=1)         # (N, 44)
        return self.fc(self.dropout(self.bn1d(h)))                       # (N, 5)

    def loss(self, logits, target, anchor):
        F = self.F
        onehot = torch.zeros_like(logits).index_fill_(0, torch.tensor(0), 1.0)
        return (self.cross_entropy(logits, target)
                + self.nll(self.log_softmax(logits), target)
                + self.mse(self.softmax(logits), onehot)
                + F.cross_entropy(logits, target, label_smoothing=0.1)
                + F.nll_loss(F.log_softmax(logits, dim=1), target, reduction="sum") / len(target)
                + F.mse_loss(F.softmax(logits, dim=1), onehot, reduction="sum")
                + F.pairwise_distance(logits, anchor).mean())


def _data():
    gen = torch.Generator().manual_seed(1)
    x1 = torch.randn(6, 2, 16, generator=gen, dtype=DT)
    x2 = torch.randn(6, 2, 10, 10, generator=gen, dtype=DT)
    return x1, x2, torch.randint(5, (6,), generator=gen), torch.randn(6, 5, generator=gen, dtype=DT)


def train_and_evaluate(I: Impl) -> tuple[Recording, torch.Tensor]:
    """Two recorded SGD steps (forward, loss, backward, step) and a recorded eval loss."""
    torch.manual_seed(0)
    net = _Net(I).to(DT)
    x1, x2, target, anchor = _data()
    opt = I.optim.SGD(net.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    with record() as rec:
        for _ in range(2):
            opt.zero_grad()
            net.loss(net(x1, x2), target, anchor).backward()
            opt.step()
        net.eval()
        with torch.no_grad():
            eval_loss = net.loss(net(x1, x2), target, anchor)
    return rec, eval_loss


def test_scratch_network_trains_with_primitives_only():
    rec, eval_loss = train_and_evaluate(SCRATCH)
    offending = rec.offending()
    assert not offending, f"the scratch network used torch kernels: {offending}"
    assert torch.isfinite(eval_loss)


def test_recorder_flags_the_torch_network():
    """The torch network trips every family the scratch network stands in for."""
    rec, _ = train_and_evaluate(TORCH)
    families = {entry.rsplit("(", 1)[1].rstrip(")") for entry in rec.offending()}
    expected = {"convolution", "pooling", "normalisation", "dropout", "softmax", "loss",
                "distance", "padding", "linear", "relu"}
    assert expected <= families, f"missed {expected - families}; caught {sorted(families)}"


def test_scratch_network_computes_what_torch_computes():
    """The network above really is the torch network, rebuilt (same weights, same loss
    in eval mode), so the clean recording above covers the real thing."""
    losses = []
    for impl in (SCRATCH, TORCH):
        torch.manual_seed(0)
        net = _Net(impl).to(DT).eval()
        x1, x2, target, anchor = _data()
        losses.append(net.loss(net(x1, x2), target, anchor))
    torch.testing.assert_close(losses[0], losses[1])


def test_lenet5_training_step_uses_primitives_only():
    torch.manual_seed(0)
    net = LeNet5(backend="scratch")
    opt = SCRATCH.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(4, 1, 28, 28), torch.randint(10, (4,))
    with record() as rec:
        opt.zero_grad()
        SF.cross_entropy(net(x), y).backward()
        opt.step()
    assert not rec.offending(), rec.offending()


# --------------------------------------------------------------------------------------
# Static check: no scratch module imports torch.nn.functional (or torch's layers)
# --------------------------------------------------------------------------------------

SCRATCH_DIR = Path(cnnlessons.scratch.__file__).parent
#: The only ``torch.nn`` names scratch code may use: infrastructure, not layers (the
#: containers re-exported by ``scratch/containers.py`` compute nothing).
ALLOWED_TORCH_NN = {"Module", "Parameter", "Buffer", "init",
                    *cnnlessons.scratch.containers.__all__}


def _dotted(node: ast.AST, aliases: dict[str, str]) -> str | None:
    """``torch.nn.functional.conv2d`` for an ``Attribute`` chain rooted at an import."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in aliases:
        return ".".join([aliases[node.id], *reversed(parts)])
    return None


def _violations(path: Path) -> list[str]:
    """Imports of torch layer code, and uses of torch layer names, in one source file."""
    tree = ast.parse(path.read_text(), filename=str(path))
    aliases: dict[str, str] = {}  # local name -> the module or object it stands for
    imported: list[str] = []  # everything imported, in full
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                imported.append(a.name)
                # "import torch.nn.functional" binds the name "torch" to torch
                root = a.name.split(".")[0]
                aliases[a.asname or root] = a.name if a.asname else root
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                imported.append(f"{node.module}.{a.name}")
                aliases[a.asname or a.name] = f"{node.module}.{a.name}"

    def bad(dotted: str) -> bool:
        if dotted.startswith(("torch.nn.functional", "torch._C._nn", "torch.ops")):
            return True
        parts = dotted.split(".")
        if parts[:2] == ["torch", "nn"] and len(parts) > 2:
            return parts[2] not in ALLOWED_TORCH_NN
        # torch.conv2d, torch.softmax, torch.nn... called directly on the torch namespace
        return parts[0] == "torch" and len(parts) == 2 and forbidden_family(parts[1]) is not None

    found = [f"{path.name}: import of {target}" for target in imported if bad(target)]
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            dotted = _dotted(node, aliases)
            if dotted and bad(dotted):
                found.append(f"{path.name}:{node.lineno}: {dotted}")
    return found


SCRATCH_SOURCES = sorted(SCRATCH_DIR.glob("*.py"))


@pytest.mark.parametrize("path", SCRATCH_SOURCES, ids=[p.name for p in SCRATCH_SOURCES])
def test_scratch_source_does_not_import_torch_layers(path):
    assert not _violations(path)


def test_static_check_can_fail(tmp_path):
    source = tmp_path / "cheat.py"
    source.write_text(
        "import torch\n"
        "import torch.nn.functional\n"
        "import torch.nn.functional as F\n"
        "from torch.nn import Conv2d, Module\n"
        "from torch import nn\n"
        "def f(x, w):\n"
        "    return torch.softmax(nn.functional.conv2d(x, w), 1) + nn.MaxPool2d(2)(x)\n"
    )
    found = " ".join(_violations(source))
    for culprit in ("import of torch.nn.functional", "torch.nn.Conv2d", "torch.softmax",
                    "torch.nn.functional.conv2d", "torch.nn.MaxPool2d"):
        assert culprit in found, found
    assert "torch.nn.Module" not in found
