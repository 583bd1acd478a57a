"""Fig. 8 and Fig. 9b: the rarest classes trimmed to one or zero training images.

A trimmed run's tail and head & mid accuracies come from the study table (``tail_acc``,
``head_acc``: mean accuracy over the k trimmed classes / over the others). The untrimmed run of
the same family is the reference: its accuracies over the *same* k classes are computed here
from its per-class record, so the reference curve can be drawn at every k.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cliptail.data.manifest import rarest_classes
from cliptail.evaluate import metrics
from cliptail.figures import intervals, plots, style, tables

#: Panel columns of Fig. 8: images kept per trimmed class, 1-shot first.
SHOT_ORDER = (1, 0)
#: Marker of each model family in Fig. 8 (legend order): filled on the trimmed runs' line,
#: open on the dashed line of the untrimmed reference.
FAMILY_MARKERS = ("o", "s", "D", "^", "v", "P", "X", "h")
#: Fig. 9b shows the runs that trim this many tail classes when the study has them (else the
#: trimmed k closest to it), at this many images kept per tail class (0-shot).
FIG09B_K = 50
FIG09B_CEIL = 0


def _ordered_record(record: pd.DataFrame, run: str) -> pd.DataFrame:
    tables.require(record, ["class", "freq", "acc"], f"fig08 per-class record of {run!r}")
    record = record.sort_values("class").reset_index(drop=True)
    if not (record["class"].to_numpy() == np.arange(len(record))).all():
        raise ValueError(f"per-class record of {run!r}: 'class' must be 0..C-1 (one row per class)")
    return record


def untrimmed_reference(
    record: pd.DataFrame,
    ks: Sequence[int],
    tail_classes: Mapping[int, Sequence[int]] | None = None,
    run: str = "",
) -> pd.DataFrame:
    """Tail and head & mid accuracy of an untrimmed run for each number k of tail classes.

    The tail of size k is ``tail_classes[k]`` when given (the exact classes the curation trimmed,
    ``tail_classes`` of ``results/data/<dataset>/report.json``), else the k rarest classes of
    the record's ``freq`` column, ranked as the curation ranks them
    (:func:`cliptail.curate.subsets.tail_classes`: stable argsort, ties by class index).
    Columns ``trim_k``, ``tail_acc``, ``head_acc``.
    """
    record = _ordered_record(record, run)
    given = {int(k): v for k, v in (tail_classes or {}).items()}  # JSON keys arrive as strings
    rows = []
    for k in ks:
        tail = (
            np.asarray(given[int(k)], dtype=np.int64)
            if int(k) in given
            else rarest_classes(record["freq"].to_numpy(), k)
        )
        rows.append({"trim_k": int(k), **metrics.head_tail_accuracy(record["acc"], tail)})
    return pd.DataFrame(rows, columns=["trim_k", "tail_acc", "head_acc"])


def fig08(
    table: pd.DataFrame,
    per_class: Mapping[str, pd.DataFrame] | None = None,
    tail_classes: Mapping[int, Sequence[int]] | None = None,
    *,
    evalset: str | None = None,
) -> Figure:
    """Fig. 8: tail acc and head & mid acc against the number of trimmed tail classes.

    ``table``: the ``trim_tail`` study rows of one evaluation set; reads ``trim_k``, ``trim_ceil``,
    ``tail_acc``, ``head_acc`` and the family factors. Panels: rows = tail acc, head & mid acc;
    columns = 1-shot (``trim_ceil`` 1), 0-shot (``trim_ceil`` 0). One solid line with filled
    markers per model family (seed means over runs with ``trim_k > 0``); where the table has
    interval columns (``tail_acc_lo``/``_hi``, ``head_acc_lo``/``_hi``), each trimmed point gets
    an error bar (:func:`cliptail.figures.intervals.seed_summary`, gid ``yerr:<family>``).

    ``per_class`` (optional) maps run name -> per-class record (``results/eval/<run>/<evalset>.
    parquet``; only the untrimmed runs, ``trim_k == 0``, are read). For each family with an
    untrimmed run in it, a dashed reference line with open markers of the family's shape
    (:data:`FAMILY_MARKERS`), labelled ``<family>, untrimmed``, gives that run's accuracy over
    the same k classes (:func:`untrimmed_reference`, with ``tail_classes`` mapping k -> the
    trimmed class indices), drawn in every column above the trimmed line, so it stays visible
    where the two coincide. Families whose untrimmed record is missing are named in a note.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig08",
        [
            "trim_k",
            "trim_ceil",
            "tail_acc",
            "head_acc",
            "text_tower",
            "head",
            "vocab_size",
            "vocab_weight",
        ],
    )
    tables.only_varying(rows, ["trim_k", "trim_ceil", *tables.FAMILY_FACTORS], "fig08")
    rows = plots.with_family(rows)
    trimmed = rows[rows["trim_k"] > 0]
    if trimmed.empty:
        raise ValueError("fig08: the table has no run with trim_k > 0; run the trim_tail study")
    ks = sorted(int(k) for k in trimmed["trim_k"].unique())
    present = set(int(c) for c in trimmed["trim_ceil"].unique())
    shots = [c for c in SHOT_ORDER if c in present] + sorted(present - set(SHOT_ORDER))
    names = plots.ordered_families(list(rows["family"].unique()))
    means = intervals.seed_summary(
        trimmed, ["family", "trim_ceil", "trim_k"], ["tail_acc", "head_acc"]
    )
    references, missing = _references(rows, names, ks, per_class, tail_classes)
    with style.context():
        fig, axes = style.new_figure(2, len(shots), sharex=True)
        for col, shot in enumerate(shots):
            for row, ycol in enumerate(("tail_acc", "head_acc")):
                ax = axes[row, col]
                omitted = []
                for i, name in enumerate(names):
                    colour = style.color(name, names)
                    marker = FAMILY_MARKERS[i % len(FAMILY_MARKERS)]
                    pts = means[(means["family"] == name) & (means["trim_ceil"] == shot)]
                    pts = pts.sort_values("trim_k")
                    x, y = pts["trim_k"].to_numpy(dtype=np.float64), style.shown(ycol, pts[ycol])
                    keep = tables.finite(x, y)
                    yerr = plots.interval_errors(pts, ycol)
                    plots.error_bars(
                        ax,
                        x[keep],
                        y[keep],
                        yerr=None if yerr is None else yerr[:, keep],
                        color=colour,
                        gid=f"yerr:{name}",
                    )
                    if len(pts):
                        ax.plot(
                            x[keep],
                            y[keep],
                            marker=marker,
                            markersize=4.5,
                            linewidth=1.4,
                            color=colour,
                            label=name,
                            zorder=2,
                            gid=f"trimmed:{name}",
                        )
                        omitted += [f"{name} @ k={k}" for k in pts["trim_k"][~keep]]
                    if name in references:
                        ref = references[name]
                        ax.plot(
                            ref["trim_k"],
                            style.shown(ycol, ref[ycol]),
                            linestyle=(0, (4, 2)),
                            linewidth=1.2,
                            marker=marker,
                            markersize=7,
                            markerfacecolor="none",
                            markeredgewidth=1.3,
                            color=colour,
                            label=f"{name}, untrimmed",
                            zorder=3,
                            gid=f"untrimmed:{name}",
                        )
                ax.set_xscale("log")
                style.data_ticks(ax, ks)
                ax.set_ylabel(style.label(ycol))
                tables.omitted_note(ax, omitted)
                if row == 0:
                    ax.set_title(f"{shot}-shot")
                else:
                    ax.set_xlabel(style.label("trim_k"))
        if missing:
            tables.add_note(axes[0, 0], "no untrimmed per-class record: " + ", ".join(missing))
        # two columns: each family's trimmed and untrimmed entries stay together and the
        # legend stays within the width of the two panel columns
        style.figure_legend(fig, max_columns=2)
    return fig


