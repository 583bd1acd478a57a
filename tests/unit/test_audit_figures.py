"""Figures of the open-source CLIP audit (Fig. 1b, 7a, 7b, 12, 17, 18, 20) from a synthetic audit
table, records and feature samples, Table 1's accuracy column, and drawing a catalogue job from
its files."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, QuadMesh
from matplotlib.container import ErrorbarContainer
from matplotlib.figure import Figure

matplotlib.use("Agg")

from cliptail import factors, io  # noqa: E402
from cliptail.audit.checkpoints import PRETRAINING_DATASETS  # noqa: E402
from cliptail.data.metadata import released_root  # noqa: E402
from cliptail.figures import audit as fa  # noqa: E402
from cliptail.figures import style  # noqa: E402
from cliptail.figures import web_frequency as wf  # noqa: E402
from cliptail.figures.neural_collapse import NC_METRICS  # noqa: E402

#: Two-sided 95 % Student t quantile with one degree of freedom.
T1 = 12.706204736174694
#: Checkpoints per pre-training dataset of the synthetic audit.
MODELS = {"cc12m": 1, "yfcc15m": 2, "laion400m": 3, "openai": 2}
EVALSETS = ("imagenet_val", "imagenetv2")
OTHER_SETS = ("cub", "dtd", "pets")
CLASSES = 30


def audit_frame() -> pd.DataFrame:
    """One row per checkpoint and set; every value a known function of (dataset, index, set)."""
    rows = []
    sets = [(e, "imagenet") for e in EVALSETS] + [(c, c) for c in OTHER_SETS]
    for d, (dataset, n) in enumerate(MODELS.items()):
        for i in range(n):
            for s, (evalset, concept) in enumerate(sets):
                known = dataset != "openai"
                row = {
                    "checkpoint": f"{dataset}_{i}",
                    "model": f"M{i}",
                    "pretrained": dataset,
                    "dataset": dataset,
                    "dataset_name": PRETRAINING_DATASETS[dataset],
                    "evalset": evalset,
                    "concept_set": concept,
                    "top1": 0.3 + 0.05 * d + 0.01 * i - 0.02 * s,
                    "rho_acc": 0.1 * d + 0.02 * i + 0.01 * s if known else np.nan,
                    "rho_pred": 0.2 + 0.1 * d - 0.04 * i if known else np.nan,
                }
                for k, m in enumerate(NC_METRICS):
                    row[f"nc_rho_acc_{m}"] = -0.5 + 0.1 * k + 0.05 * i + 0.01 * d
                    row[f"nc_rho_freq_{m}"] = 0.3 - 0.1 * k + 0.03 * i if known else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


@pytest.fixture(autouse=True)
def _one_thread():
    """t-SNE on one OpenMP thread: the same result, and no spinning threads on busy cores (the
    test runs in well under a second instead of up to a minute)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def audit() -> pd.DataFrame:
    return audit_frame()


def synthetic_record(freq: np.ndarray | None, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "class": np.arange(CLASSES),
            "name": [f"class {c}" for c in range(CLASSES)],
            "freq": np.full(CLASSES, np.nan) if freq is None else freq,
            "acc": rng.uniform(0, 1, CLASSES),
            "npred": rng.integers(0, 20, CLASSES),
        }
    )


def synthetic_sample(seed: int, per_class: int = 2, dim: int = 16) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    classifier = rng.normal(size=(CLASSES, dim))
    classifier /= np.linalg.norm(classifier, axis=1, keepdims=True)
    labels = np.repeat(np.arange(CLASSES), per_class)
    images = classifier[labels] + 0.3 * rng.normal(size=(len(labels), dim))
    images /= np.linalg.norm(images, axis=1, keepdims=True)
    return {
        "classifier": classifier.astype(np.float32),
        "class_means": classifier.astype(np.float32),
        "image_features": images.astype(np.float32),
        "image_labels": labels,
    }


