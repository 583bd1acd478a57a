"""Fig. 10 and Table 2: linear-probe transfer of DINO, against the reference pre-training.

Both read a probe study's table (:func:`cliptail.evaluate.transfer.transfer_table`: a row per
run and probe set, ``score`` in percent, ``is_reference`` marking the reference setting, DINO on
ImageNet in the paper). Fig. 10 shows, per probe set, each other setting's seed-mean score minus
the reference's; Table 2 the mean over the probe sets per setting, beside the paper's values.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

from cliptail.data.probe_tasks import TASK_NAMES
from cliptail.evaluate import transfer
from cliptail.figures import style, tables
from cliptail.figures.catalogue import SOURCE_NAMES

#: Display names of the paper's transfer datasets.
TRANSFER_NAMES = {
    "food101": "Food-101",
    "cifar10": "CIFAR-10",
    "cifar100": "CIFAR-100",
    "birdsnap": "Birdsnap",
    "sun397": "SUN397",
    "cars": "Cars",
    "aircraft": "Aircraft",
    "voc2007": "VOC2007",
    "dtd": "DTD",
    "pets": "Pets",
    "caltech101": "Caltech-101",
    "flowers102": "Flowers-102",
}
PROBE_SET_NAMES = {**TASK_NAMES, **TRANSFER_NAMES}
AVERAGE = "Average"


def _check(table: pd.DataFrame, figure: str) -> pd.DataFrame:
    tables.require(table, ["run", "probe_set", "score", "source", "is_reference"], figure)
    if not table["is_reference"].fillna(False).astype(bool).any():
        raise ValueError(f"{figure}: the table has no run of the reference setting")
    return table


def _label(row) -> str:
    return transfer.setting_label(row, SOURCE_NAMES)


def _probe_order(table: pd.DataFrame) -> list[str]:
    present = list(dict.fromkeys(table["probe_set"]))
    known = [p for p in PROBE_SET_NAMES if p in present]
    return known + [p for p in present if p not in known]


def per_seed_deltas(table: pd.DataFrame) -> pd.DataFrame:
    """Per (setting, probe set, seed): the run's score minus the reference's seed-mean score,
    plus the ``Average`` probe set (the mean over the probe sets of each run)."""
    reference = table[table["is_reference"].fillna(False).astype(bool)]
    ref = reference.groupby("probe_set")["score"].mean()
    others = table[~table["is_reference"].fillna(False).astype(bool)].copy()
    others["delta"] = others["score"] - others["probe_set"].map(ref)
    others["setting"] = [_label(r) for r in others.to_dict("records")]
    average = (others.groupby(["setting", "run"], sort=False)["delta"].mean().reset_index()).assign(
        probe_set=AVERAGE
    )
    return pd.concat([others[["setting", "run", "probe_set", "delta"]], average])


def _t_half(values: np.ndarray) -> float:
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return np.nan
    return float(stats.t.ppf(0.975, len(values) - 1) * values.std(ddof=1) / np.sqrt(len(values)))


def fig10(table: pd.DataFrame, *, evalset: str | None = None) -> Figure:
    """Fig. 10: linear-probe score difference (points) to the reference setting, per probe set
    and on average; one bar per other setting. With two or more seeds a setting's bar carries
    the seeds' 95 % t-interval (the reference's seed mean taken as fixed)."""
    rows = _check(table, "fig10")
    deltas = per_seed_deltas(rows)
    probes = [*_probe_order(rows), AVERAGE]
    settings = list(dict.fromkeys(deltas["setting"]))
    width = 0.8 / max(1, len(settings))
    with style.context():
        fig, axes = style.new_figure(1, 1, size=(max(5.0, 0.75 * len(probes) + 1.5), 3.2))
        ax = axes[0, 0]
        for i, setting in enumerate(settings):
            mine = deltas[deltas["setting"] == setting]
            means = np.array([mine.loc[mine.probe_set == p, "delta"].mean() for p in probes])
            halves = np.array(
                [_t_half(mine.loc[mine.probe_set == p, "delta"].to_numpy()) for p in probes]
            )
            x = np.arange(len(probes)) + (i - (len(settings) - 1) / 2) * width
            color = style.color(setting, settings)
            ax.bar(x, means, width=width, color=color, label=setting, gid=f"bar:{setting}")
            if np.isfinite(halves).any():
                ax.errorbar(
                    x, means, yerr=halves, fmt="none", ecolor="0.2", capsize=2, linewidth=0.8
                )
        ax.axhline(0.0, color="0.3", linewidth=0.8)
        ax.set_xticks(np.arange(len(probes)))
        ax.set_xticklabels([PROBE_SET_NAMES.get(p, p) for p in probes], rotation=45, ha="right")
        reference = _label(rows[rows["is_reference"].fillna(False).astype(bool)].iloc[0])
        ax.set_ylabel(f"Linear probe vs {reference} (points)")
        style.figure_legend(fig, max_columns=3)
    return fig


def table02(table: pd.DataFrame, *, evalset: str | None = None) -> pd.DataFrame:
    """Table 2: per setting, the mean linear-probe score over the probe sets (the mean over
    seeds of each run's mean), the seeds' 95 % t-interval half-width, the number of seeds and
    of probe sets, and the paper's value where the setting is one of Table 2's."""
    rows = _check(table, "table02").copy()
    rows["setting"] = [_label(r) for r in rows.to_dict("records")]
    per_run = rows.groupby(["setting", "run"], sort=False)["score"].agg(["mean", "count"])
    out = []
    for setting, group in per_run.groupby(level=0, sort=False):
        means = group["mean"].to_numpy()
        out.append(
            {
                "setting": setting,
                "mean_score": float(means.mean()),
                "ci95_half_width": _t_half(means),
                "seeds": len(means),
                "probe_sets": int(group["count"].max()),
                "paper": transfer.PAPER_TABLE2.get(setting, np.nan),
            }
        )
    return pd.DataFrame(out)
