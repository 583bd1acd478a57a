"""How sure a claim's comparison is, and its verdict: bootstrap replicates of the compared
numbers, their 95 % intervals, and the text of our side of a claim.

The claims (:mod:`cliptail.evaluate.claims`) select the runs to compare; this module groups them
(seeds), bootstraps the difference and judges it; :mod:`cliptail.evaluate.claims_report` renders
the table.

Uncertainty. Every number a claim compares comes with bootstrap replicates:

* *Over classes.* Each run's evaluation writes B replicates of ``top1``, ``rho_acc``,
  ``rho_pred``, ``tail_acc`` and ``head_acc``, each computed on a resample of the evaluated
  classes (:func:`cliptail.evaluate.metrics.bootstrap_replicates`). The resamples depend only on
  the number of classes, so runs evaluated on the same classes share them and the b-th
  replicates of two runs are paired: a difference between runs is bootstrapped replicate by
  replicate.
* *Over seeds.* A group of runs with the same factors and several seeds enters as the mean over
  its seeds; its b-th replicate is the mean, over a resample of its seeds drawn with replacement
  (a generator seeded by a constant and the group's run names), of the seeds' b-th replicates.
  With one seed the group's replicates are the run's.
* *Metrics without class replicates* (``nc1``, ``nc2_m``: neural-collapse scalars, not means
  over classes) are bootstrapped over seeds only: the seeds' point values stand in for every
  class replicate. With a single seed in a compared group there is no interval at all, so such
  a comparison is inconclusive (a seed-only interval of one value would let a point estimate
  decide); it can hold or fail only with two or more seeds in every compared group.

A comparison's 95 % interval is the 2.5-97.5 percentile range of its B replicate values (NaN
replicates ignored). Verdicts: a comparison *holds* when its interval excludes the opposite
direction (e.g. lies entirely above 0 for "SL > CLIP"), *does not hold* when it lies entirely in
the opposite direction, and is *inconclusive* otherwise (also when a run has no replicates, e.g.
a table from before the bootstrap: "(no interval)"; a claim never holds without an interval).
The best-vocabulary claim counts the replicates whose best K lies at 5-20 % of the classes:
holds at >= 95 %, does not hold at <= 5 %. A claim made of several comparisons (per family,
setting or source) holds when every comparison holds and does not hold when any does not;
otherwise, a comparison with an undefined value (NaN) makes it *not tested*, else it is
inconclusive. A claim whose runs are absent is *not tested*.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cliptail.evaluate.metrics import (
    BOOTSTRAP_COLUMNS,
    BOOTSTRAP_REPLICATES,
    percentile_interval,
)

#: The verdicts of a claim, in the order the summaries count them.
VERDICTS = ("holds", "does not hold", "inconclusive", "not tested")
#: Confidence level of the intervals.
LEVEL = 0.95
#: Share of replicates at or above which a counted claim (best K) holds; at or below
#: ``1 - SHARE`` it does not hold.
SHARE = 0.95
#: Metrics with class-bootstrap replicates (the columns of the ``.bootstrap.parquet`` files).
CLASS_METRICS = frozenset(BOOTSTRAP_COLUMNS)
#: Seed of the seed resamples (with a checksum of the group's run names).
SEED_RESAMPLE_SEED = 20240608
#: Why a comparison has no interval.
NO_INTERVAL = "no interval"
ONE_SEED = "no interval: one seed, and {metric} has no class bootstrap"
SEEDS_ONLY = "interval over seeds only"
#: Metrics shown as percentages (differences in points).
PERCENT = ("top1", "tail_acc", "head_acc")


@dataclass(frozen=True)
class Outcome:
    """Our side of a claim: the numbers with their intervals (``ours``), the compared
    intervals (``interval``), the verdict (one of :data:`VERDICTS`) and the smallest number of
    seeds among the compared groups (None when not tested)."""

    ours: str
    verdict: str
    interval: str = ""
    seeds: int | None = None

    @property
    def holds(self) -> bool | None:
        return {"holds": True, "does not hold": False}.get(self.verdict)


# --- replicates -------------------------------------------------------------------------------


class Replicates:
    """The class-bootstrap replicates of every (run, evaluation set) at hand.

    ``frames``: (run, evalset) -> a table with the columns of
    :data:`cliptail.evaluate.metrics.BOOTSTRAP_COLUMNS` (one row per class resample), or None
    when no run has replicates. All runs are cut to the smallest number of rows B (the resamples
    are drawn in order, so the first B agree).
    """

    def __init__(self, frames: Mapping[tuple[str, str], pd.DataFrame] | None = None):
        self.frames = {tuple(k): v for k, v in (frames or {}).items()}
        lengths = [len(v) for v in self.frames.values()]
        self.size = min(lengths) if lengths else 0
        self._cache: dict[tuple[str, str, str], np.ndarray | None] = {}

    def get(self, run: str, evalset: str, metric: str) -> np.ndarray | None:
        """The B replicates of ``metric`` of a run (float64), None when it has none."""
        key = (run, evalset, metric)
        if key not in self._cache:
            frame = self.frames.get((run, evalset))
            if frame is None or metric not in frame or self.size == 0:
                self._cache[key] = None
            else:
                values = frame[metric].to_numpy(dtype=np.float64)[: self.size]
                self._cache[key] = values
        return self._cache[key]


@dataclass(frozen=True)
class Estimate:
    """A group's value: the mean of its seeds' point values, its B replicates (None: no
    interval, ``note`` says why) and the number of seeds with a value."""

    point: float
    reps: np.ndarray | None
    seeds: int
    note: str | None = None

    def interval(self) -> tuple[float, float]:
        return percentile_interval(self.reps, LEVEL) if self.reps is not None else (np.nan,) * 2


def _seed_mean(values: np.ndarray, runs: Sequence[str]) -> np.ndarray:
    """Replicates of the seed mean of a group: ``values`` [n seeds, B]; replicate b averages
    the b-th values of a resample of the n seeds (with replacement; NaN skipped)."""
    n, size = values.shape
    if n == 1:
        return values[0]
    key = zlib.crc32("\0".join(sorted(map(str, runs))).encode())
    rng = np.random.default_rng([SEED_RESAMPLE_SEED, n, key])
    draws = rng.integers(0, n, size=(size, n))
    picked = values[draws, np.arange(size)[:, None]]  # [B, n]
    finite = np.isfinite(picked)
    total = np.where(finite, picked, 0.0).sum(axis=1)
    count = finite.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def group(rows: pd.DataFrame, metric: str, boot: Replicates) -> Estimate:
    """The value of a group of runs (seeds): see the module docstring."""
    values = rows[metric].to_numpy(dtype=np.float64)
    finite = np.isfinite(values)
    n = int(finite.sum())
    if not n:
        return Estimate(float("nan"), None, 0)
    point = float(values[finite].mean())
    runs = rows["run"].to_numpy()[finite]
    if metric in CLASS_METRICS:
        evalsets = rows["evalset"].to_numpy()[finite]
        per_run = [boot.get(r, e, metric) for r, e in zip(runs, evalsets, strict=True)]
        if any(v is None for v in per_run):
            return Estimate(point, None, n, NO_INTERVAL)
        return Estimate(point, _seed_mean(np.stack(per_run), runs), n)
    if n < 2:
        return Estimate(point, None, n, ONE_SEED.format(metric=metric))
    size = boot.size or BOOTSTRAP_REPLICATES
    reps = _seed_mean(np.repeat(values[finite][:, None], size, axis=1), runs)
    return Estimate(point, reps, n, SEEDS_ONLY)


# --- verdicts and formatting ------------------------------------------------------------------


@dataclass(frozen=True)
class Part:
    """One comparison of a claim: our numbers, the compared interval, its verdict (a verdict
    of :data:`VERDICTS` or ``undefined``) and the fewest seeds of its groups."""

    ours: str
    interval: str
    verdict: str
    seeds: int


def _direction(lo: float, hi: float, sign: int) -> str:
    """Verdict of an interval ``[lo, hi]`` of a difference the claim says has sign ``sign``."""
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return "inconclusive"
    if (sign > 0 and lo > 0) or (sign < 0 and hi < 0):
        return "holds"
    if (sign > 0 and hi < 0) or (sign < 0 and lo > 0):
        return "does not hold"
    return "inconclusive"


def judge(point: float, reps: np.ndarray | None, sign: int) -> tuple[str, float, float]:
    """Verdict and interval of a compared quantity (``undefined`` when its point is NaN)."""
    if not np.isfinite(point):
        return "undefined", np.nan, np.nan
    if reps is None:
        return "inconclusive", np.nan, np.nan
    lo, hi = percentile_interval(reps, LEVEL)
    return _direction(lo, hi, sign), lo, hi


def is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _fmt(value: float, metric: str) -> str:
    if not np.isfinite(value):
        return "NaN"
    return f"{100 * value:.1f}%" if metric in PERCENT else f"{value:.2f}"


def fmt_est(est: Estimate, metric: str) -> str:
    """A group's value with its interval, e.g. ``0.71 [0.63, 0.78]`` or ``45.0% [43.0%,
    47.1%]`` (no interval: the point alone)."""
    lo, hi = est.interval()
    if not np.isfinite(est.point) or not (np.isfinite(lo) and np.isfinite(hi)):
        return _fmt(est.point, metric)
    return f"{_fmt(est.point, metric)} [{_fmt(lo, metric)}, {_fmt(hi, metric)}]"


def fmt_diff(point: float, lo: float, hi: float, metric: str, note: str | None) -> str:
    """A difference with its interval: ``+0.31 [+0.22, +0.40]``; percentages in points."""
    scale, unit = (100.0, " points") if metric in PERCENT else (1.0, "")
    if not np.isfinite(point):
        return "NaN"
    text = f"{scale * point:+.2f}"
    if np.isfinite(lo) and np.isfinite(hi):
        text += f" [{scale * lo:+.2f}, {scale * hi:+.2f}]"
    elif note is None:
        note = NO_INTERVAL  # replicates, but none of them defined
    text += unit
    return f"{text} ({note})" if note else text


def factor_label(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float | np.floating) else str(value)


def compare(
    first: pd.DataFrame,
    second: pd.DataFrame,
    names: tuple[str, str],
    metric: str,
    sign: int,
    boot: Replicates,
    prefix: str = "",
    arrow: bool = False,
) -> Part:
    """``metric`` of the group ``first`` minus that of ``second``; the claim says the
    difference has sign ``sign``. ``ours`` reads ``SL 0.71 [..] vs CLIP 0.08 [..]``, or with
    ``arrow`` ``<second> -> <first>`` (a factor going from low to high)."""
    a, b = group(first, metric, boot), group(second, metric, boot)
    point = a.point - b.point
    reps = None if a.reps is None or b.reps is None else a.reps - b.reps
    verdict, lo, hi = judge(point, reps, sign)
    note = a.note or b.note
    if arrow:
        ours = f"{prefix}{fmt_est(b, metric)} -> {fmt_est(a, metric)}"
    else:
        ours = f"{prefix}{names[0]} {fmt_est(a, metric)} vs {names[1]} {fmt_est(b, metric)}"
    interval = f"{prefix}{names[0]} - {names[1]} {metric} {fmt_diff(point, lo, hi, metric, note)}"
    return Part(ours, interval, verdict, min(a.seeds, b.seeds))


def combine(parts: Sequence[Part], ours: str | None = None) -> Outcome:
    """A claim of several comparisons: does not hold when any does not; else not tested when
    any value is undefined; else holds when all hold; else inconclusive."""
    verdicts = {p.verdict for p in parts}
    text = "; ".join(p.ours for p in parts) if ours is None else ours
    interval = "; ".join(p.interval for p in parts)
    seeds = min(p.seeds for p in parts)
    if "does not hold" in verdicts:
        verdict = "does not hold"
    elif "undefined" in verdicts:
        return Outcome(f"{text} (undefined value)", "not tested", interval, seeds)
    elif verdicts == {"holds"}:
        verdict = "holds"
    else:
        verdict = "inconclusive"
    return Outcome(text, verdict, interval, seeds)


def absent(what: str) -> Outcome:
    return Outcome(f"not tested: {what}", "not tested")