@pytest.fixture(scope="module")
def representatives():
    """Records and samples of three representatives, the OpenAI one without frequencies."""
    freq = np.random.default_rng(7).integers(0, 5000, CLASSES)
    records = {
        "YFCC-15M: M0": synthetic_record(freq, 0),
        "LAION-400M: M0": synthetic_record(freq[::-1].copy(), 1),
        "OpenAI WIT: M0": synthetic_record(None, 2),
    }
    samples = {label: synthetic_sample(i, per_class=1) for i, label in enumerate(records)}
    return records, samples


# --- the interval over models ---------------------------------------------------------------------


def test_model_interval_known_answers():
    mean, lo, hi, n = fa.model_interval([0.2, 0.4])
    half = T1 * np.std([0.2, 0.4], ddof=1) / np.sqrt(2)  # = T1 * 0.1
    assert (mean, n) == (pytest.approx(0.3), 2)
    assert (lo, hi) == (pytest.approx(0.3 - half), pytest.approx(0.3 + half))
    assert half == pytest.approx(1.2706204736)
    mean, lo, hi, n = fa.model_interval([0.5, np.nan])
    assert (mean, n) == (0.5, 1) and np.isnan(lo) and np.isnan(hi)
    assert fa.model_interval([np.nan])[3] == 0


def test_dataset_summary_is_per_pretraining_dataset_in_display_order(audit):
    rows = audit[audit["evalset"] == "imagenet_val"]
    summary = fa.dataset_summary(rows, ["rho_acc"]).set_index("dataset")
    assert summary.index.tolist() == ["cc12m", "yfcc15m", "laion400m", "openai"]
    assert summary["n"].tolist() == [1, 2, 3, 0]
    # laion400m (d = 2): 0.2 + 0.02 i for i = 0, 1, 2
    assert summary.loc["laion400m", "mean"] == pytest.approx(0.22)


# --- Fig. 1b ----------------------------------------------------------------------------------


