"""Where and how cnnlessons.checkpoint writes and reads: the temporary file beside the
target, nothing left behind on success, error, Ctrl-C or SIGTERM, the usual file mode,
the format's fields, and the arguments handed to torch.load and build_model.

(The round trips and error messages are in test_training.py.)
"""
import os
import pickle
import random
import re
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

import cnnlessons.checkpoint as checkpoint_module
from cnnlessons.checkpoint import (
    FORMAT,
    VERSION,
    _first,
    _first_sentence,
    _unreadable,
    check_target,
    load_checkpoint,
    load_model,
    save_checkpoint,
)
from cnnlessons.models import CifarNet, LeNet5


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


@pytest.fixture
def system_temp(tmp_path, monkeypatch):
    """The folder tempfile hands out by default, watched: a save must not use it."""
    folder = tmp_path / "system-temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.mark.parametrize("outcome", ["success", "error"])
def test_temporary_file_is_beside_the_target_not_in_the_system_temp(tmp_path, monkeypatch,
                                                                     system_temp, outcome):
    # A temporary file in the system temp folder passes every other test, but the atomic
    # rename then fails when the target is on another file system (a tmpfs, a mount).
    seen = []
    real_save = torch.save

    target = tmp_path / "runs" / "net.pt"

    def spying_save(obj, file):
        seen.append((listing(target.parent), listing(system_temp)))
        real_save(obj, file)
        if outcome == "error":
            raise OSError("disk full")

    monkeypatch.setattr(torch, "save", spying_save)
    if outcome == "error":
        with pytest.raises(OSError, match="disk full"):
            save_checkpoint(target, tiny())
    else:
        save_checkpoint(target, tiny())
    [(beside, elsewhere)] = seen  # while writing: one file beside the target, none elsewhere
    assert len(beside) == 1 and beside[0].startswith(".net.pt.") and elsewhere == []
    assert listing(system_temp) == []
    assert listing(target.parent) == (["net.pt"] if outcome == "success" else [])


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


def test_failed_rename_removes_temporary(tmp_path, monkeypatch):
    def failing_replace(source, target):
        raise OSError("cross-device link")

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="cross-device link"):
        save_checkpoint(tmp_path / "net.pt", tiny())
    assert listing(tmp_path) == []


# --- where a checkpoint can go: checked before anything is written ------------------------

def test_check_target_accepts_new_and_existing_files_and_creates_nothing(tmp_path):
    assert check_target(tmp_path / "a" / "b" / "net.pt") == tmp_path / "a" / "b" / "net.pt"
    save_checkpoint(tmp_path / "old.pt", tiny())
    assert check_target(str(tmp_path / "old.pt")) == tmp_path / "old.pt"
    assert listing(tmp_path) == ["old.pt"]  # no folder made, nothing written


@pytest.mark.parametrize("make, error, message", [
    (lambda d: "", ValueError, "the checkpoint path is empty"),
    (lambda d: str(d), IsADirectoryError, "is a directory, not a file"),
    (lambda d: f"{d}/new/", IsADirectoryError, "new/ is a directory, not a file"),
    (lambda d: d / "file.txt" / "net.pt", NotADirectoryError,
     "file.txt is a file, not a directory"),
    (lambda d: d / "file.txt" / "x" / "net.pt", NotADirectoryError, "file.txt is a file"),
])
def test_check_target_refuses_what_cannot_be_written(tmp_path, make, error, message):
    (tmp_path / "file.txt").write_text("a file")
    with pytest.raises(error, match=message):
        check_target(make(tmp_path))
    with pytest.raises(error, match=message):  # save_checkpoint checks the same way
        save_checkpoint(make(tmp_path), tiny())
    assert listing(tmp_path) == ["file.txt"]


