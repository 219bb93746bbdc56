"""python -m cnnlessons: help, one-line errors, summary, and a tiny train -> evaluate.

Most tests call ``main(argv)`` in-process (no second torch import); one runs the real
``python -m cnnlessons`` to check the exit status and that no traceback escapes.
Training uses synthetic digits in place of MNIST (``mnist_tensors`` monkeypatched); the
``data`` command's downloads are tested in test_fetch.py.
"""
import os
import re
import subprocess
import sys

import pytest
from mnist_mirror import closed_port_url

import cnnlessons.__main__ as cli
import cnnlessons.data as data_module
from cnnlessons.checkpoint import load_checkpoint, save_checkpoint
from cnnlessons.data import MIRROR_VARIABLE, synthetic_digits
from cnnlessons.models import build_model

TRAIN_OPTIONS = ["--model", "--backend", "--epochs", "--batch-size", "--lr", "--weight-decay",
                 "--seed", "--device", "--out", "--data", "--no-progress"]


def run(argv, capsys):
    """``main(argv)``'s exit status and captured (stdout, stderr)."""
    try:
        status = cli.main(argv)
    except SystemExit as exit_:
        status = exit_.code
    out, err = capsys.readouterr()
    return status, out, err


@pytest.mark.parametrize("argv, options", [
    (["--help"], ["train", "evaluate", "summary", "data"]),
    (["train", "--help"], TRAIN_OPTIONS),
    (["evaluate", "--help"], ["CHECKPOINT", "--batch-size", "--device", "--data"]),
    (["summary", "--help"], ["MODEL", "--backend", "lenet5", "cifarnet"]),
    (["data", "--help"], ["--root", "--mirror", MIRROR_VARIABLE]),
])
def test_help_lists_every_option(argv, options, capsys):
    status, out, _ = run(argv, capsys)
    assert status == 0
    for option in options:
        assert option in out


def test_train_help_documents_every_option_of_the_parser(capsys):
    # Every option the parser knows appears in the help with a description.
    train = cli.build_parser().parse_args(["train"]).parser  # the subcommand's parser
    _, out, _ = run(["train", "--help"], capsys)
    for action in train._actions:
        assert action.help, f"{action.option_strings} has no help"
        for option in action.option_strings:
            assert option in out


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "resnet"], "argument --model: invalid choice: 'resnet'"),
    (["train", "--model", "cifarnet"], "argument --model: invalid choice: 'cifarnet'"),
    (["train", "--epochs", "0"], "argument --epochs: 0 must be at least 1"),
    (["train", "--epochs", "-2"], "argument --epochs: -2 must be at least 1"),
    (["train", "--batch-size", "many"], "argument --batch-size: 'many' is not an integer"),
    (["train", "--lr", "0"], "argument --lr: 0.0 must be positive"),
    (["train", "--weight-decay", "-1"], "argument --weight-decay: -1.0 must be non-negative"),
    (["train", "--device", "abacus"], "argument --device: "),
    (["train", "--lr", "inf"], "argument --lr: 'inf' is not a finite number"),
    (["train", "--lr", "nan"], "argument --lr: 'nan' is not a finite number"),
    (["train", "--lr", "1e999"], "argument --lr: '1e999' is not a finite number"),
    (["train", "--weight-decay", "inf"], "argument --weight-decay: 'inf' is not a finite"),
    (["train", "--weight-decay", "nan"], "argument --weight-decay: 'nan' is not a finite"),
    (["train", "--seed", "-1"], "argument --seed: -1 must be between 0 and 4294967295"),
    (["train", "--seed", str(2**32)], "argument --seed: 4294967296 must be between 0 and"),
    (["train", "--seed", "1.5"], "argument --seed: '1.5' is not an integer"),
    (["train", "--device", "meta"], "argument --device: 'meta' holds no data"),
    (["train", "--device", "mps"], "argument --device: 'mps' is not available here: "),
    (["evaluate", "x.pt", "--device", "xpu"], "argument --device: 'xpu' is not available here"),
    (["train", "--unknown"], "unrecognized arguments: --unknown"),
    (["summary", "lenet6"], "argument MODEL: invalid choice: 'lenet6'"),
    (["evaluate", "missing.pt"], "checkpoint missing.pt does not exist"),
    ([], "the following arguments are required: COMMAND"),
])
def test_bad_options_give_one_line_error(argv, message, capsys):
    status, out, err = run(argv, capsys)
    assert status == 2 and out == ""
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and message in errors[0]
    assert "Traceback" not in err


