"""Known-answer tests of cliptail.evaluate.metrics (docs/study.md section 2).

The neural-collapse metrics are checked against hand-computed cases, exact geometric
constructions (simplex ETF, collapsed classes) and a slow literal implementation of the
paper's formulas (C x D x D scatter matrices, numpy's pseudo-inverse, double loops).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats
from hypothesis import given, settings
from hypothesis import strategies as st

from cliptail.evaluate import metrics as M

# --- literal references -------------------------------------------------------------------------


def literal_nc(h: np.ndarray, y: np.ndarray, w: np.ndarray) -> pd.DataFrame:
    """docs/study.md section 2 word for word: per-class scatter matrices, pinv, loops over pairs."""
    h = h.astype(np.float64)
    w = w.astype(np.float64)
    num_classes, n = w.shape[0], h.shape[0]
    present = [c for c in range(num_classes) if (y == c).any()]
    mu = {c: h[y == c].mean(axis=0) for c in present}
    mu_g = sum(mu[c] for c in present) / len(present)
    sigma_b = sum(np.outer(mu[c] - mu_g, mu[c] - mu_g) for c in present) / len(present)
    sigma_b_pinv = np.linalg.pinv(sigma_b, rtol=1e-9, hermitian=True)
    sigma_w = np.zeros((num_classes, h.shape[1], h.shape[1]))
    for i in range(n):
        z = h[i] - mu[y[i]]
        sigma_w[y[i]] += np.outer(z, z) / n
    out = {k: np.full(num_classes, np.nan) for k in M.NC_COLUMNS}
    for c in present:
        out["nc1"][c] = np.trace(sigma_w[c] @ sigma_b_pinv)

    def etf(vectors: dict[int, np.ndarray], c: int) -> tuple[float, float]:
        k = len(vectors)
        g = []
        for c2, v2 in vectors.items():
            if c2 == c:
                continue
            v1 = vectors[c]
            cos = v1 @ v2 / (np.linalg.norm(v1) * np.linalg.norm(v2))
            g.append(abs(cos + 1.0 / (k - 1)))
        return sum(g) / (k - 1), max(g)

    centred = {c: mu[c] - mu_g for c in present}
    for c in present:
        out["nc2_m"][c], out["nc2nn_m"][c] = etf(centred, c)
    rows = {c: w[c] for c in range(num_classes)}
    for c in range(num_classes):
        out["nc2_w"][c], out["nc2nn_w"][c] = etf(rows, c)
    return pd.DataFrame(out)


def random_problem(seed: int, num_classes: int, dim: int, counts: list[int], dtype=np.float64):
    """Anisotropic, offset class clusters with the given number of samples per class."""
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(num_classes), counts)
    rng.shuffle(y)
    centres = rng.standard_normal((num_classes, dim)) * 3.0
    scales = rng.uniform(0.2, 2.0, size=dim)
    h = (centres[y] + rng.standard_normal((y.shape[0], dim)) * scales + 5.0).astype(dtype)
    w = rng.standard_normal((num_classes, dim)).astype(dtype)
    return h, y, w


def simplex_etf(num_classes: int, dim: int, rng: np.random.Generator) -> np.ndarray:
    """C vectors in R^D with pairwise cosine -1/(C-1), randomly rotated (needs D >= C)."""
    base = np.sqrt(num_classes / (num_classes - 1)) * (
        np.eye(num_classes) - np.full((num_classes, num_classes), 1.0 / num_classes)
    )
    q, _ = np.linalg.qr(rng.standard_normal((dim, dim)))
    return np.pad(base, ((0, 0), (0, dim - num_classes))) @ q.T


# --- confusion matrix and accuracy -------------------------------------------------------------


def test_confusion_matrix_counts_rows_true_columns_predicted():
    k = M.confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 0, 2], 4)
    expected = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(k, expected)
    assert k.dtype == np.int64


def test_per_class_metrics_known_answer_with_empty_class():
    k = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [1, 0, 2, 0], [0, 0, 0, 0]])
    pc = M.per_class_metrics(k)
    assert list(pc.columns) == ["acc", "npred"]
    assert pc.index.name == "class"
    np.testing.assert_allclose(pc["acc"].to_numpy()[:3], [0.5, 1.0, 2 / 3])
    assert np.isnan(pc["acc"].iloc[3])
    np.testing.assert_array_equal(pc["npred"].to_numpy(), [2, 2, 2, 0])
    assert M.top1(pc) == pytest.approx((0.5 + 1.0 + 2 / 3) / 3)


def test_top1_is_mean_of_per_class_accuracy_not_sample_accuracy():
    # class 0: 3 of 4 right, class 1: 0 of 1 right -> balanced 0.375, plain 0.6
    pc = M.per_class_metrics(M.confusion_matrix([0, 0, 0, 0, 1], [0, 0, 0, 1, 0], 2))
    assert M.top1(pc) == pytest.approx(0.375)


def test_topk_accuracy_scores_and_indices():
    scores = np.array([[0.9, 0.05, 0.05], [0.5, 0.3, 0.2], [0.1, 0.2, 0.7], [0.6, 0.3, 0.1]])
    targets = np.array([0, 1, 2, 2])
    # top-1 hits: 1, 0, 1, 0 -> class 0: 1, class 1: 0, class 2: 0.5
    assert M.topk_accuracy(targets, scores, 1) == pytest.approx(0.5)
    # top-2 hits: 1, 1, 1, 0 -> 1, 1, 0.5
    assert M.topk_accuracy(targets, scores, 2) == pytest.approx(2.5 / 3)
    ranked = np.argsort(-scores, axis=1)
    assert M.topk_accuracy(targets, ranked, 2) == pytest.approx(2.5 / 3)
    assert M.topk_accuracy(targets, scores, 3) == 1.0


def test_topk_with_k1_agrees_with_top1_of_confusion():
    rng = np.random.default_rng(3)
    targets = rng.integers(0, 7, size=300)
    scores = rng.standard_normal((300, 7)) + np.eye(7)[targets]
    pc = M.per_class_metrics(M.confusion_matrix(targets, scores.argmax(axis=1), 7))
    assert M.topk_accuracy(targets, scores, 1) == pytest.approx(M.top1(pc))


def test_head_tail_accuracy_skips_nan():
    out = M.head_tail_accuracy(np.array([1.0, 0.5, np.nan, 0.0]), [2, 3])
    assert out == {"tail_acc": 0.0, "head_acc": 0.75}


# --- correlations -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(5))
def test_spearman_and_pearson_match_scipy_with_ties(seed):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 6, size=40).astype(float)  # many ties
    y = rng.integers(0, 4, size=40) + 0.1 * x
    assert M.spearman(x, y) == pytest.approx(scipy.stats.spearmanr(x, y).statistic, abs=1e-12)
    assert M.pearson(x, y) == pytest.approx(scipy.stats.pearsonr(x, y).statistic, abs=1e-12)


def test_spearman_ties_hand_computed():
    # ranks of x: 1.5, 1.5, 3, 4; y ranks 1..4: r = 0.9486832980505138 (= 3 / sqrt(10))
    assert M.spearman([0, 0, 5, 10], [1, 2, 3, 4]) == pytest.approx(3 / math.sqrt(10))


def test_correlations_drop_nan_pairs_and_return_nan_when_undefined():
    x = np.array([1.0, 2.0, np.nan, 4.0, 5.0])
    y = np.array([2.0, 1.0, 3.0, np.nan, 7.0])
    assert M.spearman(x, y) == pytest.approx(scipy.stats.spearmanr([1, 2, 5], [2, 1, 7]).statistic)
    assert M.pearson(x, y) == pytest.approx(scipy.stats.pearsonr([1, 2, 5], [2, 1, 7]).statistic)
    assert np.isnan(M.spearman([1.0, 2.0, 3.0], [1.0, 1.0, 1.0]))  # constant side
    assert np.isnan(M.pearson([1.0, np.nan], [2.0, 3.0]))  # one pair


def test_robustness_known_answers_and_conventions():
    freq = np.array([0, 3, 10, 100, 1000])
    pc = pd.DataFrame({"acc": [0.1, 0.2, np.nan, 0.5, 0.9], "npred": [90, 60, 50, 30, 10]})
    out = M.robustness(freq, pc)
    assert set(out) == {
        "rho_acc",
        "rho_pred",
        "pearson_acc",
        "pearson_pred",
        "pearson_log_acc",
        "pearson_log_pred",
    }
    assert out["rho_acc"] == pytest.approx(1.0)  # the NaN class is left out
    assert out["rho_pred"] == pytest.approx(-1.0)  # zero frequency kept
    keep = ~np.isnan(pc["acc"].to_numpy())
    assert out["pearson_acc"] == pytest.approx(
        scipy.stats.pearsonr(freq[keep], pc["acc"].to_numpy()[keep]).statistic
    )
    assert out["pearson_log_pred"] == pytest.approx(
        scipy.stats.pearsonr(np.log1p(freq), pc["npred"]).statistic
    )
    assert np.isfinite(out["pearson_log_acc"])


def test_nc_correlations_keys_and_values():
    rng = np.random.default_rng(1)
    table = pd.DataFrame({c: rng.standard_normal(30) for c in ("acc", *M.NC_COLUMNS)})
    table.loc[4, "nc1"] = np.nan
    freq = rng.integers(0, 50, size=30)
    out = M.nc_correlations(freq, table)
    assert set(out) == {f"rho_{s}_{m}" for s in ("freq", "acc") for m in M.NC_COLUMNS}
    keep = np.arange(30) != 4
    assert out["rho_freq_nc1"] == pytest.approx(
        scipy.stats.spearmanr(freq[keep], table["nc1"][keep]).statistic
    )
    assert out["rho_acc_nc2_w"] == pytest.approx(
        scipy.stats.spearmanr(table["acc"], table["nc2_w"]).statistic
    )


# --- binned statistics and similarity ----------------------------------------------------------


def test_binned_by_frequency_log_bins_with_zero_bin():
    freq = [0, 1, 10, 100, 1000, 500]
    values = [0.0, 0.2, 0.4, 0.6, 1.0, np.nan]
    out = M.binned_by_frequency(freq, values, 3)
    np.testing.assert_allclose(out["bin_lo"], [0, 1, 10, 100])
    np.testing.assert_allclose(out["bin_hi"], [0, 10, 100, 1000])
    np.testing.assert_array_equal(out["n_classes"], [1, 1, 1, 2])  # 1000 is in the last bin
    np.testing.assert_allclose(out["mean"], [0.0, 0.2, 0.4, 0.8])
    np.testing.assert_allclose(out["std"], [0.0, 0.0, 0.0, 0.2])


def test_binned_by_frequency_explicit_edges_and_coverage_error():
    out = M.binned_by_frequency([1, 2, 5, 9], [1.0, 3.0, 5.0, 7.0], [0, 4, 8, 16])
    np.testing.assert_array_equal(out["n_classes"], [2, 1, 1])
    np.testing.assert_allclose(out["mean"], [2.0, 5.0, 7.0])
    with pytest.raises(ValueError, match="extend the edges"):
        M.binned_by_frequency([1, 20], [1.0, 2.0], [0, 4, 8])


def test_intra_class_similarity_excludes_self_pairs():
    h = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [3.0, 0.0]])
    out = M.intra_class_similarity(h, np.array([0, 0, 0, 1]), max_per_class=10, seed=0)
    assert (out["class"] == 0).all()
    np.testing.assert_allclose(np.sort(out["similarity"]), [0, 1 / math.sqrt(2), 1 / math.sqrt(2)])


def test_intra_class_similarity_subsamples_deterministically():
    rng = np.random.default_rng(0)
    h = rng.standard_normal((60, 5))
    y = np.repeat([0, 1, 2], [30, 3, 27])
    a = M.intra_class_similarity(h, y, max_per_class=5, seed=7)
    b = M.intra_class_similarity(h, y, max_per_class=5, seed=7)
    pd.testing.assert_frame_equal(a, b)
    assert a["class"].value_counts().to_dict() == {0: 10, 1: 3, 2: 10}
    assert (a["similarity"].abs() <= 1 + 1e-12).all()


# --- neural collapse: known answers -------------------------------------------------------------


def test_nc_two_classes_one_dimension_by_hand():
    # mu_0 = 1, mu_1 = 4, mu_G = 2.5, Sigma_B = 2.25, Sigma_W^0 = (1 + 1) / 3
    h = np.array([[0.0], [2.0], [4.0]])
    table, overall = M.nc_metrics(h, np.array([0, 0, 1]), np.array([[1.0], [2.0]]))
    np.testing.assert_allclose(table["nc1"], [8 / 27, 0.0])
    np.testing.assert_allclose(table["nc2_m"], [0.0, 0.0], atol=1e-15)
    np.testing.assert_allclose(table["nc2_w"], [2.0, 2.0])  # cos = 1, + 1/(C-1) = 2
    np.testing.assert_allclose(table["nc2nn_w"], [2.0, 2.0])
    assert overall["nc1"] == pytest.approx(4 / 27)


def test_nc_three_classes_by_hand_with_empty_fourth_class():
    # means (2,0), (0,2), (-2,-2); mu_G = 0; Sigma_B^-1 = [[.5,-.25],[-.25,.5]]; N = 5
    h = np.array([[1.0, 0.0], [3.0, 0.0], [0.0, 2.0], [-2.0, -1.0], [-2.0, -3.0]])
    y = np.array([0, 0, 1, 2, 2])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0]])
    table, overall = M.nc_metrics(h, y, w)
    assert list(table.columns) == list(M.NC_COLUMNS)
    assert table.index.name == "class"
    np.testing.assert_allclose(table["nc1"][:3], [0.2, 0.0, 0.2])
    r = 1 / math.sqrt(2)
    np.testing.assert_allclose(table["nc2_m"][:3], [r / 2, r / 2, r - 0.5])
    np.testing.assert_allclose(table["nc2nn_m"][:3], [0.5, 0.5, r - 0.5])
    assert table.loc[3, ["nc1", "nc2_m", "nc2nn_m"]].isna().all()
    # classifier: cosines 0, -1, 0 to the others, + 1/3 -> (1/3 + 2/3 + 1/3) / 3
    np.testing.assert_allclose(table["nc2_w"], [4 / 9] * 4)
    np.testing.assert_allclose(table["nc2nn_w"], [2 / 3] * 4)
    assert overall["nc1"] == pytest.approx(0.4 / 3)
    assert overall["nc2_m"] == pytest.approx((r + r - 0.5) / 3)
    assert overall["nc2_w"] == pytest.approx(4 / 9)


def test_simplex_etf_gives_zero_nc2_even_with_unequal_class_sizes():
    rng = np.random.default_rng(0)
    num_classes, dim = 6, 10
    means = 4.0 * simplex_etf(num_classes, dim, rng) + rng.standard_normal(dim) * 10
    counts = [1, 2, 3, 5, 8, 13]  # unequal: mu_G must be the mean of class means
    y = np.repeat(np.arange(num_classes), counts)
    h = means[y] + 0.1 * rng.standard_normal((y.shape[0], dim))
    h -= np.stack([h[y == c].mean(0) for c in range(num_classes)])[y] - means[y]  # exact means
    table, overall = M.nc_metrics(h, y, simplex_etf(num_classes, dim, rng))
    for column in ("nc2_m", "nc2nn_m", "nc2_w", "nc2nn_w"):
        np.testing.assert_allclose(table[column], 0.0, atol=1e-12)
    assert overall["nc1"] > 0


def test_collapsed_classes_give_zero_nc1():
    rng = np.random.default_rng(1)
    means = rng.standard_normal((5, 7))
    y = np.repeat(np.arange(5), [4, 1, 3, 6, 2])
    table, overall = M.nc_metrics(means[y], y, rng.standard_normal((5, 7)))
    np.testing.assert_allclose(table["nc1"], 0.0, atol=1e-20)
    assert overall["nc1"] == pytest.approx(0.0, abs=1e-20)
    assert (table["nc2_m"] > 0).all()


# --- neural collapse: agreement with the literal formulas --------------------------------------


@pytest.mark.parametrize(
    ("num_classes", "dim", "counts"),
    [
        (2, 3, [4, 1]),
        (3, 3, [5, 0, 2]),
        (5, 8, [6, 1, 0, 3, 9]),  # empty class and single-sample class
        (10, 4, [3, 4, 5, 1, 2, 6, 0, 3, 2, 4]),  # C' - 1 > D: Sigma_B full rank
        (12, 16, [2, 0, 0, 7, 1, 3, 5, 4, 4, 1, 6, 2]),
    ],
)
@pytest.mark.parametrize("seed", [0, 1])
def test_nc_metrics_match_literal_reference(num_classes, dim, counts, seed):
    h, y, w = random_problem(seed, num_classes, dim, counts)
    table, overall = M.nc_metrics(h, y, w)
    expected = literal_nc(h, y, w)
    for column in M.NC_COLUMNS:
        np.testing.assert_allclose(
            table[column].to_numpy(),
            expected[column].to_numpy(),
            rtol=1e-8,
            atol=1e-12,
            err_msg=column,
        )
        assert overall[column] == pytest.approx(np.nanmean(expected[column]), rel=1e-8)


def test_nc_metrics_chunking_float32_input_and_overall_trace_identity(monkeypatch):
    monkeypatch.setattr(M, "_CHUNK_ROWS", 7)  # several chunks, ragged last one
    h, y, w = random_problem(5, 6, 5, [9, 8, 1, 0, 12, 6], dtype=np.float32)
    table, overall = M.nc_metrics(h, y, w)
    expected = literal_nc(h, y, w)
    np.testing.assert_allclose(table["nc1"], expected["nc1"], rtol=1e-8)
    # overall NC1 = tr(Sigma_W Sigma_B^+) / C'
    h64 = h.astype(np.float64)
    present = [c for c in range(6) if (y == c).any()]
    mus = np.stack([h64[y == c].mean(0) for c in present])
    centred = mus - mus.mean(0)
    sigma_b = centred.T @ centred / len(present)
    all_means = np.stack([h64[y == c].mean(0) if (y == c).any() else np.zeros(5) for c in range(6)])
    z = h64 - all_means[y]
    sigma_w = z.T @ z / len(y)
    assert overall["nc1"] == pytest.approx(
        np.trace(sigma_w @ np.linalg.pinv(sigma_b)) / len(present), rel=1e-8
    )


def test_empty_class_does_not_change_other_classes():
    h, y, w = random_problem(2, 5, 6, [3, 4, 2, 5, 1])
    base, _ = M.nc_metrics(h, y, w)
    extra_row = np.random.default_rng(9).standard_normal((1, 6))
    grown, overall = M.nc_metrics(h, y, np.vstack([w, extra_row]))
    for column in ("nc1", "nc2_m", "nc2nn_m"):
        np.testing.assert_allclose(grown[column][:5], base[column], rtol=1e-12)
        assert np.isnan(grown[column].iloc[5])
        assert overall[column] == pytest.approx(base[column].mean())
    assert np.isfinite(grown["nc2_w"]).all()


def test_nc_metrics_accepts_torch_tensors():
    torch = pytest.importorskip("torch")
    h, y, w = random_problem(4, 4, 5, [3, 2, 4, 1])
    a, _ = M.nc_metrics(h, y, w)
    b, _ = M.nc_metrics(torch.from_numpy(h), torch.from_numpy(y), torch.from_numpy(w))
    pd.testing.assert_frame_equal(a, b)


# --- invariances (property-based) ---------------------------------------------------------------

problem = st.tuples(
    st.integers(0, 2**31 - 1),  # seed
    st.integers(2, 6),  # classes
    st.integers(2, 7),  # dimension
    st.lists(st.integers(0, 5), min_size=6, max_size=6),  # counts (first C used)
).filter(lambda p: sum(1 for n in p[3][: p[1]] if n > 0) >= 2)


@settings(max_examples=40, deadline=None)
@given(problem, st.randoms(use_true_random=False))
def test_permuting_class_order_permutes_outputs(p, rnd):
    seed, num_classes, dim, counts = p
    h, y, w = random_problem(seed, num_classes, dim, counts[:num_classes])
    perm = list(range(num_classes))
    rnd.shuffle(perm)
    perm = np.array(perm)  # old class c becomes new class perm[c]
    table, _ = M.nc_metrics(h, y, w)
    w_new = np.empty_like(w)
    w_new[perm] = w
    permuted, _ = M.nc_metrics(h, perm[y], w_new)
    np.testing.assert_allclose(permuted.to_numpy()[perm], table.to_numpy(), rtol=1e-7, atol=1e-10)
    k = M.confusion_matrix(y, np.roll(y, 1), num_classes)
    k_new = M.confusion_matrix(perm[y], perm[np.roll(y, 1)], num_classes)
    np.testing.assert_array_equal(
        M.per_class_metrics(k_new).to_numpy()[perm], M.per_class_metrics(k).to_numpy()
    )


@settings(max_examples=40, deadline=None)
@given(problem, st.floats(1e-3, 1e3), st.floats(-50, 50))
def test_scaling_and_shifting_features_leave_nc_unchanged(p, scale, shift):
    seed, num_classes, dim, counts = p
    h, y, w = random_problem(seed, num_classes, dim, counts[:num_classes])
    table, _ = M.nc_metrics(h, y, w)
    moved, _ = M.nc_metrics(h * scale + shift, y, w * scale)
    np.testing.assert_allclose(moved.to_numpy(), table.to_numpy(), rtol=1e-6, atol=1e-9)


# --- bad input ---------------------------------------------------------------------------------


def test_bad_input_gives_clear_errors():
    h, y, w = random_problem(0, 3, 4, [2, 2, 2])
    with pytest.raises(ValueError, match="5 feature rows but 6 targets"):
        M.nc_metrics(h[:5], y, w)
    with pytest.raises(ValueError, match="dimension 3 but the classifier has 4"):
        M.nc_metrics(h[:, :3], y, w)
    with pytest.raises(ValueError, match=r"class index 3, outside \[0, 3\)"):
        M.nc_metrics(h, np.where(y == 2, 3, y), w)
    bad = h.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match="features contains NaN or infinite"):
        M.nc_metrics(bad, y, w)
    with pytest.raises(ValueError, match="integer class indices"):
        M.nc_metrics(h, y.astype(float), w)
    with pytest.raises(ValueError, match="at least two classes"):
        M.nc_metrics(h, np.zeros_like(y), w)
    with pytest.raises(ValueError, match="all zeros"):
        M.nc_metrics(h, y, np.vstack([w[:2], np.zeros((1, 4))]))
    with pytest.raises(ValueError, match=r"class index -1"):
        M.confusion_matrix([0, -1], [0, 0], 2)
    with pytest.raises(ValueError, match="differ in length"):
        M.confusion_matrix([0, 1], [0], 2)
    with pytest.raises(ValueError, match="square"):
        M.per_class_metrics(np.zeros((2, 3)))
    pc = pd.DataFrame({"acc": [0.1, 0.2], "npred": [1, 2]})
    with pytest.raises(ValueError, match="3 entries but 2 classes"):
        M.robustness([1, 2, 3], pc)
    with pytest.raises(ValueError, match="non-negative"):
        M.robustness([1, -2], pc)
    with pytest.raises(ValueError, match="'npred' column"):
        M.robustness([1, 2], pc[["acc"]])
    with pytest.raises(ValueError, match="duplicate"):
        M.head_tail_accuracy([0.1, 0.2], [1, 1])
    with pytest.raises(ValueError, match="no class has evaluation samples"):
        M.top1(pd.DataFrame({"acc": [np.nan, np.nan]}))


# --- class bootstrap ----------------------------------------------------------------------------


def test_class_resamples_are_common_to_every_run_on_the_same_classes():
    a, b = M.class_resamples(50, 40), M.class_resamples(50, 40)
    np.testing.assert_array_equal(a, b)  # paired: the same resamples on every call
    assert a.shape == (40, 50) and a.dtype == np.int64 and 0 <= a.min() and a.max() < 50
    assert not np.array_equal(M.class_resamples(51, 40)[:, :50], a)  # other classes, other draws
    np.testing.assert_array_equal(M.class_resamples(50, 80)[:40], a)  # drawn row by row
    assert not np.array_equal(M.class_resamples(50, 40, seed=1), a)
    # with replacement: a resample repeats some classes and leaves others out
    assert all(len(np.unique(r)) < 50 for r in a)
    with pytest.raises(ValueError, match="at least one class"):
        M.class_resamples(0)


def test_bootstrap_replicates_equal_the_statistics_of_each_resampled_vector():
    """Vectorised ranks vs :func:`spearman` etc. on the literal resampled vectors, with tied
    frequencies and accuracies, classes without samples (NaN) and a tail."""
    rng = np.random.default_rng(3)
    c = 40
    freq = rng.integers(0, 8, c)
    acc = rng.integers(0, 5, c) / 4
    acc[[1, 7]] = np.nan
    npred = rng.integers(0, 6, c)
    tail = [0, 3, 5, 7]
    per_class = pd.DataFrame({"acc": acc, "npred": npred})
    reps = M.bootstrap_replicates(freq, per_class, tail, replicates=60)
    assert list(reps.columns) == list(M.BOOTSTRAP_COLUMNS) and len(reps) == 60
    for b, idx in enumerate(M.class_resamples(c, 60)):
        f, a, n = freq[idx], acc[idx], npred[idx]
        is_tail = np.isin(idx, tail)
        expected = {
            "top1": np.nanmean(a),
            "rho_acc": M.spearman(f, a),
            "rho_pred": M.spearman(f, n),
            "tail_acc": np.nanmean(a[is_tail]) if np.isfinite(a[is_tail]).any() else np.nan,
            "head_acc": np.nanmean(a[~is_tail]),
        }
        for name, value in expected.items():
            assert reps[name][b] == pytest.approx(value, nan_ok=True, abs=1e-12), (b, name)
    no_tail = M.bootstrap_replicates(freq, per_class, replicates=5)
    assert no_tail[["tail_acc", "head_acc"]].isna().all().all()


def test_bootstrap_of_a_monotone_record_is_exactly_one():
    freq = np.arange(30) * 3
    per_class = pd.DataFrame({"acc": np.linspace(0.1, 0.9, 30), "npred": np.arange(30)})
    reps = M.bootstrap_replicates(freq, per_class, replicates=200)
    assert M.percentile_interval(reps["rho_acc"]) == (1.0, 1.0)
    assert M.percentile_interval(reps["rho_pred"]) == (1.0, 1.0)
    lo, hi = M.percentile_interval(reps["top1"])
    assert lo < 0.5 < hi


def test_bootstrap_interval_of_independent_data_covers_zero_with_the_textbook_width():
    """Spearman rho of independent data has standard error about 1/sqrt(C - 1); the 95 %
    bootstrap interval over classes is about +-1.96 of that wide (checked loosely)."""
    c = 400
    rng = np.random.default_rng(11)
    per_class = pd.DataFrame({"acc": rng.random(c), "npred": rng.integers(0, 100, c)})
    reps = M.bootstrap_replicates(rng.integers(0, 1000, c), per_class)
    theory = 2 * 1.96 / math.sqrt(c - 1)
    for name in ("rho_acc", "rho_pred"):
        lo, hi = M.percentile_interval(reps[name])
        assert lo < 0 < hi
        assert 0.7 * theory < hi - lo < 1.3 * theory, (name, hi - lo, theory)


def test_undefined_replicates_are_nan_and_ignored_by_the_interval():
    # two classes: a resample that draws one class twice has a constant side -> NaN
    per_class = pd.DataFrame({"acc": [0.2, 0.8], "npred": [1, 3]})
    reps = M.bootstrap_replicates([1, 5], per_class, replicates=100)
    undefined = reps["rho_acc"].isna()
    assert 0 < undefined.sum() < 100
    assert set(reps["rho_acc"][~undefined]) == {1.0}
    assert M.percentile_interval(reps["rho_acc"]) == (1.0, 1.0)


def test_percentile_interval_of_a_known_distribution():
    values = np.arange(1001) / 1000  # quantiles are exact on this grid
    assert M.percentile_interval(values) == pytest.approx((0.025, 0.975))
    assert M.percentile_interval(values, level=0.5) == pytest.approx((0.25, 0.75))
    normal = np.random.default_rng(0).normal(2.0, 0.5, 200_000)
    lo, hi = M.percentile_interval(np.append(normal, [np.nan] * 10))  # NaN ignored
    assert lo == pytest.approx(2.0 - 1.96 * 0.5, abs=0.01)
    assert hi == pytest.approx(2.0 + 1.96 * 0.5, abs=0.01)
    assert all(math.isnan(v) for v in M.percentile_interval([np.nan, np.nan]))
    with pytest.raises(ValueError, match="level"):
        M.percentile_interval(values, level=95)


def test_bootstrap_is_fast_enough_for_imagenet():
    """B = 1000 replicates over C = 1000 classes: well under a second or two (measured about
    0.15 s); the bound is loose for shared machines."""
    import time

    rng = np.random.default_rng(0)
    per_class = pd.DataFrame({"acc": rng.random(1000), "npred": rng.integers(0, 200, 1000)})
    start = time.perf_counter()
    reps = M.bootstrap_replicates(rng.integers(0, 1300, 1000), per_class, np.arange(100))
    assert time.perf_counter() - start < 5.0 and len(reps) == 1000
