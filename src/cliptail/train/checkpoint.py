"""Resume state and checkpoint files, written atomically.

Resume state lives in ``<resume_dir>/<resume key>/state.pt``: the workflow keeps ``resume_dir``
outside a rule's declared outputs (Snakemake deletes those before re-running a job), and the key
is a hash of the spec and the training data (:meth:`cliptail.train.TrainSpec.resume_key`), so a
changed configuration never picks up stale state. The state after epoch e holds the model,
optimiser and loss-scaler states, every random generator's state, the ``train.jsonl`` lines so
far and the wall time spent; it is written after every epoch (temporary file, fsync, rename) and
removed once the run's outputs are written.
"""

from __future__ import annotations

import random
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import torch

from cliptail import io

STATE_FILE = "state.pt"


def save_atomic(obj: Any, path: str | Path) -> None:
    """``torch.save`` through a temporary file in the same directory, fsynced, then renamed."""
    with io.atomic_path(path) as tmp:
        torch.save(obj, tmp)


def state_path(resume_dir: str | Path | None, key: str) -> Path | None:
    return Path(resume_dir) / key / STATE_FILE if resume_dir is not None else None


def load_state(path: Path | None) -> dict[str, Any] | None:
    """The saved resume state at ``path``, or ``None`` when there is none."""
    if path is None or not path.exists():
        return None
    return torch.load(path, map_location="cpu", weights_only=False)


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
