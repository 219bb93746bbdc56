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
from a file someone sent you. ``check_target`` tells before a long training run whether
its checkpoint can be written at all; a file that cannot be read back gets a reason in
plain words (empty, text, not a ``torch.save`` file, damaged, newer format...).
"""
from __future__ import annotations

import os
import signal
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnlessons import BACKENDS
from cnnlessons.devices import model_device
from cnnlessons.models import MODELS, build_model

FORMAT = "cnnlessons-checkpoint"
VERSION = 1


def check_target(path: str | os.PathLike) -> Path:
    """Check that a checkpoint can be written at ``path``, without writing anything.

    ``save_checkpoint`` runs this first; a training script runs it before training, so
    that a bad path is reported at once and not after the model has been trained.

    Args:
        path: the file to write; missing parent folders are allowed (they get created).

    Returns:
        ``path`` as a ``Path``.

    Raises:
        ValueError: ``path`` is empty.
        IsADirectoryError: ``path`` is a folder, or ends with ``/`` as a folder does.
        NotADirectoryError: one of its parents is a file.
        PermissionError: the folder it would go in is not writable.
    """
    text = os.fspath(path)
    if not text:
        raise ValueError("the checkpoint path is empty; name a file, e.g. runs/model.pt")
    if text.endswith(("/", os.sep)) or Path(text).is_dir():
        raise IsADirectoryError(f"{text} is a directory, not a file; name a file in it, "
                                f"e.g. {Path(text) / 'model.pt'}")
    path = Path(text)
    folder = path.parent
    while not folder.exists() and not folder.is_symlink():
        folder = folder.parent  # the folders that would be created start here
    if not folder.is_dir():
        raise NotADirectoryError(f"cannot write {path}: {folder} is a file, not a directory")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {path}: the directory {folder} is not writable")
    return path


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

    Raises:
        ValueError, OSError: ``path`` cannot be written (see ``check_target``).
    """
    path = check_target(path)
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
    with _sigterm_unwinds() as sigterm:
        temporary = None
        try:
            # SIGTERM is held while the file is created and its name stored: a signal
            # in between would leave a file that nothing knows to remove.
            with sigterm.held():
                handle, temporary = tempfile.mkstemp(dir=path.parent,
                                                     prefix=f".{path.name}.", suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                # mkstemp makes the file private (0o600); a checkpoint is an ordinary file.
                os.fchmod(file.fileno(), 0o666 & ~_umask())
                torch.save(checkpoint, file)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            if temporary is not None:
                # missing_ok: the signal may land just after the rename.
                Path(temporary).unlink(missing_ok=True)
            raise
    return path


class _Terminated(BaseException):
    """SIGTERM arrived during a save (a BaseException, like KeyboardInterrupt)."""


class _SigtermGuard:
    """Turns SIGTERM into ``_Terminated`` for the length of a save (see below)."""

    def __init__(self) -> None:
        self.received = False
        self.holding = False

    def handler(self, signum, frame) -> None:
        if self.received:  # a second SIGTERM must not interrupt the cleanup
            return
        self.received = True
        if not self.holding:
            raise _Terminated

    @contextmanager
    def held(self) -> Iterator[None]:
        """A SIGTERM arriving in the block raises when the block ends, not inside it."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False
        if self.received:
            raise _Terminated


@contextmanager
def _sigterm_unwinds() -> Iterator[_SigtermGuard]:
    # SIGTERM's default action ends the process at once, skipping the save's cleanup and
    # leaving the temporary file behind. For the length of the save it raises instead;
    # once the cleanup has run, the signal is sent again to the default action, so the
    # process still ends as killed. A handler of the program's own is left in charge
    # (and then the guard does nothing).
    guard = _SigtermGuard()
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL):
        yield guard
        return
    signal.signal(signal.SIGTERM, guard.handler)
    try:
        yield guard
    except _Terminated:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        if guard.received:
            os.kill(os.getpid(), signal.SIGTERM)


def _umask() -> int:
    # The only way to read the umask is to set it: put it straight back.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _first(items: list[str], shown: int = 4) -> str:
    # Another architecture differs in every key: a few of them say enough.
    more = f" and {len(items) - shown} more" if len(items) > shown else ""
    return f"{items[:shown]}{more}"


def _check_matches(path: Path, model: nn.Module, state: dict) -> None:
    # load_state_dict would also refuse, but with a wall of text; list what differs.
    expected = model.state_dict()
    missing = sorted(expected.keys() - state.keys())
    unexpected = sorted(state.keys() - expected.keys())
    shapes = [f"{key}: checkpoint {tuple(state[key].shape)} != model "
              f"{tuple(expected[key].shape)}"
              for key in expected if key in state and state[key].shape != expected[key].shape]
    problems = [f"{label} {_first(items)}" for label, items in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches", shapes)) if items]
    if problems:
        raise ValueError(f"{path} does not match {type(model).__name__}: "
                         + "; ".join(problems))


def _unreadable(path: Path, error: Exception) -> str:
    """Why ``torch.load`` failed on ``path``, in one line of words.

    torch's own messages are long or cryptic (``KeyError: '101'`` for a text file, an
    empty ``EOFError`` for an empty one); only their first sentence is kept.
    """
    with path.open("rb") as file:
        head = file.read(512)
    if not head:
        return "the file is empty"
    message = str(error)
    if "Weights only load failed" in message:
        # torch's message spans many lines; the line after "WeightsUnpickler error:"
        # names what was refused.
        detail = _first_sentence(message.partition("WeightsUnpickler error:")[2])
        what = f" ({detail})" if detail else ""
        if head.startswith(b"PK"):
            return ("it holds Python objects that safe loading (weights_only=True) refuses "
                    f"to run{what}")
        # A stray file: random bytes start an unpickling that fails at once.
    # Text: UTF-8 of printable characters (the last few bytes may cut a character).
    text = head.decode("utf-8", errors="replace")
    if all(c.isprintable() and c != "\ufffd" or c in "\n\r\t" for c in text[:-3]):
        return f"it is a text file (it starts {text[:30]!r}), not a file written by torch.save"
    if head.startswith(b"PK"):
        first = _first_sentence(message) or type(error).__name__
        return f"a damaged or truncated torch.save file ({first})"
    if head.startswith(b"\x80"):
        return "a plain pickle, not a file written by torch.save"
    return (f"not a file written by torch.save (it starts with the bytes {head[:4].hex(' ')}, "
            "not 'PK', the start of the zip archive torch.save writes)")


def _first_sentence(message: str) -> str:
    lines = message.strip().splitlines()
    return lines[0].split(". ")[0].rstrip(".") if lines else ""


def _check_fields(path: Path, checkpoint: Any) -> None:
    """The format marker, the version and the fields of a loaded checkpoint dict."""
    invalid = f"{path} is not a valid checkpoint:"
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != FORMAT:
        raise ValueError(f"{invalid} no {FORMAT!r} format marker (was it written by "
                         f"save_checkpoint?)")
    version = checkpoint.get("version")
    if version != VERSION:
        newer = isinstance(version, int) and version > VERSION
        raise ValueError(f"{invalid} format version {version!r}, but this cnnlessons reads "
                         f"version {VERSION}" + (" (it was written by a newer cnnlessons)"
                                                 if newer else ""))
    for field, kind in (("model_state", dict), ("meta", dict)):
        if field not in checkpoint:
            raise ValueError(f"{invalid} no {field!r} field")
        if not isinstance(checkpoint[field], kind):
            raise ValueError(f"{invalid} {field!r} is a {type(checkpoint[field]).__name__}, "
                             f"not a dict")
    odd = [key for key, value in checkpoint["model_state"].items()
           if not isinstance(value, torch.Tensor)]
    if odd:
        raise ValueError(f"{invalid} 'model_state' holds non-tensors at {_first(odd)}")
    if not isinstance(checkpoint.get("optimizer_state"), (dict, type(None))):
        raise ValueError(f"{invalid} 'optimizer_state' is a "
                         f"{type(checkpoint['optimizer_state']).__name__}, not a dict or None")


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
        IsADirectoryError: ``path`` is a directory.
        ValueError: the file is not a valid checkpoint ("... is not a valid
            checkpoint: " and the reason: empty, a text file, not a ``torch.save``
            file, damaged, objects that safe loading refuses, no format marker, an
            unknown format version, missing or malformed fields), it does not fit
            ``model`` (missing/unexpected keys and shape mismatches listed), or
            ``optimizer`` is given but no optimiser state was saved.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"checkpoint {path} is a directory, not a file")
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    if map_location is None and model is not None:
        map_location = model_device(model)
    try:
        with warnings.catch_warnings():  # e.g. about the pickle protocol of a foreign file
            warnings.simplefilter("ignore")
            checkpoint = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # torch.load raises many types for a damaged file
        raise ValueError(f"{path} is not a valid checkpoint: {_unreadable(path, error)}"
                         ) from error
    _check_fields(path, checkpoint)
    if model is not None:
        _check_matches(path, model, checkpoint["model_state"])
        model.load_state_dict(checkpoint["model_state"])
    if optimizer is not None:
        if checkpoint.get("optimizer_state") is None:
            raise ValueError(f"{path} holds no optimizer state (saved with optimizer=None)")
        optimizer.load_state_dict(checkpoint["optimizer_state"])
    return checkpoint


def load_model(path: str | os.PathLike, map_location: Any = None):
    """Rebuild the model a checkpoint was trained as, with its weights.

    Needs the ``model_name``, ``backend`` and optionally ``model_kwargs`` metadata
    (``save_checkpoint(path, model, model_name="lenet5", backend="torch")``).

    Returns:
        ``(model, checkpoint)``: the model in eval mode and the checkpoint dict.

    Raises:
        FileNotFoundError, IsADirectoryError, ValueError: as ``load_checkpoint``; and
            ValueError for metadata that cannot rebuild a model (no or unknown
            ``model_name``, unknown ``backend``, ``model_kwargs`` not a dict or not
            accepted by the model) or weights that do not fit the rebuilt model
            (another architecture, another number of classes).
    """
    checkpoint = load_checkpoint(path, map_location=map_location)
    meta = checkpoint["meta"]
    if "model_name" not in meta:
        raise ValueError(f"{path} does not record model_name, so the model cannot be "
                         f"rebuilt; build it yourself and call load_checkpoint(path, model)")
    name, backend = meta["model_name"], meta.get("backend", "torch")
    kwargs = meta.get("model_kwargs", {})
    if not isinstance(name, str) or name not in MODELS:
        raise ValueError(f"{path} records model_name={name!r}, which is not a model of "
                         f"cnnlessons ({', '.join(sorted(MODELS))})")
    if not isinstance(backend, str) or backend not in BACKENDS:
        raise ValueError(f"{path} records backend={backend!r}; expected one of "
                         f"{', '.join(BACKENDS)}")
    if not isinstance(kwargs, dict):
        raise ValueError(f"{path} records model_kwargs={kwargs!r}, not a dict")
    try:
        model = build_model(name, backend=backend, **kwargs)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{path} records model_kwargs={kwargs!r}, which {name} does not "
                         f"accept: {error}") from error
    _check_matches(Path(path), model, checkpoint["model_state"])
    model.load_state_dict(checkpoint["model_state"])
    return model.eval(), checkpoint
