"""Fig. 7a: how the per-class neural-collapse metrics relate to accuracy and to frequency."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from cliptail.figures import plots, style, tables

#: Per-class NC metrics, in column order.
NC_METRICS = ("nc1", "nc2_m", "nc2nn_m", "nc2_w", "nc2nn_w")


def nc_correlation_matrices(rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Two run x metric matrices: ``nc_rho_acc_<m>`` and ``nc_rho_freq_<m>`` (seed means per label).

    Metrics without both columns are dropped; rows are labelled by :func:`plots.run_labels`.
    """
    metrics = [
        m
        for m in NC_METRICS
        if f"nc_rho_acc_{m}" in rows.columns and f"nc_rho_freq_{m}" in rows.columns
    ]
    if not metrics:
        raise ValueError(
            "fig07a: the table has no nc_rho_acc_<metric>/nc_rho_freq_<metric> "
            f"columns (metrics {list(NC_METRICS)}); rebuild it with cliptail.evaluate"
        )
    labelled = rows.assign(label=plots.run_labels(rows))
    columns = [f"nc_rho_{kind}_{m}" for kind in ("acc", "freq") for m in metrics]
    means = tables.seed_means(labelled, ["label"], columns).set_index("label")
    names = [style.label(m) for m in metrics]
    acc = means[[f"nc_rho_acc_{m}" for m in metrics]].set_axis(names, axis=1)
    freq = means[[f"nc_rho_freq_{m}" for m in metrics]].set_axis(names, axis=1)
    return acc, freq


def fig07a(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 7a: heatmaps of the ``nc_rho_acc_<m>`` and ``nc_rho_freq_<m>`` columns, one row per run.

    Reads any study rows of one evaluation set (the workflow passes the descriptiveness,
    vocabulary and text-tower studies); rows are labelled by model family and the factors that
    vary between runs; seeds are averaged. Undefined (NaN) correlations are blank cells.
    """
    rows = tables.one_evalset(
        table, evalset, "fig07a", ["text_tower", "head", "vocab_size", "vocab_weight"]
    )
    acc, freq = nc_correlation_matrices(rows)
    return nc_heatmaps(acc, freq)


def nc_heatmaps(acc: pd.DataFrame, freq: pd.DataFrame, row_height: float = 0.24) -> Figure:
    """Two heatmaps side by side, one row per model or group (the rows of ``acc`` and ``freq``):
    the correlations of the NC metrics (columns) with accuracy and with frequency, in [-1, 1];
    NaN cells blank, with a note."""
    height = 1.4 + row_height * len(acc)
    with style.context():
        fig, axes = style.new_figure(1, 2, size=(3.6, height))
        for i, (ax, matrix, title) in enumerate(
            zip(axes[0], (acc, freq), ("Corr. with acc", "Corr. with freq"), strict=True)
        ):
            with warnings.catch_warnings():
                # seaborn 0.13 calls Colormap.set_bad, which matplotlib 3.11 marks as pending removal
                warnings.filterwarnings("ignore", category=PendingDeprecationWarning)
                sns.heatmap(
                    matrix.astype(np.float64),
                    ax=ax,
                    vmin=-1,
                    vmax=1,
                    center=0,
                    cmap="vlag",
                    annot=True,
                    fmt=".2f",
                    annot_kws={"fontsize": 6.5},
                    cbar=i == 1,
                    yticklabels=i == 0,
                    linewidths=0.5,
                    linecolor="white",
                )
            ax.set_title(title)
            ax.set_xlabel("")
            ax.set_ylabel("")
            ax.tick_params(axis="x", rotation=0)
        if acc.isna().to_numpy().any() or freq.isna().to_numpy().any():
            fig.text(
                0.01,
                0.0,
                "blank cells: undefined (constant values)",
                fontsize=style.NOTE_SIZE,
                color="0.35",
                gid="note",
            )
    return fig
