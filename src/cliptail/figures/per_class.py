"""Fig. 11 and Fig. 15: per-class accuracy and prediction counts against training frequency.

Both use a log frequency axis. log(0) is undefined, so classes with training count 0 are drawn
at ``f = ZERO_POSITION`` (0.5, half the smallest possible positive count) with open markers and
an ``f = 0`` mark; the correlations use the counts themselves (Spearman and Pearson on f) and
``log(1 + f)`` for the log Pearson, where f = 0 enters as 0 (as in
:func:`cliptail.evaluate.metrics.robustness`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cliptail.evaluate import metrics
from cliptail.figures import style, tables

#: Where a training count of 0 is drawn on a log frequency axis.
ZERO_POSITION = 0.5
QUANTITIES = ("acc", "npred")


def correlations(freq: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Pearson r on f, Pearson r on log(1 + f) and Spearman rho of a per-class value with f,
    over the classes where the value is finite."""
    f = np.asarray(freq, dtype=np.float64)
    return {
        "pearson": metrics.pearson(f, values),
        "pearson_log": metrics.pearson(np.log1p(f), values),
        "spearman": metrics.spearman(f, values),
    }


def _fmt(value: float) -> str:
    return "n/a" if not np.isfinite(value) else f"{value:.2f}"


def _check_records(per_class: Mapping[str, pd.DataFrame], figure: str) -> None:
    if not per_class:
        raise ValueError(f"{figure}: no per-class records given; pass {{label: per-class record}}")
    for name, record in per_class.items():
        tables.require(record, ["freq", *QUANTITIES], f"{figure} record {name!r}")
        if (record["freq"].to_numpy(dtype=np.float64) < 0).any():
            raise ValueError(f"{figure}: record {name!r} has negative frequencies")


def fig11(per_class: Mapping[str, pd.DataFrame]) -> Figure:
    """Fig. 11: per-class acc (top row) and #pred (bottom row) vs frequency, one column per model.

    ``per_class`` maps a label (e.g. ``CLIP``, ``SL``) to a per-class record
    (``results/eval/<run>/<evalset>.parquet``; reads ``freq``, ``acc``, ``npred``). Each panel
    prints Pearson r on f, Pearson r on log(1 + f) and Spearman rho (:func:`correlations`).
    Zero frequencies are drawn at :data:`ZERO_POSITION` with open markers; classes with NaN
    accuracy are left out of the accuracy panel and counted in a note.
    """
    _check_records(per_class, "fig11")
    labels = list(per_class)
    with style.context():
        fig, axes = style.new_figure(2, len(labels), sharex=True)
        for col, name in enumerate(labels):
            record = per_class[name]
            f = record["freq"].to_numpy(dtype=np.float64)
            colour = style.color(name, labels)
            for row, ycol in enumerate(QUANTITIES):
                ax = axes[row, col]
                y = style.shown(ycol, record[ycol])
                keep = np.isfinite(y)
                seen = keep & (f > 0)
                unseen = keep & (f == 0)
                ax.scatter(
                    f[seen],
                    y[seen],
                    s=8,
                    alpha=0.6,
                    color=colour,
                    linewidths=0,
                    gid=f"classes:{name}",
                )
                if unseen.any():
                    ax.scatter(
                        np.full(unseen.sum(), ZERO_POSITION),
                        y[unseen],
                        s=10,
                        facecolors="none",
                        edgecolors=colour,
                        linewidths=0.8,
                        gid=f"unseen:{name}",
                    )
                    ax.axvline(ZERO_POSITION, color="0.7", linewidth=0.6, linestyle=":")
                ax.set_xscale("log")
                r = correlations(f, record[ycol].to_numpy(dtype=np.float64))
                ax.text(
                    0.02,
                    0.98,
                    f"Pearson r {_fmt(r['pearson'])}\nPearson r (log) {_fmt(r['pearson_log'])}"
                    f"\nSpearman ρ {_fmt(r['spearman'])}",
                    transform=ax.transAxes,
                    ha="left",
                    va="top",
                    fontsize=7,
                    gid="stats",
                )
                if (~keep).any():
                    tables.add_note(ax, f"{int((~keep).sum())} classes without a value omitted")
                if row == 0:
                    ax.set_title(name)
                else:
                    ax.set_xlabel(
                        style.label("freq") + (" (f = 0 at 0.5)" if (f == 0).any() else "")
                    )
                if col == 0:
                    ax.set_ylabel(style.label(ycol))
    return fig


