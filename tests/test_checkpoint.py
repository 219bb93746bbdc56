"""Where and how cnnlessons.checkpoint writes and reads: the temporary file beside the
target, nothing left behind on success, error, Ctrl-C or SIGTERM, the usual file mode,
the format's fields, and the arguments handed to torch.load and build_model.

(The round trips and error messages are in test_training.py.)
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from cnnlessons.checkpoint import FORMAT, VERSION, load_checkpoint, load_model, save_checkpoint
from cnnlessons.models import LeNet5


def tiny():
    return nn.Sequential(nn.Linear(3, 2))


def listing(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_temporary_file_is_hidden_beside_the_target_while_writing(tmp_path, monkeypatch):
    seen = []
    real_save = torch.save

    def spying_save(obj, file):
        seen.append(listing(tmp_path / "runs"))
        real_save(obj, file)

    monkeypatch.setattr(torch, "save", spying_save)
    save_checkpoint(tmp_path / "runs" / "net.pt", tiny())
    [during] = seen
    # One file beside the target (os.replace is atomic only within a file system), hidden
    # and not *.pt, so nothing that globs for checkpoints picks up half of one.
    assert len(during) == 1
    assert during[0].startswith(".net.pt.") and during[0].endswith(".tmp")
    assert listing(tmp_path / "runs") == ["net.pt"]


def test_missing_parent_folders_are_created(tmp_path):
    path = save_checkpoint(tmp_path / "a" / "b" / "net.pt", tiny())
    assert path == tmp_path / "a" / "b" / "net.pt" and path.is_file()


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_checkpoint_gets_the_usual_file_mode(tmp_path, umask):
    old = os.umask(umask)
    try:
        path = save_checkpoint(tmp_path / "net.pt", tiny())
    finally:
        os.umask(old)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert os.umask(old) == old  # the save left the umask as it was


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_interrupted_save_leaves_old_file_and_no_temporary(tmp_path, monkeypatch, error):
    path = save_checkpoint(tmp_path / "net.pt", tiny())
    before = path.read_bytes()

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise error("stop")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(error):
        save_checkpoint(path, tiny())
    assert path.read_bytes() == before and listing(tmp_path) == ["net.pt"]


def test_failed_rename_removes_temporary(tmp_path):
    (tmp_path / "net.pt").mkdir()  # os.replace cannot put a file over a folder
    with pytest.raises(OSError):
        save_checkpoint(tmp_path / "net.pt", tiny())
    assert listing(tmp_path) == ["net.pt"] and not list((tmp_path / "net.pt").iterdir())


SAVER = """
import os, sys, time
import torch
from torch import nn
from cnnlessons.checkpoint import save_checkpoint

path = sys.argv[1]
if sys.argv[2] == "slow-disk":
    # The whole checkpoint is written, then the disk takes its time to sync.
    def slow_fsync(fd):
        print("syncing", flush=True)
        time.sleep(60)
    os.fsync = slow_fsync
    model = nn.Sequential(nn.Linear(100, 100))
else:
    model = nn.Sequential(*[nn.Linear(1000, 1000) for _ in range(16)])  # 64 MB
    print("saving", flush=True)
