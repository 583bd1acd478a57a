"""Linear-probe tasks of the synthetic world: the embedded analogue of the 12 transfer datasets.

The paper measures how well a self-supervised backbone transfers by linear probes on 12
downstream datasets (:mod:`cliptail.data.transfer`). The world has no downstream datasets, but
its balanced evaluation images carry several labellings a good representation should make
linearly separable, each a task with its own class space:

- ``concept``: the evaluation concept of a ``val`` image (C-way);
- ``concept_v2``: the same on ``v2``, rendered in a shifted style;
- ``shape``, ``color``, ``pattern``, ``parts``: one attribute of the image's concept (from
  ``concepts.parquet``), as many ways as the evaluation concepts have values.

Each task is a dataset folder (:class:`cliptail.data.dataset_dir.DatasetDir`) over the
evaluation set's images, with a ``split`` column: per evaluation concept, a seeded 60 / 20 / 20 %
share of its images goes to ``train`` / ``val`` / ``test`` (every concept, and so every
attribute value, is in every split). The seed is fixed per task, so the splits never change
with the runs. The folder's ``source.json`` points at the evaluation set's images.
"""

from __future__ import annotations

import os
import zlib
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from cliptail import io
from cliptail.data import manifest as manifest_lib
from cliptail.data.dataset_dir import DatasetDir

#: Task -> (evaluation set whose images it uses, concept attribute or None for the concept).
WORLD_TASKS: dict[str, tuple[str, str | None]] = {
    "concept": ("val", None),
    "concept_v2": ("v2", None),
    "shape": ("val", "shape"),
    "color": ("val", "color"),
    "pattern": ("val", "pattern"),
    "parts": ("val", "parts"),
}
#: Display names of the tasks (figures and tables).
TASK_NAMES = {
    "concept": "Concept",
    "concept_v2": "Concept (v2)",
    "shape": "Shape",
    "color": "Colour",
    "pattern": "Pattern",
    "parts": "Parts",
}
SPLIT_FRACTIONS = (0.6, 0.2, 0.2)
SPLITS = ("train", "val", "test")
#: The probe tasks' folder names: ``probe_<task>``.
PREFIX = "probe_"


def folder_name(task: str) -> str:
    return f"{PREFIX}{task}"


def parse_attributes(text: str) -> dict[str, str]:
    """``"shape=disc;color=red;parts=2"`` -> ``{"shape": "disc", ...}``."""
    out = {}
    for item in str(text).split(";"):
        if item:
            key, _, value = item.partition("=")
            out[key.strip()] = value.strip()
    return out


def split_per_class(labels: np.ndarray, seed: int) -> np.ndarray:
    """``"train"``/``"val"``/``"test"`` per row: per label, a seeded shuffle cut at
    :data:`SPLIT_FRACTIONS` (rounded: val and test get ``round(0.2 n)`` each, at least one
    when the label has three or more images; train the rest)."""
    labels = np.asarray(labels)
    out = np.empty(len(labels), dtype=object)
    rng = np.random.default_rng(seed)
    for label in np.unique(labels):
        rows = np.flatnonzero(labels == label)
        rows = rows[rng.permutation(len(rows))]
        n = len(rows)
        held = max(1, round(SPLIT_FRACTIONS[1] * n)) if n >= 3 else 0
        out[rows[:held]] = "val"
        out[rows[held : 2 * held]] = "test"
        out[rows[2 * held :]] = "train"
    return out


def task_seed(task: str) -> int:
    """A fixed seed per task (CRC-32 of its name)."""
    return zlib.crc32(task.encode())