def common_edges(per_class: Mapping[str, pd.DataFrame], bins: int) -> np.ndarray:
    """Bin edges shared by all records: ``[0, f_min, ..., f_max]`` with ``bins`` log-spaced bins
    between the smallest positive and the largest frequency; ``[0, f_min)`` holds exactly the
    classes with f = 0."""
    if bins < 1:
        raise ValueError(f"bins must be a positive number of bins, got {bins}")
    f = np.concatenate([r["freq"].to_numpy(dtype=np.float64) for r in per_class.values()])
    positive = f[f > 0]
    if positive.size == 0:
        return np.array([0.0, 1.0])
    lo, hi = positive.min(), positive.max()
    if lo == hi:
        return np.array([0.0, lo, 2.0 * lo])
    return np.concatenate([[0.0], np.geomspace(lo, hi, bins + 1)])


def binned(per_class: Mapping[str, pd.DataFrame], bins: int | Sequence[float]) -> pd.DataFrame:
    """Long table of :func:`cliptail.evaluate.metrics.binned_by_frequency` per label and quantity.

    Columns ``label``, ``quantity`` (acc | npred), ``bin_lo``, ``bin_hi``, ``n_classes``,
    ``mean``, ``std`` and ``x`` (where the bin is drawn: the geometric mean of its edges,
    :data:`ZERO_POSITION` for the zero bin). Accuracies stay fractions here.
    """
    edges = common_edges(per_class, bins) if isinstance(bins, (int, np.integer)) else bins
    frames = []
    for name, record in per_class.items():
        for quantity in QUANTITIES:
            b = metrics.binned_by_frequency(
                record["freq"].to_numpy(), record[quantity].to_numpy(), edges
            )
            b.insert(0, "quantity", quantity)
            b.insert(0, "label", name)
            frames.append(b)
    out = pd.concat(frames, ignore_index=True)
    lo, hi = out["bin_lo"].to_numpy(), out["bin_hi"].to_numpy()
    out["x"] = np.where(lo > 0, np.sqrt(np.maximum(lo, 1e-300) * hi), ZERO_POSITION)
    return out


def fig15(per_class: Mapping[str, pd.DataFrame], bins: int | Sequence[float] = 10) -> Figure:
    """Fig. 15: binned mean ± std of per-class acc and #pred over log-frequency bins.

    ``per_class`` maps a label to a per-class record (reads ``freq``, ``acc``, ``npred``).
    ``bins`` is a number of log-spaced bins shared by all labels (:func:`common_edges`, plus a
    bin for f = 0) or explicit increasing edges covering every frequency. Each bin is drawn at
    its geometric centre (the f = 0 bin at :data:`ZERO_POSITION`) with a ±1 std error bar
    (population std); empty bins are not drawn.
    """
    _check_records(per_class, "fig15")
    table = binned(per_class, bins)
    labels = list(per_class)
    with style.context():
        fig, axes = style.new_figure(1, 2)
        for ax, quantity in zip(axes[0], QUANTITIES, strict=True):
            for name in labels:
                b = table[(table["label"] == name) & (table["quantity"] == quantity)]
                b = b[b["n_classes"] > 0]
                bars = ax.errorbar(
                    b["x"],
                    style.shown(quantity, b["mean"]),
                    yerr=style.shown(quantity, b["std"]),
                    marker="o",
                    markersize=4,
                    capsize=2,
                    linewidth=1.2,
                    color=style.color(name, labels),
                    label=name,
                )
                bars.lines[0].set_gid(f"binned:{name}")
            ax.set_xscale("log")
            ax.set_xlabel(style.label("freq") + " (bin centre)")
            ax.set_ylabel(style.label(quantity))
        style.figure_legend(fig)
    return fig
