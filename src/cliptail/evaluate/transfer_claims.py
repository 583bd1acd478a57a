"""The claims of the paper's DINO experiment (Sec. 4.2, Table 2), judged on a probe study.

The compared quantity of every claim is a difference of mean linear-probe scores over the probe
sets, between two pre-training settings (e.g. LAIONet with subsampled prototypes minus LAIONet
with all of them). Its uncertainty comes from the two things that vary: which probe sets were
chosen and which seeds were trained. Each of B = 1000 replicates resamples the probe sets with
replacement (the same resample for both settings: the comparison is paired) and, per setting,
its seeds with replacement, and recomputes the difference. The 95 % interval is the 2.5-97.5
percentile range; the verdicts follow :mod:`cliptail.evaluate.verdicts` (holds when the
interval excludes the opposite direction, does not hold when it lies in it, inconclusive
otherwise). With a single probe set and a single seed per setting there is no interval.

Settings are told apart by the table's ``source``, ``prototypes``, ``subsample`` and
``is_reference`` columns (:func:`cliptail.evaluate.transfer.transfer_table`): the reference
(ImageNet; in the world the curated pool), the shifted source with all prototypes, the shifted
source with fewer prototypes and no sampling, and the shifted source with sampling.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail.evaluate.claims import COLUMNS
from cliptail.evaluate.transfer import setting_label
from cliptail.evaluate.verdicts import Part, combine, judge

REPLICATES = 1000
SEED = 20240608


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and np.isnan(value))


def _matrix(rows: pd.DataFrame, probes: Sequence[str]) -> np.ndarray:
    """[seeds, probe sets] scores of one setting (NaN where a run lacks a probe set)."""
    wide = rows.pivot_table(index="run", columns="probe_set", values="score", aggfunc="mean")
    return wide.reindex(columns=list(probes)).to_numpy(dtype=np.float64)


def difference(
    first: pd.DataFrame, second: pd.DataFrame, rng: np.random.Generator
) -> tuple[float, np.ndarray | None, int]:
    """Mean over the shared probe sets of ``first``'s seed-mean score minus ``second``'s;
    its paired replicates (None without any resampling to do) and the fewest seeds."""
    probes = sorted(set(first["probe_set"]) & set(second["probe_set"]))
    a, b = _matrix(first, probes), _matrix(second, probes)
    point = float(np.nanmean(np.nanmean(a, axis=0) - np.nanmean(b, axis=0)))
    seeds = min(len(a), len(b))
    if len(probes) < 2 and seeds < 2:
        return point, None, seeds
    p = rng.integers(0, len(probes), (REPLICATES, len(probes)))
    sa = rng.integers(0, len(a), (REPLICATES, len(a)))
    sb = rng.integers(0, len(b), (REPLICATES, len(b)))
    reps = np.empty(REPLICATES)
    for r in range(REPLICATES):
        ma = np.nanmean(a[sa[r]][:, p[r]], axis=0)
        mb = np.nanmean(b[sb[r]][:, p[r]], axis=0)
        reps[r] = np.nanmean(ma - mb)
    return point, reps, seeds


def _part(first, second, names, sign, rng) -> Part:
    point, reps, seeds = difference(first, second, rng)
    verdict, lo, hi = judge(point, reps, sign)
    interval = f"{names[0]} - {names[1]}: {point:+.2f}"
    interval += f" [{lo:+.2f}, {hi:+.2f}] points" if np.isfinite(lo) else " points (no interval)"
    ours = f"{names[0]} {_mean(first):.1f} vs {names[1]} {_mean(second):.1f}"
    return Part(ours, interval, verdict, seeds)


def _mean(rows: pd.DataFrame) -> float:
    return float(rows.groupby("run")["score"].mean().mean())


def _settings(table: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The reference, the shifted source with all prototypes, with fewer prototypes (no
    sampling) and each sampling size: label -> rows. Keys: ``reference``, ``full``,
    ``fewer:<K>``, ``sampled:<S>``."""
    ref_mask = table["is_reference"].fillna(False).astype(bool)
    out: dict[str, pd.DataFrame] = {}
    if ref_mask.any():
        out["reference"] = table[ref_mask]
    others = table[~ref_mask]
    if others.empty:
        return out
    top = int(others["prototypes"].max())
    for (prototypes, subsample), rows in others.groupby(
        [others["prototypes"], others["subsample"].fillna(-1)], sort=True
    ):
        if subsample == -1:
            key = "full" if int(prototypes) == top else f"fewer:{int(prototypes)}"
        elif int(prototypes) == top:
            key = f"sampled:{int(subsample)}"
        else:
            continue
        out[key] = rows
    return out


