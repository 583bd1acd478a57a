"""Per-class records of an audited checkpoint from hand-made embeddings with known predictions, the
feature sample of the t-SNE figures, the float16 cache of the encoded set, and the audit table."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from cliptail.audit.encode import EncodedSet
from cliptail.audit.records import audit_records, feature_sample, read_encoded, write_encoded
from cliptail.audit.table import LEADING, audit_table

NAMES = ["a", "b", "c", "d"]
TARGETS = np.array([0, 0, 0, 1, 1, 2, 2, 3])
PREDS = np.array([0, 0, 1, 1, 1, 2, 0, 3])
FREQ = np.array([100, 50, 10, 1])


def known() -> EncodedSet:
    """Class vectors e_0..e_3; image i is 2 e_{PREDS[i]} plus noise below 0.4 per coordinate, so
    its prediction is PREDS[i]."""
    rng = np.random.default_rng(0)
    features = 2 * np.eye(4)[PREDS] + rng.uniform(-0.4, 0.4, (8, 4))
    return EncodedSet(features.astype(np.float32), TARGETS.copy(), np.eye(4, dtype=np.float32))


def test_records_of_known_predictions():
    per_class, scalars, bootstrap = audit_records(known(), NAMES, FREQ)
    assert per_class["class"].tolist() == [0, 1, 2, 3]
    assert per_class["name"].tolist() == NAMES
    assert per_class["freq"].tolist() == FREQ.tolist()
    np.testing.assert_allclose(per_class["acc"], [2 / 3, 1.0, 0.5, 1.0])
    assert per_class["npred"].tolist() == [3, 3, 1, 1]
    assert scalars["top1"] == pytest.approx((2 / 3 + 1 + 0.5 + 1) / 4)  # class-balanced
    assert scalars["top5"] == 1.0  # four classes: always among the top 5
    assert (scalars["num_classes"], scalars["num_images"]) == (4, 8)
    # ranks: freq 4 3 2 1; acc 2 3.5 1 3.5; npred 3.5 3.5 1.5 1.5
    assert scalars["rho_acc"] == pytest.approx(-1 / math.sqrt(22.5))
    assert scalars["rho_pred"] == pytest.approx(2 / math.sqrt(5))
    assert scalars["has_frequency"] is True
    # class-bootstrap replicates: the first one's top1 is the mean acc of its resampled classes
    assert len(bootstrap) == 1000 and {"top1", "rho_acc", "rho_pred"} <= set(bootstrap.columns)
    from cliptail.evaluate.metrics import class_resamples

    first = class_resamples(4, 1000)[0]
    acc = per_class["acc"].to_numpy()
    assert bootstrap["top1"].iat[0] == pytest.approx(acc[first].mean())
    assert bootstrap["rho_acc"].notna().any()
    assert np.isfinite(scalars["nc1"]) and np.isfinite(scalars["nc_rho_freq_nc1"])


def test_without_frequencies_every_frequency_correlation_is_nan():
    per_class, scalars, bootstrap = audit_records(known(), NAMES, None)
    assert per_class["freq"].isna().all()
    np.testing.assert_allclose(per_class["acc"], [2 / 3, 1.0, 0.5, 1.0])
    assert scalars["has_frequency"] is False
    frequency_keys = [k for k in scalars if k.startswith(("rho_", "pearson_", "nc_rho_freq_"))]
    assert {"rho_acc", "rho_pred", "rho_acc_lo", "pearson_acc", "pearson_log_pred"} <= set(
        frequency_keys
    )
    assert all(math.isnan(scalars[k]) for k in frequency_keys), {
        k: scalars[k] for k in frequency_keys if not math.isnan(scalars[k])
    }
    with_freq, replicates = audit_records(known(), NAMES, FREQ)[1:]
    assert bootstrap["rho_acc"].isna().all() and bootstrap["rho_pred"].isna().all()
    pd.testing.assert_series_equal(bootstrap["top1"], replicates["top1"])
    for key in ("top1", "top5", "nc1", "nc2_m", "nc_rho_acc_nc1"):
        assert math.isfinite(scalars[key]) and scalars[key] == pytest.approx(with_freq[key])


def test_feature_sample_keeps_a_few_unit_embeddings_per_class():
    encoded = known()
    sample = feature_sample(encoded, per_class=2, seed=0)
    assert sample["image_labels"].tolist() == [0, 0, 1, 1, 2, 2, 3]  # min(2, class size)
    images = sample["image_features"]
    np.testing.assert_allclose(np.linalg.norm(images, axis=1), 1.0, atol=1e-6)
    unit = encoded.features / np.linalg.norm(encoded.features, axis=1, keepdims=True)
    for row, label in zip(images, sample["image_labels"], strict=True):
        # each row is the unit embedding of a distinct image of its class
        matches = np.flatnonzero(np.abs(unit - row).max(axis=1) < 1e-6)
        assert len(matches) == 1 and TARGETS[matches[0]] == label
    kept = [int(np.flatnonzero(np.abs(unit - row).max(axis=1) < 1e-6)[0]) for row in images]
    assert len(set(kept)) == 7
    means = np.stack([encoded.features[TARGETS == c].mean(axis=0) for c in range(4)])
    np.testing.assert_allclose(sample["class_means"], means, atol=1e-6)
    np.testing.assert_array_equal(sample["classifier"], encoded.classifier)
    assert feature_sample(encoded, per_class=2, seed=0)["image_labels"].tolist() == [
        0,
        0,
        1,
        1,
        2,
        2,
        3,
    ]
    assert len(feature_sample(encoded, per_class=10)["image_labels"]) == 8


def test_the_float16_cache_gives_the_records_of_float32(tmp_path):
    rng = np.random.default_rng(1)
    classes, dim = 10, 16
    classifier = rng.normal(size=(classes, dim))
    classifier /= np.linalg.norm(classifier, axis=1, keepdims=True)
    targets = np.repeat(np.arange(classes), 20)
    features = 3 * classifier[targets] + rng.normal(size=(len(targets), dim)) * 2.0
    encoded = EncodedSet(features.astype(np.float32), targets, classifier.astype(np.float32))
    write_encoded(tmp_path / "set.features.npz", encoded)
    with np.load(tmp_path / "set.features.npz") as raw:
        assert raw["features"].dtype == np.float16
    cached = read_encoded(tmp_path / "set.features.npz")
    assert cached.features.dtype == np.float32 and cached.targets.dtype == np.int64
    np.testing.assert_array_equal(cached.targets, targets)
    np.testing.assert_array_equal(cached.classifier, encoded.classifier)
    np.testing.assert_allclose(cached.features, encoded.features, rtol=1e-3, atol=1e-3)
    freq = rng.integers(0, 1000, classes)
    names = [f"c{i}" for i in range(classes)]
    full, full_scalars, _ = audit_records(encoded, names, freq)
    half, half_scalars, _ = audit_records(cached, names, freq)
    assert 0.3 < full_scalars["top1"] < 0.95  # errors to lose
    pd.testing.assert_series_equal(full["acc"], half["acc"])
    pd.testing.assert_series_equal(full["npred"], half["npred"])
    for key in ("top1", "top5", "rho_acc", "rho_pred"):
        assert half_scalars[key] == full_scalars[key]
    assert half_scalars["nc1"] == pytest.approx(full_scalars["nc1"], rel=1e-2)


def test_audit_table_has_one_row_per_checkpoint_and_set():
    info = {
        "checkpoint": "m",
        "model": "RN50",
        "pretrained": "t",
        "dataset": "d",
        "dataset_name": "D",
    }
    rows = [
        (
            {**info, "evalset": "val", "concept_set": "world"},
            {"scalars": {"top1": 0.5, "rho_acc": 0.1}},
        ),
        (
            {**info, "checkpoint": "n", "evalset": "val", "concept_set": "world"},
            {"scalars": {"top1": 0.25, "rho_acc": float("nan")}},
        ),
    ]
    table = audit_table(rows)
    assert list(table.columns) == [*LEADING, "top1", "rho_acc"]
    assert table["checkpoint"].tolist() == ["m", "n"] and table["top1"].tolist() == [0.5, 0.25]
    assert list(audit_table([]).columns) == LEADING
