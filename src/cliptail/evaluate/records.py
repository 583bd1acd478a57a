"""Per-class records and scalar summaries of one evaluated run (docs/architecture.md, data flow).

The per-class record has one row per evaluation class: ``class``, ``name``, ``freq`` (training
count), ``acc``, ``npred`` and the neural-collapse metrics ``nc1``, ``nc2_m``, ``nc2nn_m``,
``nc2_w``, ``nc2nn_w``. The scalars are overall top-1/top-5, the robustness correlations, the
overall NC metrics, their per-class correlations with frequency and accuracy, and, for runs with
a trimmed tail, the tail and head & mid accuracies.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail.evaluate import metrics

PER_CLASS_COLUMNS = [
    "class",
    "name",
    "freq",
    "acc",
    "npred",
    "nc1",
    "nc2_m",
    "nc2nn_m",
    "nc2_w",
    "nc2nn_w",
]
NC_COLUMNS = ["nc1", "nc2_m", "nc2nn_m", "nc2_w", "nc2nn_w"]


def evaluation_records(
    *,
    features: np.ndarray,
    targets: np.ndarray,
    preds: np.ndarray,
    top5: np.ndarray,
    classifier: np.ndarray,
    freq: Sequence[int],
    class_names: Sequence[str],
    tail_classes: Sequence[int] | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Build the per-class record and the scalars of one (run, evaluation set)."""
    num_classes = len(class_names)
    freq = np.asarray(freq, dtype=np.int64)
    if freq.shape != (num_classes,):
        raise ValueError(f"{freq.shape[0]} frequencies for {num_classes} evaluation classes")
    confusion = metrics.confusion_matrix(targets, preds, num_classes)
    per_class = metrics.per_class_metrics(confusion)
    nc_table, nc_overall = metrics.nc_metrics(features, targets, classifier)
    table = pd.DataFrame(
        {
            "class": np.arange(num_classes, dtype=np.int64),
            "name": list(class_names),
            "freq": freq,
            "acc": per_class["acc"].to_numpy(),
            "npred": per_class["npred"].to_numpy(),
        }
    )
    for column in NC_COLUMNS:
        table[column] = nc_table[column].to_numpy()

    scalars: dict = {
        "num_classes": num_classes,
        "num_images": int(len(targets)),
        "top1": metrics.top1(per_class),
        "top5": metrics.topk_accuracy(targets, top5, 5),
    }
    scalars.update(metrics.robustness(freq, per_class))
    scalars.update({k: float(v) for k, v in nc_overall.items()})
    for key, value in metrics.nc_correlations(freq, table).items():
        scalars[f"nc_{key}"] = value
    if tail_classes is not None and len(tail_classes):
        scalars.update(metrics.head_tail_accuracy(table["acc"].to_numpy(), tail_classes))
    else:
        scalars.update({"tail_acc": float("nan"), "head_acc": float("nan")})
    return table[PER_CLASS_COLUMNS], scalars
