"""Fig. 9a: classifier affinity matrices (random-init vs frozen text tower), their planning and
drawing from the evaluation's classifier files."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cliptail import config as cfg  # noqa: E402
from cliptail import layout  # noqa: E402
from cliptail.evaluate.records import write_classifier  # noqa: E402
from cliptail.figures import classifier_affinity as ca  # noqa: E402
from cliptail.figures.catalogue import BY_ID, plan_figures, text_tower_runs  # noqa: E402
from cliptail.figures.render import render, write  # noqa: E402
from cliptail.study import build_plan  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
STEM = "fig09a_classifier_affinity"


def plan(*presets: str, drop: tuple[str, ...] = ()):
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / f"config/presets/{preset}.yaml"))
    config = cfg.validate(config, ROOT / "config/schema/config.schema.yaml")
    for study in drop:
        del config["studies"][study]
    return build_plan(config)


# --- the matrices ---------------------------------------------------------------------------------


def test_affinity_of_orthogonal_embeddings_is_the_identity():
    scaled = np.diag([2.0, 0.5, 3.0, 1.0])  # orthogonal rows of any length
    np.testing.assert_allclose(ca.affinity(scaled), np.eye(4))
    rotation = np.linalg.qr(np.random.default_rng(0).standard_normal((5, 5)))[0]
    np.testing.assert_allclose(ca.affinity(rotation[:3]), np.eye(3), atol=1e-12)


def test_affinity_is_the_cosine_of_the_rows():
    rows = np.array([[1.0, 0.0], [1.0, 1.0], [-2.0, 0.0]])
    s = np.sqrt(0.5)
    np.testing.assert_allclose(
        ca.affinity(rows), [[1.0, s, -1.0], [s, 1.0, -s], [-1.0, -s, 1.0]], atol=1e-12
    )
    with pytest.raises(ValueError, match="zero"):
        ca.affinity(np.array([[1.0, 0.0], [0.0, 0.0]]))


def test_mean_off_diagonal():
    matrix = np.array([[1.0, 0.2, 0.4], [0.2, 1.0, 0.6], [0.4, 0.6, 1.0]])
    assert ca.mean_off_diagonal(matrix) == pytest.approx(0.4)
    assert ca.mean_off_diagonal(np.eye(5)) == 0.0
    assert ca.mean_off_diagonal(np.full((4, 4), 0.25)) == pytest.approx(0.25)
    assert np.isnan(ca.mean_off_diagonal(np.ones((1, 1))))
    with pytest.raises(ValueError, match="square"):
        ca.mean_off_diagonal(np.ones((2, 3)))


def test_classes_are_ordered_from_most_to_least_frequent():
    assert ca.frequency_order([3, 10, 0, 10, 5]).tolist() == [1, 3, 4, 0, 2]  # ties: class order
    # class c's embedding points along axis c; classes 0 and 2 are alike
    classifier = np.eye(3)
    classifier[2] = [0.8, 0.0, 0.6]
    ordered = ca.ordered_affinities({"rand": classifier}, [1, 5, 9])["rand"]
    # order 2, 1, 0: the pair (0, 2) sits at the corners of the reordered matrix
    np.testing.assert_allclose(
        ordered, [[1.0, 0.0, 0.8], [0.0, 1.0, 0.0], [0.8, 0.0, 1.0]], atol=1e-12
    )
    with pytest.raises(ValueError, match="4 classes, the training frequencies 3"):
        ca.ordered_affinities({"rand": np.eye(4)}, [1, 2, 3])


def test_fig09a_panels_share_one_colour_scale():
    spread = np.eye(4)
    alike = np.eye(4) + 0.5  # every pair similar
    fig = ca.fig09a({"rand": alike, "frozen": spread}, [4, 3, 2, 1])
    panels = [ax for ax in fig.axes if ax.images]
    assert len(panels) == 2 and len(fig.axes) == 3  # two matrices and one colour bar
    # rows (1.5, .5, .5, .5) and permutations: every pair has cosine 2 / 3
    assert [ax.get_title() for ax in panels] == [
        "rand init text tower\nmean off-diagonal 0.667",
        "frozen text tower\nmean off-diagonal 0.000",
    ]
    for ax in panels:  # one scale: the off-diagonal range of both panels
        assert ax.images[0].get_clim() == pytest.approx((0.0, 2 / 3))
    np.testing.assert_allclose(panels[1].images[0].get_array(), np.eye(4))


# --- planning and drawing from files -------------------------------------------------------------


def test_text_tower_runs_pair_the_default_clip_run_with_its_frozen_twin():
    for presets in [(), ("smoke",), ("paper",)]:
        runs = text_tower_runs(plan(*presets))
        assert list(runs) == ["rand", "frozen"]
        assert runs["rand"].endswith("_full_s1_eval_tt-rand_seed0")
        assert runs["frozen"] == runs["rand"].replace("tt-rand", "tt-frozen")
    # mini: the frozen twin is planned by the text_tower, scale and open_world studies
    assert text_tower_runs(plan(drop=("text_tower", "scale"))) != {}
    assert text_tower_runs(plan(drop=("text_tower", "scale", "open_world"))) == {}


def test_fig09a_is_planned_when_both_runs_are():
    jobs = plan_figures(plan("paper"), "imagenet_val")
    job = jobs[STEM]
    assert job.params["labels"] == ["rand", "frozen"]
    assert job.inputs == {
        "classifiers": [
            layout.classifier_file("clip_incaps_full_s1_eval_tt-rand_seed0", "imagenet_val"),
            layout.classifier_file("clip_incaps_full_s1_eval_tt-frozen_seed0", "imagenet_val"),
        ],
        "per_class": ["results/eval/clip_incaps_full_s1_eval_tt-rand_seed0/imagenet_val.parquet"],
    }
    assert layout.classifier_file("r", "val") == "results/eval/r/val.classifier.npy"
    missing = plan_figures(plan(drop=("text_tower", "scale", "open_world")), "val")
    assert STEM not in missing and "fig08_trim_tail" in missing


def test_fig09a_is_drawn_from_the_classifier_files(tmp_path):
    rng = np.random.default_rng(0)
    inputs = {"classifiers": [], "per_class": []}
    for tower in ("rand", "frozen"):
        path = tmp_path / f"{tower}.classifier.npy"
        written = write_classifier(path, rng.standard_normal((5, 8)) * 3)
        assert written.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(np.load(path), axis=1), 1.0, atol=1e-6)
        inputs["classifiers"].append(str(path))
    freq = [1, 7, 0, 3, 2]
    record = tmp_path / "val.parquet"
    pd.DataFrame({"class": range(5), "freq": freq}).to_parquet(record)
    inputs["per_class"].append(str(record))
    params = {**plan_figures(plan("smoke"), "val")[STEM].params}
    fig = render(params, inputs)
    rand = ca.affinity(np.load(inputs["classifiers"][0]))
    order = [1, 3, 4, 0, 2]
    np.testing.assert_allclose(
        fig.axes[0].images[0].get_array(), rand[np.ix_(order, order)], atol=1e-6
    )
    files = write(fig, tmp_path / "out" / STEM, caption=BY_ID["fig09a"].caption)
    assert [f.name for f in files] == [f"{STEM}.png", f"{STEM}.pdf", f"{STEM}.caption.txt"]
    assert files[0].stat().st_size > 1000
    with pytest.raises(ValueError, match="non-empty"):
        write_classifier(tmp_path / "bad.npy", np.zeros(3))
