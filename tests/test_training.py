"""cnnlessons.training (loop, evaluation, History, one-cycle recipe) and
cnnlessons.checkpoint (atomic save, safe load, clear errors).

Training runs on ``synthetic_digits`` (no files, a second per epoch); oracles are
``torch.nn.functional.cross_entropy`` on the whole set, the scheduler's own step count
and a freshly built model's outputs.
"""
import random

import numpy
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import cnnlessons
from cnnlessons.checkpoint import load_checkpoint, load_model, save_checkpoint
from cnnlessons.data import InMemoryLoader, synthetic_digits
from cnnlessons.devices import default_device
from cnnlessons.models import LeNet5
from cnnlessons.scratch.optim import SGD as ScratchSGD
from cnnlessons.training import (
    History,
    Metrics,
    evaluate,
    fit,
    one_cycle_sgd,
    predict,
    set_seed,
    train_epoch,
)

HISTORY_KEYS = ["train_loss", "train_acc", "test_loss", "test_acc", "lr", "epoch_time"]


def small_net(backend="torch", num_classes=10, hidden=4):
    """A one-convolution network from the given backend's layers (fast to train)."""
    nn_ = cnnlessons.backend(backend)
    return nn.Sequential(nn_.Conv2d(1, hidden, 5, stride=2), nn_.ReLU(), nn_.MaxPool2d(2),
                         nn_.Flatten(), nn_.Linear(hidden * 6 * 6, num_classes))


@pytest.fixture
def loaders():
    train = InMemoryLoader(*synthetic_digits(n=512, seed=0), batch_size=32, seed=0)
    test = InMemoryLoader(*synthetic_digits(n=256, seed=1), batch_size=100, shuffle=False)
    return train, test


# --- seeds and devices ------------------------------------------------------------------

def test_set_seed_repeats_python_torch_and_numpy_draws():
    def draws():
        return random.random(), torch.rand(3).tolist(), numpy.random.rand(2).tolist()

    set_seed(7)
    first = draws()
    set_seed(7)
    assert draws() == first
    set_seed(8)
    assert draws() != first


def test_default_device_follows_cuda_availability():
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")


# --- the loop ---------------------------------------------------------------------------

@pytest.mark.parametrize("backend", cnnlessons.BACKENDS)
def test_one_epoch_reduces_loss_and_beats_chance(backend, loaders):
    train, test = loaders
    set_seed(0)
    model = small_net(backend)
    before = evaluate(model, test)
    optimizer, scheduler = one_cycle_sgd(model.parameters(), epochs=1,
                                         steps_per_epoch=len(train), backend=backend)
    metrics = train_epoch(model, train, nn.CrossEntropyLoss(), optimizer,
                          scheduler=scheduler, progress=False)
    after = evaluate(model, test)
    assert isinstance(metrics, Metrics) and 0 <= metrics.accuracy <= 1
    assert after.loss < before.loss / 2
    assert after.accuracy > 0.8  # chance is 0.1


def test_same_seed_same_training():
    images, labels = synthetic_digits(n=128)

    def run():
        set_seed(3)
        model = small_net()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
        loader = InMemoryLoader(images, labels, batch_size=32, seed=3)
        before = evaluate(model, loader).loss
        for _ in range(3):
            metrics = train_epoch(model, loader, nn.CrossEntropyLoss(), optimizer,
                                  progress=False)
        return model.state_dict(), before, metrics.loss, evaluate(model, loader).loss

    (first, before, last_epoch, after), (second, *again) = run(), run()
    assert all(torch.equal(first[key], second[key]) for key in first)
    assert again == [before, last_epoch, after]  # the losses repeat exactly too
    assert after < before and last_epoch < before  # and training did learn


