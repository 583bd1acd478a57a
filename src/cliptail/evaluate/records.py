"""Per-class records and scalar summaries of one evaluated run (docs/architecture.md, data flow).

The per-class record has one row per evaluated class: ``class`` (its index in the common class
space, also when the evaluation set is a class subset such as IN-100), ``name``, ``freq`` (training
count), ``acc``, ``npred`` and the neural-collapse metrics ``nc1``, ``nc2_m``, ``nc2nn_m``,
``nc2_w``, ``nc2nn_w``. The scalars are overall top-1/top-5, the robustness correlations, the
overall NC metrics, their per-class correlations with frequency and accuracy, and, for runs with
a trimmed tail, the tail and head & mid accuracies, with 95 % bootstrap intervals over classes
(``top1_lo``/``top1_hi``, ``rho_acc_lo``/``rho_acc_hi``, ``rho_pred_lo``/``rho_pred_hi``, and
``tail_acc_lo``/``_hi``, ``head_acc_lo``/``_hi``, NaN without a trimmed tail). The
bootstrap replicates themselves (one row per class resample, the columns of
:data:`cliptail.evaluate.metrics.BOOTSTRAP_COLUMNS`) are the third record: the claims compare
runs replicate by replicate. The classifier file (:func:`write_classifier`) keeps the run's class
embeddings, one row per row of the per-class record (Fig. 9a).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail import io
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
#: Scalars that get a 95 % bootstrap interval (``<name>_lo``, ``<name>_hi``).
INTERVAL_SCALARS = ("top1", "rho_acc", "rho_pred", "tail_acc", "head_acc")


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
    nc1_pinv: str = "float32",
    class_ids: Sequence[int] | None = None,
    replicates: int = metrics.BOOTSTRAP_REPLICATES,
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """Build the per-class record, the scalars and the bootstrap replicates of one (run,
    evaluation set).

    ``nc1_pinv``: the pseudo-inverse cut-off of NC1 (:data:`cliptail.evaluate.metrics.PINV_EPS`).
    ``class_ids``: the class index (common class space) of each evaluated class, when they are a
    subset (``targets``/``preds`` are positions 0..C-1 in it): the record's ``class`` column;
    ``tail_classes`` are given in the common space too. Default 0..C-1.
    ``replicates``: the number B of class resamples (:func:`metrics.class_resamples`, the same
    for every run on the same C classes). Returns ``(per_class, scalars, bootstrap)``, with
    ``bootstrap`` B rows of :func:`metrics.bootstrap_replicates` and the scalars
    ``<name>_lo``/``<name>_hi`` (2.5 / 97.5 percentiles, NaN replicates ignored) for each name
    of :data:`INTERVAL_SCALARS`.
    """
    num_classes = len(class_names)
    ids = (
        np.arange(num_classes, dtype=np.int64)
        if class_ids is None
        else np.asarray(class_ids, dtype=np.int64)
    )
    if ids.shape != (num_classes,):
        raise ValueError(f"{len(ids)} class ids for {num_classes} evaluation classes")
    if class_ids is not None and tail_classes is not None:
        position = {int(c): i for i, c in enumerate(ids)}
        tail_classes = [position[int(t)] for t in tail_classes if int(t) in position]
    freq = np.asarray(freq, dtype=np.int64)
    if freq.shape != (num_classes,):
        raise ValueError(f"{freq.shape[0]} frequencies for {num_classes} evaluation classes")
    confusion = metrics.confusion_matrix(targets, preds, num_classes)
    per_class = metrics.per_class_metrics(confusion)
    nc_table, nc_overall = metrics.nc_metrics(features, targets, classifier, pinv=nc1_pinv)
    table = pd.DataFrame(
        {
            "class": ids,
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
        "top5": metrics.topk_accuracy(targets, top5, min(5, np.shape(top5)[1])),
    }
    scalars.update(metrics.robustness(freq, per_class))
    scalars.update({k: float(v) for k, v in nc_overall.items()})
    for key, value in metrics.nc_correlations(freq, table).items():
        scalars[f"nc_{key}"] = value
    if tail_classes is not None and len(tail_classes):
        scalars.update(metrics.head_tail_accuracy(table["acc"].to_numpy(), tail_classes))
    else:
        scalars.update({"tail_acc": float("nan"), "head_acc": float("nan")})
    bootstrap = metrics.bootstrap_replicates(
        freq,
        per_class,
        tail_classes if tail_classes is not None and len(tail_classes) else None,
        replicates=replicates,
    )
    for name in INTERVAL_SCALARS:
        scalars[f"{name}_lo"], scalars[f"{name}_hi"] = metrics.percentile_interval(bootstrap[name])
    return table[PER_CLASS_COLUMNS], scalars, bootstrap


def write_classifier(path: str, classifier: np.ndarray) -> np.ndarray:
    """Write a run's classifier on one evaluation set atomically as a float32 ``.npy`` [C, D].

    ``classifier``: the class embeddings the evaluation compared images with (CLIP: the
    zero-shot text head; SL: the prototypes), one row per evaluated class in the order of the
    per-class record; rows are L2-normalised here (they already are, up to rounding). Returns
    the array written.
    """
    rows = np.asarray(classifier, dtype=np.float64)
    if rows.ndim != 2 or not rows.size:
        raise ValueError(f"a classifier is a non-empty [C, D] matrix, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if not np.all(np.isfinite(norms)) or np.any(norms == 0):
        raise ValueError("a classifier row is zero or not finite")
    out = (rows / norms).astype(np.float32)
    with io.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.save(fh, out)
    return out
