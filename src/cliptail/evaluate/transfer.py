"""Transfer of self-supervised runs: one linear probe per (run, probe set), and their table.

A probe set is a dataset folder with ``train``/``val``/``test`` splits: a task of the world
(:mod:`cliptail.data.probe_tasks`) or one of the paper's 12 transfer datasets
(:mod:`cliptail.data.transfer`). :func:`probe_record` runs the protocol of
:mod:`cliptail.evaluate.linear_probe` on a run's frozen features of the set and returns the
JSON record a job writes; :func:`transfer_table` gathers a study's records into a tidy table (a
row per run and probe set, every factor a column, ``score`` in percent), which the figures
(Fig. 10, Table 2) and the claims read.

Reference points: Table 2 of the paper averages the 12 probe scores per pre-training setting
(:data:`PAPER_TABLE2`); Fig. 10 plots each setting's per-dataset difference to DINO trained on
ImageNet, :func:`deltas`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from cliptail.data.probe_tasks import WORLD_TASKS, split_arrays

#: Table 2 of the paper: mean linear-probe score over the 12 datasets, per DINO setting.
PAPER_TABLE2: dict[str, float] = {
    "ImageNet": 60.8,
    "LAIONet, 16384 prototypes": 57.1,
    "LAIONet, 65536 prototypes": 56.7,
    "LAIONet, sampling 1024": 58.0,
    "LAIONet, sampling 4096": 59.1,
    "LAIONet, sampling 16384": 60.0,
}
#: Columns of a probe record besides the run's factors.
RECORD_COLUMNS = ("run", "probe_set", "metric", "score", "l2", "num_train", "num_val", "num_test")


def probe_metric(probe_set: str) -> str:
    """The score of a probe set: top-1 for the world's tasks, the dataset's own metric for a
    transfer dataset (mean per-class accuracy, 11-point mAP, or top-1)."""
    if probe_set in WORLD_TASKS:
        return "top1"
    from cliptail.data.transfer.registry import TRANSFER_DATASETS

    if probe_set not in TRANSFER_DATASETS:
        known = sorted(WORLD_TASKS) + sorted(TRANSFER_DATASETS)
        raise ValueError(f"unknown probe set {probe_set!r}; known: {known}")
    return TRANSFER_DATASETS[probe_set].metric


def probe_record(
    run: str,
    probe_set: str,
    features: np.ndarray,
    manifest: pd.DataFrame,
    num_classes: int,
    *,
    metric: str | None = None,
    grid: Sequence[float] | None = None,
    progress=None,
) -> dict[str, Any]:
    """Probe ``features`` (rows aligned with ``manifest``) and return the job's record: the
    score on ``test`` in percent, the chosen penalty and the validation curve."""
    # imported here: the workflow imports this module while planning, which must not load torch
    from cliptail.evaluate.linear_probe import L2_GRID, linear_probe

    metric = metric or probe_metric(probe_set)
    parts = split_arrays(manifest, features, num_classes)
    result = linear_probe(
        parts["train"],
        parts["val"],
        parts["test"],
        num_classes=num_classes,
        metric=metric,
        grid=None if grid is None else np.asarray(grid),
        progress=progress,
    )
    return {
        "run": run,
        "probe_set": probe_set,
        "metric": metric,
        "score": 100.0 * result.test_score,
        "l2": result.l2,
        "num_train": result.num_train,
        "num_val": result.num_val,
        "num_test": result.num_test,
        "num_classes": int(num_classes),
        "feature_dim": int(features.shape[1]),
        "grid": [float(v) for v in (L2_GRID if grid is None else grid)],
        "val_scores": {f"{k:.6g}": 100.0 * v for k, v in result.val_scores.items()},
    }


def prototype_columns(recipe: Mapping[str, Any]) -> dict[str, Any]:
    """``prototypes`` and ``subsample`` (None: all) of a DINO run's recipe, for the table."""
    from cliptail.train.spec import TrainSpec

    dino = TrainSpec.from_dict({"method": "dino", **recipe}).resolved().dino
    return {"prototypes": int(dino.prototypes), "subsample": dino.subsample}


