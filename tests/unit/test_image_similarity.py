"""Intra-class image similarity of the training sets (Fig. 4a densities): the seeded sample per
class, the per-class mean pair similarity with known answers, a real tiny CLIP run's image tower
end to end through the rule's script, the planning of the rule's inputs, and the figure drawn
from the files."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cliptail import config as cfg  # noqa: E402
from cliptail import io, layout  # noqa: E402
from cliptail.data.dataset_dir import DatasetDir  # noqa: E402
from cliptail.evaluate import image_similarity as sim  # noqa: E402
from cliptail.figures.catalogue import BY_ID, plan_figures  # noqa: E402
from cliptail.figures.render import render  # noqa: E402
from cliptail.study import build_plan  # noqa: E402
from tests.fixtures.toy_data import write_toy_split  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def plan_of(*presets: str):
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / "config/presets" / preset))
    config = cfg.validate(config, ROOT / "config/schema/config.schema.yaml")
    return build_plan(config), config


# --- sample and per-class values ------------------------------------------------------------------


def test_sample_per_class_counts_an_image_once_and_caps_each_class():
    # image "a" is listed once per caption (three times): it is one image of class 0
    manifest = pd.DataFrame(
        {
            "image": ["a", "a", "b", "c", "a", "d", "e", "f"],
            "label": [0, 0, 0, 0, 0, 1, 1, 2],
            "caption": [f"caption {i}" for i in range(8)],
        }
    )
    sample = sim.sample_per_class(manifest, per_class=2, seed=0)
    assert list(sample.columns) == ["image", "label"]
    assert sample["label"].tolist() == [0, 0, 1, 1, 2]
    assert not sample.duplicated().any()
    assert set(sample.loc[sample.label == 0, "image"]) < {"a", "b", "c"}
    assert sample.loc[sample.label == 1, "image"].tolist() == ["d", "e"]
    assert sample.loc[sample.label == 2, "image"].tolist() == ["f"]
    # all of a class when it has no more than per_class images, in manifest order
    whole = sim.sample_per_class(manifest, per_class=3, seed=0)
    assert whole["image"].tolist() == ["a", "b", "c", "d", "e", "f"]
    # the same seed draws the same images; the draw depends on the seed
    big = pd.DataFrame({"image": [f"i{k}" for k in range(400)], "label": np.arange(400) // 20})
    first = sim.sample_per_class(big, 5, seed=3)
    assert first.equals(sim.sample_per_class(big, 5, seed=3))
    assert not first.equals(sim.sample_per_class(big, 5, seed=4))
    assert first.groupby("label").size().tolist() == [5] * 20
    with pytest.raises(ValueError, match="at least 2"):
        sim.sample_per_class(manifest, per_class=1, seed=0)


def test_class_similarity_known_answers():
    features = np.array([[1, 0], [0, 1], [1, 1], [2, 0], [3, 0], [0, 5]], dtype=float)
    labels = np.array([0, 0, 0, 1, 1, 2])
    table = sim.class_similarity(features, labels)
    assert list(table.columns) == list(sim.COLUMNS)
    assert table["class"].tolist() == [0, 1, 2]
    assert table["images"].tolist() == [3, 2, 1]
    # class 0: pairs 0, 1/sqrt2, 1/sqrt2 -> sqrt2 / 3; class 1: parallel -> 1; class 2: no pair
    assert table["similarity"].iloc[0] == pytest.approx(np.sqrt(2) / 3)
    assert table["similarity"].iloc[1] == pytest.approx(1.0)
    assert np.isnan(table["similarity"].iloc[2])


# --- a trained image tower, through the rule's script -----------------------------------------------


def load_script():
    spec = importlib.util.spec_from_file_location(
        "image_similarity_script", ROOT / "workflow/scripts/image_similarity.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_script_measures_a_training_set_with_a_trained_clip_image_tower(tmp_path):
    from cliptail.train import train_run

    toy = tmp_path / "toy"
    write_toy_split(toy, "train", 128, 4, alpha=1.0)
    spec = {
        "run": "test-clip",
        "method": "clip",
        "threads": 1,
        "log_every": 2,
        "model": {
            "vision_width": 8,
            "text_width": 32,
            "text_heads": 1,
            "text_layers": 1,
            "embed_dim": 32,
        },
        "optim": {"epochs": 1, "batch_size": 64, "warmup_steps": 1},
    }
    train_run(
        spec,
        manifest=toy / "train.parquet",
        classes=toy / "classes.tsv",
        images_root=toy,
        out_dir=tmp_path / "run",
        progress=False,
    )
    manifest = pd.read_parquet(toy / "train.parquet")
    # class 3 has one image listed under two captions: one image, no pair
    manifest = manifest[manifest.label != 3]
    one = manifest.iloc[[0, 0]].assign(label=3, caption=["first caption", "second caption"])
    manifest = pd.concat([manifest, one], ignore_index=True)
    classes = io.read_classes(toy / "classes.tsv")
    folder = DatasetDir(tmp_path / "data" / "toy_set")
    folder.write(manifest, classes, source={"image_root": str(toy)}, report={})

    out = tmp_path / "similarity.parquet"
    load_script().main(
        str(tmp_path / "run" / "checkpoint.pt"), str(folder.root), str(out), per_class=5, seed=0
    )
    table = pd.read_parquet(out)
    assert table["class"].tolist() == [0, 1, 2, 3]
    counts = manifest[manifest.label < 3].groupby("label").size().to_numpy()
    assert table["images"].tolist() == [*np.minimum(counts, 5).tolist(), 1]
    values = table["similarity"].to_numpy()
    assert np.isnan(values[3])
    assert np.all((values[:3] > -1) & (values[:3] <= 1 + 1e-6))


# --- planning and drawing ----------------------------------------------------------------------------


def test_fig04a_reads_the_similarities_measured_by_the_default_clip_run():
    plan, config = plan_of()
    job = plan_figures(plan, "val")["fig04a_frequency_variants"]
    assert job.inputs["similarities"] == [
        "results/similarity/curated_full_s1_eval.parquet",
        "results/similarity/web_full_s1_eval.parquet",
    ]
    encoder = plan.baselines()["CLIP"]
    assert job.params["similarity_encoder"] == encoder
    inputs = layout.JobFiles(plan, config).image_similarity("web_full_s1_eval")
    assert inputs["model"] == f"results/runs/{encoder}/checkpoint.pt"
    assert inputs["manifest"] == "results/data/web_full_s1_eval/manifest.parquet"
    assert inputs["images"]
    paper, _ = plan_of("paper.yaml")
    job = plan_figures(paper, "imagenet_val")["fig04a_frequency_variants"]
    assert len(job.inputs["similarities"]) == len(job.params["labels"]) == 6
    assert job.inputs["similarities"][0] == "results/similarity/incaps_full_s1_eval.parquet"
    assert f"up to {sim.IMAGES_PER_CLASS} seeded images per class" in BY_ID["fig04a"].caption


def test_fig04a_draws_the_density_panel_from_the_files(tmp_path):
    labels = ["curated", "web (shifted)"]
    rng = np.random.default_rng(0)
    frequencies, similarities = [], []
    for i in range(len(labels)):
        freq = tmp_path / f"{i}.tsv"
        io.write_frequency(freq, [f"c{k}" for k in range(30)], rng.integers(1, 90, 30))
        table = pd.DataFrame(
            {
                "class": np.arange(30),
                "images": np.full(30, 20),
                "similarity": rng.normal(0.3 + 0.3 * i, 0.05, 30),
            }
        )
        table.loc[0, "similarity"] = np.nan  # a class with one image
        io.write_parquet(tmp_path / f"{i}.parquet", table)
        frequencies.append(str(freq))
        similarities.append(str(tmp_path / f"{i}.parquet"))
    entry = BY_ID["fig04a"]
    params = {"id": entry.id, "draw": entry.draw, "reads": entry.reads, "labels": labels}
    fig = render(params, {"frequencies": frequencies, "similarities": similarities})
    ax_freq, ax_sim = fig.axes
    peaks = {}
    for label in labels:
        (line,) = [li for li in ax_sim.lines if li.get_gid() == f"density:{label}"]
        x, y = line.get_data()
        peaks[label] = x[np.argmax(y)]
    assert peaks["curated"] == pytest.approx(0.3, abs=0.05)
    assert peaks["web (shifted)"] == pytest.approx(0.6, abs=0.05)
    # without the similarity files, the frequency panel alone
    alone = render(params, {"frequencies": frequencies})
    assert len(alone.axes) == 1
