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

Labels are checked when a manifest is read or written: a missing, non-numeric or non-integral
label (3.7) is an error naming the file, the column and the first offending row; an integral float
(3.0) is read as the integer. Writing a manifest with no rows logs a warning naming the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail import io

REQUIRED_COLUMNS = ("image", "label", "caption")

log = logging.getLogger(__name__)


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
    no_image = df["image"].isna().to_numpy()
    if no_image.any():
        raise ManifestError(
            f"{where}: column 'image': {int(no_image.sum())} row(s) have no image "
            f"(first at {_row(no_image)})"
        )
    labels = integer_labels(df["label"], where)
    if len(labels) and labels.min() < 0:
        negative = labels < 0
        raise ManifestError(
            f"{where}: column 'label': {int(negative.sum())} negative label(s) (first at "
            f"{_row(negative)}: {labels[negative][0]}); labels are class indices 0..C-1"
        )
    if num_classes is not None and len(labels) and labels.max() >= num_classes:
        outside = labels >= num_classes
        raise ManifestError(
            f"{where}: column 'label': label {labels.max()} out of range for {num_classes} "
            f"classes ({int(outside.sum())} row(s), first at {_row(outside)}: "
            f"{labels[outside][0]}); labels index the classes of classes.tsv"
        )
    captions = df["caption"].fillna("")
    empty = None if allow_empty_captions else (captions.str.len() == 0).to_numpy()
    if empty is not None and empty.any():
        raise ManifestError(
            f"{where}: column 'caption': {int(empty.sum())} row(s) have an empty caption "
            f"(first at {_row(empty)})"
        )
    out = df.copy()
    out["image"] = out["image"].astype(str)
    out["label"] = labels.astype("int64")
    out["caption"] = captions.astype(str)
    return out


def _row(mask: np.ndarray) -> str:
    """``row N`` of the first True in ``mask`` (rows counted from 0, in file order)."""
    return f"row {int(np.flatnonzero(mask)[0])}"


def _scalar(value):
    """A numpy scalar as the Python value (so that messages show ``3.7``, not its numpy repr)."""
    return value.item() if isinstance(value, np.generic) else value


def integer_labels(labels: pd.Series, where: str = "manifest") -> np.ndarray:
    """``labels`` as int64; integral floats (3.0) are accepted, anything else is an error.

    Raises :class:`ManifestError` naming ``where``, the column, how many rows are wrong and the
    first of them: a missing label (None/NaN), a value that is not a number, or a non-integral
    or infinite number (3.7 is never rounded or truncated).
    """
    values = labels.to_numpy()
    if np.issubdtype(values.dtype, np.integer):
        return values.astype("int64")
    missing = labels.isna().to_numpy()
    if missing.any():
        raise ManifestError(
            f"{where}: column 'label': {int(missing.sum())} row(s) have no label (first at "
            f"{_row(missing)}); every row needs an integer class index"
        )
    if values.dtype == bool:
        return values.astype("int64")
    numbers = pd.to_numeric(labels, errors="coerce").to_numpy()
    not_numbers = pd.isna(numbers)
    if not_numbers.any():
        first = _scalar(values[not_numbers][0])
        raise ManifestError(
            f"{where}: column 'label' must hold integer class indices; {int(not_numbers.sum())} "
            f"row(s) are not numbers (first at {_row(not_numbers)}: {first!r})"
        )
    if np.issubdtype(numbers.dtype, np.integer):
        return numbers.astype("int64")
    numbers = numbers.astype("float64")
    fractional = ~np.isfinite(numbers) | (numbers != np.round(numbers))
    if fractional.any():
        first = _scalar(values[fractional][0])
        raise ManifestError(
            f"{where}: column 'label' must hold integer class indices; {int(fractional.sum())} "
            f"row(s) hold non-integral values (first at {_row(fractional)}: {first!r}); fix the "
            "labels where the manifest is made (they are never rounded)"
        )
    return numbers.astype("int64")


def read(path: str | os.PathLike, columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Read a manifest parquet (all columns, or ``columns``).

    A truncated or damaged file raises :class:`cliptail.io.FileReadError` naming it; labels are
    checked as by :func:`integer_labels`.
    """
    df = io.read_parquet(path, columns=columns)
    if "label" in df.columns:
        df["label"] = integer_labels(df["label"], str(path))
    return df


def write(
    path: str | os.PathLike,
    df: pd.DataFrame,
    num_classes: int | None = None,
    allow_empty_captions: bool = False,
    *,
    where: str | None = None,
) -> pd.DataFrame:
    """Validate and write a manifest atomically; returns the validated frame.

    ``where`` names the manifest in messages (default ``path``; give the destination when
    ``path`` is a temporary file). A manifest with no rows is written, with a warning.
    """
    where = str(path) if where is None else where
    df = validate(df, num_classes, where=where, allow_empty_captions=allow_empty_captions)
    if df.empty:
        log.warning(
            "%s: 0 rows (no class has an image); the step that wrote it selected nothing, "
            "check its inputs and settings",
            where,
        )
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
