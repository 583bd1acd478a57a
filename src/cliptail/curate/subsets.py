"""Subsets of a manifest: pandas-style sampling, class subsets, IN-Caps (10%) and trim-tail.

Sampling goes through pandas itself: :func:`sample_positions` returns exactly the rows that
``DataFrame.sample(n=..., frac=..., random_state=seed)`` takes (pandas draws
``numpy.random.RandomState(seed).choice(len, size, replace=False)``, i.e. the first ``size``
entries of one seeded permutation; ``frac`` gives ``size = round(frac * len)``). The draw depends
only on the table's length, the size and the seed, never on the columns, so functions here work on
row positions and then take those rows; rows keep their index labels.

Semantics adopted from the authors' scripts (``create_incaps_subsets.py``,
``create_incaps_trim_tail.py``, ``create_laionet_subsets.py``):

- **IN-Caps (10%)**: rows sorted by file path, then ``sample(n=44548, random_state=42)``; the
  result stays in sample order. Sorting first makes the subset independent of the table's order:
  from IN-Caps' per-class counts alone this reproduces the released
  ``class_frequency_incaps_n44548_ori.txt`` exactly (paths sort class by class).
- **IN-Caps-100**: the rows of the classes in ``imagenet100_idxs.txt``. Their script re-indexes
  the labels to 0..99 (in increasing class index) and keeps the old label as ``label_ori``; the
  released ``class_frequency_incaps_imagenet100_ori.txt`` lists those 100 classes. Here the
  original label space is the default (``relabel=False``), so frequencies, heads and evaluation
  keep the dataset's classes; ``relabel=True`` gives theirs.
- **Lost classes** (``keep_classes``, their LAIONet subsets): after sampling, the first row (in
  table order) of every class that the table has and the sample lost is appended; for a fixed-size
  sample the excess is then removed by ``sample(n=excess, random_state=seed)`` over the rows of the
  10 largest classes (ranked as ``value_counts`` ranks them), in the sample's order.
- **Trim-tail**: tail = ``argsort(counts)[:k]``; each tail class with more than ``ceil`` rows loses
  ``count - ceil`` rows drawn by ``RandomState(seed).choice(rows, count - ceil, replace=False)``,
  class by class in tail order. Their script used numpy's global, unseeded generator; this is
  their procedure after ``np.random.seed(seed)``. Their ``argsort`` used numpy's default
  (quicksort, not stable): among classes tied at the k-th count, which are trimmed depends on
  numpy's build. Here ``kind="stable"`` (ties broken by class index), which is reproducible
  everywhere; on IN-Caps it differs from this machine's default sort only at k = 200 (four classes
  tie at 299 images), where a different one of them is trimmed.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from cliptail.data.manifest import class_counts, rarest_classes

#: ``random_state`` of every pandas-style sample in the study.
SAMPLE_SEED = 42
#: Size of IN-Caps (10%) and of IN-Caps-100.
IN_CAPS_10PCT_SIZE = 44_548
#: The excess of a fixed-size sample is removed from this many largest classes.
EXCESS_CLASSES = 10


def sample_positions(
    num_rows: int, *, n: int | None = None, frac: float | None = None, seed: int = SAMPLE_SEED
) -> np.ndarray:
    """Row positions taken by ``DataFrame.sample(n=n, frac=frac, random_state=seed)``, in order."""
    if (n is None) == (frac is None):
        raise ValueError("give exactly one of n (number of rows) and frac (fraction of rows)")
    if n is not None and not 0 <= n <= num_rows:
        raise ValueError(
            f"cannot sample n={n} rows from a table of {num_rows} rows; "
            f"choose n between 0 and {num_rows}"
        )
    if frac is not None and not 0 < frac <= 1:
        raise ValueError(f"frac must be in (0, 1], got {frac}")
    positions = pd.Series(np.arange(num_rows, dtype=np.int64))
    return positions.sample(n=n, frac=frac, random_state=seed).to_numpy()


def _first_rows(labels: np.ndarray) -> pd.Series:
    """Each class's first position in ``labels`` (index) -> the class (value), in table order."""
    return pd.Series(labels).drop_duplicates()


def cover_classes(
    labels: np.ndarray,
    chosen: np.ndarray,
    *,
    target_size: int | None = None,
    seed: int = SAMPLE_SEED,
    excess_classes: int = EXCESS_CLASSES,
) -> np.ndarray:
    """Positions ``chosen`` (into a table whose rows have ``labels``) with no class of it lost.

    Appends, in table order, the first row of every class present in ``labels`` but absent from
    ``chosen``. If ``target_size`` is given and exceeded, removes the excess with a pandas-style
    ``sample(n=excess, random_state=seed)`` over the chosen rows of the ``excess_classes`` largest
    classes, in their current order. The largest classes are ranked as pandas' ``value_counts``
    ranks them: by count, ties by first appearance in the current order.
    """
    labels = np.asarray(labels, dtype=np.int64)
    chosen = np.asarray(chosen, dtype=np.int64)
    first = _first_rows(labels)
    present = np.zeros(int(labels.max()) + 1 if len(labels) else 0, dtype=bool)
    present[labels[chosen]] = True
    lost_rows = np.sort(first.index.to_numpy()[~present[first.to_numpy()]])
    chosen = np.concatenate([chosen, lost_rows])
    if target_size is not None and len(chosen) > target_size:
        excess = len(chosen) - target_size
        chosen_labels = labels[chosen]
        by_appearance = _first_rows(chosen_labels).to_numpy()
        counts = np.bincount(chosen_labels)[by_appearance]
        largest = by_appearance[np.argsort(-counts, kind="stable")[:excess_classes]]
        in_largest = np.flatnonzero(np.isin(labels[chosen], largest))
        if excess > len(in_largest):
            raise ValueError(
                f"cannot remove {excess} rows from the {excess_classes} largest "
                f"classes, which have {len(in_largest)}"
            )
        drop = in_largest[sample_positions(len(in_largest), n=excess, seed=seed)]
        chosen = np.delete(chosen, drop)
    return chosen


