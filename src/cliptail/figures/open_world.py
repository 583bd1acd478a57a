"""Fig. 6: more open-world concepts in the training data (at equal or larger size)."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from cliptail.figures import plots, style, tables

PANELS = ("rho_acc", "rho_pred", "top1")


def fig06(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 6: ``rho_acc``, ``rho_pred`` and ``top1`` for ``classes`` = eval -> all_matched -> all.

    Reads the ``open_world`` study rows of one evaluation set; x is the ``classes`` factor in that
    order (other values after), one line per model family, seeds averaged.
    """
    rows = tables.one_evalset(
        table,
        evalset,
        "fig06",
        ["classes", *PANELS, "text_tower", "head", "vocab_size", "vocab_weight"],
    )
    tables.only_varying(rows, ["classes", *tables.FAMILY_FACTORS], "fig06")
    where = plots.positions(rows["classes"].tolist(), style.CLASSES_ORDER)
    with style.context():
        fig, axes = style.new_figure(1, 3)
        for ax, ycol in zip(axes[0], PANELS, strict=True):
            omitted = plots.family_lines(ax, rows, key="classes", ycol=ycol, where=where)
            plots.categorical_axis(ax, where, style.CLASSES_LABELS)
            ax.set_xlabel(style.label("classes"))
            ax.set_ylabel(style.label(ycol))
            tables.omitted_note(ax, omitted)
        style.figure_legend(fig)
    return fig
