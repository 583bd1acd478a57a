"""Per-class records of an audited checkpoint on one evaluation set, and what the figures read.

From the encoded set (:mod:`.encode`) and the web frequencies (:mod:`.frequencies`) this builds
the same per-class record and scalars as a trained run's evaluation
(:func:`cliptail.evaluate.records.evaluation_records`: accuracy, number of predictions, the
neural-collapse metrics on the unnormalised image embeddings, Spearman correlations with
frequency and their 95 % bootstrap intervals over classes), with ``freq`` the class's web
frequency in the checkpoint's pre-training dataset. Without a frequency file the ``freq`` column
and every frequency correlation are NaN.

The feature sample (:func:`feature_sample`) keeps what Fig. 7b and Fig. 20 (t-SNE) need in a
file of a few megabytes: the unit class vectors of the text classifier, the class means of the
image embeddings, and up to ``per_class`` unit image embeddings of each class (the first ones of
a seeded permutation).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from cliptail import io
from cliptail.audit.encode import EncodedSet
from cliptail.evaluate.records import evaluation_records
from cliptail.evaluate.zeroshot import top_classes

#: Scalars that need the frequencies (NaN without a frequency file).
FREQUENCY_SCALARS = ("rho_acc", "rho_pred", "pearson_acc", "pearson_pred")
SAMPLE_PER_CLASS = 10
SAMPLE_SEED = 0


def audit_records(
    encoded: EncodedSet,
    class_names: Sequence[str],
    freq: np.ndarray | None,
    *,
    nc1_pinv: str = "float32",
) -> tuple[pd.DataFrame, dict, pd.DataFrame]:
    """(per-class record, scalars, class-bootstrap replicates) of one checkpoint on one
    evaluation set (the replicates pair with the controlled study's runs on the same classes;
    :mod:`cliptail.evaluate.audit_claims`)."""
    top = top_classes(encoded.features, encoded.classifier)
    num_classes = len(class_names)
    known = freq is not None
    counts = np.asarray(freq, dtype=np.int64) if known else np.zeros(num_classes, np.int64)
    per_class, scalars, bootstrap = evaluation_records(
        features=encoded.features,
        targets=encoded.targets,
        preds=top[:, 0],
        top5=top,
        classifier=encoded.classifier,
        freq=counts,
        class_names=list(class_names),
        nc1_pinv=nc1_pinv,
    )
    scalars["has_frequency"] = known
    if not known:
        per_class["freq"] = np.nan
        for key in list(scalars):
            if key.startswith(FREQUENCY_SCALARS) or key.startswith("nc_rho_freq_"):
                scalars[key] = float("nan")
        for column in ("rho_acc", "rho_pred"):
            bootstrap[column] = np.nan
    return per_class, scalars, bootstrap


def feature_sample(
    encoded: EncodedSet, per_class: int = SAMPLE_PER_CLASS, seed: int = SAMPLE_SEED
) -> dict[str, np.ndarray]:
    """The t-SNE inputs of one checkpoint and evaluation set (module docstring)."""
    num_classes = len(encoded.classifier)
    order = np.random.default_rng(seed).permutation(len(encoded.targets))
    labels = encoded.targets[order]
    keep = np.concatenate(
        [order[labels == c][:per_class] for c in range(num_classes)] or [np.zeros(0, np.int64)]
    )
    feats = encoded.features.astype(np.float64)
    means = np.zeros((num_classes, feats.shape[1]))
    np.add.at(means, encoded.targets, feats)
    sizes = np.bincount(encoded.targets, minlength=num_classes)
    means /= np.maximum(sizes, 1)[:, None]
    sample = feats[keep]
    sample /= np.maximum(np.linalg.norm(sample, axis=1, keepdims=True), 1e-12)
    return {
        "classifier": encoded.classifier.astype(np.float32),
        "class_means": means.astype(np.float32),
        "image_features": sample.astype(np.float32),
        "image_labels": encoded.targets[keep].astype(np.int64),
    }


def write_npz(path: str | os.PathLike, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as one ``.npz`` atomically."""
    with io.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, **arrays)


def read_encoded(path: str | os.PathLike) -> EncodedSet:
    """The :class:`EncodedSet` written by :func:`write_encoded`."""
    with np.load(path) as data:
        return EncodedSet(
            features=data["features"].astype(np.float32),
            targets=data["targets"].astype(np.int64),
            classifier=data["classifier"].astype(np.float32),
        )


def write_encoded(path: str | os.PathLike, encoded: EncodedSet) -> None:
    """Cache an encoded set; the image embeddings in float16 (half the disk: 0.1 GB per
    checkpoint for ImageNet val at D = 1024; float16 keeps 3 significant digits, and the
    records of the cache equal those of the float32 embeddings in the tests)."""
    write_npz(
        path,
        {
            "features": encoded.features.astype(np.float16),
            "targets": encoded.targets.astype(np.int64),
            "classifier": encoded.classifier.astype(np.float32),
        },
    )
