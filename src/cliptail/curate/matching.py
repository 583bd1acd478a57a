"""The LAIONet "=freq" variant: LAIONet resampled to another dataset's class frequencies.

docs/study.md section 4: per class, the IN-Caps count of images is taken from LAIONet and, where
LAIONet has too few, topped up from LAION items retrieved by caption-to-caption similarity to the
IN-Caps captions (the retrieval pool: one row per retrieved item, ``label`` = the class of the
IN-Caps caption that retrieved it, ``retrieval_score`` = that similarity).

For each class ``c`` with target ``t_c`` (classes in increasing order), as in the authors'
``create_laionet_match_freq.py``:

1. LAIONet rows of ``c``: all of them if at most ``t_c``, else ``t_c`` drawn at random
   (``RandomState(seed).choice(rows, t_c, replace=False)``; the authors drew at random too, not by
   similarity, from numpy's unseeded global generator);
2. if fewer than ``t_c``, the shortfall from the pool rows of ``c``: all of them if too few (the
   class then stays short), else drawn with the same generator (``top_up="random"``, the authors'
   choice) or the highest ``retrieval_score`` first (``top_up="score"``, ties by pool order).

So the count of ``c`` is ``min(t_c, laionet_c + pool_c)``. Output: the chosen LAIONet rows in table
order, then the chosen pool rows in pool order, with a column ``origin`` = ``"laionet"`` /
``"retrieval"`` (other columns, ``source`` included, are kept); the authors sorted both by their
shared LAION index, which only reorders rows.

Finding on the released data: ``class_frequency_laionet_match_incap_ori.txt`` (416,489 images)
has, for 472 classes, fewer images than both their IN-Caps count and their LAIONet count, which
the procedure cannot produce with IN-Caps counts as targets; the authors' targets came from the
LAIONet project's own IN-Caps table (``imagenet_captions.parquet``), whose per-class counts are not
released. Every released count is at most the class's IN-Caps count.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

TOP_UP_MODES = ("random", "score")


def _rows_by_class(labels: np.ndarray, num_classes: int) -> list[np.ndarray]:
    """Positions of each class's rows, in table order."""
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(num_classes + 1), side="left")
    return [order[bounds[c] : bounds[c + 1]] for c in range(num_classes)]


def match_frequency(
    laionet: pd.DataFrame,
    pool: pd.DataFrame,
    target_counts,
    *,
    seed: int = 0,
    top_up: str = "random",
    score_column: str = "retrieval_score",
) -> pd.DataFrame:
    """``laionet`` resampled to ``target_counts[c]`` images per class, topped up from ``pool``."""
    if top_up not in TOP_UP_MODES:
        raise ValueError(f"top_up must be one of {list(TOP_UP_MODES)}, got {top_up!r}")
    if top_up == "score" and score_column not in pool.columns:
        raise ValueError(
            f"the retrieval pool has no {score_column!r} column; top_up='score' ranks by it"
        )
    targets = np.asarray(target_counts, dtype=np.int64)
    if (targets < 0).any():
        raise ValueError("target counts must be >= 0")
    num_classes = len(targets)
    laionet_labels = laionet["label"].to_numpy(dtype=np.int64)
    pool_labels = pool["label"].to_numpy(dtype=np.int64)
    for name, labels in (("LAIONet", laionet_labels), ("retrieval pool", pool_labels)):
        if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
            raise ValueError(f"the {name} table has labels outside 0..{num_classes - 1}")
    scores = pool[score_column].to_numpy() if top_up == "score" else None
    rng = np.random.RandomState(seed)
    chosen, topped = [], []
    for c, (rows, pool_rows) in enumerate(
        zip(
            _rows_by_class(laionet_labels, num_classes),
            _rows_by_class(pool_labels, num_classes),
            strict=True,
        )
    ):
        want = int(targets[c])
        if len(rows) > want:
            rows = rng.choice(rows, want, replace=False)
        chosen.append(rows)
        missing = want - len(rows)
        if missing <= 0:
            continue
        if len(pool_rows) > missing:
            if scores is None:
                pool_rows = rng.choice(pool_rows, missing, replace=False)
            else:
                pool_rows = pool_rows[np.argsort(-scores[pool_rows], kind="stable")[:missing]]
        topped.append(pool_rows)
    take = np.sort(np.concatenate(chosen)) if chosen else np.array([], dtype=np.int64)
    take_pool = np.sort(np.concatenate(topped)) if topped else np.array([], dtype=np.int64)
    return pd.concat(
        [
            laionet.iloc[take].assign(origin="laionet"),
            pool.iloc[take_pool].assign(origin="retrieval"),
        ]
    )
