"""Resume state and checkpoint files, written atomically.

Resume state lives in ``<resume_dir>/<resume key>/state.pt``: the workflow keeps ``resume_dir``
outside a rule's declared outputs (Snakemake deletes those before re-running a job), and the key
is a hash of the spec and the training data (:meth:`cliptail.train.TrainSpec.resume_key`), so a
changed configuration never picks up stale state. The state after epoch e holds the model,
optimiser and loss-scaler states, every random generator's state, the ``train.jsonl`` lines so
far and the wall time spent; it is written after every epoch (temporary file, fsync, rename) and
removed once the run's outputs are written. Temporary files that a killed run left behind are
removed when the run starts again (:func:`remove_temporaries`).

The previous epoch's state is kept beside it as ``state.prev.pt`` (moved there just before the
new state is renamed into place), so resume state takes twice the space of one state. When
``state.pt`` cannot be read (truncated, overwritten, not a state: :func:`load_state` checks
that ``torch.load`` succeeds and that every key is there), a WARNING names the file, the file is
moved aside to ``state.pt.unreadable`` and the run resumes from ``state.prev.pt``, one epoch
earlier; when that one is unreadable too (or missing), it is moved aside as well and the run
starts afresh from epoch 0. A run therefore never stays blocked on a damaged state file. Both
states, and anything moved aside, are removed with the resume directory when the run finishes.

Every write goes through a Python file object (``torch.save`` to an open file, not to a path),
so a full disk surfaces as ``OSError(ENOSPC)`` naming the destination ("No space left on
device") rather than as torch's "unexpected pos" from its own writer.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cliptail import io

STATE_FILE = "state.pt"
PREVIOUS_STATE_FILE = "state.prev.pt"
UNREADABLE_SUFFIX = ".unreadable"
STATE_FILES = (STATE_FILE, PREVIOUS_STATE_FILE)

#: What a resume state holds (see :meth:`cliptail.train.loop._Trainer.run`).
STATE_KEYS = (
    "epoch",
    "model",
    "optimizer",
    "scaler",
    "rng",
    "history",
    "wall_time_s",
    "resumed_from",
)

logger = logging.getLogger("cliptail.train")


@contextlib.contextmanager
def naming(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise an ``OSError`` of the block (a temporary file's) as one that names ``path``.

    ``No space left on device``, ``Read-only file system`` and the like keep their errno; the
    file named is the destination a reader knows, not the hidden temporary file beside it.
    """
    try:
        yield
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror or os.strerror(exc.errno), str(path)) from None


def _torch_save(obj: Any, tmp: Path) -> None:
    """``torch.save`` to an open file: a failed write raises its ``OSError``, also where torch's
    writer then fails to finish the archive ("unexpected pos") and raises that instead."""
    with open(tmp, "wb") as fh:
        try:
            torch.save(obj, fh)
        except RuntimeError as exc:
            cause = exc.__context__
            while cause is not None and not isinstance(cause, OSError):
                cause = cause.__context__
            if cause is None or cause.errno is None:
                raise
            raise OSError(cause.errno, cause.strerror or os.strerror(cause.errno)) from None


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` through a temporary file in the same directory, fsynced, then renamed."""
    with naming(path), io.atomic_path(path) as tmp:
        _torch_save(obj, tmp)


def save_state(state: dict[str, Any], path: Path) -> None:
    """Write a resume state to ``path``, keeping the one it replaces as ``state.prev.pt``."""
    path = Path(path)
    previous = path.with_name(PREVIOUS_STATE_FILE)
    with naming(path), io.atomic_path(path) as tmp:
        _torch_save(state, tmp)
        if path.exists():
            os.replace(path, previous)  # the new state is renamed into place right after this


def remove_temporaries(folder: str | Path, names: Iterable[str]) -> list[Path]:
    """Delete the temporary files a killed writer left for ``names`` in ``folder``.

    A process killed while writing (SIGKILL, power loss) cannot remove the hidden temporary file
    of :func:`cliptail.io.atomic_path` (``.<name>.<random>...tmp``); the next run of the same
    job, the only writer of those files, removes them before it writes anything. Returns them.
    """
    folder = Path(folder)
    removed = []
    for name in names:
        for leftover in folder.glob(f".{name}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                leftover.unlink()
                removed.append(leftover)
    return removed


def state_path(resume_dir: str | Path | None, key: str) -> Path | None:
    return Path(resume_dir) / key / STATE_FILE if resume_dir is not None else None


def _read_state(path: Path) -> dict[str, Any]:
    state = torch.load(path, map_location="cpu", weights_only=False)
    if not isinstance(state, dict):
        raise ValueError(f"holds a {type(state).__name__}, not a resume state")
    missing = [k for k in STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"missing {', '.join(missing)}")
    if not isinstance(state["epoch"], int) or state["epoch"] < 1:
        raise ValueError(f"epoch {state['epoch']!r} is not a finished epoch")
    return state


def _move_aside(path: Path) -> str:
    aside = path.with_name(path.name + UNREADABLE_SUFFIX)
    try:
        os.replace(path, aside)
    except OSError as exc:
        return f"could not move it aside ({exc.strerror})"
    return f"moved to {aside}"


def load_state(path: Path | None, *, main: bool = True) -> dict[str, Any] | None:
    """The saved resume state at ``path``, or ``None`` when there is none to resume from.

    An unreadable ``state.pt`` falls back to ``state.prev.pt``, and an unreadable or missing
    one of those to ``None`` (start afresh). ``main``: this process reports each unreadable file
    (a WARNING) and moves it aside to ``<name>.unreadable``; in a distributed run only process 0
    does, the others reach the same state (or none) without touching the files.
    """
    if path is None:
        return None
    path = Path(path)
    previous = path.with_name(PREVIOUS_STATE_FILE)
    for candidate in (path, previous):
        if not candidate.exists():
            continue
        try:
            state = _read_state(candidate)
        except Exception as exc:  # torch.load raises many kinds on a damaged file
            if main:
                text = str(exc).strip()
                logger.warning(
                    "resume state %s is unreadable (%s); %s; %s",
                    candidate,
                    text.splitlines()[0] if text else type(exc).__name__,
                    _move_aside(candidate),
                    f"trying the previous epoch's state {previous}"
                    if candidate is path and previous.exists()
                    else "the run starts afresh from epoch 0",
                )
            continue
        if candidate is previous and main:
            logger.warning(
                "resuming from the previous epoch's state %s (epoch %d)", candidate, state["epoch"]
            )
        return state
    return None


def clear_state(path: Path | None) -> None:
    """Remove a finished run's resume state (its directory, keyed by the spec hash)."""
    if path is not None and path.parent.exists():
        shutil.rmtree(path.parent)


def rng_states() -> dict[str, Any]:
    """The global random generators' states (Python, NumPy, torch CPU and CUDA)."""
    return {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def restore_rng_states(states: dict[str, Any]) -> None:
    random.setstate(states["python"])
    np.random.set_state(states["numpy"])
    torch.set_rng_state(states["torch"])
    if states.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(states["cuda"])