@pytest.mark.parametrize("command, missing", [
    (["train", "--no-progress"], "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k"),
    (["evaluate", "CHECKPOINT"], "missing: t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte."),
    (["data"], "train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k"),
])
def test_missing_mnist_files_is_a_one_line_error(command, missing, tmp_path, capsys,
                                                 monkeypatch):
    # Files absent and the mirror unreachable: one line saying what to run.
    monkeypatch.setenv(MIRROR_VARIABLE, closed_port_url())
    if command[0] == "evaluate":  # a valid checkpoint, so the data is what is missing
        command = ["evaluate", str(save_checkpoint(tmp_path / "lenet5.pt", build_model("lenet5"),
                                                   model_name="lenet5", backend="torch",
                                                   model_kwargs={}))]
    option = "--root" if command[0] == "data" else "--data"
    status, _, err = run([*command, option, str(tmp_path)], capsys)
    assert status == 2
    [error] = [line for line in err.splitlines() if "error:" in line]
    assert missing in error and str(tmp_path / "MNIST" / "raw") in error
    assert "python -m cnnlessons data" in error


def test_device_that_does_not_exist(capsys, monkeypatch):
    # As on a machine with one GPU: cuda:0 exists, cuda:3 does not.
    monkeypatch.setattr(cli.torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(cli.torch.cuda, "device_count", lambda: 1)
    status, _, err = run(["train", "--device", "cuda:3"], capsys)
    [error] = [line for line in err.splitlines() if "error:" in line]
    assert status == 2 and error.endswith(
        "argument --device: 'cuda:3' does not exist: this machine has 1 CUDA device(s)")


@pytest.fixture
def no_data_loading(monkeypatch):
    """Fail the test if the command line gets as far as the data."""
    def refuse(*args, **kwargs):
        raise AssertionError("the data was loaded before --out was checked")

    monkeypatch.setattr(cli, "ensure_mnist", refuse)
    monkeypatch.setattr(cli, "mnist_memory_loaders", refuse)


@pytest.mark.parametrize("make, message", [
    (lambda d: "", "argument --out: the checkpoint path is empty"),
    (lambda d: str(d), "is a directory, not a file; name a file in it, e.g. "),
    (lambda d: f"{d}/runs/", "runs/ is a directory, not a file"),
    (lambda d: str(d / "notes.txt" / "lenet5.pt"), "notes.txt is a file, not a directory"),
    (lambda d: str(d / "read-only" / "lenet5.pt"), "read-only is not writable"),
])
def test_bad_out_is_refused_before_loading_data(make, message, tmp_path, capsys, monkeypatch,
                                                no_data_loading):
    (tmp_path / "notes.txt").write_text("not a folder")
    (tmp_path / "read-only").mkdir()
    # Root may write anywhere, so the read-only folder is made so through os.access.
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: "read-only" not in str(path)
                        and real_access(path, mode))
    status, out, err = run(["train", "--out", make(tmp_path), "--no-progress"], capsys)
    assert status == 2 and out == ""
    [error] = [line for line in err.splitlines() if "error:" in line]
    assert "argument --out: " in error and message in error and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt", "read-only"]


def test_corrupt_checkpoint_is_a_one_line_error(tmp_path, capsys):
    (tmp_path / "bad.pt").write_bytes(b"garbage")
    status, _, err = run(["evaluate", str(tmp_path / "bad.pt")], capsys)
    assert status == 2 and "bad.pt is not a valid checkpoint" in err


def _plain_checkpoint(path, **fields):
    cli.torch.save(fields, path)
    return path


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "is a directory, not a file"),
    (lambda d: _write(d / "x.pt", b""), "x.pt is not a valid checkpoint: the file is empty"),
    (lambda d: _write(d / "x.pt", b"accuracy 0.99\n"), "x.pt is not a valid checkpoint: it is "
                                                       "a text file"),
    (lambda d: _write(d / "x.pt", bytes(range(200, 256)) * 9),
     "x.pt is not a valid checkpoint: not a file written by torch.save"),
    (lambda d: _plain_checkpoint(d / "x.pt", format="cnnlessons-checkpoint", version=7,
                                 model_state={}, meta={}),
     "x.pt is not a valid checkpoint: format version 7, but this cnnlessons reads version 1"),
    (lambda d: _plain_checkpoint(d / "x.pt", format="cnnlessons-checkpoint", version=1,
                                 model_state={}),
     "x.pt is not a valid checkpoint: no 'meta' field"),
    (lambda d: save_checkpoint(d / "x.pt", build_model("lenet5"), backend="torch"),
     "x.pt does not record model_name"),
    (lambda d: save_checkpoint(d / "x.pt", build_model("lenet5"), model_name="lenet5",
                               backend=3),
     "x.pt records backend=3; expected one of torch, scratch"),
    (lambda d: save_checkpoint(d / "x.pt", build_model("cifarnet"), model_name="lenet5"),
     "x.pt does not match LeNet5: missing keys"),
    (lambda d: save_checkpoint(d / "x.pt", build_model("lenet5", num_classes=3),
                               model_name="lenet5"),
     "checkpoint (3, 84) != model (10, 84)"),
])
def test_evaluate_bad_checkpoint_is_a_one_line_error(make, message, tmp_path, capsys,
                                                     no_data_loading):
    status, out, err = run(["evaluate", str(make(tmp_path))], capsys)
    assert status == 2 and out == "" and "Traceback" not in err
    [error] = [line for line in err.splitlines() if "error:" in line]
    assert message in error