save_checkpoint(path, model)
print("saved", flush=True)
"""


def run_saver_and_terminate(tmp_path, mode):
    target = tmp_path / "out" / "net.pt"
    target.parent.mkdir()
    save_checkpoint(target, tiny())
    before = target.read_bytes()
    with subprocess.Popen([sys.executable, "-c", textwrap.dedent(SAVER), str(target), mode],
                          stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout.readline().strip() in ("syncing", "saving")
            if mode == "big":  # SIGTERM once the temporary file exists, mid-save
                deadline = time.monotonic() + 30
                while len(listing(target.parent)) < 2 and process.poll() is None:
                    assert time.monotonic() < deadline
                    time.sleep(0.001)
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=60)
        finally:
            process.kill()
    return target, before, status


def test_sigterm_during_save_removes_temporary_and_still_terminates(tmp_path):
    target, before, status = run_saver_and_terminate(tmp_path, "slow-disk")
    assert status == -signal.SIGTERM  # ended as killed, not as a normal exit
    assert listing(target.parent) == ["net.pt"] and target.read_bytes() == before


def test_sigterm_while_saving_a_big_checkpoint_leaves_no_temporary(tmp_path):
    target, before, status = run_saver_and_terminate(tmp_path, "big")
    # Wherever the signal lands, the folder holds the old checkpoint or the new one.
    assert status in (-signal.SIGTERM, 0)
    assert listing(target.parent) == ["net.pt"]
    if status == -signal.SIGTERM:
        assert target.read_bytes() == before
    else:
        load_checkpoint(target)


def test_save_keeps_a_programs_own_sigterm_handler(tmp_path):
    def handler(signum, frame):
        pass

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        save_checkpoint(tmp_path / "net.pt", tiny())
        assert signal.getsignal(signal.SIGTERM) is handler
    finally:
        signal.signal(signal.SIGTERM, previous)
    # Without one, the default disposition is back after the save.
    assert previous is signal.SIG_DFL
    save_checkpoint(tmp_path / "net.pt", tiny())
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_file_holds_the_documented_fields(tmp_path):
    model = tiny()
    path = save_checkpoint(tmp_path / "net.pt", model, epochs=2)
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"format", "version", "model_state", "optimizer_state", "meta"}
    assert raw["format"] == FORMAT == "cnnlessons-checkpoint"
    assert raw["version"] == VERSION == 1
    assert raw["optimizer_state"] is None and raw["meta"] == {"epochs": 2}
    assert all(torch.equal(raw["model_state"][k], v) for k, v in model.state_dict().items())


@pytest.fixture
def load_calls(monkeypatch):
    calls = []
    real_load = torch.load

    def spying_load(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spying_load)
    return calls


def test_load_is_weights_only_and_maps_to_the_models_device(tmp_path, load_calls):
    # weights_only=True explicitly: torch < 2.6 (in the supported range) defaults to False.
    path = save_checkpoint(tmp_path / "net.pt", tiny())
    load_checkpoint(path, tiny())
    load_checkpoint(path, map_location="meta")
    load_checkpoint(path)
    assert load_calls == [dict(map_location=torch.device("cpu"), weights_only=True),
                          dict(map_location="meta", weights_only=True),
                          dict(map_location=None, weights_only=True)]


def test_load_model_passes_map_location_on(tmp_path, load_calls):
    path = save_checkpoint(tmp_path / "lenet5.pt", LeNet5(), model_name="lenet5")
    load_model(path, map_location="cpu")
    assert load_calls == [dict(map_location="cpu", weights_only=True)]


def test_load_model_rebuilds_backend_and_kwargs_and_defaults(tmp_path):
    scratch_net = LeNet5(backend="scratch", num_classes=4)
    path = save_checkpoint(tmp_path / "a.pt", scratch_net, model_name="lenet5",
                           backend="scratch", model_kwargs={"num_classes": 4})
    rebuilt, _ = load_model(path)
    x = torch.randn(3, 1, 28, 28)
    assert {type(m) for m in rebuilt.modules()} == {type(m) for m in scratch_net.modules()}
    assert torch.equal(rebuilt(x), scratch_net.eval()(x)) and rebuilt(x).shape == (3, 4)
    # No backend or model_kwargs recorded: torch layers, default arguments.
    plain = save_checkpoint(tmp_path / "b.pt", LeNet5(), model_name="lenet5")
    rebuilt, _ = load_model(plain)
    assert {type(m) for m in rebuilt.modules()} == {type(m) for m in LeNet5().modules()}


def test_load_model_names_the_file_when_weights_do_not_fit(tmp_path):
    path = save_checkpoint(tmp_path / "odd.pt", tiny(), model_name="lenet5")
    with pytest.raises(ValueError, match=r"odd.pt does not match LeNet5: missing keys"):
        load_model(path)

