"""Planning the DINO study: run names, normalised factors, recipes, and the files each job reads
(probe studies get linear probes and a transfer table, never zero-shot evaluations)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from cliptail import config as cfg
from cliptail import layout
from cliptail.study import build_plan, train_spec
from cliptail.train.spec import TrainSpec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"


def load(*presets: str, dino: bool = True) -> dict:
    """The default configuration with the DINO study switched on (the local preset runs it)."""
    data = cfg.load_yaml(ROOT / "config/config.yaml")
    data["studies"]["dino"]["enabled"] = dino
    for preset in presets:
        data = cfg.deep_merge(data, cfg.load_yaml(ROOT / preset))
    return cfg.validate(data, SCHEMA)


def test_the_default_dino_study_plans_six_runs_with_readable_names():
    plan = build_plan(load())
    runs = plan.studies["dino"]
    assert runs == [
        "dino_curated_full_s1_eval_seed0",
        "dino_web_full_s1_eval_seed0",
        "dino_web_full_s1_eval_seed0_recipe-k1024",
        "dino_web_full_s1_eval_seed0_recipe-s64",
        "dino_web_full_s1_eval_seed0_recipe-s256",
        "dino_web_full_s1_eval_seed0_recipe-s1024",
    ]
    run = plan.runs["dino_web_full_s1_eval_seed0_recipe-s64"]
    # captions, text tower, head and vocabulary do not apply to DINO: normalised away
    assert run.factors["caption"] == "full" and run.factors["text_tower"] is None
    assert run.factors["head"] is None and run.factors["vocab_size"] is None
    # the DINO datasets are the SL datasets of the same source (one curation each)
    assert run.dataset == "web_full_s1_eval"
    assert plan.probe_studies() == ["dino"]
    assert "dino" not in plan.zeroshot_studies()
    assert set(plan.probed_runs()) == set(runs)
    assert not set(plan.zeroshot_runs()) & set(runs)


def test_dino_recipes_reach_the_training_spec():
    plan = build_plan(load())
    spec = TrainSpec.from_dict(train_spec(plan.runs["dino_web_full_s1_eval_seed0_recipe-s64"]))
    resolved = spec.resolved()
    assert resolved.method == "dino"
    assert resolved.dino.prototypes == 4096 and resolved.dino.subsample == 64
    assert resolved.optim.lr == pytest.approx(0.03 * 128 / 256)
    full = TrainSpec.from_dict(train_spec(plan.runs["dino_web_full_s1_eval_seed0"])).resolved()
    assert full.dino.subsample is None
    fewer = TrainSpec.from_dict(
        train_spec(plan.runs["dino_web_full_s1_eval_seed0_recipe-k1024"])
    ).resolved()
    assert fewer.dino.prototypes == 1024


def test_clip_and_sl_specs_carry_no_dino_key():
    plan = build_plan(load())
    for name in plan.zeroshot_runs():
        assert "dino" not in TrainSpec.from_dict(train_spec(plan.runs[name])).to_dict()


def test_a_study_mixing_dino_with_zero_shot_runs_is_refused():
    config = copy.deepcopy(load())
    config["studies"]["dino"]["runs"].append({"method": "clip"})
    with pytest.raises(cfg.ConfigError, match=r"studies.dino: mixes \['dino'\] runs"):
        build_plan(config)


def test_job_files_route_dino_runs_to_probes_only():
    config = load()
    plan = build_plan(config)
    files = layout.JobFiles(plan, config)
    dino = "dino_curated_full_s1_eval_seed0"
    assert not any(f"/{dino}/" in p for p in files.eval_records())
    assert not any(run == dino for run, _ in files.bootstrap_records())
    assert files.probe_sets == ["concept", "concept_v2", "shape", "color", "pattern", "parts"]
    assert layout.probe_result(dino, "shape") in files.all_probe_results()
    assert len(files.probe_results("dino")) == 6 * 6
    inputs = files.probe_features(dino)
    assert inputs["model"] == f"results/runs/{dino}/checkpoint.pt"
    assert "results/data/probe_shape/manifest.parquet" in inputs["folders"]
    assert layout.probe_set_dir("food101") == "results/data/transfer_food101"
    # a DINO run trains on the same files as an SL run of its dataset
    train = files.train(dino)
    assert train["manifest"] == "results/data/curated_full_s1_eval/manifest.parquet"
    assert "text_embeddings" not in train and "class_embeddings" not in train


def test_smoke_preset_has_a_small_dino_study():
    config = load("config/presets/smoke.yaml")
    plan = build_plan(config)
    assert len(plan.studies["dino"]) == 3
    assert config["transfer"]["probe_sets"] == ["concept", "shape"]


def test_probe_sets_must_be_known():
    data = cfg.load_yaml(ROOT / "config/config.yaml")
    data["transfer"]["probe_sets"] = ["mnist"]
    with pytest.raises(cfg.ConfigError, match="transfer.probe_sets.0"):
        cfg.validate(data, SCHEMA)
