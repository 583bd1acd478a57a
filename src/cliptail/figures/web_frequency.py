"""Concept frequencies of six web datasets (the authors' released files): Fig. 1a, 21, 13, Table 1.

Inputs are the released ``class_frequency_<dataset>_<concepts>[_ori].txt`` files
(:func:`cliptail.data.metadata.released_frequency_file` names the one to read), combined by
:func:`frequency_table` into one frame: index = class names in class order, one integer column per dataset.

- Fig. 1a (:func:`fig01a`): the classes ranked by their LAION-400M frequency (rank 1 = most
  frequent) on the x axis, frequency on a log y axis, three panels of dataset pairs. Each dataset
  is drawn raw (thin) and smoothed (bold): a Gaussian filter with standard deviation
  :data:`SMOOTH_SIGMA` ranks over the frequencies in rank order (:func:`smoothed`). A zero
  frequency cannot be drawn on a log axis: raw zeros are left out and counted in the legend; the
  smoothed curve includes them and is drawn wherever it is positive.
- Fig. 21 (:func:`fig21`): the same ranking on a linear y axis, one column per band of
  :data:`FIG21_BAND_SIZE` ranks (five bands for the 1000 ImageNet classes).
- Fig. 13 (:func:`fig13`): per concept set, the Spearman correlation (average ranks for ties,
  zeros kept) between every two datasets' class frequencies, lower triangle with the diagonal.
- Table 1, frequency part (:func:`table01_rare_classes`): YFCC-15M's ImageNet classes with
  frequency below 10.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.ticker
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure
from scipy.ndimage import gaussian_filter1d
from scipy.stats import spearmanr

from cliptail import factors, io
from cliptail.figures import style
from cliptail.figures.per_class import count_label

WEB_DATASETS = factors.WEB_DATASETS
CONCEPT_SETS = factors.CONCEPT_SETS
#: The three panels of Fig. 1a (and the rows of Fig. 21).
FIG01A_PAIRS: tuple[tuple[str, str], ...] = (
    ("cc12m", "yfcc15m"),
    ("laion400m", "laion2b"),
    ("metaclip_400m", "metaclip_fullcc"),
)
RANK_BY = "laion400m"
#: Standard deviation (in ranks) of the Gaussian filter of the smoothed curves of Fig. 1a.
SMOOTH_SIGMA = 3.0
#: Fig. 21: ranks per band, [0, 200), [200, 400), ... up to the number of classes.
FIG21_BAND_SIZE = 200
RARE_THRESHOLD = 10
TABLE01_COLUMNS = ["class_index", "name", "frequency"]


def frequency_table(frames: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-class frequencies of several datasets side by side.

    ``frames`` maps a dataset key to a ``name``/``count`` frame (:func:`cliptail.io.read_frequency`)
    and must hold the same class names; the class order is that of the first frame.
    """
    if not frames:
        raise ValueError("no frequency files given")
    order = None
    columns = {}
    for dataset, frame in frames.items():
        names = frame["name"].tolist()
        if len(set(names)) != len(names):
            raise ValueError(f"{dataset}: class names repeat; cannot align frequency files by name")
        if order is None:
            order = names
        elif set(names) != set(order):
            missing = sorted(set(order) - set(names))[:5]
            raise ValueError(
                f"{dataset}: its classes differ from {next(iter(frames))}'s "
                f"(e.g. missing {missing}); were both made for the same concept set?"
            )
        columns[dataset] = frame.set_index("name")["count"].reindex(order).astype("int64")
    table = pd.DataFrame(columns)
    table.index.name = "name"
    return table


def read_frequency_table(paths: Mapping[str, str | os.PathLike]) -> pd.DataFrame:
    """:func:`frequency_table` of files; the first file named ``*_ori.txt`` sets the class order."""
    keys = sorted(paths, key=lambda k: not Path(paths[k]).name.endswith("_ori.txt"))
    table = frequency_table({k: io.read_frequency(paths[k]) for k in keys})
    return table[list(paths)]


def smoothed(counts: np.ndarray, sigma: float = SMOOTH_SIGMA) -> np.ndarray:
    """Frequencies in rank order filtered by a Gaussian of standard deviation ``sigma`` ranks.

    :func:`scipy.ndimage.gaussian_filter1d` with its defaults: the kernel is cut at 4 sigma and
    normalised to sum 1, and the ends are extended by reflection, so a constant stays constant.
    """
    values = np.asarray(counts, dtype=np.float64)
    if values.ndim != 1:
        raise ValueError(f"smoothed: expected one frequency per class, got shape {values.shape}")
    if sigma <= 0:
        raise ValueError(f"smoothed: sigma must be positive, got {sigma}")
    return gaussian_filter1d(values, sigma)


