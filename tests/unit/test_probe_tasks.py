"""Probe tasks of the world and the transfer table: known answers on small hand-made inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from cliptail.data import probe_tasks as pt
from cliptail.data.dataset_dir import DatasetDir
from cliptail.evaluate import transfer

CONCEPTS = pd.DataFrame(
    {
        "index": [0, 1, 2],
        "name": ["blorp", "zint", "quax"],
        "attributes": [
            "shape=disc;color=red;pattern=plain;parts=1;accent=white",
            "shape=cross;color=red;pattern=checks;parts=2;accent=white",
            "shape=disc;color=blue;pattern=plain;parts=10;accent=black",
        ],
    }
)


def evalset_manifest(per_class: int = 10) -> pd.DataFrame:
    labels = np.repeat([0, 1, 2], per_class)
    return pd.DataFrame(
        {"image": [f"val/{i:07d}" for i in range(len(labels))], "label": labels, "caption": "x"}
    )


def test_parse_attributes():
    assert pt.parse_attributes("shape=disc;color=red;parts=2") == {
        "shape": "disc",
        "color": "red",
        "parts": "2",
    }


def test_split_per_class_is_60_20_20_per_label_and_seeded():
    labels = np.repeat([0, 1, 2], [10, 5, 2])
    split = pt.split_per_class(labels, seed=3)
    for label, (train, val, test) in {0: (6, 2, 2), 1: (3, 1, 1), 2: (2, 0, 0)}.items():
        rows = split[labels == label]
        assert [(rows == s).sum() for s in pt.SPLITS] == [train, val, test]
    np.testing.assert_array_equal(split, pt.split_per_class(labels, seed=3))
    assert not np.array_equal(split, pt.split_per_class(labels, seed=4))


def test_concept_task_keeps_the_concepts_as_classes():
    df, names = pt.build_task("concept", evalset_manifest(), CONCEPTS)
    assert names == ["blorp", "zint", "quax"]
    np.testing.assert_array_equal(df["label"], np.repeat([0, 1, 2], 10))
    assert df.groupby("label")["split"].apply(lambda s: (s == "train").sum()).tolist() == [6] * 3


def test_attribute_tasks_label_the_concepts_attribute():
    df, names = pt.build_task("color", evalset_manifest(), CONCEPTS)
    assert names == ["blue", "red"]
    np.testing.assert_array_equal(df["label"], np.repeat([1, 1, 0], 10))
    df, names = pt.build_task("parts", evalset_manifest(), CONCEPTS)
    assert names == ["1", "2", "10"]  # numeric order, not "1" < "10" < "2"
    np.testing.assert_array_equal(df["label"], np.repeat([0, 1, 2], 10))
    # the split is per concept, the same for every task over the same images
    shape, _ = pt.build_task("shape", evalset_manifest(), CONCEPTS)
    pattern, _ = pt.build_task("pattern", evalset_manifest(), CONCEPTS)
    assert (shape["concept"] == pattern["concept"]).all()


def test_unknown_task_and_missing_attribute_are_named():
    with pytest.raises(ValueError, match="unknown probe task 'texture'"):
        pt.build_task("texture", evalset_manifest(), CONCEPTS)
    bare = CONCEPTS.assign(attributes="shape=disc")
    with pytest.raises(ValueError, match="no attribute 'color'"):
        pt.build_task("color", evalset_manifest(), bare)


def test_write_task_writes_a_dataset_folder_that_validates(tmp_path):
    evalset = DatasetDir(tmp_path / "eval_val")
    evalset.root.mkdir()
    io.write_classes(evalset.classes, ["c0", "c1", "c2"], list(CONCEPTS["name"]))
    io.write_parquet(evalset.manifest, evalset_manifest())
    io.write_json(evalset.source, {"image_root": "resources/world", "image_format": "world"})
    io.write_parquet(tmp_path / "concepts.parquet", CONCEPTS)
    report = pt.write_task("shape", evalset, tmp_path / "concepts.parquet", tmp_path / "probe")
    out = DatasetDir(tmp_path / "probe")
    assert report["classes"] == 2 and report["split_counts"] == {"train": 18, "val": 6, "test": 6}
    assert out.read_classes()["name"].tolist() == ["cross", "disc"]
    assert len(out.read_manifest()) == 30
    assert out.image_root() == "resources/world"


def test_split_arrays_single_and_multi_label():
    df = pd.DataFrame(
        {
            "label": [0, 1, 2, 0],
            "labels": [[0], [1, 2], [2], [0, 1]],
            "split": ["train", "val", "test", "train"],
        }
    )
    features = np.arange(8.0).reshape(4, 2)
    parts = pt.split_arrays(df, features, 3)
    np.testing.assert_array_equal(parts["train"][0], features[[0, 3]])
    np.testing.assert_array_equal(parts["train"][1], [[1, 0, 0], [1, 1, 0]])
    np.testing.assert_array_equal(parts["val"][1], [[0, 1, 1]])
    hard = pt.split_arrays(df.assign(difficult=[[], [0], [], [2]]), features, 3)
    np.testing.assert_array_equal(hard["train"][1], [[1, 0, 0], [1, 1, -1]])
    np.testing.assert_array_equal(hard["val"][1], [[-1, 1, 1]])
    single = pt.split_arrays(df.drop(columns="labels"), features, 3)
    np.testing.assert_array_equal(single["train"][1], [0, 0])
    with pytest.raises(ValueError, match="3 feature rows for 4 manifest rows"):
        pt.split_arrays(df, features[:3], 3)


# --- the transfer table --------------------------------------------------------------------------


def record(run: str, probe_set: str, score: float) -> dict:
    return {
        "run": run,
        "probe_set": probe_set,
        "metric": "top1",
        "score": score,
        "l2": 1.0,
        "num_train": 6,
        "num_val": 2,
        "num_test": 2,
    }


RUNS = {
    "dino_curated": {"method": "dino", "source": "curated", "recipe": "default", "seed": 0},
    "dino_web": {"method": "dino", "source": "web", "recipe": "default", "seed": 0},
    "dino_web_s1": {"method": "dino", "source": "web", "recipe": "default", "seed": 1},
    "dino_web_sub": {"method": "dino", "source": "web", "recipe": "s64", "seed": 0},
}


def test_transfer_table_and_deltas_to_the_reference():
    records = [
        record("dino_curated", "shape", 80.0),
        record("dino_curated", "color", 60.0),
        record("dino_web", "shape", 70.0),
        record("dino_web", "color", 50.0),
        record("dino_web_s1", "shape", 74.0),
        record("dino_web_s1", "color", 52.0),
        record("dino_web_sub", "shape", 78.0),
        record("dino_web_sub", "color", 61.0),
    ]
    table = transfer.transfer_table("dino", RUNS, records, "mini")
    assert len(table) == 8 and set(table["source"]) == {"curated", "web"}
    d = transfer.deltas(table, {"source": "curated", "recipe": "default"})
    got = {(r.recipe, r.probe_set): (r.delta, r.seeds) for r in d.itertuples()}
    assert got == {
        ("default", "shape"): (-8.0, 2),  # seeds 70 and 74: mean 72
        ("default", "color"): (-9.0, 2),
        ("s64", "shape"): (-2.0, 1),
        ("s64", "color"): (1.0, 1),
    }
    with pytest.raises(ValueError, match="matches 2 settings"):
        transfer.deltas(table, {"source": "web"})
    with pytest.raises(ValueError, match="not in study"):
        transfer.transfer_table("dino", {}, records, "mini")


def test_probe_metric_of_world_tasks():
    assert transfer.probe_metric("shape") == "top1"
    with pytest.raises(ValueError, match="unknown probe set 'mnist'"):
        transfer.probe_metric("mnist")


def test_probe_record_scores_the_test_split():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 20)
    features = np.eye(3)[labels] * 5 + rng.normal(0, 0.3, (60, 3))
    df = pd.DataFrame({"label": labels, "split": pt.split_per_class(labels, 0)})
    rec = transfer.probe_record("r", "concept", features, df, 3, grid=[1e-2, 1.0])
    assert rec["score"] == 100.0 and rec["metric"] == "top1"
    assert (rec["num_train"], rec["num_val"], rec["num_test"]) == (36, 12, 12)
    assert set(rec["val_scores"]) == {"0.01", "1"}
