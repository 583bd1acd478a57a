"""Fig. 11 and Fig. 15: per-class accuracy and prediction counts against training frequency.

Both take per-class records keyed by a label ``<source>/<model>`` (e.g. ``laionet/CLIP``; the
workflow's labels, :func:`cliptail.figures.catalogue.baseline_runs`) or a plain model label
(``CLIP``); each training source gets one row of panels, named by
:data:`cliptail.figures.catalogue.SOURCE_NAMES`.

Both use a log frequency axis with plain tick labels (1, 10, 100, 1k, ...). log(0) is undefined,
so classes with training count 0 are drawn at ``f = ZERO_POSITION`` (0.5, half the smallest
possible positive count), ticked ``0``, with open markers; the correlations use the counts
themselves (Spearman and Pearson on f) and ``log(1 + f)`` for the log Pearson, where f = 0 enters
as 0 (as in :func:`cliptail.evaluate.metrics.robustness`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cliptail.evaluate import metrics
from cliptail.figures import style, tables
from cliptail.figures.catalogue import SOURCE_NAMES, SOURCE_SEPARATOR

#: Where a training count of 0 is drawn on a log frequency axis.
ZERO_POSITION = 0.5
QUANTITIES = ("acc", "npred")
#: Largest value each quantity can take (accuracies in percent); error bars stop there.
_CEILING = {"acc": 100.0}
_SI = ((1e9, "G"), (1e6, "M"), (1e3, "k"))


def split_label(label: str) -> tuple[str, str]:
    """``(source, model)`` of a record label ``<source>/<model>``; ``("", label)`` without one."""
    source, sep, model = str(label).rpartition(SOURCE_SEPARATOR)
    return (source, model) if sep else ("", str(label))


def source_name(source: str) -> str:
    """Display name of a training source (:data:`SOURCE_NAMES`; others as given)."""
    return SOURCE_NAMES.get(source, source)


def count_label(value: float) -> str:
    """A frequency as a short plain number: ``0.5``, ``1``, ``10``, ``100``, ``1k``, ``2.5M``."""
    if value >= 1000:
        for size, suffix in _SI:
            if value >= size:
                return f"{value / size:g}{suffix}"
    return f"{value:g}"


def log_frequency_ticks(ax, freq: np.ndarray, *, zero: bool) -> None:
    """Plain major ticks on a log frequency x axis: every power of ten spanning the positive
    frequencies ``freq`` (every second or third one beyond seven; labelled by
    :func:`count_label`) and, with ``zero``, a ``0`` tick at :data:`ZERO_POSITION` (then 1 is
    left out when more than four powers are ticked); minor ticks unlabelled."""
    f = np.asarray(freq, dtype=np.float64)
    positive = f[np.isfinite(f) & (f > 0)]
    ticks: list[float] = [ZERO_POSITION] if zero else []
    if positive.size:
        lo = int(np.floor(np.log10(positive.min())))
        hi = int(np.ceil(np.log10(positive.max())))
        decades = [10.0**e for e in range(lo, hi + 1)]
        if len(decades) > 7:  # at most about seven labels: every second or third decade
            step = -(-len(decades) // 7)
            decades = decades[::step]
        # 1 sits 0.3 decades from the 0 tick: over a wide axis their labels would touch
        crowded = zero and len(decades) > 4
        ticks += [t for t in decades if t > (3 * ZERO_POSITION if crowded else ZERO_POSITION)]
    labels = ["0" if zero and t == ZERO_POSITION else count_label(t) for t in ticks]
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(ticks))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FixedFormatter(labels))
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def clipped_errors(quantity: str, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """Asymmetric error bars ``[lower, upper]`` of mean ± std that stop at 0 (accuracies and
    counts cannot be negative) and, for accuracies, at 100%."""
    mean = np.asarray(mean, dtype=np.float64)
    std = np.asarray(std, dtype=np.float64)
    lower = mean - np.maximum(mean - std, 0.0)
    upper = np.minimum(mean + std, _CEILING.get(quantity, np.inf)) - mean
    return np.vstack([np.maximum(lower, 0.0), np.maximum(upper, 0.0)])


def _grid(labels: Sequence[str]) -> tuple[list[str], list[str], dict[tuple[str, str], str]]:
    """Sources (rows) and models in order of first appearance, and (source, model) -> label."""
    cells: dict[tuple[str, str], str] = {}
    for label in labels:
        key = split_label(label)
        if key in cells:
            raise ValueError(f"two records for source {key[0]!r} and model {key[1]!r}")
        cells[key] = label
    sources = list(dict.fromkeys(s for s, _ in cells))
    models = list(dict.fromkeys(m for _, m in cells))
    return sources, models, cells


def _title(source: str, model: str) -> str:
    return f"{source_name(source)}: {model}" if source else model


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
    """Fig. 11: per-class acc and #pred vs frequency; one row per training source, columns =
    accuracy of each model, then #pred of each model.

    ``per_class`` maps a label ``<source>/<model>`` (e.g. ``incaps/CLIP``) or a plain model
    label (``CLIP``, one row) to a per-class record (``results/eval/<run>/<evalset>.parquet``;
    reads ``freq``, ``acc``, ``npred``). Each panel prints Pearson r on f, Pearson r on
    log(1 + f) and Spearman rho (:func:`correlations`) and is titled ``<source>: <model>``.
    Zero frequencies are drawn at :data:`ZERO_POSITION` (tick ``0``) with open markers; classes
    with NaN accuracy are left out of the accuracy panel and counted in a note; a source without
    a record of some model leaves that panel empty with a note.
    """
    _check_records(per_class, "fig11")
    sources, models, cells = _grid(list(per_class))
    colours = {m: style.color(m, models) for m in models}
    all_freq = np.concatenate([r["freq"].to_numpy(dtype=np.float64) for r in per_class.values()])
    any_zero = bool((all_freq == 0).any())
    columns = [(q, m) for q in QUANTITIES for m in models]
    with style.context():
        fig, axes = style.new_figure(len(sources), len(columns), sharex=True)
        for row, source in enumerate(sources):
            for col, (ycol, name) in enumerate(columns):
                ax = axes[row, col]
                ax.set_xscale("log")
                ax.set_title(_title(source, name))
                ax.set_ylabel(style.label(ycol))
                if row == len(sources) - 1:
                    ax.set_xlabel(
                        style.label("freq") + (" (0: unseen in training)" if any_zero else "")
                    )
                if (source, name) not in cells:
                    tables.add_note(ax, f"no {name} run on {source_name(source) or 'it'}")
                    continue
                _scatter(ax, per_class[cells[(source, name)]], ycol, name, colours[name])
        for ax in axes.flat:
            log_frequency_ticks(ax, all_freq, zero=any_zero)
    return fig


def _scatter(ax, record: pd.DataFrame, ycol: str, name: str, colour) -> None:
    f = record["freq"].to_numpy(dtype=np.float64)
    y = style.shown(ycol, record[ycol])
    keep = np.isfinite(y)
    seen = keep & (f > 0)
    unseen = keep & (f == 0)
    ax.scatter(f[seen], y[seen], s=8, alpha=0.6, color=colour, linewidths=0, gid=f"classes:{name}")
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
        bbox={"facecolor": "white", "alpha": 0.75, "edgecolor": "none", "pad": 1.0},
        gid="stats",
    )
    if (~keep).any():
        tables.add_note(ax, f"{int((~keep).sum())} classes without a value omitted")


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
    """Fig. 15: binned mean ± std of per-class acc and #pred over log-frequency bins; one row per
    training source (columns acc, #pred), one line per model.

    ``per_class`` maps a label ``<source>/<model>`` or a plain model label to a per-class record
    (reads ``freq``, ``acc``, ``npred``). ``bins`` is a number of log-spaced bins shared by all
    records (:func:`common_edges`, plus a bin for f = 0) or explicit increasing edges covering
    every frequency. Each bin is drawn at its geometric centre (the f = 0 bin at
    :data:`ZERO_POSITION`, tick ``0``) with a ±1 std error bar (population std) clipped at 0
    and, for accuracies, at 100% (:func:`clipped_errors`); empty bins are not drawn.
    """
    _check_records(per_class, "fig15")
    table = binned(per_class, bins)
    sources, models, cells = _grid(list(per_class))
    shown_bins = table[table["n_classes"] > 0]
    any_zero = bool((shown_bins["x"] == ZERO_POSITION).any())
    with style.context():
        fig, axes = style.new_figure(len(sources), len(QUANTITIES), sharex=True)
        for row, source in enumerate(sources):
            for col, quantity in enumerate(QUANTITIES):
                ax = axes[row, col]
                for name in models:
                    if (source, name) not in cells:
                        continue
                    label = cells[(source, name)]
                    b = shown_bins[
                        (shown_bins["label"] == label) & (shown_bins["quantity"] == quantity)
                    ]
                    mean = style.shown(quantity, b["mean"])
                    bars = ax.errorbar(
                        b["x"],
                        mean,
                        yerr=clipped_errors(quantity, mean, style.shown(quantity, b["std"])),
                        marker="o",
                        markersize=4,
                        capsize=2,
                        linewidth=1.2,
                        color=style.color(name, models),
                        label=name,
                    )
                    bars.lines[0].set_gid(f"binned:{name}")
                ax.set_xscale("log")
                ax.set_ylim(bottom=0)
                ax.set_ylabel(style.label(quantity))
                if source:
                    ax.set_title(source_name(source))
                if row == len(sources) - 1:
                    ax.set_xlabel(style.label("freq") + " (bin centre)")
        centres = shown_bins["x"].to_numpy(dtype=np.float64)
        for ax in axes.flat:
            log_frequency_ticks(ax, centres[centres != ZERO_POSITION], zero=any_zero)
        style.figure_legend(fig)
    return fig
