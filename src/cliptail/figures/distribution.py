"""Fig. 4: the training distribution. (a) Ranked class frequencies of the training sets and
intra-class image-image similarity densities; (b) accuracy and robustness per training source
(on real data: IN-Caps, the LAIONet similarity thresholds ascending, then LAIONet =freq)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy.stats import gaussian_kde

from cliptail.figures import plots, style, tables
from cliptail.figures.catalogue import SOURCE_NAMES

_DENSITY_POINTS = 256


def fig04a(
    freqs: Mapping[str, np.ndarray], similarities: Mapping[str, np.ndarray] | None = None
) -> Figure:
    """Fig. 4a: ranked class frequencies per training set and intra-class similarity densities.

    ``freqs`` maps a legend name (the workflow passes readable names such as ``IN-Caps`` or
    ``LAIONet t=0.75``, :func:`cliptail.figures.catalogue.variant_labels`) to the per-class
    training counts of a training set (e.g. ``cliptail.io.read_frequency(path)["count"]``); each
    curve is sorted descending and drawn against the rank 1..C on a log y axis. Classes with
    count 0 cannot be drawn on a log axis: they are left out and their number is added to the
    legend name. ``similarities`` (optional) maps a legend name to the intra-class image
    similarity of each class of that training set (the ``similarity`` column of
    :func:`cliptail.evaluate.image_similarity.class_similarity`: the mean cosine similarity of
    the pairs of distinct images of the class); each is drawn as a Gaussian kernel density over
    classes (Scott's bandwidth) in a second panel, in the colour of the frequency curve of the
    same name. A set with fewer than two distinct finite
    values has no density and is named in a note.
    """
    if not freqs:
        raise ValueError("fig04a: no frequency curves given; pass {label: per-class counts}")
    panels = 2 if similarities else 1
    names = list(dict.fromkeys([*freqs, *(similarities or {})]))
    with style.context():
        fig, axes = style.new_figure(1, panels)
        ax = axes[0, 0]
        for name in freqs:
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
                color=style.color(name, names),
                label=legend,
                gid=f"freq:{name}",
            )
        ax.set_yscale("log")
        ax.set_xlabel(style.label("rank"))
        ax.set_ylabel(style.label("freq"))
        ax.set_title("(a) class frequency")
        if similarities:
            _densities(axes[0, 1], similarities, names, frozenset(freqs))
        # one legend for both panels: a training set has the same colour in each
        style.figure_legend(fig, max_columns=3)
    return fig


def _densities(
    ax, similarities: Mapping[str, np.ndarray], names: list[str], drawn: frozenset[str]
) -> None:
    omitted = []
    for name in similarities:
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
            color=style.color(name, names),
            # named in the legend by its frequency curve, if it has one
            label=f"_{name}" if name in drawn else name,
            gid=f"density:{name}",
        )
    ax.set_xlabel(style.label("similarity"))
    ax.set_ylabel(style.label("density") + " over classes")
    ax.set_title("(a) intra-class image similarity")
    tables.omitted_note(ax, omitted, "fewer than two values")


#: Panels of Fig. 4b: (column, title).
PANELS_4B = (
    ("top1", "(b) top-1 accuracy"),
    ("rho_acc", "(b) robustness (lower = less biased)"),
)


def source_order() -> tuple[str, ...]:
    """The x order of Fig. 4b: curated, then web (the synthetic world); IN-Caps, LAIONet, the
    LAIONet similarity thresholds ascending, then LAIONet =freq (real data)."""
    return tuple(SOURCE_NAMES)


#: Sources shown by their threshold or ``=freq`` on the x axis of Fig. 4b.
LAIONET_VARIANTS = frozenset(s for s in SOURCE_NAMES if s.startswith("laionet_"))


def _tick_name(source: str) -> str:
    """A LAIONet variant by its threshold or ``=freq`` (the axis label names LAIONet), other
    sources by name (:data:`SOURCE_NAMES`)."""
    if source in LAIONET_VARIANTS:
        return SOURCE_NAMES[source].removeprefix("LAIONet ")
    return SOURCE_NAMES.get(source, source)


def fig04b(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 4b: top-1 and Corr. freq vs acc per training source, one line per model family.

    Reads the ``distribution`` study rows of one evaluation set: columns ``source`` (x, in
    :func:`source_order`; other sources after, alphabetically), ``top1``, ``rho_acc`` and the
    family factors ``method``, ``text_tower``, ``head``, ``vocab_size``, ``vocab_weight``
    (e.g. CLIP with the random and the frozen text tower); seeds are averaged.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig04b",
        ["source", "top1", "rho_acc", "text_tower", "head", "vocab_size", "vocab_weight"],
    )
    tables.only_varying(rows, ["source", *tables.FAMILY_FACTORS], "fig04b")
    where = plots.positions(rows["source"].tolist(), source_order())
    names = {source: _tick_name(source) for source in where}
    xlabel = style.label("source")
    if LAIONET_VARIANTS & set(where):
        xlabel += "\n(LAIONet: similarity threshold t, or =freq)"
    with style.context():
        fig, axes = style.new_figure(1, 2)
        for ax, (ycol, title) in zip(axes[0], PANELS_4B, strict=True):
            omitted = plots.family_lines(ax, rows, key="source", ycol=ycol, where=where)
            plots.categorical_axis(ax, where, names)
            ax.set_xlabel(xlabel)
            ax.set_ylabel(style.label(ycol))
            ax.set_title(title)
            tables.omitted_note(ax, omitted)
        style.figure_legend(fig)
    return fig