def build_task(
    task: str, evalset_manifest: pd.DataFrame, concepts: pd.DataFrame
) -> tuple[pd.DataFrame, list[str]]:
    """The task's manifest (``image``, ``label``, ``caption``, ``split``, ``concept``) and its
    class names in label order. ``concepts``: the world's ``concepts.parquet`` (``index``,
    ``attributes``) for the evaluation set's labels."""
    if task not in WORLD_TASKS:
        raise ValueError(f"unknown probe task {task!r}; known: {sorted(WORLD_TASKS)}")
    _, attribute = WORLD_TASKS[task]
    concept = evalset_manifest["label"].to_numpy(np.int64)
    if attribute is None:
        values = concepts.set_index("index")["name"]
        names = [str(values[c]) for c in sorted(np.unique(concept))]
        label = np.searchsorted(sorted(np.unique(concept)), concept)
    else:
        attrs = {
            int(i): parse_attributes(a)
            for i, a in zip(concepts["index"], concepts["attributes"], strict=True)
        }
        missing = sorted({int(c) for c in concept if attribute not in attrs.get(int(c), {})})
        if missing:
            raise ValueError(f"concepts {missing[:5]} have no attribute {attribute!r}")
        value_of = np.array([attrs[int(c)][attribute] for c in concept], dtype=object)
        names = sorted(set(value_of), key=lambda v: (len(v), v) if v.isdigit() else (0, v))
        label = np.array([names.index(v) for v in value_of], dtype=np.int64)
    df = pd.DataFrame(
        {
            "image": evalset_manifest["image"].to_numpy(),
            "label": label,
            "caption": [names[i] for i in label],
            "split": split_per_class(concept, task_seed(task)),
            "concept": concept,
        }
    )
    return df, names


def write_task(
    task: str,
    evalset: DatasetDir,
    concepts_file: str | os.PathLike,
    out: str | os.PathLike,
) -> dict[str, Any]:
    """Build the task from the evaluation set folder and write its dataset folder to ``out``
    (manifest, classes, source, report); returns the report."""
    concepts = io.read_parquet(concepts_file)
    df, names = build_task(task, evalset.read_manifest(), concepts)
    folder = DatasetDir(out)
    folder.root.mkdir(parents=True, exist_ok=True)
    io.write_classes(folder.classes, [f"{task}:{i}" for i in range(len(names))], names)
    manifest_lib.write(folder.manifest, df, len(names), where=str(folder.manifest))
    source = dict(evalset.read_source())
    source.pop("class_subset", None)
    source.update(dataset=folder.name, manifest_rows=len(df), probe_task=task)
    io.write_json(folder.source, source)
    report = {
        "task": task,
        "evalset": WORLD_TASKS[task][0],
        "classes": len(names),
        "split_counts": {s: int((df["split"] == s).sum()) for s in SPLITS},
        "split_fractions": list(SPLIT_FRACTIONS),
        "seed": task_seed(task),
    }
    io.write_json(folder.report, report)
    return report


def split_arrays(
    df: pd.DataFrame, features: np.ndarray, num_classes: int
) -> Mapping[str, tuple[np.ndarray, Any]]:
    """Split -> (features, targets) of a probe dataset's manifest (rows aligned with
    ``features``). Targets are the ``label`` column, or a ``labels`` column of class lists
    (multi-label) as [n, num_classes] 0/1 indicators; the classes of a ``difficult`` column
    (VOC2007: present only as difficult objects) get -1, left out of the probe's fit and
    score."""
    if len(df) != len(features):
        raise ValueError(f"{len(features)} feature rows for {len(df)} manifest rows")
    if "split" not in df.columns:
        raise ValueError("a probe dataset's manifest needs a 'split' column (train/val/test)")
    out = {}
    for split in SPLITS:
        rows = (df["split"] == split).to_numpy()
        if "labels" in df.columns:
            targets = np.zeros((int(rows.sum()), num_classes), dtype=np.int64)
            for i, classes in enumerate(df.loc[rows, "labels"]):
                targets[i, [int(c) for c in classes]] = 1
            if "difficult" in df.columns:
                for i, classes in enumerate(df.loc[rows, "difficult"]):
                    if classes is not None and len(classes):
                        targets[i, [int(c) for c in classes]] = -1
        else:
            targets = df.loc[rows, "label"].to_numpy(np.int64)
        out[split] = (features[rows], targets)
    return out
