"""Evaluation metrics of the study (docs/study.md section 2): accuracy, robustness, neural collapse.

Everything here is a pure function of arrays (numpy arrays or torch tensors, which are copied to
host memory); nothing reads or writes files. Per-class results are ``pandas.DataFrame`` objects
indexed ``0..C-1`` by an index named ``class`` (``df.reset_index()`` turns it into a column), with
the column names of the per-class record: ``acc``, ``npred``, ``nc1``, ``nc2_m``, ``nc2nn_m``,
``nc2_w``, ``nc2nn_w``.

Conventions, stated once:

* ``acc_c`` is a fraction and is NaN for a class without evaluation samples.
* Correlations use the pairs where both values are finite (a class with NaN accuracy is left out
  of every correlation with accuracy); with fewer than two such pairs, or when either side is
  constant on them, the result is NaN. Spearman uses average ranks for ties.
* Frequencies of zero are kept everywhere; the log-frequency Pearson variant uses
  ``log(1 + f)``, so a class with ``f = 0`` enters with log-frequency 0.
* Neural-collapse metrics skip classes without evaluation samples: they get NaN per-class values
  and take no part in ``mu_G``, ``Sigma_B``, ``NC2_M`` or the overall means of ``NC1``/``NC2_M``.
  ``NC2_W`` is a property of the classifier and is computed for all C classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse
from scipy.stats import rankdata

NC_COLUMNS: tuple[str, ...] = ("nc1", "nc2_m", "nc2nn_m", "nc2_w", "nc2nn_w")
"""Per-class neural-collapse columns, in the order of the per-class record."""

#: Cut-offs of the pseudo-inverse in NC1 (config ``evaluation.nc1_pinv``): eigenvalues of Sigma_B
#: below ``D x eps`` times the largest are dropped, with eps of float32 (``torch.linalg.pinv``'s
#: default on the float32 matrices of the authors' code) or of float64 (numpy's exact cut-off).
PINV_EPS: dict[str, float] = {
    "float32": float(np.finfo(np.float32).eps),
    "float64": float(np.finfo(np.float64).eps),
}

# Rows of the feature matrix converted to float64 at a time in nc_metrics (about 32 MB at D=1024).
_CHUNK_ROWS = 4096


# --- input handling -----------------------------------------------------------------------------


def _to_numpy(x: Any) -> np.ndarray:
    """Return ``x`` as a numpy array; torch tensors are detached and copied to host memory."""
    if hasattr(x, "detach") and hasattr(x, "cpu"):
        x = x.detach().cpu()
        if str(x.dtype) == "torch.bfloat16":  # numpy has no bfloat16
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def _labels(x: Any, name: str, num_classes: int | None = None) -> np.ndarray:
    """Validate a 1-D integer label vector (values in ``[0, num_classes)`` when given)."""
    arr = _to_numpy(x)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector of class indices, got shape {arr.shape}")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must hold integer class indices, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if num_classes is not None and arr.size and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise ValueError(
            f"{name} contains class index {bad}, outside [0, {num_classes}); "
            f"check that labels and the number of classes ({num_classes}) agree"
        )
    return arr


def _finite_matrix(x: Any, name: str) -> np.ndarray:
    """Validate a 2-D floating matrix without NaN or infinity (dtype kept, no copy)."""
    arr = _to_numpy(x)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be a 2-D matrix, got shape {arr.shape}")
    if arr.dtype.kind not in "fiu":
        raise ValueError(f"{name} must be numeric, got dtype {arr.dtype}")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite values; remove or fix those rows first")
    return arr


def _vector(x: Any, name: str, length: int | None = None) -> np.ndarray:
    """Return a 1-D float64 vector (NaN allowed), checking its length when given."""
    if isinstance(x, pd.DataFrame):
        raise ValueError(f"{name} must be a single column (a vector), not a table")
    arr = _to_numpy(x).astype(np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be a 1-D vector, got shape {arr.shape}")
    if length is not None and arr.shape[0] != length:
        raise ValueError(f"{name} has {arr.shape[0]} entries but {length} classes are expected")
    return arr


def _frequencies(freq: Any, length: int | None = None) -> np.ndarray:
    """Validate training frequencies: finite and non-negative, one per class."""
    f = _vector(freq, "freq", length)
    if not np.isfinite(f).all() or (f < 0).any():
        raise ValueError("freq must hold finite, non-negative training counts (one per class)")
    return f


def _class_index(n: int) -> pd.RangeIndex:
    return pd.RangeIndex(n, name="class")


# --- accuracy -----------------------------------------------------------------------------------


def confusion_matrix(targets: Any, preds: Any, num_classes: int) -> np.ndarray:
    """Confusion matrix ``K`` (C x C, int64): ``K[i, j]`` = samples of true class i predicted j."""
    if int(num_classes) < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    c = int(num_classes)
    t = _labels(targets, "targets", c)
    p = _labels(preds, "preds", c)
    if t.shape != p.shape:
        raise ValueError(f"targets ({t.shape[0]}) and preds ({p.shape[0]}) differ in length")
    return np.bincount(t * c + p, minlength=c * c).reshape(c, c).astype(np.int64)


def per_class_metrics(confusion: Any) -> pd.DataFrame:
    """Per-class accuracy and prediction count from a confusion matrix (rows = true class).

    ``acc_c = K[c, c] / sum_j K[c, j]`` (a fraction, NaN where class c has no sample) and
    ``npred_c = sum_i K[i, c]`` (how many samples were assigned to class c).
    """
    k = _to_numpy(confusion)
    if k.ndim != 2 or k.shape[0] != k.shape[1]:
        raise ValueError(f"confusion must be a square C x C matrix, got shape {k.shape}")
    if not np.isfinite(k).all() or (k < 0).any():
        raise ValueError("confusion must hold finite, non-negative counts")
    support = k.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        acc = np.where(support > 0, np.diag(k) / support, np.nan)
    npred = k.sum(axis=0).astype(np.int64)
    return pd.DataFrame(
        {"acc": acc.astype(np.float64), "npred": npred}, index=_class_index(k.shape[0])
    )


def top1(per_class: pd.DataFrame | Any) -> float:
    """Overall top-1 = mean of ``acc_c`` over the classes that have samples (docs/study.md section 2).

    Equals plain top-1 accuracy on a balanced evaluation set.
    """
    acc = _vector(per_class["acc"] if isinstance(per_class, pd.DataFrame) else per_class, "acc")
    if not np.isfinite(acc).any():
        raise ValueError("no class has evaluation samples (all accuracies are NaN)")
    return float(np.nanmean(acc))


def topk_accuracy(targets: Any, scores_or_topk: Any, k: int) -> float:
    """Class-balanced top-k accuracy: the mean over present classes of the per-class hit rate.

    ``scores_or_topk`` is either an N x C floating score matrix (a sample is a hit when fewer than
    ``k`` classes score strictly higher than its true class, so score ties count as hits), or an
    N x K' integer matrix of class indices ranked best first with ``K' >= k`` (a hit when the
    true class is among the first ``k``). Averaging per class first makes ``k = 1`` agree with
    :func:`top1`; on a balanced evaluation set it equals plain top-k accuracy.
    """
    t = _labels(targets, "targets")
    s = _to_numpy(scores_or_topk)
    if s.ndim != 2 or s.shape[0] != t.shape[0]:
        raise ValueError(f"scores_or_topk must have shape (N={t.shape[0]}, ...), got {s.shape}")
    if t.size == 0:
        raise ValueError("no evaluation samples")
    if not 1 <= k <= s.shape[1]:
        raise ValueError(f"k={k} must lie in [1, {s.shape[1]}] (number of columns given)")
    if s.dtype.kind in "iu":
        hit = (s[:, :k] == t[:, None]).any(axis=1)
    else:
        if t.max() >= s.shape[1]:
            raise ValueError(
                f"targets contain class {t.max()} but scores have {s.shape[1]} columns"
            )
        if not np.isfinite(s).all():
            raise ValueError("scores contain NaN or infinite values")
        true_score = s[np.arange(t.shape[0]), t]
        hit = (s > true_score[:, None]).sum(axis=1) < k
    support = np.bincount(t)
    hits = np.bincount(t, weights=hit.astype(np.float64), minlength=support.shape[0])
    present = support > 0
    return float(np.mean(hits[present] / support[present]))


def head_tail_accuracy(acc: Any, tail_classes: Sequence[int] | Any) -> dict[str, float]:
    """Trim-tail summary (Fig. 8): ``tail_acc`` = mean acc over ``tail_classes``; ``head_acc`` =
    mean acc over all other classes ("head & mid"). Classes with NaN accuracy are skipped; an
    empty group gives NaN."""
    a = _vector(acc["acc"] if isinstance(acc, pd.DataFrame) else acc, "acc")
    tail = _to_numpy(tail_classes)
    tail = _labels(tail.astype(np.int64) if tail.size == 0 else tail, "tail_classes", a.shape[0])
    if np.unique(tail).shape[0] != tail.shape[0]:
        raise ValueError("tail_classes contains duplicate class indices")
    is_tail = np.zeros(a.shape[0], dtype=bool)
    is_tail[tail] = True
    return {"tail_acc": _nanmean(a[is_tail]), "head_acc": _nanmean(a[~is_tail])}


def _nanmean(x: np.ndarray) -> float:
    x = x[np.isfinite(x)]
    return float(x.mean()) if x.size else float("nan")


# --- correlations -------------------------------------------------------------------------------


def pearson(x: Any, y: Any) -> float:
    """Pearson r over the pairs where both values are finite (NaN if < 2 pairs or constant)."""
    a = _vector(x, "x")
    b = _vector(y, "y", a.shape[0])
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    if a.size < 2:
        return float("nan")
    a, b = a - a.mean(), b - b.mean()
    denom = np.sqrt((a @ a) * (b @ b))
    if denom == 0.0:
        return float("nan")
    return float(np.clip((a @ b) / denom, -1.0, 1.0))


def spearman(x: Any, y: Any) -> float:
    """Spearman rho = Pearson r of average ranks, over the pairs where both values are finite."""
    a = _vector(x, "x")
    b = _vector(y, "y", a.shape[0])
    keep = np.isfinite(a) & np.isfinite(b)
    if keep.sum() < 2:
        return float("nan")
    return pearson(rankdata(a[keep], method="average"), rankdata(b[keep], method="average"))


def robustness(freq: Any, per_class: pd.DataFrame) -> dict[str, float]:
    """Frequency bias of a model: correlations of training frequency with acc and with npred.

    ``rho_acc = Spearman(f, acc)``, ``rho_pred = Spearman(f, npred)`` (the paper's indicators,
    average ranks for ties, zero frequencies kept); ``pearson_acc``/``pearson_pred`` = Pearson r
    on raw frequency; ``pearson_log_acc``/``pearson_log_pred`` = Pearson r on ``log(1 + f)``
    (zero frequencies enter as 0). Classes whose accuracy is NaN (no evaluation sample) are left
    out of the accuracy correlations; ``npred`` is defined for every class.
    """
    for column in ("acc", "npred"):
        if column not in per_class:
            raise ValueError(f"per_class needs an '{column}' column (see per_class_metrics)")
    f = _frequencies(freq, len(per_class))
    acc = per_class["acc"].to_numpy(dtype=np.float64)
    npred = per_class["npred"].to_numpy(dtype=np.float64)
    logf = np.log1p(f)
    return {
        "rho_acc": spearman(f, acc),
        "rho_pred": spearman(f, npred),
        "pearson_acc": pearson(f, acc),
        "pearson_pred": pearson(f, npred),
        "pearson_log_acc": pearson(logf, acc),
        "pearson_log_pred": pearson(logf, npred),
    }


def nc_correlations(freq: Any, per_class_table: pd.DataFrame) -> dict[str, float]:
    """Spearman rho of every per-class NC metric with frequency and with accuracy (Fig. 7a).

    Keys ``rho_freq_<metric>`` and ``rho_acc_<metric>`` for each metric of :data:`NC_COLUMNS`
    present in the table (at least one must be); NaN entries are left out pairwise.
    """
    if "acc" not in per_class_table:
        raise ValueError(
            "per_class_table needs an 'acc' column to correlate NC metrics with accuracy"
        )
    present = [m for m in NC_COLUMNS if m in per_class_table]
    if not present:
        raise ValueError(f"per_class_table has none of the NC columns {list(NC_COLUMNS)}")
    f = _frequencies(freq, len(per_class_table))
    acc = per_class_table["acc"].to_numpy(dtype=np.float64)
    out: dict[str, float] = {}
    for m in present:
        values = per_class_table[m].to_numpy(dtype=np.float64)
        out[f"rho_freq_{m}"] = spearman(f, values)
        out[f"rho_acc_{m}"] = spearman(acc, values)
    return out


def binned_by_frequency(freq: Any, values: Any, bins: int | Sequence[float]) -> pd.DataFrame:
    """Mean and standard deviation of a per-class value over frequency bins (Fig. 15).

    ``bins`` is either a number of bins, log-spaced between the smallest positive and the largest
    frequency (classes with ``f = 0`` then form an extra first bin ``[0, 0]``), or increasing bin
    edges. Bin i holds ``edges[i] <= f < edges[i+1]``, the last bin also ``f == edges[-1]``;
    explicit edges must cover every class. NaN values are skipped; ``std`` is the population
    standard deviation (ddof = 0). Columns: ``bin_lo``, ``bin_hi``, ``n_classes`` (classes with a
    finite value), ``mean``, ``std``; one row per bin, empty bins included.
    """
    f = _frequencies(freq)
    v = _vector(values, "values", f.shape[0])
    if isinstance(bins, int | np.integer):
        if bins < 1:
            raise ValueError(f"bins must be a positive number of bins, got {bins}")
        positive = f[f > 0]
        if positive.size == 0:
            edges = np.zeros(0)
        elif positive.min() == positive.max():
            edges = np.array([positive.min(), positive.max()])
        else:
            edges = np.geomspace(positive.min(), positive.max(), int(bins) + 1)
        which = _assign_bins(f, edges) if edges.size else np.full(f.shape, -1)
        lows, highs = list(edges[:-1]), list(edges[1:])
        if (f == 0).any():
            lows, highs = [0.0, *lows], [0.0, *highs]
            which = np.where(f == 0, 0, which + 1)
    else:
        edges = np.asarray(list(bins), dtype=np.float64)
        if edges.ndim != 1 or edges.size < 2 or not (np.diff(edges) > 0).all():
            raise ValueError("bins must be an integer or at least two strictly increasing edges")
        if (f < edges[0]).any() or (f > edges[-1]).any():
            raise ValueError(
                f"frequencies range over [{f.min():g}, {f.max():g}] but the bin edges cover only "
                f"[{edges[0]:g}, {edges[-1]:g}]; extend the edges"
            )
        lows, highs = list(edges[:-1]), list(edges[1:])
        which = _assign_bins(f, edges)
    rows = []
    for i, (lo, hi) in enumerate(zip(lows, highs, strict=True)):
        sel = v[(which == i) & np.isfinite(v)]
        rows.append(
            {
                "bin_lo": float(lo),
                "bin_hi": float(hi),
                "n_classes": int(sel.size),
                "mean": float(sel.mean()) if sel.size else float("nan"),
                "std": float(sel.std()) if sel.size else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["bin_lo", "bin_hi", "n_classes", "mean", "std"])


def _assign_bins(f: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin index per frequency for half-open bins ``[e_i, e_i+1)``, the last one closed."""
    which = np.searchsorted(edges, f, side="right") - 1
    which[f == edges[-1]] = edges.size - 2
    which[(f < edges[0]) | (f > edges[-1])] = -1
    return which