def _errorbars(ax) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    (container,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    line, _, (bars,) = container.lines
    # a bar per point; a point without an interval (one model) has an empty segment
    segments = [np.asarray(s) if len(s) else np.full((2, 2), np.nan) for s in bars.get_segments()]
    return (
        np.asarray(line.get_ydata()),
        np.array([s[0][1] for s in segments]),
        np.array([s[1][1] for s in segments]),
    )


def test_fig01b_points_are_means_over_a_datasets_models(audit):
    fig = fa.fig01b(audit, evalset="imagenet_val")
    assert isinstance(fig, Figure)
    for ax, column in zip(fig.axes[:2], ("rho_acc", "rho_pred"), strict=True):
        means, lo, hi = _errorbars(ax)
        rows = audit[(audit["evalset"] == "imagenet_val") & (audit["dataset"] != "openai")]
        expected = rows.groupby("dataset", sort=False)[column].mean()
        np.testing.assert_allclose(means, expected.loc[["cc12m", "yfcc15m", "laion400m"]])
        # yfcc15m: two models, rho_acc 0.1 and 0.12: the t interval of one degree of freedom
        assert np.isnan(lo[0]) and np.isnan(hi[0])  # CC-12M: one model, no interval
        if column == "rho_acc":
            assert means[1] == pytest.approx(0.11)
            assert (lo[1], hi[1]) == (
                pytest.approx(0.11 - T1 * 0.01),
                pytest.approx(0.11 + T1 * 0.01),
            )
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert labels == ["CC-12M\n(n=1)", "YFCC-15M\n(n=2)", "LAION-400M\n(n=3)"]  # no WIT
        assert not [c for c in ax.collections if c.get_label() == "SL (own runs)"]


def test_fig01b_shows_sl_where_a_study_trained_it(audit):
    studies = pd.DataFrame(
        {
            "method": ["sl", "sl", "clip", "sl", "sl"],
            "source": ["cc12m_cls", "cc12m_cls", "cc12m_cls", "laionet", "imagenet"],
            "evalset": ["imagenet_val"] * 4 + ["imagenet_val"],
            "scale": [1.0, 1.0, 1.0, 0.5, 1.0],
            "rho_acc": [0.5, 0.7, 0.9, 0.1, 0.3],
            "rho_pred": [0.2, 0.4, 0.9, 0.1, 0.3],
        }
    )
    fig = fa.fig01b(audit, evalset="imagenet_val", studies=studies)
    for ax, expected in zip(fig.axes[:2], (0.6, 0.3), strict=True):
        (points,) = [c for c in ax.collections if c.get_label() == "SL (own runs)"]
        # only CC-12M-Cls at full scale: x = 0 (+0.12), the mean of the two SL runs
        np.testing.assert_allclose(points.get_offsets(), [[0.12, expected]])


def test_fig01b_refuses_an_audit_without_correlations(audit):
    with pytest.raises(ValueError, match="no rows of evaluation set 'val'"):
        fa.fig01b(audit, evalset="val")
    with pytest.raises(ValueError, match="no checkpoint has frequency correlations"):
        fa.fig01b(audit[audit["dataset"] == "openai"], evalset="imagenet_val")


# --- Fig. 7a, 12, 18 ----------------------------------------------------------------------------


def test_fig07a_openclip_matrices_are_means_per_dataset(audit):
    fig = fa.fig07a_openclip(audit, evalset="imagenet_val")
    meshes = [c for ax in fig.axes[:2] for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 2
    rows = audit[audit["evalset"] == "imagenet_val"]
    order = ["cc12m", "yfcc15m", "laion400m", "openai"]
    for mesh, kind in zip(meshes, ("acc", "freq"), strict=True):
        expected = rows.groupby("dataset")[[f"nc_rho_{kind}_{m}" for m in NC_METRICS]].mean()
        values = np.ma.filled(mesh.get_array().astype(float), np.nan).reshape(4, len(NC_METRICS))
        np.testing.assert_allclose(values, expected.loc[order].to_numpy())
    # laion400m, nc1 with acc: -0.5 + 0.05 * mean(0, 1, 2) + 0.02
    assert meshes[0].get_array().reshape(4, -1)[2, 0] == pytest.approx(-0.43)
    freq = np.ma.filled(meshes[1].get_array().astype(float), np.nan).reshape(4, -1)
    assert np.isnan(freq[3]).all() and np.isfinite(freq[:3]).all()  # OpenAI: no frequencies


def test_fig12_has_one_panel_per_concept_set(audit):
    fig = fa.fig12(audit)
    visible = [ax for ax in fig.axes if ax.get_visible() and ax.get_title()]
    assert [ax.get_title() for ax in visible] == [factors.CONCEPT_SETS[c] for c in OTHER_SETS]
    _, means, _ = _errorbars_by_label(visible[0], style.label("rho_acc"))
    # CUB (set index 2): rho_acc = 0.1 d + 0.02 i + 0.02, means over each dataset's models
    np.testing.assert_allclose(means, [0.02, 0.13, 0.24])
    two = fa.fig12(audit[audit["concept_set"].isin(["imagenet", "pets"])])
    assert [ax.get_title() for ax in two.axes if ax.get_visible()] == ["Oxford Pets"]
    with pytest.raises(ValueError, match="no concept-set rows"):
        fa.fig12(audit[audit["concept_set"] == "imagenet"])


def _errorbars_by_label(ax, label: str):
    for container in ax.containers:
        if isinstance(container, ErrorbarContainer) and container.get_label() == label:
            line = container.lines[0]
            return np.asarray(line.get_xdata()), np.asarray(line.get_ydata()), container
    raise AssertionError(
        f"no error bars labelled {label!r}: {[c.get_label() for c in ax.containers]}"
    )


def test_fig18_one_row_per_imagenet_set_every_model_a_point(audit):
    fig = fa.fig18(audit, evalsets=["imagenet_val", "imagenetv2", "val"])
    assert len(fig.axes) == 4  # two sets x (acc, pred)
    ax = fig.axes[0]
    points = [c for c in ax.collections if isinstance(c, PathCollection)]
    # OpenAI's WIT has no frequencies: nothing to correlate, no point
    assert [p.get_label() for p in points] == ["CC-12M", "YFCC-15M", "LAION-400M"]
    assert [len(p.get_offsets()) for p in points] == [1, 2, 3]
    assert [ax.get_title() for ax in fig.axes[::2]] == ["ImageNet val", "ImageNetV2"]
    # x: top-1 in percent; y: the model's correlation (laion400m, model 2: 0.2 + 0.04)
    offsets = points[2].get_offsets()
    np.testing.assert_allclose(offsets[:, 1], [0.2, 0.22, 0.24])
    np.testing.assert_allclose(offsets[:, 0], [40.0, 41.0, 42.0])
    with pytest.raises(ValueError, match="none of the ImageNet evaluation sets"):
        fa.fig18(audit, evalsets=["val"])


# --- Fig. 17, 7b, 20 -----------------------------------------------------------------------------


def test_fig17_one_row_per_record_with_frequencies(audit, representatives):
    records, _ = representatives
    fig = fa.fig17(audit, records=records, examples=5)
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 4  # OpenAI's record has no frequencies
    assert [fig.axes[0].get_title(), fig.axes[2].get_title()] == ["YFCC-15M: M0", "LAION-400M: M0"]
    record = records["YFCC-15M: M0"]
    ranked = record.sort_values("freq", ascending=False)
    widths = [p.get_width() for p in fig.axes[0].patches]
    expected = np.concatenate([ranked["freq"].head(5), ranked["freq"].tail(5)]) + 1
    np.testing.assert_allclose(widths, expected)
    with pytest.raises(ValueError, match="no record with web frequencies"):
        fa.fig17(audit, records={"OpenAI WIT: M0": records["OpenAI WIT: M0"]})


@pytest.mark.parametrize("draw", [fa.fig07b, fa.fig20])
def test_tsne_figures_share_one_frequency_scale_and_grey_without_frequencies(
    audit, representatives, draw
):
    records, samples = representatives
    labels = ["YFCC-15M: M0", "OpenAI WIT: M0"]
    fig = draw(
        audit,
        samples={k: samples[k] for k in labels},
        records={k: records[k] for k in records if k in labels},
    )
    assert isinstance(fig, Figure)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == [
        "YFCC-15M: M0",
        "OpenAI WIT: M0\n(no web frequencies: grey)",
    ]
    per_image = len(samples["YFCC-15M: M0"]["image_labels"])
    expected = [CLASSES] if draw is fa.fig07b else [per_image, CLASSES]
    log_freq = np.log10(1 + records["YFCC-15M: M0"]["freq"].to_numpy(float))
    coloured = [c for c in panels[0].collections if isinstance(c, PathCollection)]
    assert [len(p.get_offsets()) for p in coloured] == expected
    np.testing.assert_allclose(np.asarray(coloured[-1].get_array(), dtype=float), log_freq)
    assert coloured[-1].norm.vmin == pytest.approx(log_freq.min())
    assert coloured[-1].norm.vmax == pytest.approx(log_freq.max())
    grey = [c for c in panels[1].collections if isinstance(c, PathCollection)]
    assert [len(p.get_offsets()) for p in grey] == expected
    assert all(p.get_array() is None for p in grey)
    np.testing.assert_allclose(grey[-1].get_facecolor()[0][:3], [0.6, 0.6, 0.6])
    (colorbar,) = [ax for ax in fig.axes if ax.get_ylabel() == "log10(1 + web freq)"]
    assert colorbar.get_ylim() == pytest.approx((log_freq.min(), log_freq.max()))


def test_tsne_known_shape_and_refusal():
    points = np.random.default_rng(0).normal(size=(12, 5))
    assert fa.tsne(points).shape == (12, 2)
    with pytest.raises(ValueError, match="at least 4 points, got 3"):
        fa.tsne(points[:3])


# --- Table 1 with the accuracy of the audited RN50 YFCC-15M -------------------------------------


@pytest.fixture(scope="module")
def yfcc_table() -> pd.DataFrame:
    return wf.read_frequency_table(
        {"yfcc15m": released_root() / "freqs/class_frequency_yfcc15m_imagenet_ori.txt"}
    )


def test_table01_pairs_each_class_with_its_own_accuracy(yfcc_table):
    rng = np.random.default_rng(0)
    record = pd.DataFrame({"class": np.arange(1000), "acc": np.arange(1000) / 1000.0})
    shuffled = record.iloc[rng.permutation(1000)].reset_index(drop=True)
    table = wf.table01_rare_classes(yfcc_table, accuracy=shuffled, accuracy_from="RN50_yfcc15m")
    assert len(table) == 29
    np.testing.assert_allclose(table["accuracy"], table["class_index"] / 10.0)  # percent
    assert table.iloc[0][["class_index", "name", "frequency", "accuracy"]].tolist() == [
        194,
        "Dandie Dinmont Terrier",
        0,
        pytest.approx(19.4),
    ]
    assert (table["accuracy_of"] == "RN50_yfcc15m").all()
    plain = wf.table01_rare_classes(yfcc_table)
    assert (
        "accuracy" not in plain and plain["class_index"].tolist() == table["class_index"].tolist()
    )


def test_table01_refuses_a_record_without_a_rare_class(yfcc_table):
    record = pd.DataFrame({"class": np.arange(1000), "acc": 0.5})
    with pytest.raises(ValueError, match=r"the accuracy record has no class \[194, 222\]"):
        wf.table01_rare_classes(yfcc_table, accuracy=record[~record["class"].isin([194, 222])])


# --- a catalogue job drawn from its files ---------------------------------------------------------


def test_render_draws_an_audit_job_from_its_files(audit, representatives, tmp_path, monkeypatch):
    from cliptail import config as cfg
    from cliptail.audit.plan import audit_plan
    from cliptail.audit.records import write_npz
    from cliptail.figures.catalogue import plan_figures
    from cliptail.figures.render import render
    from cliptail.study import build_plan
    from tests.unit.test_audit_plan import SCHEMA, load

    config = load(
        enabled=True,
        checkpoints=[
            {"dataset": "yfcc15m", "model": "RN50", "path": "a.pt", "name": "a"},
            {"dataset": "openai", "model": "RN50", "path": "b.pt", "name": "b"},
        ],
        evalsets=["val"],
    )
    assert cfg.validate(config, SCHEMA)
    jobs = plan_figures(build_plan(config), "val", audit=audit_plan(config))
    monkeypatch.chdir(tmp_path)
    records, samples = representatives
    world = audit.replace({"evalset": {"imagenet_val": "val"}})
    io.write_parquet("results/tables/audit.parquet", world)
    for checkpoint, label in (("a", "YFCC-15M: M0"), ("b", "OpenAI WIT: M0")):
        io.write_parquet(f"results/audit/{checkpoint}/val.parquet", records[label])
        write_npz(f"results/audit/{checkpoint}/val.sample.npz", samples[label])
    for stem in ("fig17_frequency_accuracy_examples", "fig18_openclip_imagenet"):
        job = jobs[stem]
        assert isinstance(render(job.params, job.inputs), Figure), stem
    job = jobs["fig20_tsne_features"]
    assert job.params["labels"] == ["YFCC-15M: RN50", "OpenAI WIT: RN50"]
    fig = render(job.params, job.inputs)
    titles = [ax.get_title().split("\n")[0] for ax in fig.axes if ax.get_title()]
    assert titles == job.params["labels"]
