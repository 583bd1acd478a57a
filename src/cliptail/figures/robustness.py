"""Fig. 3 and Fig. 19: robustness and accuracy of CLIP caption types and SL vocabularies.

Each point is one training run (the mean over seeds where a study has several): x = Spearman
rho(f, acc); panel (a) y = rho(f, #pred), panel (b) y = top-1. Two families: CLIP trained on the
nine caption types (labelled, in order of descriptiveness) and SL with a full or subsampled
vocabulary (labelled by K). Each family gets a least-squares line ``np.polyfit(x, y, 1)`` over
its points with finite coordinates.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from cliptail.figures import style, tables

_COLUMNS = [
    "rho_acc",
    "rho_pred",
    "top1",
    "caption",
    "text_tower",
    "head",
    "vocab_size",
    "vocab_weight",
]
_METRICS = ["rho_acc", "rho_pred", "top1"]


def fig03(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 3 (rand init): CLIP caption types vs SL vocabulary sizes.

    Reads the ``descriptiveness`` and ``vocabulary`` study rows (concatenated) of one evaluation
    set: CLIP rows with ``text_tower == "rand"`` (one point per ``caption``) and SL rows with
    ``head == "rand"`` (one point per ``vocab_size``/``vocab_weight``); columns ``rho_acc``,
    ``rho_pred``, ``top1``. ``evalset`` selects the evaluation set when the table holds several.
    """
    return _families_figure(table, "rand", evalset, "fig03", "rand init")


def fig19(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 19 (frozen text tower / frozen prototypes): as :func:`fig03` for the frozen variants.

    Reads the ``text_tower`` study rows: CLIP rows with ``text_tower == "frozen"`` and SL rows with
    ``head == "frozen"``; columns as :func:`fig03`.
    """
    return _families_figure(table, "frozen", evalset, "fig19", "frozen text / frozen prototypes")


def clip_points(rows: pd.DataFrame, tower: str) -> pd.DataFrame:
    """Seed means of the CLIP runs with ``tower``, one row per caption type in descriptiveness
    order (unknown types last, alphabetically), with a ``label`` column."""
    clip = rows[
        tables.is_value(rows["method"], "clip") & tables.is_value(rows["text_tower"], tower)
    ]
    points = tables.seed_means(clip, ["caption"], _METRICS)
    order = {c: i for i, c in enumerate(style.CAPTION_ORDER)}
    points["_order"] = [order.get(c, len(order)) for c in points["caption"]]
    points = points.sort_values(["_order", "caption"]).drop(columns="_order").reset_index(drop=True)
    points["label"] = [style.CAPTION_LABELS.get(c, str(c)) for c in points["caption"]]
    return points


def sl_points(rows: pd.DataFrame, head: str) -> pd.DataFrame:
    """Seed means of the SL runs with ``head``, one row per vocabulary (full first, then K
    decreasing), labelled ``full`` or ``K=<size>`` (plus the sampling weight if not linear)."""
    sl = rows[tables.is_value(rows["method"], "sl") & tables.is_value(rows["head"], head)]
    size = sl["vocab_size"].astype(object).fillna("full").astype(str)
    # the sampling weight means nothing for the full vocabulary
    weight = (
        sl["vocab_weight"]
        .astype(object)
        .fillna("linear")
        .astype(str)
        .where(size != "full", "linear")
    )
    sl = sl.assign(vocab_size=size, vocab_weight=weight)
    points = tables.seed_means(sl, ["vocab_size", "vocab_weight"], _METRICS)
    full = points["vocab_size"] == "full"
    size = np.where(full, np.inf, pd.to_numeric(points["vocab_size"].where(~full), errors="coerce"))
    points = (
        points.assign(_size=size)
        .sort_values(["_size", "vocab_weight"], ascending=[False, True])
        .drop(columns="_size")
        .reset_index(drop=True)
    )
    points["label"] = [
        "full" if k == "full" else f"K={k}" + ("" if w == "linear" else f" {w}")
        for k, w in zip(points["vocab_size"], points["vocab_weight"], strict=True)
    ]
    return points


def linear_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float] | None:
    """(slope, intercept) of ``np.polyfit(x, y, 1)`` over finite pairs; None with < 2 distinct x."""
    keep = tables.finite(x, y)
    x, y = np.asarray(x, dtype=np.float64)[keep], np.asarray(y, dtype=np.float64)[keep]
    if np.unique(x).size < 2:
        return None
    slope, intercept = np.polyfit(x, y, 1)
    return float(slope), float(intercept)


def _families_figure(
    table: pd.DataFrame, variant: str, evalset: str | None, figure: str, title: str
) -> Figure:
    rows = tables.one_evalset(table, evalset, figure, _COLUMNS)
    clip = tables.is_value(rows["method"], "clip") & tables.is_value(rows["text_tower"], variant)
    sl = tables.is_value(rows["method"], "sl") & tables.is_value(rows["head"], variant)
    rows = rows[clip | sl]
    tables.only_varying(rows, ["caption", *tables.FAMILY_FACTORS], figure)
    families = {
        style.family({"method": "clip", "text_tower": variant}): clip_points(rows, variant),
        style.family({"method": "sl", "head": variant}): sl_points(rows, variant),
    }
    families = {name: pts for name, pts in families.items() if len(pts)}
    if not families:
        raise ValueError(
            f"{figure}: no CLIP runs with text_tower={variant!r} and no SL runs with "
            f"head={variant!r} in the table; check the studies it was built from"
        )
    with style.context():
        fig, axes = style.new_figure(1, 2)
        for ax, (panel, ycol) in zip(axes[0], (("(a)", "rho_pred"), ("(b)", "top1")), strict=True):
            omitted = []
            for name, pts in families.items():
                omitted += _plot_family(ax, name, pts, ycol)
            ax.set_xlabel(style.label("rho_acc"))
            ax.set_ylabel(style.label(ycol))
            ax.set_title(panel)
            tables.omitted_note(ax, omitted)
        fig.suptitle(title)
        style.figure_legend(fig)
    return fig


def _plot_family(ax, name: str, pts: pd.DataFrame, ycol: str) -> list[str]:
    """Scatter, labels and fit line of one family; returns the labels of omitted points."""
    x = pts["rho_acc"].to_numpy(dtype=np.float64)
    y = style.shown(ycol, pts[ycol])
    keep = tables.finite(x, y)
    colour = style.color(name)
    ax.scatter(x[keep], y[keep], color=colour, label=name, s=22, zorder=3, gid=f"points:{name}")
    for text, xi, yi in zip(pts["label"][keep], x[keep], y[keep], strict=True):
        ax.annotate(
            text, (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=6.5, color=colour
        )
    fit = linear_fit(x, y)
    if fit is not None:
        slope, intercept = fit
        xs = np.array([x[keep].min(), x[keep].max()])
        ax.plot(
            xs,
            slope * xs + intercept,
            color=colour,
            linestyle="--",
            linewidth=1,
            label=f"{name}: linear fit",
            gid=f"fit:{name}",
        )
    return [f"{name.split(' ')[0]} {t}" for t in pts["label"][~keep]]