# --- class bootstrap ----------------------------------------------------------------------------

#: Seed of the class resamples (:func:`class_resamples`); together with the number of classes it
#: fixes the resamples, so every run evaluated on the same classes gets the same ones.
BOOTSTRAP_SEED = 20240607
#: Default number of bootstrap replicates.
BOOTSTRAP_REPLICATES = 1000
#: The statistics :func:`bootstrap_replicates` computes on each resample, in column order.
BOOTSTRAP_COLUMNS: tuple[str, ...] = ("top1", "rho_acc", "rho_pred", "tail_acc", "head_acc")


def class_resamples(
    num_classes: int, replicates: int = BOOTSTRAP_REPLICATES, seed: int = BOOTSTRAP_SEED
) -> np.ndarray:
    """Bootstrap resamples of the classes: an int64 array [B, C] of class positions ``0..C-1``
    drawn with replacement, row b being the b-th resample.

    The generator is ``numpy.random.default_rng([seed, C])``: seeded by a constant and the
    number of classes only, never by the run. Every run evaluated on the same C classes thus gets
    the same resamples (common random numbers), so the b-th replicates of two runs are computed
    on the same classes and their difference is a paired bootstrap of the difference. Rows are
    drawn in order, so the first B rows do not depend on how many more are drawn.
    """
    c, b = int(num_classes), int(replicates)
    if c < 1 or b < 1:
        raise ValueError(f"need at least one class and one replicate, got C={c}, B={b}")
    rng = np.random.default_rng([int(seed), c])
    return rng.integers(0, c, size=(b, c), dtype=np.int64)