def _name(rows: pd.DataFrame) -> str:
    from cliptail.figures.catalogue import SOURCE_NAMES

    return setting_label(rows.iloc[0].to_dict(), SOURCE_NAMES)


def _outcome(parts: list[Part]) -> dict:
    outcome = combine(parts)
    return {
        "ours": outcome.ours,
        "interval": outcome.interval,
        "seeds": outcome.seeds,
        "verdict": outcome.verdict,
        "holds": outcome.holds,
    }


def _absent(what: str) -> dict:
    return {
        "ours": f"not tested: {what}",
        "interval": "",
        "seeds": None,
        "verdict": "not tested",
        "holds": None,
    }


def transfer_claims(table: pd.DataFrame) -> pd.DataFrame:
    """One row per DINO claim (columns of the claims table; ``evalset`` names the probe sets)."""
    rng = np.random.default_rng(SEED)
    groups = _settings(table) if len(table) else {}
    probes = ", ".join(sorted(set(table["probe_set"]))) if len(table) else ""
    sampled = sorted((k for k in groups if k.startswith("sampled:")), key=lambda k: int(k[8:]))
    fewer = {int(k[6:]): k for k in groups if k.startswith("fewer:")}
    rows = []

    def add(claim, figure, statement, paper, result):
        rows.append(
            {
                "claim": claim,
                "figure": figure,
                "statement": statement,
                "paper": paper,
                "evalset": f"probes: {probes}",
                **result,
            }
        )

    if "reference" in groups and "full" in groups:
        ref, full = groups["reference"], groups["full"]
        result = _outcome([_part(full, ref, (_name(full), _name(ref)), -1, rng)])
    else:
        result = _absent("needs DINO runs on the reference and the shifted source")
    add(
        "dino_web_transfers_worse",
        "Table 2, Sec. 4.2",
        "DINO pre-trained on the long-tailed web source with all prototypes transfers worse "
        "than on the reference (mean linear-probe score).",
        "LAIONet 56.7 vs ImageNet 60.8",
        result,
    )
    if "full" in groups and sampled:
        full = groups["full"]
        parts = [_part(groups[k], full, (_name(groups[k]), _name(full)), +1, rng) for k in sampled]
        result = _outcome(parts)
    else:
        result = _absent(
            "needs DINO runs on the shifted source with all and with subsampled prototypes"
        )
    add(
        "prototype_subsampling_helps",
        "Table 2, Fig. 10, Sec. 4.2",
        "Subsampling the prototypes each iteration improves the transfer of DINO pre-trained on "
        "the web source, for every subset size tried.",
        "LAIONet: sampling 1024 / 4096 / 16384 -> 58.0 / 59.1 / 60.0 vs 56.7",
        result,
    )
    pairs = [(k, fewer[int(k[8:])]) for k in sampled if int(k[8:]) in fewer]
    if pairs:
        parts = [
            _part(groups[s], groups[f], (_name(groups[s]), _name(groups[f])), +1, rng)
            for s, f in pairs
        ]
        result = _outcome(parts)
    else:
        result = _absent("needs a run with as few prototypes as a sampled subset, without sampling")
    add(
        "sampling_beats_fewer_prototypes",
        "Table 2, Sec. 4.2",
        "Sampling S of many prototypes per iteration transfers better than training with only "
        "S prototypes: the benefit is the sampling, not the smaller softmax.",
        "LAIONet: sampling 16384 of 65536 60.0 vs 16384 prototypes 57.1",
        result,
    )
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seeds"] = df["seeds"].astype("Int64")
    df["holds"] = df["holds"].astype("boolean")
    return df
