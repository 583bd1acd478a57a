"""One visual style for every cliptail figure: sizes, colours, axis labels and family names.

Figures are built on plain :class:`matplotlib.figure.Figure` objects (no pyplot state) inside
:func:`context`, which applies seaborn's white-grid style and the font sizes below. Quantities are
named as in the paper's figures (:data:`LABELS`); accuracies are shown in percent
(:func:`shown`). A *family* is one model kind of the paper's legends: the method plus its text
tower (CLIP) or head and vocabulary (SL); :func:`family` names it and :func:`color` gives it the
same colour in every figure.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Any

import matplotlib
import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from cliptail import factors

FONT_SIZES = {
    "font.size": 9,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 7.5,
    "legend.title_fontsize": 8,
}
NOTE_SIZE = 7
#: Width of one panel in inches (the figure width is panels x this).
PANEL_SIZE = (3.2, 2.8)

#: Axis labels, named as in the paper's figures.
LABELS = {
    "rho_acc": "Corr. freq vs acc",
    "rho_pred": "Corr. freq vs #pred",
    "pearson_acc": "Pearson freq vs acc",
    "pearson_pred": "Pearson freq vs #pred",
    "top1": "Top-1 acc. (%)",
    "top5": "Top-5 acc. (%)",
    "tail_acc": "Tail acc. (%)",
    "head_acc": "Head & mid acc. (%)",
    "acc": "Per-class acc. (%)",
    "npred": "#pred",
    "freq": "Class frequency",
    "rank": "Class rank",
    "n_train": "#training images",
    "trim_k": "#trimmed tail classes",
    "similarity": "Intra-class image similarity",
    "density": "Density",
    "source": "Training source",
    "classes": "Training concepts",
    "nc1": r"$\mathrm{NC}_1$",
    "nc2_m": r"$\mathrm{NC}_2^{M}$",
    "nc2nn_m": r"$\mathrm{NC}_2^{nn,M}$",
    "nc2_w": r"$\mathrm{NC}_2^{W}$",
    "nc2nn_w": r"$\mathrm{NC}_2^{nn,W}$",
}

#: Columns shown in percent (stored as fractions in the tables).
PERCENT = frozenset({"top1", "top5", "tail_acc", "head_acc", "acc"})

#: The nine caption types of Fig. 3, least to most descriptive.
CAPTION_ORDER = factors.CAPTION_TYPES
CAPTION_LABELS = {
    "class_templates": "class tmpl.",
    "synset_templates": "synset tmpl.",
    "description": "desc.",
    "title": "title",
    "tags": "tags",
    "title_description": "title+desc.",
    "tags_description": "tags+desc.",
    "title_tags": "title+tags",
    "full": "full",
}

SOURCE_LABELS = {"curated": "curated", "web": "web (shifted)"}
CLASSES_ORDER = ("eval", "all_matched", "all")
CLASSES_LABELS = {
    "eval": "eval concepts",
    "all_matched": "+open-world\n(size-matched)",
    "all": "+open-world\n(all data)",
}
#: The same ladder on the real data (Fig. 6a): IN-Caps-100 -> IN-Caps (10%) -> IN-Caps.
REAL_CLASSES_ORDER = ("in100", "in100_matched", "eval")
REAL_CLASSES_LABELS = {
    "in100": "IN-Caps-100",
    "in100_matched": "IN-Caps (10%)",
    "eval": "IN-Caps",
}
#: Fig. 6b: a web caption list's -Cls subset, then the whole list.
WEB_FULL_ORDER = ("yfcc15m_cls", "yfcc15m")
WEB_FULL_LABELS = {"yfcc15m_cls": "YFCC-15M-Cls", "yfcc15m": "YFCC-15M"}

#: Base colours of the families (seaborn "colorblind" palette).
_PALETTE = sns.color_palette("colorblind", 10)
#: Legend names of the CLIP text towers (``CLIP (<name> text)``); others are shown as stored.
TOWER_LABELS = {"clip_init": "CLIP-init", "roberta": "frozen RoBERTa"}
FAMILY_COLORS = {
    "CLIP (rand text)": _PALETTE[0],
    "CLIP (frozen text)": _PALETTE[2],
    "CLIP (CLIP-init text)": _PALETTE[3],
    "CLIP (frozen RoBERTa text)": _PALETTE[9],
    "SL (rand head)": _PALETTE[1],
    "SL (frozen head)": _PALETTE[4],
}
#: Plain method labels (e.g. the baselines of Fig. 11) take their default family's colour.
METHOD_COLORS = {"CLIP": FAMILY_COLORS["CLIP (rand text)"], "SL": FAMILY_COLORS["SL (rand head)"]}
_EXTRA_COLORS = [_PALETTE[i] for i in (5, 6, 8, 7, 3, 9)]


@contextlib.contextmanager
def context() -> Iterator[None]:
    """Apply the cliptail style (seaborn white grid, font sizes) while building a figure."""
    rc = {
        **sns.axes_style("whitegrid"),
        **FONT_SIZES,
        "pdf.fonttype": 42,
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
    with matplotlib.rc_context(rc):
        yield


def new_figure(
    nrows: int,
    ncols: int,
    *,
    sharex: bool = False,
    sharey: bool = False,
    size: tuple[float, float] = PANEL_SIZE,
) -> tuple[Figure, np.ndarray]:
    """A figure with an ``nrows x ncols`` grid of panels (always a 2-d array of axes)."""
    fig = Figure(figsize=(size[0] * ncols, size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, sharex=sharex, sharey=sharey, squeeze=False)
    return fig, axes


def label(column: str) -> str:
    """The paper's name of a quantity (the column name when it has none)."""
    return LABELS.get(column, column)


