"""Fig. 6: more open-world concepts in the training data (at equal or larger size).

- :func:`fig06` (Fig. 6a): the class ladder. Synthetic world: ``classes`` = eval -> all_matched
  -> all (evaluation concepts only, plus open-world ones at equal size, plus all their data).
  Real data: IN-Caps-100 (``in100``) -> IN-Caps (10%) (``in100_matched``) -> IN-Caps (``eval``),
  shown on the IN-100 evaluation set (``imagenet100_val``, the catalogue's choice).
- :func:`fig06b` (Fig. 6b): YFCC-15M-Cls (``yfcc15m_cls``) vs the whole YFCC-15M (``yfcc15m``).

Both read the ``open_world`` study rows of one evaluation set; the rows of the other panel are
left out (by ``source``), so the study may hold both.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from cliptail import factors
from cliptail.figures import plots, style, tables

PANELS = ("rho_acc", "rho_pred", "top1")
#: The sources of Fig. 6b; the other rows form the class ladder of Fig. 6a.
WEB_SOURCES = style.WEB_FULL_ORDER
_COLUMNS = ["classes", "source", *PANELS, "text_tower", "head", "vocab_size", "vocab_weight"]


def _panels(rows: pd.DataFrame, key: str, order, names) -> Figure:
    where = plots.positions(rows[key].tolist(), order)
    with style.context():
        fig, axes = style.new_figure(1, 3)
        for ax, ycol in zip(axes[0], PANELS, strict=True):
            omitted = plots.family_lines(ax, rows, key=key, ycol=ycol, where=where)
            plots.categorical_axis(ax, where, names)
            ax.set_xlabel(style.label(key))
            ax.set_ylabel(style.label(ycol))
            tables.omitted_note(ax, omitted)
        style.figure_legend(fig)
    return fig


def fig06(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 6a: ``rho_acc``, ``rho_pred`` and ``top1`` along the class ladder.

    x is the ``classes`` factor (world: eval -> all_matched -> all; real data: in100 ->
    in100_matched -> eval, labelled IN-Caps-100, IN-Caps (10%), IN-Caps; other values after),
    one line per model family, seeds averaged. Rows of the Fig. 6b sources are left out.
    """
    rows = tables.one_evalset(table, evalset, "fig06", _COLUMNS)
    rows = rows[~rows["source"].isin(WEB_SOURCES)].reset_index(drop=True)
    if rows.empty:
        raise ValueError("fig06: no runs of the class ladder (only YFCC-15M rows: see fig06b)")
    tables.only_varying(rows, ["classes", *tables.FAMILY_FACTORS], "fig06")
    real = any(factors.is_real_source(s) for s in rows["source"].unique())
    order, names = (
        (style.REAL_CLASSES_ORDER, style.REAL_CLASSES_LABELS)
        if real
        else (style.CLASSES_ORDER, style.CLASSES_LABELS)
    )
    return _panels(rows, "classes", order, names)


def fig06b(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 6b: ``rho_acc``, ``rho_pred`` and ``top1`` of YFCC-15M-Cls vs the whole YFCC-15M.

    x is the ``source`` (yfcc15m_cls -> yfcc15m), one line per model family (SL has the -Cls
    point only: the whole list has no label per image), seeds averaged.
    """
    rows = tables.one_evalset(table, evalset, "fig06b", _COLUMNS)
    rows = rows[rows["source"].isin(WEB_SOURCES)].reset_index(drop=True)
    if rows.empty:
        raise ValueError(f"fig06b: no runs on {list(WEB_SOURCES)}; plan them in open_world")
    tables.only_varying(rows, ["source", *tables.FAMILY_FACTORS], "fig06b")
    return _panels(rows, "source", WEB_SOURCES, style.WEB_FULL_LABELS)
