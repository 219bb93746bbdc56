"""Saving and restoring a trained model, safely.

A checkpoint is a dict written with ``torch.save``::

    {"format": "cnnlessons-checkpoint", "version": 1,
     "model_state": model.state_dict(),
     "optimizer_state": optimizer.state_dict() or None,
     "meta": {...}}   # e.g. model_name="lenet5", backend="scratch", model_kwargs={...}

``save_checkpoint`` writes a temporary file next to the target and renames it over the
target (``os.replace`` is atomic), so an interrupted save never leaves half a file
behind: not on an exception, not on Ctrl-C, not on ``SIGTERM``. ``load_checkpoint``
reads with ``torch.load(weights_only=True)``, which refuses to run arbitrary pickled code
from a file someone sent you.
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlessons.devices import model_device
from cnnlessons.models import build_model

FORMAT = "cnnlessons-checkpoint"
VERSION = 1


def save_checkpoint(path: str | os.PathLike, model: nn.Module,
                    optimizer: torch.optim.Optimizer | None = None, **meta: Any) -> Path:
    """Atomically write ``model`` (and ``optimizer``) weights plus metadata to ``path``.

    Args:
        path: target file; missing parent folders are created.
        model: its ``state_dict()`` is saved.
        optimizer: its ``state_dict()`` too (momentum buffers...) to resume training.
        **meta: anything needed to rebuild and describe the run, made of plain Python
            values and tensors (what ``weights_only`` loading accepts). By convention
            ``model_name`` (a ``cnnlessons.models.MODELS`` name), ``backend`` and
            ``model_kwargs`` (a dict) let ``load_model`` rebuild the model.

    Returns:
        ``path`` as a ``Path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint = {
        "format": FORMAT,
        "version": VERSION,
        "model_state": model.state_dict(),
        "optimizer_state": optimizer.state_dict() if optimizer is not None else None,
        "meta": meta,
    }
    # The temporary file must be in the same folder: os.replace is only atomic within
    # one file system.
    with _sigterm_unwinds():
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                                             suffix=".tmp")
        try:
            # mkstemp makes the file private (0o600); a checkpoint is an ordinary file.
            os.fchmod(handle, 0o666 & ~_umask())
            with os.fdopen(handle, "wb") as file:
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    return path


class _Terminated(BaseException):
    """SIGTERM arrived during a save (a BaseException, like KeyboardInterrupt)."""


@contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    # SIGTERM's default action ends the process at once, skipping the save's cleanup and
    # leaving the temporary file behind. For the length of the save it raises instead;
    # once the cleanup has run, the signal is sent again to the default action, so the
    # process still ends as killed. A handler of the program's own is left in charge.
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield
        return
    received = False

    def handler(signum, frame):
        nonlocal received
        received = True
        raise _Terminated

    signal.signal(signal.SIGTERM, handler)
    try:
        yield
    except _Terminated:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if received:
            os.kill(os.getpid(), signal.SIGTERM)


def _umask() -> int:
    # The only way to read the umask is to set it: put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _check_matches(path: Path, model: nn.Module, state: dict) -> None:
    # load_state_dict would also refuse, but with a wall of text; list what differs.
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    shapes = [f"{key}: checkpoint {tuple(state[key].shape)} != model "
              f"{tuple(expected[key].shape)}"
              for key in expected if key in state and state[key].shape != expected[key].shape]
    problems = [f"{label} {items}" for label, items in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches", shapes)) if items]
    if problems:
        raise ValueError(f"{path} does not match {type(model).__name__}: "
                         + "; ".join(problems))


def load_checkpoint(path: str | os.PathLike, model: nn.Module | None = None,
                    optimizer: torch.optim.Optimizer | None = None,
                    map_location: Any = None) -> dict[str, Any]:
    """Read a checkpoint written by ``save_checkpoint``, loading it into ``model``.

    Args:
        path: the checkpoint file.
        model: if given, receives the saved weights (strictly: every key, every shape).
        optimizer: if given, receives the saved optimiser state.
        map_location: as in ``torch.load``; when None and ``model`` is given, the
            device of ``model``'s parameters, so a GPU checkpoint loads on a CPU model.

    Returns:
        The checkpoint dict (``"model_state"``, ``"optimizer_state"``, ``"meta"``...).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is not a valid checkpoint ("... is not a valid
            checkpoint: ..."), it does not fit ``model`` (missing/unexpected keys and
            shape mismatches listed), or ``optimizer`` is given but no optimiser state
            was saved.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if map_location is None and model is not None:
        map_location = model_device(model)
    try:
        checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load raises many types for a damaged file
        raise ValueError(f"{path} is not a valid checkpoint: {error}") from error
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ValueError(f"{path} is not a valid checkpoint: no {FORMAT!r} format "
                         f"marker (was it written by save_checkpoint?)")
    if model is not None:
        _check_matches(path, model, checkpoint["model_state"])
        model.load_state_dict(checkpoint["model_state"])
    if optimizer is not None:
        if checkpoint["optimizer_state"] is None:
            raise ValueError(f"{path} holds no optimizer state (saved with optimizer=None)")
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    return checkpoint


def load_model(path: str | os.PathLike, map_location: Any = None):
    """Rebuild the model a checkpoint was trained as, with its weights.

    Needs the ``model_name``, ``backend`` and optionally ``model_kwargs`` metadata
    (``save_checkpoint(path, model, model_name="lenet5", backend="torch")``).

    Returns:
        ``(model, checkpoint)``: the model in eval mode and the checkpoint dict.
    """
    checkpoint = load_checkpoint(path, map_location=map_location)
    meta = checkpoint["meta"]
    if "model_name" not in meta:
        raise ValueError(f"{path} does not record model_name, so the model cannot be "
                         f"rebuilt; build it yourself and call load_checkpoint(path, model)")
    model = build_model(meta["model_name"], backend=meta.get("backend", "torch"),
                        **meta.get("model_kwargs", {}))
    _check_matches(Path(path), model, checkpoint["model_state"])
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), checkpoint
