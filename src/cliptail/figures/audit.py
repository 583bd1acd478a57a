"""Figures of the open-source CLIP audit (E0 / E6): released checkpoints, grouped by their
pre-training dataset (Fig. 1b, 7a as the paper draws it, 7b, 12, 17, 18, 20).

Inputs: the audit table (:mod:`cliptail.audit.table`; one row per checkpoint and evaluation
set), and for some figures the per-class records and feature samples of one representative
checkpoint per pre-training dataset (the first one the configuration lists). "Mean with 95 %
CI over models" is the mean over a dataset's checkpoints with the Student-t interval of that
mean (none with a single checkpoint). Correlations with frequency exist only where the
pre-training dataset's concept frequencies are known (not for OpenAI's WIT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.cm import ScalarMappable
from matplotlib.colors import Normalize
from matplotlib.figure import Figure
from scipy import stats

from cliptail import factors
from cliptail.factors import PRETRAINING_DATASETS, SL_SOURCE_OF
from cliptail.figures import style
from cliptail.figures.neural_collapse import NC_METRICS, nc_heatmaps

CONFIDENCE = 0.95
ROBUSTNESS = ("rho_acc", "rho_pred")
EVALSET_TITLES = {"imagenet_val": "ImageNet val", "imagenetv2": "ImageNetV2"}


def model_interval(values: Sequence[float]) -> tuple[float, float, float, int]:
    """(mean, lo, hi, n) of the finite ``values``: the Student-t 95 % interval of the mean over
    models (NaN bounds with fewer than two)."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return np.nan, np.nan, np.nan, 0
    mean = float(v.mean())
    if v.size < 2:
        return mean, np.nan, np.nan, 1
    half = float(stats.t.ppf(0.5 + CONFIDENCE / 2, v.size - 1) * v.std(ddof=1) / np.sqrt(v.size))
    return mean, mean - half, mean + half, int(v.size)


def _datasets(rows: pd.DataFrame) -> list[str]:
    """Pre-training datasets present, in :data:`PRETRAINING_DATASETS` order, then others."""
    present = list(dict.fromkeys(rows["dataset"].tolist()))
    known = [d for d in PRETRAINING_DATASETS if d in present]
    return known + sorted(d for d in present if d not in PRETRAINING_DATASETS)


def _name(dataset: str) -> str:
    return PRETRAINING_DATASETS.get(dataset, dataset)


def _rows(audit: pd.DataFrame, evalset: str, figure: str) -> pd.DataFrame:
    rows = audit[audit["evalset"] == evalset]
    if rows.empty:
        raise ValueError(
            f"{figure}: the audit table has no rows of evaluation set {evalset!r} "
            f"(it has {sorted(audit['evalset'].unique())})"
        )
    return rows


