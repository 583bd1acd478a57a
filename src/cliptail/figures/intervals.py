"""Uncertainty of a plotted point: bootstrap intervals over classes, widened by the seed spread.

The study tables may carry, next to a metric ``<m>`` (``top1``, ``rho_acc``, ``rho_pred``), its
95 % bootstrap interval over the evaluation classes in ``<m>_lo`` and ``<m>_hi``. A figure point
is the mean over the seeds of one setting; :func:`seed_interval` gives its interval:

- ``mean`` = mean of the seeds' values;
- one seed (n = 1): ``[lo, hi]`` = that seed's bootstrap interval;
- n >= 2 seeds: ``lo = min(mean(lo_s), mean - t * sd / sqrt(n))`` and
  ``hi = max(mean(hi_s), mean + t * sd / sqrt(n))``, with ``sd`` the seeds' sample standard
  deviation (ddof = 1) and ``t`` the two-sided 95 % Student t quantile with n - 1 degrees of
  freedom: the mean bootstrap interval, widened where the seeds disagree more than it says.

NaN values are skipped (n counts the finite values); a missing bound counts as no bound, so
with n >= 2 the seed interval alone remains. :func:`seed_summary` applies this per group of a
table and clips the result to the metric's possible values (:data:`VALUE_RANGE`, e.g. a rho
stays within [-1, 1]). A column without ``_lo``/``_hi`` columns in the table (a neural-collapse
statistic, which has no bootstrap; older results) gets the seed t-interval alone, so it has an
interval only where a point has two or more seeds; where no point has, it gets none, and the
figures then draw no error bar. A drawn bar spans ``lo`` to ``hi`` and
always reaches its point (:func:`error_lengths`; a percentile interval may miss the estimate).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from cliptail.figures import tables

CONFIDENCE = 0.95
#: The possible values of a metric: a widened interval is clipped to them.
VALUE_RANGE = {
    "rho_acc": (-1.0, 1.0),
    "rho_pred": (-1.0, 1.0),
    "top1": (0.0, 1.0),
    "top5": (0.0, 1.0),
    "tail_acc": (0.0, 1.0),
    "head_acc": (0.0, 1.0),
}


def bound_columns(column: str) -> tuple[str, str]:
    """The names of the lower and upper interval columns of ``column``."""
    return f"{column}_lo", f"{column}_hi"


def has_interval(rows: pd.DataFrame, column: str) -> bool:
    """Whether ``rows`` has both interval columns of ``column``."""
    return all(c in rows.columns for c in bound_columns(column))


def _finite(values) -> np.ndarray:
    v = np.asarray([] if values is None else values, dtype=np.float64).ravel()
    return v[np.isfinite(v)]


def seed_interval(
    values, lo=None, hi=None, *, confidence: float = CONFIDENCE
) -> tuple[float, float, float]:
    """(mean, lo, hi) of one point from its seeds' values and their bootstrap bounds.

    See the module docstring for the rule. ``lo``/``hi`` (per-seed bounds) may be None (no
    bootstrap interval): the interval is then the seed t-interval (n >= 2) or NaN (n <= 1).
    """
    v = _finite(values)
    if v.size == 0:
        return np.nan, np.nan, np.nan
    mean = float(v.mean())
    lows, highs = _finite(lo), _finite(hi)
    low = float(lows.mean()) if lows.size else np.nan
    high = float(highs.mean()) if highs.size else np.nan
    if v.size >= 2:
        t = float(stats.t.ppf(0.5 + confidence / 2, v.size - 1))
        half = t * float(v.std(ddof=1)) / np.sqrt(v.size)
        low = float(np.fmin(low, mean - half))
        high = float(np.fmax(high, mean + half))
    return mean, low, high


def seed_summary(rows: pd.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """:func:`tables.seed_means` plus the interval columns of each column of ``values``, per
    group by :func:`seed_interval`, clipped to the metric's :data:`VALUE_RANGE`: from the
    seeds' bootstrap bounds where ``rows`` has them (:func:`has_interval`), else the seed
    t-interval alone, added only when some group has one (two or more finite values)."""
    out = tables.seed_means(rows, keys, values)
    present = [v for v in values if v in rows.columns]
    if not present:
        return out
    groups = rows.groupby(list(keys), dropna=False, sort=False)
    for column in present:
        lo_col, hi_col = bound_columns(column)
        if has_interval(rows, column):
            found = [
                seed_interval(g[column], g[lo_col], g[hi_col])[1:]
                for _, g in groups[[column, lo_col, hi_col]]
            ]
        else:
            found = [seed_interval(g)[1:] for _, g in groups[column]]
        bounds = np.asarray(found, dtype=np.float64).reshape(-1, 2)
        if not has_interval(rows, column) and not np.isfinite(bounds).any():
            continue
        low, high = VALUE_RANGE.get(column, (-np.inf, np.inf))
        out[lo_col] = np.clip(bounds[:, 0], low, high)
        out[hi_col] = np.clip(bounds[:, 1], low, high)
    return out


def error_lengths(center, lo, hi) -> np.ndarray:
    """The ``2 x n`` error lengths matplotlib's ``errorbar`` takes for bars from ``lo`` to ``hi``
    around ``center``; a bar always reaches its point (no negative length), NaN where a bound
    is missing (no bar)."""
    c = np.asarray(center, dtype=np.float64)
    below = c - np.asarray(lo, dtype=np.float64)
    above = np.asarray(hi, dtype=np.float64) - c
    return np.maximum(np.vstack([below, above]), 0.0)  # NaN stays NaN