def sample_subset(
    df: pd.DataFrame,
    *,
    n: int | None = None,
    frac: float | None = None,
    seed: int = SAMPLE_SEED,
    sort_by: str | None = None,
    keep_classes: bool = False,
) -> pd.DataFrame:
    """``df.sample(n=n | frac=frac, random_state=seed)``, optionally sorted first, classes kept.

    ``sort_by``: sort the rows by this column first (stable), as the authors did with file paths.
    ``keep_classes``: re-add lost classes and, for ``n``, remove the excess (:func:`cover_classes`).
    """
    if sort_by is not None:
        if sort_by not in df.columns:
            raise ValueError(f"cannot sort by {sort_by!r}: the table has no such column")
        df = df.sort_values(sort_by, kind="stable")
    chosen = sample_positions(len(df), n=n, frac=frac, seed=seed)
    if keep_classes:
        chosen = cover_classes(df["label"].to_numpy(), chosen, target_size=n, seed=seed)
    return df.iloc[chosen]


def in_caps_10pct(
    df: pd.DataFrame,
    *,
    n: int = IN_CAPS_10PCT_SIZE,
    seed: int = SAMPLE_SEED,
    path_column: str = "image",
) -> pd.DataFrame:
    """IN-Caps (10%): rows sorted by file path, then ``sample(n=44548, random_state=42)``.

    The authors sorted absolute paths ``.../train/<wnid>/<file>``; any common prefix (such as the
    manifest's paths relative to the dataset root) sorts the same way.
    """
    return sample_subset(df, n=n, seed=seed, sort_by=path_column)


def read_class_indices(path: str | os.PathLike) -> np.ndarray:
    """Class indices from a whitespace-separated text file such as ``imagenet100_idxs.txt``."""
    try:
        values = np.loadtxt(path, dtype=np.int64, ndmin=1)
    except ValueError as exc:
        raise ValueError(f"{path}: expected whitespace-separated class indices ({exc})") from None
    return values


def class_subset(df: pd.DataFrame, class_indices, *, relabel: bool = False) -> pd.DataFrame:
    """The rows whose label is in ``class_indices`` (table order kept).

    ``relabel=True`` re-indexes labels to 0..K-1 in increasing class index and keeps the original
    label in ``label_ori`` (the authors' IN-Caps-100); by default labels are unchanged.
    """
    classes = np.unique(np.asarray(class_indices, dtype=np.int64))
    if len(classes) != len(np.asarray(class_indices).ravel()):
        raise ValueError("class indices must not repeat")
    if len(classes) and classes[0] < 0:
        raise ValueError(f"negative class index {classes[0]}")
    out = df[df["label"].isin(classes)].copy()
    if relabel:
        out["label_ori"] = out["label"]
        out["label"] = np.searchsorted(classes, out["label"].to_numpy()).astype(np.int64)
    return out


def trim_tail(
    df: pd.DataFrame, counts, k: int, ceil: int, seed: int = 0
) -> tuple[pd.DataFrame, np.ndarray]:
    """Keep at most ``ceil`` random rows of each of the ``k`` rarest classes.

    ``counts`` are the per-class counts that rank the classes (normally
    ``manifest.class_counts(df["label"], C)``). Returns the trimmed table (order kept) and the tail
    classes, rarest first.
    """
    if ceil < 0:
        raise ValueError(f"ceil must be >= 0, got {ceil}")
    tail = rarest_classes(counts, k)
    labels = df["label"].to_numpy(dtype=np.int64)
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], tail, side="left")
    ends = np.searchsorted(labels[order], tail, side="right")
    rng = np.random.RandomState(seed)
    keep = np.ones(len(df), dtype=bool)
    for start, end in zip(starts, ends, strict=True):
        if end - start > ceil:
            keep[rng.choice(order[start:end], end - start - ceil, replace=False)] = False
    return df[keep], tail


def scale_and_trim(
    df: pd.DataFrame,
    *,
    scale: float,
    trim_k: int,
    trim_ceil: int,
    num_classes: int,
    sample_seed: int = SAMPLE_SEED,
    trim_seed: int = 0,
) -> tuple[pd.DataFrame, list[int], int | None]:
    """The two data factors every dataset variant shares, in order: keep ``scale`` of the rows
    (:func:`sample_subset`, every class kept), then trim the ``trim_k`` rarest of the first
    ``num_classes`` classes to ``trim_ceil`` rows (:func:`trim_tail`).

    Returns the table (index reset), the tail classes (rarest first) and the largest count a tail
    class had before trimming (None without trimming).
    """
    if scale < 1.0:
        df = sample_subset(df, frac=scale, seed=sample_seed, keep_classes=True)
    tail: list[int] = []
    tail_max_count = None
    if trim_k:
        counts = class_counts(df["label"], num_classes)
        df, tail_arr = trim_tail(df, counts, k=int(trim_k), ceil=int(trim_ceil), seed=trim_seed)
        tail = [int(c) for c in tail_arr]
        tail_max_count = int(counts[tail_arr].max()) if len(tail_arr) else 0
    return df.reset_index(drop=True), tail, tail_max_count
