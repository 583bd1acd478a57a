"""Fig. 3 and Fig. 19: robustness and accuracy of CLIP caption types and SL vocabularies.

Each point is one training run (the mean over seeds where a study has several): x = Spearman
rho(f, acc); panel (a) y = rho(f, #pred), panel (b) y = top-1. CLIP is trained on the caption
types (labelled, in order of descriptiveness) and SL with a full or subsampled vocabulary
(labelled by K). Each panel has three least-squares lines ``np.polyfit(x, y, 1)`` over the points
with finite coordinates:

- CLIP on template captions (:data:`TEMPLATE_CAPTIONS`: class templates, synset templates and
  "a {class}"), drawn with square markers and a dotted line;
- CLIP on natural-language captions (every other caption type: titles, tags, descriptions and
  their combinations), round markers and a dashed line;
- SL with linear vocabulary sampling (``vocab_weight == "linear"``; the full vocabulary, where
  no class is sampled, counts as linear), dashed. SL runs with another sampling weight
  (``sqrt``, ``uniform``) are drawn as open triangles and labelled but not fitted.

A group with fewer than two distinct x values has no line. When the table has the interval
columns (``<metric>_lo``, ``<metric>_hi``: bootstrap 95 % intervals over the evaluation classes),
each point gets x and y error bars, widened by the seed spread where a point averages seeds
(:func:`cliptail.figures.intervals.seed_interval`); older tables draw without them. Point labels are placed by
:func:`cliptail.figures.labels.place_labels`, a small deterministic repel that keeps them apart from each other, from the
markers and inside the panel.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Annotation

from cliptail.figures import intervals, plots, style, tables
from cliptail.figures.labels import MARKER_SIZE, place_labels

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

#: Caption types built from templates ("a photo of a {class}", ...); the others are natural language.
TEMPLATE_CAPTIONS = frozenset({"class_templates", "synset_templates", "a_class"})
TEMPLATE = "template"
NATURAL_LANGUAGE = "natural-language"
#: The SL sampling weight whose runs are fitted.
FITTED_WEIGHT = "linear"

_LABEL_SIZE = 6.5
#: Panel size (inches): larger than the default, to leave room for the point labels.
_PANEL_SIZE = (4.0, 3.3)


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


def caption_group(caption: str) -> str:
    """:data:`TEMPLATE` for a template caption type, else :data:`NATURAL_LANGUAGE`."""
    return TEMPLATE if caption in TEMPLATE_CAPTIONS else NATURAL_LANGUAGE


def clip_points(rows: pd.DataFrame, tower: str) -> pd.DataFrame:
    """Seed means of the CLIP runs with ``tower``, one row per caption type in descriptiveness
    order (unknown types last, alphabetically), with ``label`` and ``group`` (templates or
    natural language) columns."""
    clip = rows[
        tables.is_value(rows["method"], "clip") & tables.is_value(rows["text_tower"], tower)
    ]
    points = intervals.seed_summary(clip, ["caption"], _METRICS)
    order = {c: i for i, c in enumerate(style.CAPTION_ORDER)}
    points["_order"] = [order.get(c, len(order)) for c in points["caption"]]
    points = points.sort_values(["_order", "caption"]).drop(columns="_order").reset_index(drop=True)
    points["label"] = [style.CAPTION_LABELS.get(c, str(c)) for c in points["caption"]]
    points["group"] = [caption_group(c) for c in points["caption"]]
    return points


def sl_points(rows: pd.DataFrame, head: str) -> pd.DataFrame:
    """Seed means of the SL runs with ``head``, one row per vocabulary (full first, then K
    decreasing), labelled ``full`` or ``K=<size>`` (plus the sampling weight if not linear), with
    a boolean ``fitted`` column (linear sampling or the full vocabulary)."""
    sl = rows[tables.is_value(rows["method"], "sl") & tables.is_value(rows["head"], head)]
    size = sl["vocab_size"].astype(object).fillna("full").astype(str)
    # the sampling weight means nothing for the full vocabulary
    weight = (
        sl["vocab_weight"]
        .astype(object)
        .fillna(FITTED_WEIGHT)
        .astype(str)
        .where(size != "full", FITTED_WEIGHT)
    )
    sl = sl.assign(vocab_size=size, vocab_weight=weight)
    points = intervals.seed_summary(sl, ["vocab_size", "vocab_weight"], _METRICS)
    full = points["vocab_size"] == "full"
    size = np.where(full, np.inf, pd.to_numeric(points["vocab_size"].where(~full), errors="coerce"))
    points = (
        points.assign(_size=size)
        .sort_values(["_size", "vocab_weight"], ascending=[False, True])
        .drop(columns="_size")
        .reset_index(drop=True)
    )
    points["label"] = [
        "full" if k == "full" else f"K={k}" + ("" if w == FITTED_WEIGHT else f" {w}")
        for k, w in zip(points["vocab_size"], points["vocab_weight"], strict=True)
    ]
    points["fitted"] = points["vocab_weight"] == FITTED_WEIGHT
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
    clip_name = style.family({"method": "clip", "text_tower": variant})
    sl_name = style.family({"method": "sl", "head": variant})
    clip_pts, sl_pts = clip_points(rows, variant), sl_points(rows, variant)
    if clip_pts.empty and sl_pts.empty:
        raise ValueError(
            f"{figure}: no CLIP runs with text_tower={variant!r} and no SL runs with "
            f"head={variant!r} in the table; check the studies it was built from"
        )
    with style.context():
        fig, axes = style.new_figure(1, 2, size=_PANEL_SIZE)
        labels: list[tuple[Axes, list[Annotation]]] = []
        for ax, (panel, ycol) in zip(axes[0], (("(a)", "rho_pred"), ("(b)", "top1")), strict=True):
            omitted: list[str] = []
            texts: list[Annotation] = []
            if len(clip_pts):
                omitted += _plot_clip(ax, clip_name, clip_pts, ycol, texts)
            if len(sl_pts):
                omitted += _plot_sl(ax, sl_name, sl_pts, ycol, texts)
            ax.margins(x=0.1, y=0.12)
            ax.set_xlabel(style.label("rho_acc"))
            ax.set_ylabel(style.label(ycol))
            ax.set_title(panel)
            tables.omitted_note(ax, omitted)
            labels.append((ax, texts))
        fig.suptitle(title)
        _legend(fig, clip_name, clip_pts, sl_name, sl_pts)
        place_labels(fig, labels)
    return fig


def _group_style(group: str) -> tuple[str, str]:
    """(marker, fit line style) of a CLIP caption group."""
    return ("s", ":") if group == TEMPLATE else ("o", "--")


def _error_bars(ax, name: str, pts: pd.DataFrame, ycol: str, keep: np.ndarray) -> None:
    """x (``rho_acc``) and y (``ycol``) error bars of the drawn points, where the table has
    their intervals (gid ``err:<family>``)."""
    x = pts["rho_acc"].to_numpy(dtype=np.float64)
    xerr, yerr = plots.interval_errors(pts, "rho_acc"), plots.interval_errors(pts, ycol)
    plots.error_bars(
        ax,
        x[keep],
        style.shown(ycol, pts[ycol])[keep],
        xerr=None if xerr is None else xerr[:, keep],
        yerr=None if yerr is None else yerr[:, keep],
        color=style.color(name),
        gid=f"err:{name}",
    )


def _plot_clip(ax, name: str, pts: pd.DataFrame, ycol: str, texts: list) -> list[str]:
    """Scatter, error bars, labels and the two fit lines (templates, natural language) of the
    CLIP points."""
    x = pts["rho_acc"].to_numpy(dtype=np.float64)
    y = style.shown(ycol, pts[ycol])
    keep = tables.finite(x, y)
    colour = style.color(name)
    _error_bars(ax, name, pts, ycol, keep)
    groups = pts["group"].to_numpy()
    for group in (TEMPLATE, NATURAL_LANGUAGE):
        mask = keep & (groups == group)
        if not mask.any():
            continue
        marker, linestyle = _group_style(group)
        ax.scatter(
            x[mask],
            y[mask],
            color=colour,
            marker=marker,
            s=MARKER_SIZE,
            zorder=3,
            gid=f"points:{name}/{group}",
        )
        _fit_line(ax, x[mask], y[mask], colour, linestyle, f"{name}/{group}")
    texts += _annotate(ax, pts["label"][keep], x[keep], y[keep], colour)
    return [f"CLIP {t}" for t in pts["label"][~keep]]


def _plot_sl(ax, name: str, pts: pd.DataFrame, ycol: str, texts: list) -> list[str]:
    """Scatter, error bars, labels and fit line (linear sampling only) of the SL points."""
    x = pts["rho_acc"].to_numpy(dtype=np.float64)
    y = style.shown(ycol, pts[ycol])
    keep = tables.finite(x, y)
    fitted = pts["fitted"].to_numpy(dtype=bool)
    colour = style.color(name)
    _error_bars(ax, name, pts, ycol, keep)
    mask = keep & fitted
    if mask.any():
        ax.scatter(x[mask], y[mask], color=colour, s=MARKER_SIZE, zorder=3, gid=f"points:{name}")
        _fit_line(ax, x[mask], y[mask], colour, "--", name)
    other = keep & ~fitted
    if other.any():
        ax.scatter(
            x[other],
            y[other],
            facecolors="none",
            edgecolors=[colour],
            marker="^",
            linewidths=0.9,
            s=MARKER_SIZE,
            zorder=3,
            gid=f"unfitted:{name}",
        )
    texts += _annotate(ax, pts["label"][keep], x[keep], y[keep], colour)
    return [f"SL {t}" for t in pts["label"][~keep]]


def _legend(fig: Figure, clip_name: str, clip_pts, sl_name: str, sl_pts) -> None:
    """One legend below the panels: a marker and line style per fitted group, and the SL runs
    with another sampling weight (marker only)."""
    size = np.sqrt(MARKER_SIZE)
    entries: list[tuple[Line2D, str]] = []
    groups = set(clip_pts["group"]) if len(clip_pts) else set()
    for group in (TEMPLATE, NATURAL_LANGUAGE):
        if group in groups:
            marker, linestyle = _group_style(group)
            handle = Line2D([], [], color=style.color(clip_name), marker=marker, markersize=size)
            handle.set_linestyle(linestyle)
            entries.append((handle, f"{clip_name}, {group} captions"))
    if len(sl_pts):
        colour = style.color(sl_name)
        if sl_pts["fitted"].any():
            handle = Line2D([], [], color=colour, marker="o", markersize=size, linestyle="--")
            entries.append((handle, f"{sl_name}, {FITTED_WEIGHT} sampling"))
        others = sorted(set(sl_pts.loc[~sl_pts["fitted"], "vocab_weight"]))
        if others:
            handle = Line2D(
                [], [], color=colour, marker="^", markersize=size, markerfacecolor="none"
            )
            handle.set_linestyle("none")
            entries.append((handle, f"{sl_name}, {'/'.join(others)} sampling (not fitted)"))
    fig.legend(
        [h for h, _ in entries],
        [t for _, t in entries],
        loc="outside lower center",
        frameon=False,
        ncols=2,
    )


def _fit_line(ax, x, y, colour, linestyle: str, key: str) -> None:
    fit = linear_fit(x, y)
    if fit is None:
        return
    slope, intercept = fit
    xs = np.array([x.min(), x.max()])
    ax.plot(
        xs,
        slope * xs + intercept,
        color=colour,
        linestyle=linestyle,
        linewidth=1,
        gid=f"fit:{key}",
    )


def _annotate(ax, labels, x, y, colour) -> list[Annotation]:
    out = []
    for text, xi, yi in zip(labels, x, y, strict=True):
        ann = ax.annotate(
            str(text),
            (xi, yi),
            textcoords="offset points",
            xytext=(3, 3),
            fontsize=_LABEL_SIZE,
            color=colour,
            gid="label",
            annotation_clip=False,
            arrowprops={
                "arrowstyle": "-",
                "linewidth": 0.4,
                "color": colour,
                "shrinkA": 0,
                "shrinkB": np.sqrt(MARKER_SIZE) / 2 + 0.5,
            },
        )
        # the leader line shows only for a label placed far from its point (place_labels)
        ann.arrow_patch.set_visible(False)
        # labels move after the layout is fixed; they must not change it
        ann.set_in_layout(False)
        out.append(ann)
    return out