def shown(column: str, values: Any) -> np.ndarray:
    """Values as plotted: accuracies in percent, everything else unchanged (float array)."""
    v = np.asarray(values, dtype=np.float64)
    return v * 100.0 if column in PERCENT else v


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def family(factors: Mapping[str, Any], *, with_vocab: bool = False) -> str:
    """Legend name of a run's model family, e.g. ``CLIP (frozen text)``,
    ``CLIP (CLIP-init text)`` (:data:`TOWER_LABELS`) or ``SL (rand head)``.

    With ``with_vocab`` an SL run with a subsampled vocabulary gets ``, K=<size>`` appended
    (and the sampling weight when it is not the default ``linear``). A run with a named training
    recipe (factor ``recipe`` other than ``default``) gets ``, <recipe>`` before the bracket.
    """
    recipe = factors.get("recipe")
    suffix = "" if _missing(recipe) or str(recipe) == "default" else f", {recipe}"
    method = str(factors["method"])
    if method == "clip":
        tower = factors.get("text_tower")
        tower = "rand" if _missing(tower) else str(tower)
        return f"CLIP ({TOWER_LABELS.get(tower, tower)} text{suffix})"
    if method == "sl":
        head = factors.get("head")
        name = f"SL ({'rand' if _missing(head) else head} head"
        vocab = factors.get("vocab_size")
        if with_vocab and not _missing(vocab) and str(vocab) != "full":
            name += f", K={vocab}"
            weight = factors.get("vocab_weight")
            if not _missing(weight) and str(weight) != "linear":
                name += f" {weight}"
        return name + suffix + ")"
    raise ValueError(f"unknown method {method!r}; expected 'clip' or 'sl'")


def color(name: str, others: list[str] | None = None) -> tuple[float, float, float]:
    """Colour of a legend entry: the fixed colour of a base family (:data:`FAMILY_COLORS`) or
    method (:data:`METHOD_COLORS`), else an extra palette colour chosen by the entry's position
    among the other entries ``others`` (stable within a figure)."""
    fixed = {**FAMILY_COLORS, **METHOD_COLORS}
    if name in fixed:
        return fixed[name]
    extras = [n for n in (others or []) if n not in fixed]
    index = extras.index(name) if name in extras else 0
    return _EXTRA_COLORS[index % len(_EXTRA_COLORS)]


def data_ticks(ax, values) -> None:
    """Major x ticks exactly at the (positive) data values of a log axis, labelled plainly
    (e.g. ``20000`` rather than ``2^14.3``); minor ticks off."""
    ticks = sorted({float(v) for v in values if np.isfinite(v) and v > 0})
    if ticks:
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())


def legend(ax, **kwargs) -> None:
    """A legend without a frame, only when the axes has labelled artists."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, frameon=False, **kwargs)


def figure_legend(fig: Figure, max_columns: int = 4) -> None:
    """One frameless legend below all panels, from the labelled artists of every panel
    (each label once, in order of first appearance)."""
    entries: dict[str, Any] = {}
    for ax in fig.axes:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            entries.setdefault(text, handle)
    if entries:
        fig.legend(
            list(entries.values()),
            list(entries),
            loc="outside lower center",
            frameon=False,
            ncols=min(len(entries), max_columns),
        )
