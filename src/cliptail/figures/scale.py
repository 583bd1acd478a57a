"""Fig. 5: accuracy, robustness and neural collapse against the amount of training data."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from cliptail.figures import plots, style, tables

#: Panels of Fig. 5, row-major.
PANELS = ("top1", "rho_acc", "nc1", "nc2_m")


def fig05(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 5: ``top1``, ``rho_acc``, ``nc1`` and ``nc2_m`` against ``n_train`` (log2 x axis).

    Reads the ``scale`` study rows of one evaluation set; one line per model family (CLIP per
    ``text_tower``: ``rand``, ``frozen``, ``clip_init``, ``roberta``; SL per ``head``/vocabulary,
    a single marker when a family has one scale, e.g. the paper's frozen-head SL point).
    Points are seed means per (family, ``scale``) placed at the mean ``n_train``.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig05",
        ["scale", "n_train", *PANELS, "text_tower", "head", "vocab_size", "vocab_weight"],
    )
    tables.only_varying(rows, ["scale", *tables.FAMILY_FACTORS], "fig05")
    with style.context():
        fig, axes = style.new_figure(2, 2, sharex=True)
        for ax, ycol in zip(axes.ravel(), PANELS, strict=True):
            omitted = plots.family_lines(ax, rows, key="scale", ycol=ycol, xcol="n_train")
            ax.set_xscale("log", base=2)
            style.data_ticks(ax, rows["n_train"])
            ax.set_ylabel(style.label(ycol))
            tables.omitted_note(ax, omitted)
        for ax in axes[1]:
            ax.set_xlabel(style.label("n_train"))
        style.figure_legend(fig)
    return fig