def rank_bands(num_classes: int, size: int = FIG21_BAND_SIZE) -> list[tuple[int, int]]:
    """Consecutive rank bands ``[lo, hi)`` of ``size`` ranks covering ``num_classes`` ranks (the
    last band holds the remainder)."""
    if size < 1:
        raise ValueError(f"rank_bands: size must be a positive number of ranks, got {size}")
    return [(lo, min(lo + size, num_classes)) for lo in range(0, num_classes, size)]


def _ranked(table: pd.DataFrame, rank_by: str) -> pd.DataFrame:
    if rank_by not in table.columns:
        raise ValueError(f"cannot rank by {rank_by!r}: not among {list(table.columns)}")
    order = np.argsort(-table[rank_by].to_numpy(), kind="stable")
    return table.iloc[order]


def _check_pairs(table: pd.DataFrame, pairs: Sequence[Sequence[str]]) -> None:
    missing = [d for pair in pairs for d in pair if d not in table.columns]
    if missing:
        raise ValueError(
            f"datasets {missing} are not in the table (columns: {list(table.columns)})"
        )


def _plain_counts(axis) -> None:
    """Frequency tick labels as plain short numbers (``100``, ``10k``, ``2.5M``), minor ticks
    unlabelled."""
    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: count_label(v)))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def _pair_colors() -> list:
    palette = sns.color_palette("colorblind", 10)
    return [palette[0], palette[1]]


def fig01a(
    table: pd.DataFrame,
    *,
    rank_by: str = RANK_BY,
    pairs: Sequence[Sequence[str]] = FIG01A_PAIRS,
    sigma: float = SMOOTH_SIGMA,
) -> Figure:
    """Fig. 1a: class frequency (log) ranked by ``rank_by``, one panel per dataset pair."""
    _check_pairs(table, pairs)
    ranked = _ranked(table, rank_by)
    ranks = np.arange(1, len(ranked) + 1)
    with style.context():
        fig, axes = style.new_figure(1, len(pairs), sharey=True)
        for ax, pair in zip(axes[0], pairs, strict=True):
            for dataset, color in zip(pair, _pair_colors(), strict=False):
                counts = ranked[dataset].to_numpy(dtype=np.float64)
                positive = counts > 0
                zeros = int((~positive).sum())
                name = WEB_DATASETS.get(dataset, dataset)
                ax.plot(
                    ranks[positive],
                    counts[positive],
                    linewidth=0.5,
                    alpha=0.35,
                    color=color,
                    gid=f"raw:{dataset}",
                )
                curve = smoothed(counts, sigma)
                drawn = curve > 0
                ax.plot(
                    ranks[drawn],
                    curve[drawn],
                    linewidth=1.6,
                    color=color,
                    gid=f"smoothed:{dataset}",
                    label=f"{name} ({zeros} zero)" if zeros else name,
                )
            ax.set_yscale("log")
            _plain_counts(ax.yaxis)
            ax.set_xlabel(f"{style.label('rank')} (by {WEB_DATASETS.get(rank_by, rank_by)})")
            style.legend(ax, loc="lower left")
        axes[0, 0].set_ylabel(style.label("freq"))
    return fig


def fig21(
    table: pd.DataFrame,
    *,
    rank_by: str = RANK_BY,
    pairs: Sequence[Sequence[str]] = FIG01A_PAIRS,
    band_size: int = FIG21_BAND_SIZE,
) -> Figure:
    """Fig. 21: Fig. 1a on a linear y axis; rows = dataset pairs, columns = bands of
    ``band_size`` ranks of ``rank_by`` (:func:`rank_bands`)."""
    _check_pairs(table, pairs)
    ranked = _ranked(table, rank_by)
    ranks = np.arange(1, len(ranked) + 1)
    bands = rank_bands(len(ranked), band_size)
    if not bands:
        raise ValueError("fig21: the frequency table has no class")
    with style.context():
        fig, axes = style.new_figure(len(pairs), len(bands), size=(2.6, 2.0))
        for row, pair in enumerate(pairs):
            for col, (lo, hi) in enumerate(bands):
                ax = axes[row, col]
                for dataset, color in zip(pair, _pair_colors(), strict=False):
                    ax.plot(
                        ranks[lo:hi],
                        ranked[dataset].to_numpy()[lo:hi],
                        linewidth=0.9,
                        color=color,
                        label=WEB_DATASETS.get(dataset, dataset),
                        gid=f"band{lo}:{dataset}",
                    )
                ax.set_ylim(bottom=0)
                _plain_counts(ax.yaxis)
                if row == len(pairs) - 1:
                    ax.set_xlabel(f"{style.label('rank')} {lo + 1}-{hi}")
                if col == 0:
                    ax.set_ylabel(style.label("freq"))
                    style.legend(ax, loc="upper right")
    return fig


