"""Fig. 4: the training distribution. (a) Ranked class frequencies of the dataset variants and
intra-class image-image similarity densities; (b) accuracy and robustness per training source."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import gaussian_kde

from cliptail.figures import plots, style, tables

_DENSITY_POINTS = 256


def fig04a(
    freqs: Mapping[str, np.ndarray], similarities: Mapping[str, np.ndarray] | None = None
) -> Figure:
    """Fig. 4a: ranked class frequencies per dataset variant and intra-class similarity densities.

    ``freqs`` maps a legend label to the per-class training counts of a variant (e.g.
    ``cliptail.io.read_frequency(path)["count"]``); each curve is sorted descending and drawn
    against the rank 1..C on a log y axis. Classes with count 0 cannot be drawn on a log axis:
    they are left out and their number is added to the legend label. ``similarities`` (optional)
    maps a label to intra-class cosine similarities (e.g. the ``similarity`` column of
    :func:`cliptail.evaluate.metrics.intra_class_similarity`); each is drawn as a Gaussian kernel
    density (Scott's bandwidth) in a second panel. A set with fewer than two distinct finite
    values has no density and is named in a note.
    """
    if not freqs:
        raise ValueError("fig04a: no frequency curves given; pass {label: per-class counts}")
    panels = 2 if similarities else 1
    labels = list(freqs)
    with style.context():
        fig, axes = style.new_figure(1, panels)
        ax = axes[0, 0]
        for name in labels:
            counts = np.sort(np.asarray(freqs[name], dtype=np.float64))[::-1]
            if not np.isfinite(counts).all() or (counts < 0).any():
                raise ValueError(f"fig04a: the counts of {name!r} must be finite and non-negative")
            ranks = np.arange(1, counts.size + 1)
            empty = int((counts == 0).sum())
            legend = f"{name} ({empty} empty)" if empty else name
            positive = counts > 0
            ax.plot(
                ranks[positive],
                counts[positive],
                linewidth=1.3,
                color=style.color(name, labels),
                label=legend,
                gid=f"freq:{name}",
            )
        ax.set_yscale("log")
        ax.set_xlabel(style.label("rank"))
        ax.set_ylabel(style.label("freq"))
        ax.set_title("(a) class frequency")
        style.legend(ax, loc="upper right")
        if similarities:
            _densities(axes[0, 1], similarities)
    return fig


def _densities(ax, similarities: Mapping[str, np.ndarray]) -> None:
    labels = list(similarities)
    omitted = []
    for name in labels:
        values = np.asarray(similarities[name], dtype=np.float64)
        values = values[np.isfinite(values)]
        if np.unique(values).size < 2:
            omitted.append(name)
            continue
        grid = np.linspace(values.min(), values.max(), _DENSITY_POINTS)
        ax.plot(
            grid,
            gaussian_kde(values)(grid),
            linewidth=1.3,
            color=style.color(name, labels),
            label=name,
            gid=f"density:{name}",
        )
    ax.set_xlabel(style.label("similarity"))
    ax.set_ylabel(style.label("density"))
    ax.set_title("(a) intra-class similarity")
    tables.omitted_note(ax, omitted, "fewer than two values")
    style.legend(ax, loc="upper left")


def fig04b(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 4b: top-1 and Corr. freq vs acc per training source, one line per model family.

    Reads the ``distribution`` study rows of one evaluation set: columns ``source`` (x, curated
    then web, other sources after), ``top1``, ``rho_acc`` and the family factors ``method``,
    ``text_tower``, ``head``, ``vocab_size``, ``vocab_weight``; seeds are averaged.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig04b",
        ["source", "top1", "rho_acc", "text_tower", "head", "vocab_size", "vocab_weight"],
    )
    tables.only_varying(rows, ["source", *tables.FAMILY_FACTORS], "fig04b")
    where = plots.positions(rows["source"].tolist(), tuple(style.SOURCE_LABELS))
    with style.context():
        fig, axes = style.new_figure(1, 2)
        for ax, ycol in zip(axes[0], ("top1", "rho_acc"), strict=True):
            omitted = plots.family_lines(ax, rows, key="source", ycol=ycol, where=where)
            plots.categorical_axis(ax, where, style.SOURCE_LABELS)
            ax.set_xlabel(style.label("source"))
            ax.set_ylabel(style.label(ycol))
            tables.omitted_note(ax, omitted)
        axes[0, 0].set_title("(b) accuracy")
        axes[0, 1].set_title("(b) robustness")
        style.figure_legend(fig)
    return fig