def dataset_summary(rows: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Per pre-training dataset and column: mean, lo, hi and n over its checkpoints."""
    out = []
    for dataset in _datasets(rows):
        group = rows[rows["dataset"] == dataset]
        for column in columns:
            mean, lo, hi, n = model_interval(group[column])
            out.append(
                {"dataset": dataset, "column": column, "mean": mean, "lo": lo, "hi": hi, "n": n}
            )
    return pd.DataFrame(out, columns=["dataset", "column", "mean", "lo", "hi", "n"])


def _bars(ax, x, summary: pd.DataFrame, color, label, marker="o") -> None:
    """Means with their intervals, clipped to [-1, 1] (the correlations' range: a t-interval of
    two models can reach past it)."""
    mean = summary["mean"].to_numpy(np.float64)
    lo = np.clip(summary["lo"].to_numpy(np.float64), -1, 1)
    hi = np.clip(summary["hi"].to_numpy(np.float64), -1, 1)
    err = np.vstack([mean - lo, hi - mean])
    ax.errorbar(x, mean, yerr=np.maximum(err, 0), fmt=marker, color=color, label=label, capsize=3)


def sl_rows(studies: pd.DataFrame | None, evalset: str) -> pd.DataFrame:
    """SL runs of the controlled study on the subsets built from a web dataset (Fig. 1b)."""
    if studies is None or studies.empty or "source" not in studies:
        return pd.DataFrame(columns=["dataset", *ROBUSTNESS])
    by_source = {s: d for d, s in SL_SOURCE_OF.items()}
    rows = studies[
        (studies["method"] == "sl")
        & studies["source"].isin(by_source)
        & (studies["evalset"] == evalset)
    ]
    if "scale" in rows:
        rows = rows[rows["scale"].astype(float) == 1.0]
    return rows.assign(dataset=rows["source"].map(by_source))[["dataset", *ROBUSTNESS]]


def fig01b(
    audit: pd.DataFrame, *, evalset: str, studies: pd.DataFrame | None = None, **_
) -> Figure:
    """Fig. 1b: Corr. freq vs acc and vs #pred per pre-training dataset: released CLIP models
    (mean with 95 % CI over models; the number of models under each name) and, where the
    controlled study trained one, SL on the dataset's class-matched subset."""
    rows = _rows(audit, evalset, "fig01b")
    rows = rows[rows[list(ROBUSTNESS)].notna().any(axis=1)]
    if rows.empty:
        raise ValueError("fig01b: no checkpoint has frequency correlations")
    datasets = _datasets(rows)
    sl = sl_rows(studies, evalset)
    with style.context():
        fig, axes = style.new_figure(1, 2, size=(0.75 * len(datasets) + 1.6, 2.8))
        x = np.arange(len(datasets))
        for ax, column in zip(axes[0], ROBUSTNESS, strict=True):
            summary = dataset_summary(rows, [column]).set_index("dataset").loc[datasets]
            _bars(ax, x - 0.12, summary, style.METHOD_COLORS["CLIP"], "CLIP (released)")
            sl_mean = sl.groupby("dataset")[column].mean()
            present = [i for i, d in enumerate(datasets) if d in sl_mean.index]
            if present:
                ax.scatter(
                    x[present] + 0.12,
                    [sl_mean[datasets[i]] for i in present],
                    marker="s",
                    color=style.METHOD_COLORS["SL"],
                    label="SL (own runs)",
                    zorder=3,
                )
            ax.set_xticks(x)
            ax.set_xticklabels(
                [f"{_name(d)}\n(n={int(summary.loc[d, 'n'])})" for d in datasets],
                rotation=30,
                ha="right",
            )
            ax.axhline(0, color="0.6", lw=0.6)
            ax.set_ylabel(style.label(column))
        axes[0][0].legend(loc="best")
    return fig


def fig07a_openclip(audit: pd.DataFrame, *, evalset: str, **_) -> Figure:
    """Fig. 7a as the paper: Spearman correlation of each per-class NC metric with accuracy and
    with web frequency, one row per pre-training dataset (mean over its checkpoints)."""
    rows = _rows(audit, evalset, "fig07a_openclip")
    metrics = [m for m in NC_METRICS if f"nc_rho_acc_{m}" in rows and f"nc_rho_freq_{m}" in rows]
    if not metrics:
        raise ValueError("fig07a_openclip: the audit table has no nc_rho_* columns")
    datasets = _datasets(rows)
    names = [style.label(m) for m in metrics]
    matrices = []
    for kind in ("acc", "freq"):
        cols = [f"nc_rho_{kind}_{m}" for m in metrics]
        means = rows.groupby("dataset")[cols].mean().reindex(datasets)
        means.index = [_name(d) for d in datasets]
        matrices.append(means.set_axis(names, axis=1))
    return nc_heatmaps(*matrices, row_height=0.26)


def fig12(audit: pd.DataFrame, *, ncols: int = 4, **_) -> Figure:
    """Fig. 12: Corr. freq vs acc (circles) and vs #pred (squares) of released CLIP models on
    the other concept sets, per pre-training dataset (mean with 95 % CI over models, clipped to
    [-1, 1])."""
    rows = audit[audit["concept_set"].isin([c for c in factors.CONCEPT_SETS if c != "imagenet"])]
    rows = rows[rows[list(ROBUSTNESS)].notna().any(axis=1)]
    if rows.empty:
        raise ValueError("fig12: the audit table has no concept-set rows with frequencies")
    sets = [c for c in factors.CONCEPT_SETS if c in set(rows["concept_set"])]
    nrows = -(-len(sets) // ncols)
    palette = sns.color_palette("colorblind", 3)
    with style.context():
        fig, axes = style.new_figure(nrows, min(ncols, len(sets)), sharey=True)
        flat = axes.ravel()
        for ax, concept in zip(flat, sets, strict=False):
            part = rows[rows["concept_set"] == concept]
            datasets = _datasets(part)
            x = np.arange(len(datasets))
            for shift, column, marker, color in (
                (-0.12, "rho_acc", "o", palette[0]),
                (0.12, "rho_pred", "s", palette[2]),
            ):
                summary = dataset_summary(part, [column]).set_index("dataset").loc[datasets]
                _bars(ax, x + shift, summary, color, style.label(column), marker)
            ax.set_xticks(x)
            ax.set_xticklabels([_name(d) for d in datasets], rotation=35, ha="right")
            ax.axhline(0, color="0.6", lw=0.6)
            ax.set_ylim(-1.05, 1.05)
            ax.set_title(factors.CONCEPT_SETS[concept])
        for ax in flat[len(sets) :]:
            ax.set_visible(False)
        flat[0].legend(loc="best")
    return fig


def fig18(audit: pd.DataFrame, *, evalsets: Sequence[str], **_) -> Figure:
    """Fig. 18: each released model's Corr. freq vs acc and vs #pred against its top-1 accuracy,
    one row per ImageNet evaluation set (val, V2), coloured by pre-training dataset."""
    evalsets = [e for e in evalsets if (audit["evalset"] == e).any()]
    if not evalsets:
        raise ValueError("fig18: the audit table has none of the ImageNet evaluation sets")
    datasets = _datasets(audit)
    palette = dict(zip(datasets, sns.color_palette("colorblind", len(datasets)), strict=True))
    with style.context():
        fig, axes = style.new_figure(len(evalsets), 2)
        for r, evalset in enumerate(evalsets):
            rows = audit[audit["evalset"] == evalset]
            for c, column in enumerate(ROBUSTNESS):
                ax = axes[r][c]
                for dataset in datasets:
                    part = rows[(rows["dataset"] == dataset) & rows[column].notna()]
                    if part.empty:  # no frequencies (OpenAI's WIT): nothing to correlate
                        continue
                    ax.scatter(
                        style.shown("top1", part["top1"]),
                        part[column],
                        color=palette[dataset],
                        label=_name(dataset),
                        s=18,
                    )
                ax.set_xlabel(style.label("top1"))
                ax.set_ylabel(style.label(column))
                ax.set_title(EVALSET_TITLES.get(evalset, evalset))
        axes[0][-1].legend(loc="best", fontsize=6.5)
    return fig


def fig17(
    audit: pd.DataFrame, *, records: Mapping[str, pd.DataFrame], examples: int = 8, **_
) -> Figure:
    """Fig. 17: the ``examples`` most (blue) and least (red) frequent classes of each
    representative model's pre-training dataset, with their web frequency (log) and the model's
    accuracy."""
    records = {k: r for k, r in records.items() if r["freq"].notna().any()}
    if not records:
        raise ValueError("fig17: no record with web frequencies")
    with style.context():
        fig, axes = style.new_figure(len(records), 2, size=(3.4, 0.16 * 2 * examples + 1.0))
        for r, (label, record) in enumerate(records.items()):
            ranked = record.sort_values(["freq", "class"], ascending=[False, True], kind="stable")
            chosen = pd.concat([ranked.head(examples), ranked.tail(examples)])
            y = np.arange(len(chosen))[::-1]
            names = chosen["name"].astype(str).str.slice(0, 22).tolist()
            head = np.arange(len(chosen)) < examples
            palette = sns.color_palette("colorblind", 4)
            colors = [palette[0] if h else palette[3] for h in head]
            axes[r][0].barh(y, chosen["freq"].to_numpy(np.float64) + 1, color=colors)
            axes[r][0].set_xscale("log")
            axes[r][0].set_yticks(y)
            axes[r][0].set_yticklabels(names, fontsize=6)
            axes[r][0].set_xlabel("web frequency + 1")
            axes[r][0].set_title(label, fontsize=8)
            axes[r][1].barh(y, style.shown("acc", chosen["acc"]), color=colors)
            axes[r][1].set_yticks(y)
            axes[r][1].set_yticklabels([])
            axes[r][1].set_xlim(0, 100)
            axes[r][1].set_xlabel(style.label("acc"))
    return fig


def tsne(points: np.ndarray, seed: int = 0) -> np.ndarray:
    """2-d t-SNE of ``points`` (cosine metric, PCA init, perplexity 30 or less for few points).

    On one thread: the same figure on every machine (a multi-threaded gradient sums in a varying
    order), and no slowdown when figure jobs share cores (about 1 min for Fig. 20's 11,000
    points)."""
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits

    n = len(points)
    if n < 4:
        raise ValueError(f"t-SNE needs at least 4 points, got {n}")
    perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
    with threadpool_limits(limits=1):
        return TSNE(
            n_components=2, perplexity=perplexity, init="pca", metric="cosine", random_state=seed
        ).fit_transform(np.asarray(points, dtype=np.float64))


def _log_freq(record: pd.DataFrame) -> np.ndarray:
    return np.log10(1.0 + record["freq"].to_numpy(np.float64))


FREQUENCY_CMAP = "viridis"
NO_FREQUENCY_COLOR = "0.6"


def _frequency_norm(records: Mapping[str, pd.DataFrame]) -> Normalize | None:
    """One colour scale of log10(1 + f) for every panel (None when no record has frequencies)."""
    values = np.concatenate([_log_freq(r) for r in records.values()] or [np.zeros(0)])
    values = values[np.isfinite(values)]
    return Normalize(float(values.min()), float(values.max())) if values.size else None


def _frequency_scatter(ax, xy: np.ndarray, colour: np.ndarray, norm, **kwargs) -> None:
    """Points coloured by log frequency on the shared scale; grey where it is unknown (OpenAI's
    WIT)."""
    known = np.isfinite(colour)
    if (~known).any():
        ax.scatter(xy[~known, 0], xy[~known, 1], color=NO_FREQUENCY_COLOR, **kwargs)
    if known.any():
        ax.scatter(
            xy[known, 0], xy[known, 1], c=colour[known], cmap=FREQUENCY_CMAP, norm=norm, **kwargs
        )


def _tsne_panel(ax, label: str, record: pd.DataFrame) -> None:
    known = record["freq"].notna().any()
    ax.set_title(label if known else f"{label}\n(no web frequencies: grey)", fontsize=8)
    ax.set_xticks([])
    ax.set_yticks([])


def _frequency_colorbar(fig: Figure, ax, norm) -> None:
    if norm is not None:
        mappable = ScalarMappable(norm=norm, cmap=FREQUENCY_CMAP)
        fig.colorbar(mappable, ax=ax, label="log10(1 + web freq)")


def fig07b(
    audit: pd.DataFrame,
    *,
    samples: Mapping[str, Mapping[str, np.ndarray]],
    records: Mapping[str, pd.DataFrame],
    **_,
) -> Figure:
    """Fig. 7b: t-SNE of the text centres (zero-shot class vectors) of each representative
    model, coloured by the class's web frequency (log10(1 + f), one scale for every panel; grey
    for a model whose pre-training data has no frequencies)."""
    labels = list(samples)
    norm = _frequency_norm({label: records[label] for label in labels})
    with style.context():
        fig, axes = style.new_figure(1, len(labels), size=(2.8, 2.7))
        for ax, label in zip(axes[0], labels, strict=True):
            xy = tsne(samples[label]["classifier"])
            _frequency_scatter(ax, xy, _log_freq(records[label]), norm, s=5)
            _tsne_panel(ax, label, records[label])
        _frequency_colorbar(fig, axes[0][-1], norm)
    return fig


def fig20(
    audit: pd.DataFrame,
    *,
    samples: Mapping[str, Mapping[str, np.ndarray]],
    records: Mapping[str, pd.DataFrame],
    **_,
) -> Figure:
    """Fig. 20: one t-SNE of image features (a sample per class, dots) and text centres
    (crosses) of each representative model, coloured by the class's web frequency (one scale
    for every panel; grey without frequencies)."""
    labels = list(samples)
    norm = _frequency_norm({label: records[label] for label in labels})
    with style.context():
        fig, axes = style.new_figure(1, len(labels), size=(2.8, 2.7))
        for ax, label in zip(axes[0], labels, strict=True):
            sample = samples[label]
            images, text = sample["image_features"], sample["classifier"]
            xy = tsne(np.vstack([images, text]))
            colour = _log_freq(records[label])
            _frequency_scatter(
                ax, xy[: len(images)], colour[sample["image_labels"]], norm, s=2, alpha=0.6
            )
            _frequency_scatter(
                ax, xy[len(images) :], colour, norm, marker="x", s=10, linewidths=0.6
            )
            _tsne_panel(ax, label, records[label])
        _frequency_colorbar(fig, axes[0][-1], norm)
    return fig
