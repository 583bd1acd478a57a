"""LAIONet variants (docs/study.md section 4): similarity thresholds, IN-Caps-sized subsets, scales.

Input: the downloaded LAIONet table (one row per image, in the table's order) with ``label`` and
``similarity`` (CLIP text similarity between caption and "<name> which is <definition>"); every
row passed the 0.7 filter. One variant, as in the authors' ``create_laionet_subsets.py``:

1. ``kept = rows with similarity >= threshold`` (table order);
2. a pandas-style ``kept.sample(n=n, random_state=42)`` or ``kept.sample(frac=frac, ...)``
   (``frac=1`` is a permutation, so a plain threshold variant keeps every passing row);
3. for every class of the *whole* table (before thresholding) missing from the sample, its first
   row in the whole table is added back, so no class disappears, not even one the threshold
   removed; such a row may lie below the threshold;
4. for a fixed-size variant, the excess over ``n`` is removed at random from the 10 largest classes
   (:func:`cliptail.curate.subsets.cover_classes`);
5. the rows are returned in table order (their ``sort_index``), with their index labels.

Pandas' draw is the first ``size`` entries of one seeded permutation of the thresholded table, so
at one threshold the fractions are nested (1/32 within 1/16 within ... within the IN-Caps-sized
subset within 1/4 ...). The released frequency files of all variants are consistent with exactly
this procedure (see ``tests/unit/test_laionet_variants.py``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.curate.subsets import SAMPLE_SEED, cover_classes, sample_positions

#: Similarity thresholds of the intra-class diversity study.
THRESHOLDS = factors.LAIONET_THRESHOLDS
#: Size of IN-Caps: every threshold is also subsampled to it.
IN_CAPS_SIZE = 448_896
#: Scale fractions of the data-scale study (of the threshold-0.7 set).
SCALE_FRACTIONS = (1.0, 0.5, 0.25, 0.125, 0.0625, 0.03125)
#: Threshold of the data-scale study.
SCALE_THRESHOLD = 0.7


def variant_name(threshold: float, *, n: int | None = None, frac: float = 1.0) -> str:
    """The authors' name of a variant: ``thresh0.7``, ``thresh0.8_n448896``, ``thresh0.7_frac0.5``.

    Their frequency files are ``class_frequency_laionet_<name>_ori.txt``.
    """
    name = f"thresh{threshold:g}"
    if n is not None:
        return f"{name}_n{n}"
    if frac < 1:
        return f"{name}_frac{frac:g}"
    return name


def laionet_subset(
    df: pd.DataFrame,
    *,
    threshold: float = SCALE_THRESHOLD,
    n: int | None = None,
    frac: float = 1.0,
    seed: int = SAMPLE_SEED,
    similarity_column: str = "similarity",
) -> pd.DataFrame:
    """One LAIONet variant of ``df`` (steps 1-5 of the module docstring)."""
    for column in ("label", similarity_column):
        if column not in df.columns:
            raise ValueError(f"the LAIONet table has no {column!r} column")
    labels = df["label"].to_numpy(dtype=np.int64)
    kept = np.flatnonzero(df[similarity_column].to_numpy() >= threshold)
    if n is not None:
        if n > len(kept):
            raise ValueError(
                f"only {len(kept)} rows have similarity >= {threshold}; cannot sample n={n}"
            )
        chosen = kept[sample_positions(len(kept), n=n, seed=seed)]
    else:
        chosen = kept[sample_positions(len(kept), frac=frac, seed=seed)]
    chosen = cover_classes(labels, chosen, target_size=n, seed=seed)
    return df.iloc[np.sort(chosen)]


def variant_specs(
    *, thresholds=THRESHOLDS, size: int = IN_CAPS_SIZE, fractions=SCALE_FRACTIONS
) -> dict[str, dict]:
    """Name -> keyword arguments of :func:`laionet_subset` for the study's variants.

    Every threshold alone and subsampled to ``size``; every fraction below 1 of the 0.7 set.
    """
    specs: dict[str, dict] = {}
    for t in thresholds:
        specs[variant_name(t)] = {"threshold": t}
        specs[variant_name(t, n=size)] = {"threshold": t, "n": size}
    for f in fractions:
        if f < 1:
            specs[variant_name(SCALE_THRESHOLD, frac=f)] = {"threshold": SCALE_THRESHOLD, "frac": f}
    return specs
