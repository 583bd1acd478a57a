"""The linear-probe protocol: L-BFGS logistic regression, the lambda search, the metrics.

Known answers: the fit is the objective's minimiser (zero gradient; the same as SciPy's
optimiser), separable data are classified perfectly, hand-computed 11-point AP and mean
per-class accuracy, and the search picks the validation optimum (ties: the larger lambda).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from scipy import optimize

from cliptail.evaluate import linear_probe as lp


def blobs(n_per_class: int, num_classes: int, dim: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (num_classes, dim))
    y = np.repeat(np.arange(num_classes), n_per_class)
    x = centres[y] + rng.normal(0, spread, (len(y), dim))
    return x, y


def test_the_grid_is_45_log_spaced_values_from_1e_minus_6_to_1e5():
    assert len(lp.L2_GRID) == 45
    assert lp.L2_GRID[0] == pytest.approx(1e-6) and lp.L2_GRID[-1] == pytest.approx(1e5)
    ratios = lp.L2_GRID[1:] / lp.L2_GRID[:-1]
    np.testing.assert_allclose(ratios, 10 ** (11 / 44))


def objective(flat, x, y, num_classes, l2):
    d = x.shape[1]
    p = flat.reshape(d + 1, num_classes)
    logits = x @ p[:d] + p[d]
    logits = logits - logits.max(axis=1, keepdims=True)
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return (-logp[np.arange(len(y)), y].sum() + 0.5 * l2 * (p[:d] ** 2).sum()) / len(y)


def test_fit_is_the_minimiser_of_the_penalised_objective():
    x, y = blobs(15, 3, 4, spread=3.0, seed=0)
    l2 = 0.5
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    params = lp.fit_logistic(xt, yt, 3, l2, tol=1e-10)
    # zero gradient at the solution
    p = params.clone().requires_grad_(True)
    logits = xt @ p[:4] + p[4]
    loss = (F.cross_entropy(logits, yt, reduction="sum") + 0.5 * l2 * p[:4].pow(2).sum()) / 45
    loss.backward()
    assert p.grad.abs().max() < 1e-6
    # the same objective value as SciPy's optimiser on the same problem
    ref = optimize.minimize(
        objective, np.zeros(15), args=(x, y, 3, l2), method="L-BFGS-B", options={"gtol": 1e-10}
    )
    assert objective(params.numpy().ravel(), x, y, 3, l2) == pytest.approx(ref.fun, abs=1e-8)


def test_stronger_penalty_shrinks_the_weights_but_not_the_bias():
    x, y = blobs(20, 2, 3, spread=1.0, seed=1)
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    weak = lp.fit_logistic(xt, yt, 2, 1e-3)
    strong = lp.fit_logistic(xt, yt, 2, 1e4)
    assert strong[:3].abs().max() < 0.05 * weak[:3].abs().max()
    # weights penalised to ~0, bias free: it fits the class prior, log(30 / 10) between classes
    y = np.r_[np.zeros(30, dtype=int), np.ones(10, dtype=int)]
    flat = lp.fit_logistic(xt, torch.as_tensor(y), 2, 1e9)
    assert flat[:3].abs().max() < 1e-6
    assert flat[3, 0] - flat[3, 1] == pytest.approx(np.log(3.0), abs=1e-5)


def test_separable_classes_are_probed_perfectly():
    x, y = blobs(30, 5, 8, spread=0.3, seed=2)
    idx = np.random.default_rng(0).permutation(len(y))
    tr, va, te = idx[:90], idx[90:120], idx[120:]
    result = lp.linear_probe(
        (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]), num_classes=5, grid=[1e-3, 1.0, 1e3]
    )
    assert result.test_score == 1.0
    assert (result.num_train, result.num_val, result.num_test) == (90, 30, 30)
    assert set(result.val_scores) == {1e-3, 1.0, 1e3}


def test_search_picks_the_best_validation_score_and_the_larger_lambda_on_ties():
    x, y = blobs(20, 3, 2, spread=0.2, seed=3)
    split = (x, y)
    seen = []
    result = lp.linear_probe(
        split,
        split,
        split,
        num_classes=3,
        grid=[1e-4, 1e-2, 1.0],
        progress=lambda i, l2, s: seen.append((i, l2, s)),
    )
    assert [s[1] for s in seen] == [1.0, 1e-2, 1e-4]  # strongest penalty first (warm starts)
    assert all(s[2] == 1.0 for s in seen)  # separable: every lambda is perfect
    assert result.l2 == 1.0  # ties -> the larger lambda


def test_search_avoids_a_penalty_that_erases_the_signal():
    x, y = blobs(40, 4, 6, spread=2.0, seed=4)
    idx = np.random.default_rng(1).permutation(len(y))
    tr, va, te = idx[:100], idx[100:130], idx[130:]
    result = lp.linear_probe(
        (x[tr], y[tr]), (x[va], y[va]), (x[te], y[te]), num_classes=4, grid=[1e-2, 1e6]
    )
    assert result.l2 == 1e-2
    assert result.val_scores[1e6] < result.val_scores[1e-2]


def test_mean_per_class_known_answer():
    scores = np.eye(3)[[0, 0, 1, 2, 2, 2]]  # predictions 0 0 1 2 2 2
    targets = np.array([0, 1, 1, 2, 2, 1])
    # class 0: 1/1, class 1: 1/3 (only the third image), class 2: 2/2
    assert lp.mean_per_class(scores, targets) == pytest.approx((1 + 1 / 3 + 1) / 3)
    assert lp.top1(scores, targets) == pytest.approx(4 / 6)


def test_eleven_point_average_precision_known_answer():
    # ranks 1..4: hit, miss, hit, miss -> precision 1, 1/2, 2/3, 1/2 at recall .5, .5, 1, 1
    ap = lp.average_precision_11(np.array([0.9, 0.8, 0.7, 0.6]), np.array([1, 0, 1, 0]))
    assert ap == pytest.approx((6 * 1.0 + 5 * (2 / 3)) / 11)
    assert lp.average_precision_11(np.array([0.1, 0.9]), np.array([1, 0])) == pytest.approx(
        (6 * 0 + 0) / 11 + 11 * 0.5 / 11
    )
    assert np.isnan(lp.average_precision_11(np.array([0.3]), np.array([0])))
    scores = np.array([[0.9, 0.1], [0.8, 0.7], [0.7, 0.2], [0.6, 0.3]])
    targets = np.array([[1, 0], [0, 1], [1, 0], [0, 0]])
    assert lp.map11(scores, targets) == pytest.approx(((6 + 5 * 2 / 3) / 11 + 1.0) / 2)


def test_multilabel_probe_is_one_vs_rest_and_scored_by_map11():
    rng = np.random.default_rng(5)
    x = rng.normal(0, 1, (300, 4))
    targets = np.stack([x[:, 0] > 0, x[:, 1] > 0.5, x[:, 2] + x[:, 3] > 0], axis=1).astype(int)
    parts = [(x[a:b], targets[a:b]) for a, b in ((0, 150), (150, 200), (200, 300))]
    result = lp.linear_probe(*parts, num_classes=3, metric="map11", grid=[1e-3, 1.0])
    assert result.test_score > 0.97


def test_ignored_multilabel_targets_count_neither_way():
    scores = np.array([[0.9], [0.8], [0.7], [0.6]])
    # the second image is a "difficult" one: without it, both positives rank first
    assert lp.map11(scores, np.array([[1], [-1], [1], [0]])) == pytest.approx(1.0)
    assert lp.map11(scores, np.array([[1], [0], [1], [0]])) < 1.0
    # ignoring targets equals fitting without those images (one class: the same problem)
    rng = np.random.default_rng(6)
    x = rng.normal(0, 1, (200, 2))
    y = (x[:, :1] + 0.5 * rng.normal(0, 1, (200, 1)) > 0).astype(int)
    ignored = y.copy()
    ignored[:50] = lp.IGNORE
    xt = torch.as_tensor(x)
    masked = lp.fit_logistic(
        xt, torch.as_tensor(ignored, dtype=torch.float64), 1, 0.5, multilabel=True, tol=1e-10
    )
    dropped = lp.fit_logistic(
        xt[50:], torch.as_tensor(y[50:], dtype=torch.float64), 1, 0.5, multilabel=True, tol=1e-10
    )
    torch.testing.assert_close(masked, dropped, atol=1e-6, rtol=1e-5)
    with pytest.raises(ValueError, match="0, 1 or -1"):
        lp.linear_probe((x, y * 2), (x, y), (x, y), num_classes=1, metric="map11", grid=[1.0])


def test_bad_inputs_are_named():
    x, y = blobs(5, 2, 3, spread=1.0, seed=0)
    with pytest.raises(ValueError, match="metric must be one of"):
        lp.linear_probe((x, y), (x, y), (x, y), num_classes=2, metric="auc")
    with pytest.raises(ValueError, match="integers in 0..1"):
        lp.linear_probe((x, y + 1), (x, y), (x, y), num_classes=2)
    with pytest.raises(ValueError, match="differ in feature dimension"):
        lp.linear_probe((x, y), (x[:, :2], y), (x, y), num_classes=2)
    with pytest.raises(ValueError, match="the val split is empty"):
        lp.linear_probe((x, y), (x[:0], y[:0]), (x, y), num_classes=2)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        lp.linear_probe((bad, y), (x, y), (x, y), num_classes=2)