def transfer_table(
    study: str,
    runs: Mapping[str, Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    preset: str,
    reference: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A row per record: study, preset, the record's columns and the run's factors (and
    whatever else ``runs`` gives per run, e.g. :func:`prototype_columns`). With ``reference``
    (factor values), ``is_reference`` marks the rows of the runs that match all of them."""
    rows = []
    for record in records:
        run = record["run"]
        if run not in runs:
            raise ValueError(f"probe record of run {run!r}, which is not in study {study!r}")
        row = {"study": study, "preset": preset}
        row.update({k: record[k] for k in RECORD_COLUMNS})
        row.update({k: v for k, v in runs[run].items() if k not in row})
        if reference is not None:
            row["is_reference"] = all(runs[run].get(k) == v for k, v in reference.items())
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return pd.DataFrame(columns=["study", "preset", *RECORD_COLUMNS])
    return table


#: The factors that tell two probed runs apart besides the seed.
SETTING_FACTORS = (
    "source",
    "scale",
    "classes",
    "trim_k",
    "trim_ceil",
    "recipe",
    "prototypes",
    "subsample",
    "is_reference",
)


def settings(table: pd.DataFrame) -> pd.DataFrame:
    """The mean score per (setting, probe set) over the seeds, with the number of seeds."""
    keys = [c for c in SETTING_FACTORS if c in table.columns]
    grouped = table.groupby([*keys, "probe_set"], dropna=False, sort=False)["score"]
    out = grouped.agg(score="mean", seeds="count").reset_index()
    return out


def deltas(table: pd.DataFrame, reference: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Per (setting, probe set): the seed-mean score minus the reference setting's (Fig. 10).

    ``reference``: factor values that pick the reference setting (e.g. ``{"source":
    "curated", "recipe": "default"}``); default: the table's ``is_reference`` rows. Exactly one
    setting must match.
    """
    means = settings(table)
    keys = [c for c in SETTING_FACTORS if c in means.columns]
    if reference is None:
        if "is_reference" not in means.columns:
            raise ValueError("the table marks no reference setting (no is_reference column)")
        match = means["is_reference"].fillna(False).to_numpy(dtype=bool)
    else:
        match = np.ones(len(means), dtype=bool)
        for factor, value in reference.items():
            if factor not in means.columns:
                raise ValueError(f"reference factor {factor!r} is not a column of the table")
            match &= (means[factor] == value).to_numpy()
    chosen = means[match]
    if chosen[keys].drop_duplicates().shape[0] != 1:
        raise ValueError(
            f"reference {dict(reference)} matches {chosen[keys].drop_duplicates().shape[0]} "
            "settings of the study; it must match exactly one"
        )
    ref = chosen.set_index("probe_set")["score"]
    out = means[~match].copy()
    out["reference"] = out["probe_set"].map(ref)
    out["delta"] = out["score"] - out["reference"]
    return out.reset_index(drop=True)


def setting_label(row: Mapping[str, Any], source_names: Mapping[str, str] | None = None) -> str:
    """A setting's name as in Table 2: ``LAIONet, 16384 prototypes`` for all prototypes,
    ``LAIONet, sampling 1024`` for a subsampled run; the reference setting by its source only
    (``ImageNet``). Scale and trimming, where not the defaults, are appended."""
    names = source_names or {}
    source = str(row.get("source"))
    text = names.get(source, source)
    if not row.get("is_reference", False):
        subsample = row.get("subsample")
        if subsample is not None and not (isinstance(subsample, float) and np.isnan(subsample)):
            text += f", sampling {int(subsample)}"
        elif row.get("prototypes") is not None:
            text += f", {int(row['prototypes'])} prototypes"
    scale = row.get("scale")
    if scale is not None and float(scale) != 1.0:
        text += f", scale {float(scale):g}"
    return text
