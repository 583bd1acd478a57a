"""Plot building blocks shared by the study figures: one line per model family, readable run labels."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.figures import intervals, style, tables

#: Factors that may tell runs of one family apart, in label order.
LABEL_FACTORS = factors.DATA_FACTORS
#: Style of the interval error bars: thin, small caps, in the colour of their points, drawn
#: below the markers.
ERRORBAR_STYLE = {"elinewidth": 0.8, "capsize": 2.0, "capthick": 0.8, "alpha": 0.75, "zorder": 2}


def ordered_families(names: Sequence[str]) -> list[str]:
    """Family names in legend order: the base families of :data:`style.FAMILY_COLORS` first."""
    base = [n for n in style.FAMILY_COLORS if n in names]
    return base + sorted(set(names) - set(base))


def with_family(rows: pd.DataFrame, *, with_vocab: bool = True) -> pd.DataFrame:
    """``rows`` with a ``family`` column (see :func:`style.family`)."""
    records = rows.to_dict("records")
    return rows.assign(family=[style.family(r, with_vocab=with_vocab) for r in records])


def positions(values: Sequence[Any], order: Sequence[Any]) -> dict[Any, float]:
    """Categorical x positions: the values of ``order`` that occur, then the others sorted."""
    present = list(dict.fromkeys(values))
    known = [v for v in order if v in present]
    return {v: float(i) for i, v in enumerate(known + sorted(set(present) - set(known), key=str))}


def categorical_axis(ax, where: Mapping[Any, float], names: Mapping[Any, str]) -> None:
    """Ticks at the categorical positions, labelled with ``names`` (the value itself if absent)."""
    ax.set_xticks(list(where.values()))
    ax.set_xticklabels([names.get(v, str(v)) for v in where])
    ax.set_xlim(min(where.values()) - 0.4, max(where.values()) + 0.4)


def interval_errors(points: pd.DataFrame, column: str) -> np.ndarray | None:
    """The ``2 x n`` error lengths, as plotted (:func:`style.shown`), of ``points[column]`` from
    its interval columns (:func:`intervals.seed_summary`); None when ``points`` has none."""
    if not intervals.has_interval(points, column):
        return None
    lo, hi = intervals.bound_columns(column)
    return intervals.error_lengths(
        style.shown(column, points[column]),
        style.shown(column, points[lo]),
        style.shown(column, points[hi]),
    )


def error_bars(
    ax,
    x: np.ndarray,
    y: np.ndarray,
    *,
    xerr: np.ndarray | None = None,
    yerr: np.ndarray | None = None,
    color: Any,
    gid: str,
):
    """Error bars (:data:`ERRORBAR_STYLE`) at the points ``(x, y)``; every part (bar lines and
    caps) gets the ``gid``. Nothing is drawn, and None returned, when no error is finite
    (e.g. a table without interval columns); a point whose error is NaN has no bar."""
    errors = {
        name: err
        for name, err in (("xerr", xerr), ("yerr", yerr))
        if err is not None and np.isfinite(err).any()
    }
    if not errors or not len(x):
        return None
    bars = ax.errorbar(x, y, fmt="none", ecolor=color, **errors, **ERRORBAR_STYLE)
    for part in bars.get_children():
        part.set_gid(gid)
    return bars


def family_lines(
    ax,
    rows: pd.DataFrame,
    *,
    key: str,
    ycol: str,
    xcol: str | None = None,
    where: Mapping[Any, float] | None = None,
) -> list[str]:
    """One marked line per family of ``ycol`` against a factor ``key``.

    Points are seed means per (family, key). The x coordinate is the mean of the numeric column
    ``xcol`` (e.g. ``n_train``) or the categorical position ``where[key]``. Points with a NaN
    coordinate are left out; their ``family @ key`` labels are returned for a note. When the
    table has the interval columns of ``ycol`` (``<ycol>_lo``, ``<ycol>_hi``), each point gets a
    vertical error bar (:func:`intervals.seed_summary`, gid ``yerr:<family>``).
    """
    data = with_family(rows)
    means = intervals.seed_summary(data, ["family", key], [ycol] + ([xcol] if xcol else []))
    names = ordered_families(list(means["family"].unique()))
    omitted: list[str] = []
    for name in names:
        pts = means[means["family"] == name]
        x = (
            pts[xcol].to_numpy(dtype=np.float64)
            if xcol is not None
            else np.array([where[v] for v in pts[key]], dtype=np.float64)
        )
        order = np.argsort(x, kind="stable")
        pts, x = pts.iloc[order], x[order]
        y = style.shown(ycol, pts[ycol])
        keep = tables.finite(x, y)
        yerr = interval_errors(pts, ycol)
        error_bars(
            ax,
            x[keep],
            y[keep],
            yerr=None if yerr is None else yerr[:, keep],
            color=style.color(name, names),
            gid=f"yerr:{name}",
        )
        ax.plot(
            x[keep],
            y[keep],
            marker="o",
            markersize=4,
            linewidth=1.2,
            color=style.color(name, names),
            label=name,
            gid=f"line:{name}",
        )
        omitted += [f"{name} @ {k}" for k in pts[key][~keep]]
    return omitted


def _factor_text(factor: str, value: Any) -> str:
    if factor == "caption":
        return style.CAPTION_LABELS.get(value, str(value))
    if factor == "scale":
        return f"scale {value:g}"
    if factor == "trim_k":
        return f"trim {value}"
    if factor == "trim_ceil":
        return f"{value}-shot"
    return str(value)


def run_labels(rows: pd.DataFrame) -> list[str]:
    """A readable label per row: the family (with the SL vocabulary) plus the data factors that
    vary among ``rows``.

    Factors the row's method ignores (:data:`tables.IGNORED`, e.g. the caption of an SL run) and
    missing factors are not shown.
    """
    varying = [
        f
        for f in LABEL_FACTORS
        if f in rows.columns and rows[f].astype(object).dropna().nunique() > 1
    ]
    labels = []
    for record in rows.to_dict("records"):
        parts = [style.family(record, with_vocab=True)]
        ignored = tables.IGNORED.get(str(record["method"]), frozenset())
        for f in varying:
            value = record[f]
            if f in ignored or value is None or (not isinstance(value, str) and pd.isna(value)):
                continue
            parts.append(_factor_text(f, value))
        labels.append(", ".join(parts))
    return labels
