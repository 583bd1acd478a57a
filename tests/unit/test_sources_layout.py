"""The source registry, the dataset folder and the files each workflow job reads."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from cliptail import config as cfg
from cliptail import factors, layout
from cliptail.data import sources
from cliptail.data.dataset_dir import DatasetDir
from cliptail.study import build_plan

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"


def load(*presets: str) -> dict:
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / preset))
    return cfg.validate(config, SCHEMA)


# --- registry --------------------------------------------------------------------------------


def test_every_dataset_source_and_evalset_has_a_registry_entry_with_images():
    for source in factors.SOURCES:
        entry = sources.for_dataset_source(source)
        assert entry.images and entry.image_format in ("world", "files", "webdataset")
    for evalset in factors.EVALSETS:
        assert sources.for_evalset(evalset).images
    with pytest.raises(ValueError, match="unknown dataset source 'laion'"):
        sources.for_dataset_source("laion")
    assert sources.base_dataset("laionet_t0.8") == "laionet"
    assert sources.base_dataset("incaps") == "incaps"
    with pytest.raises(ValueError, match="not a real source"):
        sources.base_dataset("curated")


def test_null_settings_resolve_to_the_pinned_download_and_user_values_win():
    config = load("config/presets/paper.yaml")
    resolved = sources.resolve(config["sources"])
    assert resolved["imagenetv2"]["sha256"] == sources.get("imagenetv2").pinned["sha256"]
    assert resolved["metadata"]["base_url"].endswith(f"{sources.METADATA_COMMIT}/metadata/")
    assert config["sources"]["imagenetv2"]["sha256"] is None  # the configuration is not changed
    config["sources"]["imagenetv2"]["url"] = "http://127.0.0.1:1/v2.tar.gz"
    assert sources.resolve(config["sources"])["imagenetv2"]["url"] == "http://127.0.0.1:1/v2.tar.gz"
    assert resolved["laionet"]["threshold"] == 0.7  # schema defaults are filled in


def test_image_root_comes_from_the_registry_or_the_configuration():
    configured = {"imagenet": {"root": "/data/imagenet"}, "yfcc15m": {"image_root": None}}
    assert sources.image_root(sources.get("imagenet"), configured) == "/data/imagenet"
    assert sources.image_root(sources.get("yfcc15m"), configured) is None
    assert sources.image_root(sources.get("laionet"), configured) == "resources/laionet/shards"
    assert sources.images_record("incaps", configured) == {
        "source": "incaps",
        "image_root": "/data/imagenet",
        "image_format": "files",
    }


def test_laion_parts_checksums_and_user_files():
    resolved = sources.resolve(load("config/presets/paper.yaml")["sources"])
    resolved["laion400m"]["sha256"] = {3: "a" * 64, "00007": "b" * 64}
    assert sources.laion_part_sha256(resolved, 3) == "a" * 64
    assert sources.laion_part_sha256(resolved, 7) == "b" * 64
    assert sources.laion_part_sha256(resolved, 1) is None
    assert sources.laion_part_url(resolved, 12).endswith(
        "/part-00012-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000.snappy.parquet"
    )
    hints = sources.user_files(resolved)
    assert set(hints) == {"yfcc15m_captions.jsonl", "cc12m_captions.tsv"}
    assert "YFCC-15M caption list" in hints["yfcc15m_captions.jsonl"]
    resolved["cc12m"]["captions"] = None
    with pytest.raises(ValueError, match=r"sources.cc12m.captions is not set"):
        sources.web_captions(resolved, "cc12m_cls")


@pytest.mark.parametrize(
    "key, value, message",
    [
        ("imagenetv2", {"sha256": "xyz"}, r"sources.imagenetv2.sha256"),
        ("imagenet", {"rooot": "/x"}, r"sources.imagenet.rooot: unknown key"),
        ("laionet", {"threshold": 2}, r"sources.laionet.threshold"),
        ("laion400m", {"parts": [40]}, r"sources.laion400m.parts.0"),
        ("yfcc15m", {"ambiguous": "some"}, r"sources.yfcc15m.ambiguous"),
        ("bogus", {}, r"sources.bogus: unknown key"),
    ],
)
def test_a_bad_sources_key_fails_when_the_configuration_loads(key, value, message):
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    config["sources"] = {key: value}
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.validate(config, SCHEMA)


# --- dataset folder --------------------------------------------------------------------------


def test_dataset_folder_round_trip(tmp_path):
    folder = DatasetDir(tmp_path / "ds")
    classes = pd.DataFrame({"index": [0, 1, 2], "id": ["a", "b", "c"], "name": ["x", "y", "z"]})
    df = pd.DataFrame({"image": ["i0", "i1", "i2"], "label": [0, 0, 2], "caption": ["p", "q", "r"]})
    folder.write(
        df,
        classes,
        source={"image_root": "resources/world", "image_format": "world"},
        report={"factors": {"trim_k": 0}},
    )
    assert sorted(p.name for p in folder.root.iterdir()) == sorted(
        Path(p).name for p in DatasetDir.layout(str(folder.root)).values()
    )
    assert folder.read_manifest()["label"].tolist() == [0, 0, 2]
    assert folder.read_report()["images"] == 3 and folder.read_report()["nonempty_classes"] == 2
    assert folder.read_source()["dataset"] == "ds" and folder.image_root() == "resources/world"
    evalset = DatasetDir(tmp_path / "eval_x")
    evalset.write(df, classes, source={"image_root": None})
    assert not evalset.frequency.exists() and not evalset.report.exists()
    with pytest.raises(ValueError, match="no image_root"):
        evalset.image_root()
    with pytest.raises(FileNotFoundError, match="build the dataset first"):
        DatasetDir(tmp_path / "missing").read_classes()


# --- job files -------------------------------------------------------------------------------


def test_job_files_of_the_default_study():
    config = load()
    plan = build_plan(config)
    files = layout.JobFiles(plan, config)
    run = plan.default_run("clip")
    inputs = files.train(run)
    data = layout.dataset_dir(plan.runs[run].dataset)
    assert inputs == {
        "manifest": f"{data}/manifest.parquet",
        "classes": f"{data}/classes.tsv",
        "source": f"{data}/source.json",
        "images": ["resources/world/world.json"],
    }
    frozen = next(r for r in plan.runs.values() if r.frozen_text)
    assert files.train(frozen.name)["text_embeddings"].endswith("/text_embeddings.npy")
    evaluation = files.evaluate(frozen.name)
    assert evaluation["sources"] == [
        "results/data/eval_val/source.json",
        "results/data/eval_v2/source.json",
    ]
    assert len(evaluation["prompt_embeddings"]) == 2
    assert files.prompt_embeddings("v2")["reuse_source"] == "results/data/eval_val/classes.tsv"
    assert not files.real_datasets() and set(files.world_datasets()) == set(plan.datasets)


def test_job_files_of_the_paper_preset():
    config = load("config/presets/paper.yaml")
    plan = build_plan(config)
    files = layout.JobFiles(plan, config)
    assert set(files.real_datasets()) == set(plan.datasets)
    freq = next(d for d, s in plan.datasets.items() if s.factors["source"] == "laionet_freq")
    inputs = files.real_dataset(freq)
    assert inputs["manifest"] == "results/data/laionet/manifest.parquet"
    assert inputs["incaps_frequency"] == "results/data/incaps/frequency.tsv"
    # no pool file configured: the pool the retrieval rules build; a user file wins; none at all
    assert inputs["pool"] == layout.RETRIEVAL_POOL
    config["sources"]["laionet"]["retrieval_pool"] = "my/pool.parquet"
    assert layout.JobFiles(plan, config).real_dataset(freq)["pool"] == "my/pool.parquet"
    config["sources"]["laionet"].update(retrieval_pool=None, retrieval={"build": False})
    assert "pool" not in layout.JobFiles(plan, config).real_dataset(freq)
    synset = next(d for d, s in plan.datasets.items() if s.factors["caption"] == "synset_templates")
    assert files.real_dataset(synset)["wordnet"] == layout.WORDNET
    run = next(r for r in plan.runs.values() if r.factors["source"] == "incaps")
    assert files.train(run.name)["images"] == ["resources/imagenet/imagenet.json"]
    evaluation = files.evaluate(run.name)
    assert evaluation["images"] == sorted(
        [
            "resources/imagenet/imagenet.json",
            "resources/imagenetv2/imagenetv2-matched-frequency-format-val",
        ]
    )
    laionet = next(r for r in plan.runs.values() if r.factors["source"].startswith("laionet"))
    assert files.train(laionet.name)["images"] == ["resources/laionet/shards"]


def test_concept_frequency_jobs():
    config = load()
    config["concept_frequency"]["sets"] = {
        "mine": {"captions": ["a.parquet"], "concepts": ["imagenet", "cub", "x/my_set.json"]}
    }
    jobs = layout.JobFiles(build_plan(config), config).concept_frequency_jobs()
    assert set(jobs) == {"mine_imagenet", "mine_cub", "mine_my_set"}
    assert jobs["mine_imagenet"]["inputs"]["concepts"] == [
        "resources/metadata/descriptors/descriptors_imagenet.json",
        "resources/metadata/descriptors/descriptors_imagenet_synset.json",
    ]
    assert jobs["mine_my_set"]["inputs"]["concepts"] == ["x/my_set.json"]
    assert jobs["mine_cub"]["params"]["concepts"] == "cub"