def _references(
    rows: pd.DataFrame,
    names: Sequence[str],
    ks: Sequence[int],
    per_class: Mapping[str, pd.DataFrame] | None,
    tail_classes: Mapping[int, Sequence[int]] | None,
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Seed-averaged untrimmed references per family, and the families lacking a record."""
    references: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    untrimmed = rows[rows["trim_k"] == 0]
    for name in names:
        runs = untrimmed.loc[untrimmed["family"] == name, "run"].tolist()
        if not runs:
            continue
        found = [
            untrimmed_reference(per_class[r], ks, tail_classes, r)
            for r in runs
            if per_class and r in per_class
        ]
        if not found:
            missing.append(name)
            continue
        references[name] = pd.concat(found).groupby("trim_k", as_index=False).mean()
    return references, missing


def tail_k(ks: Sequence[int], preferred: int = FIG09B_K) -> int:
    """The number of trimmed classes Fig. 9b shows: ``preferred`` when among ``ks``, else the
    k of ``ks`` closest to it (the larger one on a tie)."""
    candidates = sorted({int(k) for k in ks if int(k) > 0})
    if not candidates:
        raise ValueError("fig09b: no trimmed k (trim_k > 0) to choose from")
    return min(candidates, key=lambda k: (abs(k - preferred), -k))


def select_tail_runs(
    factors: Mapping[str, Mapping[str, Any]], *, ceil: int = FIG09B_CEIL, k: int | None = None
) -> dict[str, str]:
    """Pick the runs Fig. 9b shows: legend label -> run name.

    ``factors`` maps run name -> its factors (``run.json`` / the study plan). Keeps the runs with
    ``trim_ceil == ceil`` and ``trim_k == k`` (default: :data:`FIG09B_K` when a run trims that
    many classes, else the trimmed k closest to it, :func:`tail_k`), one per model family (the
    lowest seed), labelled by :func:`style.family` with the vocabulary.
    """
    trimmed = {
        r: f
        for r, f in factors.items()
        if int(f.get("trim_k") or 0) > 0 and int(f.get("trim_ceil") or 0) == ceil
    }
    if not trimmed:
        raise ValueError(f"fig09b: no run trims the tail to {ceil} images; run the trim_tail study")
    k = tail_k([int(f["trim_k"]) for f in trimmed.values()]) if k is None else k
    chosen: dict[str, tuple[int, str]] = {}
    for run, f in sorted(trimmed.items()):
        if int(f["trim_k"]) != k:
            continue
        name = style.family(f, with_vocab=True)
        seed = int(f.get("seed") or 0)
        if name not in chosen or seed < chosen[name][0]:
            chosen[name] = (seed, run)
    if not chosen:
        raise ValueError(f"fig09b: no run trims k={k} classes to {ceil} images")
    return {name: chosen[name][1] for name in plots.ordered_families(list(chosen))}


def fig09b(
    per_class: Mapping[str, pd.DataFrame],
    tail_classes: Sequence[int],
    *,
    ceil: int | None = None,
) -> Figure:
    """Fig. 9b: per-class accuracy and #pred of the tail classes, grouped bars per model.

    ``per_class`` maps a legend label to a per-class record (``class``, ``name``, ``acc``,
    ``npred``), e.g. the 0-shot runs of :func:`select_tail_runs`; ``tail_classes`` lists the
    trimmed class indices in the order drawn (``tail_classes`` of the trimmed dataset's
    ``report.json``). Tick labels are the class names of the first record. A NaN accuracy
    (class without evaluation image) draws no bar and is named in a note. The title states k
    (the number of tail classes) and, when ``ceil`` is given, the training images each kept.
    """
    if not per_class:
        raise ValueError("fig09b: no per-class records given; pass {label: per-class record}")
    tail = [int(c) for c in tail_classes]
    if not tail:
        raise ValueError("fig09b: tail_classes is empty")
    labels = list(per_class)
    records = {}
    for name in labels:
        record = per_class[name]
        tables.require(record, ["class", "name", "acc", "npred"], f"fig09b record {name!r}")
        record = record.set_index("class")
        unknown = sorted(set(tail) - set(record.index))
        if unknown:
            raise ValueError(
                f"fig09b: tail classes {unknown[:5]} are not in the record of {name!r}"
            )
        records[name] = record.loc[tail]
    width = 0.8 / len(labels)
    x = np.arange(len(tail), dtype=np.float64)
    size = (max(6.4, 0.12 * len(tail) * len(labels) + 1.5), 2.6)
    with style.context():
        fig, axes = style.new_figure(2, 1, sharex=True, size=size)
        for ax, ycol in zip(axes[:, 0], ("acc", "npred"), strict=True):
            omitted = []
            for i, name in enumerate(labels):
                y = style.shown(ycol, records[name][ycol])
                keep = np.isfinite(y)
                ax.bar(
                    x[keep] + (i - (len(labels) - 1) / 2) * width,
                    y[keep],
                    width=width,
                    color=style.color(name, labels),
                    label=name,
                    gid=f"bars:{name}",
                )
                omitted += [f"{name}: {c}" for c in np.asarray(tail)[~keep]]
            ax.set_ylabel(style.label(ycol))
            tables.omitted_note(ax, omitted, "no evaluation image")
        first = records[labels[0]]
        axes[-1, 0].set_xticks(x)
        axes[-1, 0].set_xticklabels(first["name"].astype(str).tolist(), rotation=90, fontsize=6)
        axes[0, 0].set_title(tail_title(len(tail), ceil))
        style.figure_legend(fig)
    return fig


def tail_title(k: int, ceil: int | None = None) -> str:
    """Title of Fig. 9b: the number of trimmed tail classes and, if known, the images kept."""
    if ceil is None:
        return f"k = {k} trimmed tail classes"
    images = "image" if ceil == 1 else "images"
    return f"k = {k} tail classes trimmed to {ceil} training {images} ({ceil}-shot)"


def fig09b_from_study(
    table: pd.DataFrame,
    per_class: Mapping[str, pd.DataFrame],
    tail_classes: Mapping[int, Sequence[int]],
    *,
    evalset: str | None = None,
    ceil: int = FIG09B_CEIL,
    k: int | None = None,
) -> Figure:
    """Fig. 9b drawn from the ``trim_tail`` study, as Fig. 8 is: the ``ceil``-shot runs
    (default 0-shot) of k trimmed classes (default :data:`FIG09B_K` when the study trims that
    many, else the closest trimmed k; :func:`select_tail_runs` over the table's runs and factors).

    ``per_class`` maps run name -> per-class record; ``tail_classes`` maps k -> trimmed classes
    (JSON keys may be strings).
    """
    rows = tables.one_evalset(table, evalset, "fig09b", ["run", "trim_k", "trim_ceil", "seed"])
    factors = {row["run"]: row for row in rows.drop_duplicates("run").to_dict("records")}
    chosen = select_tail_runs(factors, ceil=ceil, k=k)
    k = int(factors[next(iter(chosen.values()))]["trim_k"])
    tails = {int(key): value for key, value in tail_classes.items()}
    missing = [run for run in chosen.values() if run not in per_class]
    if missing or k not in tails:
        raise ValueError(f"fig09b: no per-class record of {missing} or no tail classes for k={k}")
    records = {label: per_class[run] for label, run in chosen.items()}
    return fig09b(records, tails[k], ceil=ceil)