def test_train_epoch_metrics_are_epoch_means():
    # With lr=0 the weights never move, so the epoch mean equals a full-set evaluation.
    images, labels = synthetic_digits(n=100)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.0)
    metrics = train_epoch(model, InMemoryLoader(images, labels, batch_size=32),
                          nn.CrossEntropyLoss(), optimizer, progress=False)
    with torch.no_grad():
        outputs = model(images)
    assert metrics.loss == pytest.approx(F.cross_entropy(outputs, labels).item(), rel=1e-5)
    assert metrics.accuracy == (outputs.argmax(1) == labels).sum().item() / len(labels)


def test_train_epoch_steps_the_scheduler_once_per_batch(loaders):
    train, _ = loaders
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    lrs = []
    train_epoch(model, train, nn.CrossEntropyLoss(), optimizer, scheduler=scheduler,
                progress=False, lrs=lrs)
    assert scheduler.last_epoch == len(train) == 16
    assert lrs == [0.1] * 16  # the rate each step used, appended once per step


def test_train_epoch_progress_bar_runs(loaders, capsys):
    train, _ = loaders
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    train_epoch(model, train, nn.CrossEntropyLoss(), optimizer, progress=True, desc="demo")
    assert "demo" in capsys.readouterr().err


def test_train_epoch_rejects_empty_loader():
    model = small_net()
    with pytest.raises(ValueError, match="no batches"):
        train_epoch(model, [], nn.CrossEntropyLoss(),
                    torch.optim.SGD(model.parameters(), lr=0.1), progress=False)


def test_evaluate_matches_cross_entropy_on_whole_set():
    images, labels = synthetic_digits(n=250, seed=4)
    model = small_net()
    metrics = evaluate(model, InMemoryLoader(images, labels, batch_size=64, shuffle=False))
    with torch.no_grad():
        outputs = model(images)
    assert metrics.loss == pytest.approx(F.cross_entropy(outputs, labels).item(), rel=1e-5)
    assert metrics.accuracy == (outputs.argmax(1) == labels).sum().item() / len(labels)
    assert not model.training  # evaluate switched to eval mode


def test_evaluate_accepts_log_softmax_models():
    # CrossEntropyLoss on log-probabilities gives the NLL: log_softmax is idempotent.
    images, labels = synthetic_digits(n=64)
    model = small_net()
    log_model = nn.Sequential(model, nn.LogSoftmax(dim=1))
    loader = InMemoryLoader(images, labels, batch_size=64, shuffle=False)
    assert evaluate(log_model, loader).loss == pytest.approx(evaluate(model, loader).loss)


def test_predict_returns_all_predictions_in_order():
    images, labels = synthetic_digits(n=90)
    model = small_net()
    predictions, targets = predict(model, InMemoryLoader(images, labels, batch_size=40,
                                                         shuffle=False))
    with torch.no_grad():
        expected = model(images).argmax(1)
    assert torch.equal(predictions, expected) and torch.equal(targets, labels)
    assert predictions.dtype == torch.int64 and predictions.device.type == "cpu"


# --- fit and History --------------------------------------------------------------------

def test_fit_records_history_under_the_plotting_keys(loaders, capsys):
    train, test = loaders
    set_seed(0)
    model = small_net()
    optimizer, scheduler = one_cycle_sgd(model.parameters(), 2, len(train))
    history = fit(model, train, test, 2, optimizer, scheduler=scheduler, progress=False)
    assert isinstance(history, History)
    record = history.as_dict()
    assert list(record) == HISTORY_KEYS
    assert all(len(values) == 2 for key, values in record.items() if key != "lr")
    assert len(history.lr) == 2 * len(train)  # one rate per step, not per epoch
    assert all(isinstance(v, float) for values in record.values() for v in values)
    assert history.lr[0] == pytest.approx(0.1 / 25)  # OneCycleLR starts at max_lr / 25
    assert max(history.lr) == pytest.approx(0.1, rel=1e-3)  # the peak, within a step
    # The last step uses the schedule's floor, initial lr / final_div_factor: the anneal
    # to almost zero that one value per epoch would never show.
    assert history.lr[-1] == pytest.approx(0.1 / 25 / 1e4) and history.lr[-1] < 1e-5
    assert scheduler.last_epoch == 2 * len(train)
    assert history.test_acc[-1] > 0.8 and history.train_loss[1] < history.train_loss[0]
    assert all(t > 0 for t in history.epoch_time)
    out = capsys.readouterr().out
    assert "epoch  1/2" in out and "epoch  2/2" in out and "test loss" in out


