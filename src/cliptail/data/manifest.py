"""The manifest contract shared by every data source, curation step and trainer.

A manifest is a parquet table with one row per (image, label, caption):

- ``image`` (string): a path relative to the dataset root, a webdataset shard key, or, for the
  synthetic world, ``"<split>/<row>"`` into the world's image arrays;
- ``label`` (int64): class index in the dataset's class order (``classes.tsv`` beside it);
- ``caption`` (string): may be empty only where a variant allows it.

Optional columns (``wnid``, ``source``, ``similarity``, ``split``, ``title``, ``tags``,
``description``, ...) are kept through curation. ``matched`` (a list of class indices per row:
every class the caption names) marks a whole web caption list, whose frequency counts every match
(:func:`frequency_counts`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail import io

REQUIRED_COLUMNS = ("image", "label", "caption")


class ManifestError(ValueError):
    """A manifest does not follow the contract."""


def validate(
    df: pd.DataFrame,
    num_classes: int | None = None,
    *,
    where: str = "manifest",
    allow_empty_captions: bool = False,
) -> pd.DataFrame:
    """Check ``df`` against the contract and return it with canonical dtypes.

    Raises :class:`ManifestError` naming ``where`` and what is wrong.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(
            f"{where}: missing required column(s) {missing}; "
            f"a manifest needs {list(REQUIRED_COLUMNS)}"
        )
    if df["image"].isna().any():
        raise ManifestError(f"{where}: {int(df['image'].isna().sum())} row(s) have no image")
    if df["label"].isna().any():
        raise ManifestError(f"{where}: {int(df['label'].isna().sum())} row(s) have no label")
    labels = df["label"].to_numpy()
    if not np.issubdtype(labels.dtype, np.integer):
        try:
            labels = labels.astype("int64")
        except (TypeError, ValueError):
            raise ManifestError(f"{where}: column 'label' must hold integers") from None
    if len(labels) and labels.min() < 0:
        raise ManifestError(f"{where}: negative label {labels.min()}")
    if num_classes is not None and len(labels) and labels.max() >= num_classes:
        raise ManifestError(f"{where}: label {labels.max()} out of range for {num_classes} classes")
    captions = df["caption"].fillna("")
    if not allow_empty_captions and (captions.str.len() == 0).any():
        n = int((captions.str.len() == 0).sum())
        raise ManifestError(f"{where}: {n} row(s) have an empty caption")
    out = df.copy()
    out["image"] = out["image"].astype(str)
    out["label"] = labels.astype("int64")
    out["caption"] = captions.astype(str)
    return out


def read(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a manifest parquet (all columns, or ``columns``)."""
    df = pd.read_parquet(path, columns=list(columns) if columns is not None else None)
    if "label" in df.columns:
        df["label"] = df["label"].astype("int64")
    return df


def write(
    path: str | os.PathLike,
    df: pd.DataFrame,
    num_classes: int | None = None,
    allow_empty_captions: bool = False,
) -> pd.DataFrame:
    """Validate and write a manifest atomically; returns the validated frame."""
    df = validate(df, num_classes, where=str(path), allow_empty_captions=allow_empty_captions)
    io.write_parquet(path, df.reset_index(drop=True))
    return df


def class_counts(labels: Sequence[int] | pd.Series, num_classes: int) -> np.ndarray:
    """Per-class counts over all ``num_classes`` classes, zeros included, in class order."""
    labels = np.asarray(labels, dtype=np.int64)
    return np.bincount(labels, minlength=num_classes)[:num_classes]


def rarest_classes(counts, k: int) -> np.ndarray:
    """The ``k`` classes with the lowest counts: ``argsort(counts, kind="stable")[:k]``."""
    counts = np.asarray(counts)
    if not 0 <= k <= len(counts):
        raise ValueError(f"k must be between 0 and the number of classes ({len(counts)}), got {k}")
    return np.argsort(counts, kind="stable")[:k]


def frequency_counts(manifest: pd.DataFrame, num_classes: int) -> np.ndarray:
    """Training frequency of every class: the label counts (:func:`class_counts`), or, for a
    manifest with a ``matched`` column (a whole web caption list: every class its caption names),
    each row counted once for every class it names and, when it names none, for its label."""
    if "matched" not in manifest.columns:
        return class_counts(manifest["label"], num_classes)
    matched = manifest["matched"]
    sizes = np.fromiter((len(m) for m in matched), dtype=np.int64, count=len(matched))
    flat = (
        np.concatenate([np.asarray(m, dtype=np.int64) for m in matched if len(m)])
        if sizes.any()
        else np.zeros(0, dtype=np.int64)
    )
    unmatched = manifest["label"].to_numpy(np.int64)[sizes == 0]
    return class_counts(flat, num_classes) + class_counts(unmatched, num_classes)


def write_frequency_for(
    manifest: pd.DataFrame, classes: pd.DataFrame, path: str | os.PathLike
) -> None:
    """Write the frequency file (authors' format) of ``manifest`` over every class of ``classes``
    (:func:`frequency_counts`)."""
    counts = frequency_counts(manifest, len(classes))
    io.write_frequency(path, classes["name"].tolist(), counts.tolist())
