"""Tidy tables: one row per (study, run, evaluation set), every factor a column.

Factors come from the run specs (never parsed from paths); scalars from the evaluation JSONs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from cliptail.factors import DEFAULT_RECIPE, RUN_FACTORS

IDENTITY_COLUMNS = ["study", "run", "evalset", "dataset", "preset"]


def study_table(
    study: str,
    runs: Mapping[str, Mapping[str, Any]],
    evaluations: Iterable[Mapping[str, Any]],
    preset: str,
) -> pd.DataFrame:
    """Join run factors with evaluation scalars.

    ``runs`` maps run name -> factors; ``evaluations`` are the evaluation JSON documents
    (keys ``run``, ``evalset``, ``dataset``, ``n_train`` and ``scalars``).
    """
    rows = []
    for doc in evaluations:
        name = doc["run"]
        if name not in runs:
            raise ValueError(f"evaluation of run {name!r} does not belong to study {study!r}")
        factors = {"recipe": DEFAULT_RECIPE, **runs[name]}  # runs planned before the factor
        row = {
            "study": study,
            "run": name,
            "evalset": doc["evalset"],
            "dataset": doc["dataset"],
            "preset": preset,
            **{k: factors.get(k) for k in RUN_FACTORS},
            "n_train": doc["n_train"],
            **doc["scalars"],
        }
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    # one dtype per factor column, so tables of different studies concatenate cleanly
    for column in ("vocab_size", "vocab_weight", "text_tower", "head", "recipe"):
        df[column] = df[column].map(lambda v: None if pd.isna(v) else str(v)).astype("string")
    df["scale"] = df["scale"].astype(float)
    for column in ("trim_k", "trim_ceil", "seed", "n_train"):
        df[column] = df[column].astype("int64")
    return df.sort_values(["run", "evalset"]).reset_index(drop=True)


def combine(tables: Iterable[pd.DataFrame]) -> pd.DataFrame:
    frames = [t for t in tables if not t.empty]
    if not frames:
        return pd.DataFrame(columns=IDENTITY_COLUMNS)
    return (
        pd.concat(frames, ignore_index=True)
        .sort_values(["study", "run", "evalset"])
        .reset_index(drop=True)
    )


HEADLINE = ["top1", "rho_acc", "rho_pred"]


def summary(table: pd.DataFrame) -> dict[str, Any]:
    """Headline scalars per run and evaluation set (used as DVC metrics)."""
    out: dict[str, Any] = {"runs": int(table["run"].nunique()) if len(table) else 0}
    unique = table.drop_duplicates(["run", "evalset"])
    for _, row in unique.iterrows():
        out.setdefault(row["evalset"], {})[row["run"]] = {
            k: (None if pd.isna(row[k]) else round(float(row[k]), 6)) for k in HEADLINE if k in row
        }
    for method in ("clip", "sl"):
        sel = unique[(unique["method"] == method)] if len(unique) else unique
        if len(sel):
            out[f"mean_rho_pred_{method}"] = float(np.nanmean(sel["rho_pred"]))
    return out


# --- data behind `dvc plots` ---------------------------------------------------------------------

PER_CLASS_PLOT_COLUMNS = ["model", "class", "name", "freq", "acc", "npred"]
LOSS_PLOT_COLUMNS = ["run", "event", "step", "epoch", "loss"]


def per_class_plot_data(records: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-class accuracy and #pred against training frequency, one block per labelled model
    (``records``: label -> per-class record)."""
    frames = [
        record.assign(model=label)[PER_CLASS_PLOT_COLUMNS] for label, record in records.items()
    ]
    if not frames:
        return pd.DataFrame(columns=PER_CLASS_PLOT_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def training_loss(histories: Mapping[str, Iterable[Mapping[str, Any]]]) -> pd.DataFrame:
    """The logged training loss of every run (``histories``: run -> ``train.jsonl`` lines):
    every ``step`` line and every ``epoch`` line (the epoch's mean loss at its last step)."""
    rows = [
        {"run": run, **{k: line[k] for k in ("event", "step", "epoch", "loss")}}
        for run, lines in histories.items()
        for line in lines
        if line.get("event") in ("step", "epoch")
    ]
    return pd.DataFrame(rows, columns=LOSS_PLOT_COLUMNS)