def test_check_target_refuses_a_read_only_folder(tmp_path, monkeypatch):
    # The tests may run as root, who may write anywhere: os.access decides, so fake it.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: (Path(path) != tmp_path / "ro"
                                                          and real_access(path, mode)))
    (tmp_path / "ro").mkdir()
    with pytest.raises(PermissionError, match=r"ro is not writable"):
        check_target(tmp_path / "ro" / "sub" / "net.pt")


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_check_target_refuses_a_really_read_only_folder(tmp_path):
    (tmp_path / "ro").mkdir(mode=0o555)
    with pytest.raises(PermissionError, match="not writable"):
        check_target(tmp_path / "ro" / "net.pt")


def test_sigterm_is_held_while_the_temporary_file_is_created():
    # In the held block a SIGTERM only marks itself; it raises once the block is over.
    # (The guard's handler is installed by hand: _sigterm_unwinds would end pytest.)
    guard = checkpoint_module._SigtermGuard()
    previous = signal.signal(signal.SIGTERM, guard.handler)
    reached = []
    try:
        with pytest.raises(checkpoint_module._Terminated):
            with guard.held():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)  # the handler has run by now, and not raised
                reached.append("end of block")
            reached.append("after the block")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert reached == ["end of block"] and guard.received


SAVER = """
import os, sys, time
import torch
from torch import nn
from cnnlessons.checkpoint import save_checkpoint

path = sys.argv[1]
if sys.argv[2] == "signal-in-mkstemp":
    # SIGTERM arrives the instant the temporary file exists, before its name is returned.
    import signal, tempfile
    real_mkstemp = tempfile.mkstemp

    def mkstemp_then_signal(**kwargs):
        handle, name = real_mkstemp(**kwargs)
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.1)
        return handle, name
    tempfile.mkstemp = mkstemp_then_signal
    model = nn.Sequential(nn.Linear(3, 2))
    print("saving", flush=True)
elif sys.argv[2] == "slow-disk":
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
    # The saver's system temp folder is watched too: nothing may be left there either.
    system_temp = tmp_path / "system-temp"
    system_temp.mkdir()
    with subprocess.Popen([sys.executable, "-c", textwrap.dedent(SAVER), str(target), mode],
                          stdout=subprocess.PIPE, text=True,
                          env=dict(os.environ, TMPDIR=str(system_temp))) as process:
        try:
            assert process.stdout.readline().strip() in ("syncing", "saving")
            if mode == "signal-in-mkstemp":  # the saver signals itself
                status = process.wait(timeout=60)
                assert listing(system_temp) == []
                return target, before, status
            if mode == "big":  # SIGTERM once the temporary file exists, mid-save
                deadline = time.monotonic() + 30
                while len(listing(target.parent)) < 2 and process.poll() is None:
                    assert time.monotonic() < deadline
                    time.sleep(0.001)
            process.send_signal(signal.SIGTERM)
            status = process.wait(timeout=60)
        finally:
            process.kill()
    assert listing(system_temp) == []
    return target, before, status


def test_sigterm_during_save_removes_temporary_and_still_terminates(tmp_path):
    target, before, status = run_saver_and_terminate(tmp_path, "slow-disk")
    assert status == -signal.SIGTERM  # ended as killed, not as a normal exit
    assert listing(target.parent) == ["net.pt"] and target.read_bytes() == before


def test_sigterm_right_after_the_temporary_file_is_made_leaves_none(tmp_path):
    target, before, status = run_saver_and_terminate(tmp_path, "signal-in-mkstemp")
    assert status == -signal.SIGTERM
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



# --- files that are not checkpoints: one readable line each --------------------------------

def _write(path, content):
    if callable(content):
        content(path)
    else:
        path.write_bytes(content)
    return path


def _truncated(path):
    save_checkpoint(path, tiny())
    path.write_bytes(path.read_bytes()[:300])


def _pickle(path):
    path.write_bytes(pickle.dumps([1, 2, 3]))


def _dict(**fields):
    def write(path):
        torch.save(fields, path)
    return write


GOOD = dict(format=FORMAT, version=VERSION, model_state={}, optimizer_state=None, meta={})


@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b"epoch 1: loss 0.3\n", "it is a text file (it starts 'epoch 1: loss 0.3\\n'), not a "
                              "file written by torch.save"),
    (bytes(range(7, 255)), "not a file written by torch.save (it starts with the bytes "
                           "07 08 09 0a, not 'PK', the start of the zip archive torch.save "
                           "writes)"),
    (_pickle, "a plain pickle, not a file written by torch.save"),
    (_truncated, "a damaged or truncated torch.save file"),
    (_dict(**GOOD, hook=random.Random(0)),
     "it holds Python objects that safe loading (weights_only=True) refuses to run"),
    (_dict(a=1), f"no {FORMAT!r} format marker (was it written by save_checkpoint?)"),
    (_dict(**GOOD | dict(version=2)), "format version 2, but this cnnlessons reads version 1 "
                                      "(it was written by a newer cnnlessons)"),
    (_dict(**GOOD | dict(version="1")), "format version '1', but this cnnlessons reads "
                                        "version 1"),
    (_dict(**{k: v for k, v in GOOD.items() if k != "meta"}), "no 'meta' field"),
    (_dict(**GOOD | dict(meta=["lenet5"])), "'meta' is a list, not a dict"),
    (_dict(**GOOD | dict(model_state=[1])), "'model_state' is a list, not a dict"),
    (_dict(**GOOD | dict(model_state={"w": 1})), "'model_state' holds non-tensors at ['w']"),
    (_dict(**GOOD | dict(optimizer_state=3)), "'optimizer_state' is a int, not a dict or None"),
])
def test_unreadable_file_gives_a_one_line_reason(tmp_path, content, reason):
    path = _write(tmp_path / "bad.pt", content)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    message = str(info.value)
    prefix = f"{path} is not a valid checkpoint: "
    assert message.startswith(prefix) and "\n" not in message and len(message) < 400
    said = message.removeprefix(prefix)
    if reason in TORCH_SAYS_WHY:
        # The rest is the first sentence of torch's own message (its wording varies
        # between torch versions), in parentheses, without its full stop.
        assert re.fullmatch(re.escape(reason) + r" \([^()\n]*[^.()]\)", said), said
        assert "Weights only load failed" not in said  # the line after it, not the banner
    else:
        assert said == reason  # exactly: nothing added, nothing cut


#: The reasons above that end with a sentence of torch's, in parentheses.
TORCH_SAYS_WHY = ("a damaged or truncated torch.save file",
                  "it holds Python objects that safe loading (weights_only=True) refuses to run")


@pytest.mark.parametrize("content, reason", [
    # Text for its first 512 bytes is a text file, whatever follows.
    (b"x" * 600 + bytes(range(256)), "it is a text file (it starts " + repr("x" * 30)
     + "), not a file written by torch.save"),
    (b"line one\tTAB\r\nline two\n" * 3,
     "it is a text file (it starts 'line one\\tTAB\\r\\nline two\\nline on'), not a file "
     "written by torch.save"),  # tabs and line ends are text; 30 characters are shown
    # A text start is not enough, and a byte that is not UTF-8 is not text.
    (b"abc" + bytes(range(40)), "not a file written by torch.save (it starts with the bytes "
                                "61 62 63 00, not 'PK', the start of the zip archive "
                                "torch.save writes)"),
    (b"hello \xff world, and more words here", "not a file written by torch.save (it starts "
                                                "with the bytes 68 65 6c 6c, not 'PK', the "
                                                "start of the zip archive torch.save writes)"),
    (_dict(**GOOD | dict(version=0)), "format version 0, but this cnnlessons reads version 1"),
])
def test_text_binary_and_version_reasons_are_exact(tmp_path, content, reason):
    path = _write(tmp_path / "bad.pt", content)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path)
    assert str(info.value) == f"{path} is not a valid checkpoint: {reason}"


def test_a_reason_without_torchs_sentence_has_no_empty_parentheses(tmp_path):
    # torch's messages have so far always had a first sentence; if one has none, the
    # reason names the exception instead, and never shows "()".
    path = _write(tmp_path / "zip.pt", b"PK\x03\x04" + bytes(100))
    assert _unreadable(path, RuntimeError("")) == (
        "a damaged or truncated torch.save file (RuntimeError)")
    assert _unreadable(path, RuntimeError("Weights only load failed")) == (
        "it holds Python objects that safe loading (weights_only=True) refuses to run")


@pytest.mark.parametrize("message, sentence", [
    ("Failed to read. Try again.\nTraceback follows", "Failed to read"),
    ("Version X.", "Version X"),
    ("  .hidden file missing.  ", ".hidden file missing"),
    ("no full stop", "no full stop"),
    ("   \n  ", ""),
])
def test_first_sentence_of_torchs_message(message, sentence):
    assert _first_sentence(message) == sentence


@pytest.mark.parametrize("items, shown", [
    (list("abcd"), "['a', 'b', 'c', 'd']"),
    (list("abcdef"), "['a', 'b', 'c', 'd'] and 2 more"),
    ([], "[]"),
])
def test_long_lists_are_cut_to_four_and_a_count(items, shown):
    assert _first(items) == shown


def test_directory_is_a_directory_not_missing(tmp_path):
    with pytest.raises(IsADirectoryError, match="is a directory, not a file"):
        load_checkpoint(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "nothing.pt")


@pytest.mark.parametrize("meta, message", [
    (dict(model_name="resnet"), "records model_name='resnet', which is not a model of "
                                "cnnlessons (cifarnet, lenet5"),
    (dict(model_name=["lenet5"]), "records model_name=['lenet5'], which is not a model"),
    (dict(model_name="lenet5", backend="jax"), "records backend='jax'; expected one of torch, "
                                               "scratch"),
    (dict(model_name="lenet5", model_kwargs=[4]), "records model_kwargs=[4], not a dict"),
    (dict(model_name="lenet5", model_kwargs={"depth": 3}),
     "records model_kwargs={'depth': 3}, which lenet5 does not accept: "),
    (dict(model_name="lenet5", model_kwargs={"num_classes": 0}),
     "records model_kwargs={'num_classes': 0}, which lenet5 does not accept: "),
])
def test_load_model_refuses_bad_metadata(tmp_path, meta, message):
    path = save_checkpoint(tmp_path / "net.pt", LeNet5(), **meta)
    with pytest.raises(ValueError) as info:
        load_model(path)
    assert message in str(info.value) and "\n" not in str(info.value)


def test_load_model_of_another_architecture_lists_a_few_differences(tmp_path):
    # CifarNet's weights labelled lenet5: every key differs, four of each kind are shown.
    path = save_checkpoint(tmp_path / "net.pt", CifarNet(), model_name="lenet5")
    with pytest.raises(ValueError) as info:
        load_model(path)
    message = str(info.value)
    missing = sorted(LeNet5().state_dict().keys() - CifarNet().state_dict().keys())
    unexpected = sorted(CifarNet().state_dict().keys() - LeNet5().state_dict().keys())
    assert message.startswith(f"{path} does not match LeNet5: missing keys {missing[:4]} and "
                              f"{len(missing) - 4} more; unexpected keys {unexpected[:4]} and "
                              f"{len(unexpected) - 4} more")
    assert "\n" not in message and len(message) < 700


def test_load_model_with_another_class_count_names_the_layer(tmp_path):
    # Trained with 4 classes, but model_kwargs was not recorded: the last layer differs.
    path = save_checkpoint(tmp_path / "net.pt", LeNet5(num_classes=4), model_name="lenet5")
    with pytest.raises(ValueError, match=r"shape mismatches \[.*checkpoint \(4, 84\) != model "
                                         r"\(10, 84\)"):
        load_model(path)