def test_fit_quiet_and_without_scheduler_keeps_lr(loaders, capsys):
    train, test = loaders
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.03)
    history = fit(model, train, test, 1, optimizer, progress=False, verbose=False)
    assert history.lr == [0.03] * len(train)
    assert capsys.readouterr().out == ""


def test_fit_rejects_zero_epochs(loaders):
    model = small_net()
    with pytest.raises(ValueError, match="epochs=0"):
        fit(model, *loaders, 0, torch.optim.SGD(model.parameters(), lr=0.1))


# --- the one-cycle recipe ---------------------------------------------------------------

def test_one_cycle_sgd_builds_nesterov_sgd_and_schedule():
    model = small_net()
    optimizer, scheduler = one_cycle_sgd(model.parameters(), epochs=3, steps_per_epoch=10,
                                         max_lr=0.2, weight_decay=1e-4)
    assert type(optimizer) is torch.optim.SGD
    group = optimizer.param_groups[0]
    assert group["nesterov"] and group["weight_decay"] == 1e-4
    assert isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)
    assert scheduler.total_steps == 30
    assert group["lr"] == pytest.approx(0.2 / 25)
    lrs = []  # the learning rate each of the 30 batches of 3 epochs uses
    for _ in range(30):  # what train_epoch does: step, then advance the schedule
        lrs.append(group["lr"])
        optimizer.step()
        scheduler.step()
    assert max(lrs) == pytest.approx(0.2)
    assert lrs.index(max(lrs)) == 8  # the peak at step 0.3 * 30 - 1 (OneCycleLR's rule)
    assert lrs[-1] == pytest.approx(0.2 / 25 / 1e4)  # initial lr / final_div_factor


def test_one_cycle_sgd_scratch_backend_uses_scratch_sgd():
    optimizer, _ = one_cycle_sgd(small_net().parameters(), 1, 5, backend="scratch")
    assert type(optimizer) is ScratchSGD


@pytest.mark.parametrize("kwargs, match", [
    (dict(backend="jax"), "backend='jax'"),
    (dict(epochs=0), "epochs=0"),
])
def test_one_cycle_sgd_bad_arguments(kwargs, match):
    arguments = dict(epochs=1, steps_per_epoch=5) | kwargs
    with pytest.raises(ValueError, match=match):
        one_cycle_sgd(small_net().parameters(), **arguments)


# --- checkpoints ------------------------------------------------------------------------

def _trained(steps=3):
    torch.manual_seed(0)
    model = small_net()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    images, labels = synthetic_digits(n=32)
    for _ in range(steps):
        optimizer.zero_grad()
        F.cross_entropy(model(images), labels).backward()
        optimizer.step()
    return model, optimizer, images


def test_checkpoint_round_trip_restores_outputs_optimizer_and_meta(tmp_path):
    model, optimizer, images = _trained()
    path = save_checkpoint(tmp_path / "run" / "net.pt", model, optimizer, backend="torch",
                           epochs=3, history={"test_acc": [0.5, 0.75]})
    torch.manual_seed(1)
    fresh = small_net()
    fresh_optimizer = torch.optim.SGD(fresh.parameters(), lr=0.1, momentum=0.9)
    assert not torch.equal(fresh(images), model(images))
    checkpoint = load_checkpoint(path, fresh, fresh_optimizer)
    assert torch.equal(fresh(images), model(images))
    assert checkpoint["meta"] == {"backend": "torch", "epochs": 3,
                                  "history": {"test_acc": [0.5, 0.75]}}
    saved = optimizer.state_dict()["state"]
    restored = fresh_optimizer.state_dict()["state"]
    assert all(torch.equal(saved[k]["momentum_buffer"], restored[k]["momentum_buffer"])
               for k in saved)


