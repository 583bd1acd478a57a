"""The tidy audit table: one row per (checkpoint, evaluation set), every scalar a column.

Columns: the checkpoint's (``checkpoint``, ``model``, ``pretrained``, ``dataset``,
``dataset_name``), the set's (``evalset``, ``concept_set``), then the scalars of its records
(top-1, top-5, Spearman and Pearson correlations with web frequency and their bootstrap
intervals, the overall NC metrics and their per-class correlations ``nc_rho_*``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from cliptail import io

LEADING = ["checkpoint", "model", "pretrained", "dataset", "dataset_name", "evalset", "concept_set"]


def audit_table(rows: Iterable[tuple[Mapping, Mapping]]) -> pd.DataFrame:
    """The table from (checkpoint and set columns, scalars json) pairs."""
    records = []
    for info, scalars_json in rows:
        row = dict(info)
        row.update(scalars_json["scalars"])
        records.append(row)
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return pd.DataFrame(columns=LEADING)
    rest = [c for c in table.columns if c not in LEADING]
    return table[LEADING + rest]


def read_scalars(path: str) -> dict:
    return io.read_json(path)
