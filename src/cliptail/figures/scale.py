"""Fig. 5: accuracy, robustness and neural collapse against the amount of training data."""

from __future__ import annotations

import matplotlib.ticker
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cliptail.figures import plots, style, tables

#: Panels of Fig. 5, left to right: accuracy and robustness, then the neural-collapse metrics.
PANELS = ("top1", "rho_acc", "nc1", "nc2_m")
TITLES = {
    "top1": "accuracy",
    "rho_acc": "robustness",
    "nc1": "within-class variability",
    "nc2_m": "class-mean similarity",
}


def count_text(n: float) -> str:
    """A training-set size as a short tick label: ``800``, ``12.5K``, ``3.26M``."""
    for divisor, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= divisor:
            return f"{n / divisor:.3g}{suffix}"
    return f"{n:g}"


def fig05(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 5: ``top1``, ``rho_acc``, ``nc1`` and ``nc2_m`` against ``n_train`` (log2 x axis),
    four panels side by side.

    Reads the ``scale`` study rows of one evaluation set; one line per model family in the order
    CLIP ``text_tower`` ``rand``, ``frozen``, ``clip_init``, ``roberta`` (those the table holds;
    legend ``CLIP (rand text)``, ``CLIP (frozen text)``, ``CLIP (CLIP-init text)``,
    ``CLIP (frozen RoBERTa text)``), then SL per ``head``/vocabulary, a single marker when a
    family has one scale (the paper's frozen-head SL point). Points are seed means per
    (family, ``scale``) placed at the mean ``n_train``; x ticks sit at those sizes.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig05",
        ["scale", "n_train", *PANELS, "text_tower", "head", "vocab_size", "vocab_weight"],
    )
    tables.only_varying(rows, ["scale", *tables.FAMILY_FACTORS], "fig05")
    with style.context():
        fig, axes = style.new_figure(1, len(PANELS), size=(2.9, 2.8))
        for ax, ycol in zip(axes[0], PANELS, strict=True):
            omitted = plots.family_lines(ax, rows, key="scale", ycol=ycol, xcol="n_train")
            ax.set_xscale("log", base=2)
            _size_ticks(ax, rows["n_train"])
            ax.set_xlabel(style.label("n_train"))
            ax.set_ylabel(style.label(ycol))
            ax.set_title(TITLES[ycol])
            tables.omitted_note(ax, omitted)
        style.figure_legend(fig, max_columns=5)
    return fig


def _size_ticks(ax, values) -> None:
    """Major x ticks at the training-set sizes, labelled shortly (:func:`count_text`); minor
    ticks off. Labels are slanted when there are more than three sizes."""
    ticks = sorted(
        {float(v) for v in np.asarray(values, dtype=np.float64) if np.isfinite(v) and v > 0}
    )
    if not ticks:
        return
    ax.set_xticks(ticks, [count_text(t) for t in ticks])
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    if len(ticks) > 3:
        ax.tick_params(axis="x", labelrotation=40)
        for label in ax.get_xticklabels():
            label.set_horizontalalignment("right")
            label.set_rotation_mode("anchor")