def _resample_counts(resamples: np.ndarray, num_classes: int) -> np.ndarray:
    """How often each class occurs in each resample: float64 [B, C] (rows sum to C')."""
    b = resamples.shape[0]
    flat = (np.arange(b, dtype=np.int64)[:, None] * num_classes + resamples).ravel()
    return np.bincount(flat, minlength=b * num_classes).reshape(b, num_classes).astype(np.float64)


def _weighted_mean_rows(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the mean of ``values`` (one per class, NaN skipped) weighted by ``counts``:
    the nan-mean of a resampled vector. NaN where a row has no finite value."""
    keep = np.isfinite(values)
    w = counts[:, keep]
    total = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (w @ values[keep]) / total, np.nan)


def _resampled_ranks(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Average rank (1-based) of each class's value within each resample, [B, C].

    In a resample where class c occurs ``counts[b, c]`` times, a value v has rank
    ``#(values < v) + (#(values == v) + 1) / 2`` among the resampled values (average ranks for
    ties, duplicates included): computed for all replicates at once from the counts per
    distinct value, without sorting any resample.
    """
    uniq, group = np.unique(values, return_inverse=True)
    b, u = counts.shape[0], uniq.shape[0]
    flat = (np.arange(b, dtype=np.int64)[:, None] * u + group[None, :]).ravel()
    per_value = np.bincount(flat, weights=counts.ravel(), minlength=b * u).reshape(b, u)
    rank = np.cumsum(per_value, axis=1) - (per_value - 1.0) / 2.0
    return rank[:, group]


def _spearman_rows(counts: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman rho of ``x`` with ``y`` on every resample (counts [B, C]): equal to
    :func:`spearman` of ``x[idx]`` and ``y[idx]`` for the resample ``idx`` (pairs where both are
    finite; NaN with fewer than two such pairs or a constant side)."""
    keep = np.isfinite(x) & np.isfinite(y)
    w = counts[:, keep]
    n = w.sum(axis=1)
    rx = _resampled_ranks(w, x[keep])
    ry = _resampled_ranks(w, y[keep])
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (n + 1.0) / 2.0  # the mean of the ranks 1..n, ties averaged
        dx, dy = rx - mean[:, None], ry - mean[:, None]
        sxy = (w * dx * dy).sum(axis=1)
        sxx = (w * dx * dx).sum(axis=1)
        syy = (w * dy * dy).sum(axis=1)
        rho = sxy / np.sqrt(sxx * syy)
    rho = np.where((n >= 2) & (sxx > 0) & (syy > 0), rho, np.nan)
    return np.clip(rho, -1.0, 1.0)


def bootstrap_replicates(
    freq: Any,
    per_class: pd.DataFrame,
    tail_classes: Sequence[int] | Any | None = None,
    *,
    resamples: np.ndarray | None = None,
    replicates: int = BOOTSTRAP_REPLICATES,
) -> pd.DataFrame:
    """The class-level statistics of one evaluation on B bootstrap resamples of its classes.

    ``freq`` (training counts), ``per_class`` (``acc``, ``npred``; :func:`per_class_metrics`)
    and ``tail_classes`` (positions 0..C-1 of the trimmed classes, or None) describe C classes;
    ``resamples`` [B, C] defaults to :func:`class_resamples` ``(C, replicates)``. Returns B rows
    with the columns of :data:`BOOTSTRAP_COLUMNS`, each computed on the resampled classes
    exactly as on the full set: ``top1`` the nan-mean of acc, ``rho_acc``/``rho_pred`` the
    Spearman rho (average ranks, duplicated classes included) of frequency with acc/npred,
    ``tail_acc``/``head_acc`` the nan-mean of acc over the resampled tail / other classes (NaN
    without tail classes). A replicate whose statistic is undefined (e.g. no finite accuracy,
    a constant side) is NaN. Time and memory are O(B x C) (a few arrays of that size).
    """
    for column in ("acc", "npred"):
        if column not in per_class:
            raise ValueError(f"per_class needs an '{column}' column (see per_class_metrics)")
    c = len(per_class)
    f = _frequencies(freq, c)
    acc = per_class["acc"].to_numpy(dtype=np.float64)
    npred = per_class["npred"].to_numpy(dtype=np.float64)
    idx = class_resamples(c, replicates) if resamples is None else _to_numpy(resamples)
    if idx.ndim != 2 or idx.shape[1] != c:
        raise ValueError(f"resamples must have shape (B, {c}), got {idx.shape}")
    idx = _labels(idx.ravel(), "resamples", c).reshape(idx.shape)
    counts = _resample_counts(idx, c)
    out = {
        "top1": _weighted_mean_rows(counts, acc),
        "rho_acc": _spearman_rows(counts, f, acc),
        "rho_pred": _spearman_rows(counts, f, npred),
    }
    nan = np.full(idx.shape[0], np.nan)
    if tail_classes is not None and len(tail_classes):
        tail = _labels(np.asarray(tail_classes, dtype=np.int64), "tail_classes", c)
        is_tail = np.zeros(c, dtype=bool)
        is_tail[tail] = True
        out["tail_acc"] = _weighted_mean_rows(counts, np.where(is_tail, acc, np.nan))
        out["head_acc"] = _weighted_mean_rows(counts, np.where(is_tail, np.nan, acc))
    else:
        out["tail_acc"], out["head_acc"] = nan, nan.copy()
    return pd.DataFrame(out, columns=list(BOOTSTRAP_COLUMNS))


def percentile_interval(values: Any, level: float = 0.95) -> tuple[float, float]:
    """Equal-tailed percentile interval of bootstrap replicates: the ``(1 - level) / 2`` and
    ``(1 + level) / 2`` quantiles (numpy's linear interpolation), NaN replicates ignored;
    ``(nan, nan)`` without a finite replicate."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    v = _vector(values, "values")
    v = v[np.isfinite(v)]
    if not v.size:
        return float("nan"), float("nan")
    lo, hi = np.quantile(v, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


# --- neural collapse ----------------------------------------------------------------------------


def _etf_deviation(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-row ``NC2`` and ``NC2nn`` of a set of K vectors (rows of ``vectors``, K >= 2).

    With ``v_c`` the unit-normalised rows, ``G = V^T V + 1/(K-1)`` with its diagonal set to 0;
    ``NC2_c = sum_c' |G[c, c']| / (K-1)`` and ``NC2nn_c = max_c' |G[c, c']|``. Both are 0 exactly
    for a simplex equiangular tight frame (all pairwise cosines equal to ``-1/(K-1)``).
    """
    k = vectors.shape[0]
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    g = np.abs(unit @ unit.T + 1.0 / (k - 1))
    np.fill_diagonal(g, 0.0)
    return g.sum(axis=1) / (k - 1), g.max(axis=1)


def nc_metrics(
    features: Any,
    targets: Any,
    classifier: Any,
    *,
    pinv_rtol: float | None = None,
    pinv: str = "float32",
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per-class and overall neural-collapse metrics (docs/study.md section 2), on unnormalised features.

    ``features`` h (N x D), ``targets`` (N, in ``[0, C)``) and ``classifier`` W (C x D: CLIP's
    zero-shot text classifier or SL prototypes; C is taken from it). With the C' classes that
    have samples ("present"):

    * ``mu_c`` = mean of the features of class c; ``mu_G = (1/C') sum_c mu_c`` (mean of class
      means, not of samples); ``Sigma_B = (1/C') sum_c (mu_c - mu_G)(mu_c - mu_G)^T``.
    * ``Sigma_W^c = (1/N) sum_{i in c} (h_i - mu_c)(h_i - mu_c)^T`` with N the total number of
      samples; ``NC1_c = tr(Sigma_W^c Sigma_B^+)``, computed without any D x D matrix per class
      as ``NC1_c = (1/N) sum_{i in c} z_i^T Sigma_B^+ z_i`` with ``z_i = h_i - mu_c``.
      ``Sigma_B^+`` comes from the SVD of the centred means ``M = U S V^T`` (float64):
      ``Sigma_B^+ = C' V S^-2 V^T`` over the eigenvalues ``S^2/C'`` of ``Sigma_B`` above
      ``pinv_rtol`` times the largest; by default ``D * eps`` with the eps of ``pinv``
      (:data:`PINV_EPS`): ``float32`` (the authors' ``torch.linalg.pinv`` on float32, default)
      or ``float64`` (numpy's ``pinv`` cut-off).
      A class with one sample has ``NC1_c = 0``.
    * ``NC2_M``/``NC2nn_M``: :func:`_etf_deviation` of the centred means ``mu_c - mu_G`` of the
      C' present classes (``1/(C'-1)`` in G); ``NC2_W``/``NC2nn_W``: of the C classifier rows
      (not centred).

    Classes without samples get NaN for ``nc1``, ``nc2_m`` and ``nc2nn_m``. The overall values
    (keys = column names) are the means over the classes with a value, so
    ``nc1 = tr(Sigma_W Sigma_B^+) / C'``. Time is dominated by one N x D x rank product;
    memory by a few chunks of ``_CHUNK_ROWS`` x D float64 plus C x max(C, D) matrices.
    """
    w = _finite_matrix(classifier, "classifier")
    h = _finite_matrix(features, "features")
    num_classes, dim = w.shape
    t = _labels(targets, "targets", num_classes)
    if h.shape[1] != dim:
        raise ValueError(f"features have dimension {h.shape[1]} but the classifier has {dim}")
    if h.shape[0] != t.shape[0]:
        raise ValueError(f"{h.shape[0]} feature rows but {t.shape[0]} targets")
    if num_classes < 2:
        raise ValueError("NC metrics need a classifier with at least two classes")
    w_norms = np.linalg.norm(w.astype(np.float64), axis=1)
    if (w_norms == 0).any():
        bad = int(np.argmin(w_norms))
        raise ValueError(f"classifier row {bad} is all zeros; NC2_W is undefined")

    n = t.shape[0]
    counts = np.bincount(t, minlength=num_classes)
    present = counts > 0
    n_present = int(present.sum())
    if n_present < 2:
        raise ValueError(f"NC metrics need samples of at least two classes, got {n_present}")

    # Class means, accumulated in float64 chunk by chunk (one reused float64 buffer).
    buffer = np.empty((min(n, _CHUNK_ROWS), dim), dtype=np.float64)
    sums = np.zeros((num_classes, dim), dtype=np.float64)
    for start in range(0, n, _CHUNK_ROWS):
        tc = t[start : start + _CHUNK_ROWS]
        rows = buffer[: tc.shape[0]]
        np.copyto(rows, h[start : start + _CHUNK_ROWS])
        onehot = scipy.sparse.csr_array(
            (np.ones(tc.shape[0]), (tc, np.arange(tc.shape[0]))), shape=(num_classes, tc.shape[0])
        )
        sums += onehot @ rows
    means = sums / np.maximum(counts, 1)[:, None]
    centred = means[present] - means[present].mean(axis=0)

    # Sigma_B^+ = C' V S^-2 V^T, so z^T Sigma_B^+ z = C' * ||z^T V S^-1||^2.
    _, sing, vt = np.linalg.svd(centred, full_matrices=False)
    if sing.size == 0 or sing[0] == 0.0:
        raise ValueError("all class means coincide (Sigma_B = 0); NC metrics are undefined")
    if pinv not in PINV_EPS:
        raise ValueError(f"pinv must be one of {list(PINV_EPS)}, got {pinv!r}")
    rtol = dim * PINV_EPS[pinv] if pinv_rtol is None else float(pinv_rtol)
    if not 0.0 <= rtol < 1.0:
        raise ValueError(f"pinv_rtol must lie in [0, 1), got {pinv_rtol}")
    keep = sing**2 > rtol * sing[0] ** 2
    whiten = vt[keep].T / sing[keep]  # D x rank

    centred_norms = np.linalg.norm(centred, axis=1)
    if (centred_norms <= 1e-12 * np.linalg.norm(means[present], axis=1).max()).any():
        bad = int(np.flatnonzero(present)[np.argmin(centred_norms)])
        raise ValueError(
            f"the mean of class {bad} equals the mean of class means; NC2_M is undefined"
        )

    within = np.zeros(num_classes, dtype=np.float64)
    for start in range(0, n, _CHUNK_ROWS):
        tc = t[start : start + _CHUNK_ROWS]
        z = np.subtract(h[start : start + _CHUNK_ROWS], means[tc], out=buffer[: tc.shape[0]])
        proj = z @ whiten
        within += np.bincount(tc, weights=np.einsum("ij,ij->i", proj, proj), minlength=num_classes)

    nc1 = np.full(num_classes, np.nan)
    nc1[present] = n_present * within[present] / n
    nc2_m = np.full(num_classes, np.nan)
    nc2nn_m = np.full(num_classes, np.nan)
    nc2_m[present], nc2nn_m[present] = _etf_deviation(centred)
    nc2_w, nc2nn_w = _etf_deviation(w.astype(np.float64))

    table = pd.DataFrame(
        {"nc1": nc1, "nc2_m": nc2_m, "nc2nn_m": nc2nn_m, "nc2_w": nc2_w, "nc2nn_w": nc2nn_w},
        index=_class_index(num_classes),
    )
    overall = {column: float(np.nanmean(table[column].to_numpy())) for column in NC_COLUMNS}
    return table, overall


def intra_class_similarity(
    features: Any, targets: Any, max_per_class: int, seed: int
) -> pd.DataFrame:
    """Cosine similarities between distinct images of the same class (Fig. 4a densities).

    For each class, at most ``max_per_class`` samples are drawn without replacement
    (``numpy.random.default_rng(seed)``, classes in increasing order); every unordered pair of
    distinct drawn samples contributes one value, self-pairs excluded, so a class with m drawn
    samples gives ``m (m - 1) / 2`` values and a class with fewer than two gives none. Returns
    columns ``class`` (int64) and ``similarity`` (float64), ordered by class.
    """
    if max_per_class < 2:
        raise ValueError(f"max_per_class must be at least 2 to form pairs, got {max_per_class}")
    h = _finite_matrix(features, "features")
    t = _labels(targets, "targets")
    if h.shape[0] != t.shape[0]:
        raise ValueError(f"{h.shape[0]} feature rows but {t.shape[0]} targets")
    rng = np.random.default_rng(seed)
    order = np.argsort(t, kind="stable")
    classes, starts = np.unique(t[order], return_index=True)
    bounds = np.append(starts, t.shape[0])
    labels, sims = [], []
    for c, lo, hi in zip(classes, bounds[:-1], bounds[1:], strict=True):
        idx = order[lo:hi]
        if idx.shape[0] > max_per_class:
            idx = np.sort(rng.choice(idx, size=max_per_class, replace=False))
        if idx.shape[0] < 2:
            continue
        x = h[idx].astype(np.float64)
        norms = np.linalg.norm(x, axis=1, keepdims=True)
        if (norms == 0).any():
            raise ValueError(
                f"class {c} has an all-zero feature vector; cosine similarity is undefined"
            )
        x /= norms
        upper = np.triu_indices(idx.shape[0], k=1)
        sims.append((x @ x.T)[upper])
        labels.append(np.full(upper[0].shape[0], c, dtype=np.int64))
    if not sims:
        return pd.DataFrame({"class": np.zeros(0, np.int64), "similarity": np.zeros(0)})
    return pd.DataFrame({"class": np.concatenate(labels), "similarity": np.concatenate(sims)})