def test_load_model_rebuilds_a_registered_model(tmp_path):
    torch.manual_seed(0)
    model = LeNet5()
    path = save_checkpoint(tmp_path / "lenet5.pt", model, model_name="lenet5",
                           backend="torch", model_kwargs={})
    rebuilt, checkpoint = load_model(path)
    x = torch.randn(2, 1, 28, 28)
    assert type(rebuilt) is LeNet5 and not rebuilt.training
    assert torch.equal(rebuilt(x), model.eval()(x))
    assert checkpoint["meta"]["model_name"] == "lenet5"


def test_load_model_needs_model_name(tmp_path):
    path = save_checkpoint(tmp_path / "a.pt", small_net())
    with pytest.raises(ValueError, match="does not record model_name"):
        load_model(path)


def test_save_leaves_no_temporary_file_and_replaces_old_checkpoint(tmp_path):
    model, _, _ = _trained()
    save_checkpoint(tmp_path / "net.pt", small_net())
    save_checkpoint(tmp_path / "net.pt", model)
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]
    fresh = small_net()
    load_checkpoint(tmp_path / "net.pt", fresh)
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(),
                                                 model.state_dict().values()))


def test_failed_save_keeps_old_file_and_removes_temporary(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "net.pt", small_net())
    before = path.read_bytes()

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, small_net())
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]


def test_load_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.pt does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", "truncated"])
def test_load_corrupt_file(tmp_path, content):
    path = tmp_path / "bad.pt"
    if content == "truncated":
        save_checkpoint(path, small_net())
        content = path.read_bytes()[:200]
    path.write_bytes(content)
    with pytest.raises(ValueError, match="bad.pt is not a valid checkpoint: "):
        load_checkpoint(path)


def test_load_rejects_plain_state_dict_and_pickled_code(tmp_path):
    torch.save(small_net().state_dict(), tmp_path / "plain.pt")
    with pytest.raises(ValueError, match="plain.pt is not a valid checkpoint: no "):
        load_checkpoint(tmp_path / "plain.pt")
    # weights_only=True: an arbitrary object in the metadata is refused, not executed.
    save_checkpoint(tmp_path / "code.pt", small_net(), hook=random.Random(0))
    with pytest.raises(ValueError, match="code.pt is not a valid checkpoint: "):
        load_checkpoint(tmp_path / "code.pt")


def test_load_into_mismatched_model_lists_differences(tmp_path):
    path = save_checkpoint(tmp_path / "net.pt", small_net(hidden=4))
    with pytest.raises(ValueError, match=r"net.pt does not match Sequential: shape "
                                         r"mismatches \['0.weight: checkpoint \(4, 1, 5, 5\) "
                                         r"!= model \(3, 1, 5, 5\)'"):
        load_checkpoint(path, small_net(hidden=3))
    other = nn.Sequential(nn.Linear(2, 2))
    other.add_module("extra", nn.Linear(2, 2))
    with pytest.raises(ValueError, match=r"missing keys \['extra.bias', 'extra.weight'\]; "
                                         r"unexpected keys \['4.bias', '4.weight'\]; "
                                         r"shape mismatches \['0.weight: checkpoint \(4, 1, 5, 5\) "
                                         r"!= model \(2, 2\)'"):
        load_checkpoint(path, other)


def test_load_optimizer_when_none_was_saved(tmp_path):
    model = small_net()
    path = save_checkpoint(tmp_path / "net.pt", model)
    with pytest.raises(ValueError, match="holds no optimizer state"):
        load_checkpoint(path, model, torch.optim.SGD(model.parameters(), lr=0.1))
