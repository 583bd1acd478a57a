"""Table handling shared by the figure functions: column checks, one evaluation set, seed means.

The study tables have one row per (study, run, evalset); a run that belongs to several studies
appears once per study in ``runs.parquet``. :func:`one_evalset` keeps one row per run of the
chosen evaluation set, so a figure never counts a run twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.figures import style


def require(table: pd.DataFrame, columns: Iterable[str], figure: str) -> None:
    """Fail with one clear message when ``table`` lacks columns ``figure`` reads."""
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ValueError(
            f"{figure}: the table lacks column(s) {missing}; pass a study table "
            f"(results/tables/studies/<study>.parquet or results/tables/runs.parquet)"
        )


def one_evalset(
    table: pd.DataFrame, evalset: str | None, figure: str, columns: Iterable[str] = ()
) -> pd.DataFrame:
    """Rows of one evaluation set, one per run.

    ``evalset`` None accepts a table that holds a single evaluation set. Raises ValueError when
    columns are missing, the evaluation set is absent or ambiguous, or no row is left.
    """
    require(table, ["run", "evalset", "method", *columns], figure)
    present = sorted(table["evalset"].dropna().unique().tolist())
    if evalset is None:
        if len(present) > 1:
            raise ValueError(
                f"{figure}: the table holds evaluation sets {present}; choose one with evalset=..."
            )
        evalset = present[0] if present else None
    rows = table[table["evalset"] == evalset] if evalset is not None else table.iloc[0:0]
    if rows.empty:
        raise ValueError(
            f"{figure}: no rows for evaluation set {evalset!r} "
            f"(the table holds {present}); run the study first"
        )
    return rows.drop_duplicates(["run", "evalset"]).reset_index(drop=True)


#: Factors of a run apart from its method and seed.
FACTORS = tuple(f for f in factors.RUN_FACTORS if f not in ("method", "seed"))
#: Factors that name a model family (one legend entry per family).
FAMILY_FACTORS = ("text_tower", "head", "vocab_size", "vocab_weight", "recipe")
#: Factors a method ignores (:func:`cliptail.study.normalise_factors`); their entries carry no meaning.
IGNORED = {
    "clip": frozenset({"head", "vocab_size", "vocab_weight"}),
    "sl": frozenset({"caption", "text_tower"}),
}


def only_varying(rows: pd.DataFrame, allowed: Iterable[str], figure: str) -> None:
    """Fail when, for one method, a factor outside ``allowed`` takes several values.

    A figure that averages seeds per point would otherwise silently average different settings
    (e.g. ``runs.parquet`` passed where one study's rows are meant).
    """
    allowed = set(allowed)
    for method, group in rows.groupby("method"):
        ignored = IGNORED.get(str(method), frozenset())
        shown = [f for f in FACTORS if f not in allowed | ignored and f in group.columns]
        varying = [f for f in shown if group[f].astype(object).nunique(dropna=False) > 1]
        if varying:
            raise ValueError(
                f"{figure}: the {method} runs differ in {varying}, which this figure "
                f"does not show; pass only the rows of the study it plots"
            )


def is_value(series: pd.Series, value) -> pd.Series:
    """Mask ``series == value``; missing entries are unequal to any value and match None."""
    if value is None:
        return series.isna()
    return series.isin([value])


def seed_means(rows: pd.DataFrame, keys: Sequence[str], values: Sequence[str]) -> pd.DataFrame:
    """Mean of ``values`` over the runs (seeds) sharing ``keys``; missing keys form a group.

    NaN values are skipped in the mean (a group whose values are all NaN keeps NaN).
    """
    present = [v for v in values if v in rows.columns]
    out = rows.groupby(list(keys), dropna=False, sort=False)[present].mean().reset_index()
    return out


def finite(*arrays: np.ndarray) -> np.ndarray:
    """Mask of the positions where every array is finite."""
    mask = np.ones(len(arrays[0]), dtype=bool)
    for a in arrays:
        mask &= np.isfinite(np.asarray(a, dtype=np.float64))
    return mask


def add_note(ax, text: str) -> None:
    """A small grey note in the lower left corner of a panel (e.g. which points are omitted);
    a further note goes above the previous ones."""
    stacked = sum(1 for t in ax.texts if t.get_gid() == "note")
    ax.text(
        0.02,
        0.02 + 0.07 * stacked,
        text,
        transform=ax.transAxes,
        fontsize=style.NOTE_SIZE,
        color="0.35",
        ha="left",
        va="bottom",
        gid="note",
    )


def omitted_note(ax, labels: Sequence[str], why: str = "undefined") -> None:
    """Note the points left out of a panel because a value is NaN (nothing when none was)."""
    if labels:
        add_note(ax, f"omitted ({why}): " + ", ".join(str(x) for x in labels))