def _write(path, content):
    path.write_bytes(content)
    return path


def test_damaged_mnist_file_is_a_one_line_error(tmp_path, capsys, monkeypatch):
    # md5s not checked (ensure_mnist skipped): the reader's own check speaks.
    monkeypatch.setattr(cli, "ensure_mnist", lambda root=None, mirror=None, train=True: None)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    (raw / "t10k-images-idx3-ubyte").write_bytes(b"\0\0\x08\x03" + bytes(12))
    (raw / "t10k-labels-idx1-ubyte").write_bytes(b"\0\0\x08\x01" + bytes(4))
    checkpoint = save_checkpoint(tmp_path / "lenet5.pt", build_model("lenet5"),
                                 model_name="lenet5")
    status, _, err = run(["evaluate", str(checkpoint), "--data", str(tmp_path)], capsys)
    assert status == 2 and "Traceback" not in err
    [error] = [line for line in err.splitlines() if "error:" in line]
    assert f"MNIST file {raw / 't10k-images-idx3-ubyte'} is damaged: images of 0x0 pixels" \
        in error


def test_module_entry_point_exits_2_without_traceback():
    result = subprocess.run([sys.executable, "-m", "cnnlessons", "train", "--epochs", "0"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "python -m cnnlessons train: error: argument --epochs: 0 must be at least 1")
    assert "Traceback" not in result.stderr


def test_summary_prints_the_layer_table(capsys):
    status, out, _ = run(["summary", "lenet5"], capsys)
    assert status == 0
    assert out.startswith("LeNet5, input (1, 1, 28, 28)")
    assert re.search(r"c5\s+Conv2d\s+\(1, 120, 1, 1\)\s+48,120", out)
    assert "Total params: 61,706" in out


@pytest.fixture
def synthetic_mnist(monkeypatch):
    """Replace MNIST by small synthetic digits inside the command line."""
    def fake_mnist_tensors(train=True, root=None):
        return synthetic_digits(n=256 if train else 128, seed=0 if train else 1)

    # The command line builds its loaders with cnnlessons.data's builders, which read
    # through mnist_tensors; with no files to fetch, ensuring them is a no-op.
    monkeypatch.setattr(data_module, "mnist_tensors", fake_mnist_tensors)
    monkeypatch.setattr(cli, "ensure_mnist", lambda root=None, mirror=None, train=True: None)


@pytest.mark.parametrize("backend", ["torch", "scratch"])
def test_train_then_evaluate(backend, synthetic_mnist, tmp_path, capsys):
    out_path = tmp_path / "runs" / "lenet5.pt"
    status, out, _ = run(["train", "--model", "lenet5", "--backend", backend, "--epochs", "2",
                          "--batch-size", "16", "--lr", "0.1", "--seed", "0",
                          "--device", "auto", "--out", str(out_path), "--no-progress"],
                         capsys)
    assert status == 0
    assert "epoch  1/2" in out and "epoch  2/2" in out
    assert f"checkpoint written to {out_path}" in out
    checkpoint = load_checkpoint(out_path)
    meta = checkpoint["meta"]
    assert meta["model_name"] == "lenet5" and meta["backend"] == backend
    assert meta["epochs"] == 2 and meta["seed"] == 0 and len(meta["history"]["test_acc"]) == 2
    assert checkpoint["optimizer_state"] is not None

    status, out, _ = run(["evaluate", str(out_path)], capsys)
    assert status == 0
    accuracy = float(re.search(r"accuracy (\d+\.\d+)%", out).group(1))
    assert accuracy == pytest.approx(100 * meta["history"]["test_acc"][-1], abs=0.006)
    assert accuracy > 50  # learned something in 32 steps (chance: 10%)
    assert f"lenet5 ({backend} backend), 128 test images" in out