def spearman_matrix(table: pd.DataFrame) -> pd.DataFrame:
    """Spearman rho between every two columns (average ranks for ties, zeros kept)."""
    if table.shape[1] < 2:
        raise ValueError("a correlation matrix needs at least two datasets")
    rho = spearmanr(table.to_numpy(dtype=np.float64)).statistic
    return pd.DataFrame(np.asarray(rho), index=table.columns, columns=table.columns)


def fig13(tables: Mapping[str, pd.DataFrame], *, ncols: int = 4) -> Figure:
    """Fig. 13: one lower-triangular Spearman matrix (:func:`spearman_matrix`) per concept set."""
    if not tables:
        raise ValueError("fig13: no concept sets given")
    nrows = -(-len(tables) // ncols)
    with style.context():
        fig, axes = style.new_figure(nrows, min(ncols, len(tables)), size=(3.0, 2.9))
        for ax, (concepts, table) in zip(axes.flat, tables.items(), strict=False):
            rho = spearman_matrix(table)
            labels = [WEB_DATASETS.get(d, d) for d in rho.columns]
            upper = np.triu(np.ones(rho.shape, dtype=bool), k=1)
            sns.heatmap(
                rho.to_numpy(),
                mask=upper,
                ax=ax,
                vmin=0.0,
                vmax=1.0,
                cmap="viridis",
                annot=True,
                fmt=".2f",
                annot_kws={"fontsize": 6.5},
                cbar=False,
                square=True,
                xticklabels=labels,
                yticklabels=labels,
            )
            ax.set_title(CONCEPT_SETS.get(concepts, concepts))
            ax.tick_params(axis="x", labelrotation=45, labelsize=7)
            ax.tick_params(axis="y", labelrotation=0, labelsize=7)
            ax.grid(False)
        for ax in list(axes.flat)[len(tables) :]:
            ax.set_visible(False)
    return fig


def table01_rare_classes(
    table: pd.DataFrame,
    *,
    dataset: str = "yfcc15m",
    threshold: int = RARE_THRESHOLD,
    accuracy: pd.DataFrame | None = None,
    accuracy_from: str | None = None,
) -> pd.DataFrame:
    """Table 1: the classes with frequency below ``threshold`` in ``dataset``.

    ``table`` is a :func:`frequency_table` (class names in class order, one column per dataset);
    rows are sorted by frequency, then class index. ``accuracy``: a per-class record on ImageNet
    (``class`` = class index, ``acc``) of CLIP RN50 trained on YFCC-15M (``accuracy_from`` names
    the checkpoint); it adds the ``accuracy`` column (percent), each class paired with its own
    accuracy by class index (the authors' notebook paired them by row position after a sort,
    which gave each class another class's accuracy).
    """
    if dataset not in table.columns:
        raise ValueError(f"table01: no {dataset!r} column; the table has {list(table.columns)}")
    rows = pd.DataFrame(
        {
            "class_index": np.arange(len(table), dtype=np.int64),
            "name": table.index.to_numpy(),
            "frequency": table[dataset].to_numpy(dtype=np.int64),
        }
    )
    rare = rows[rows["frequency"] < threshold]
    rare = rare.sort_values(["frequency", "class_index"], kind="stable").reset_index(drop=True)
    if accuracy is None:
        return rare
    acc = accuracy.set_index("class")["acc"]
    missing = sorted(set(rare["class_index"]) - set(acc.index))
    if missing:
        raise ValueError(f"table01: the accuracy record has no class {missing[:5]}")
    rare["accuracy"] = 100.0 * acc.reindex(rare["class_index"]).to_numpy(np.float64)
    if accuracy_from:
        rare["accuracy_of"] = accuracy_from
    return rare
