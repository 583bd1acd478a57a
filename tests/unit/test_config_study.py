"""Config validation (schema) and the expansion of studies into datasets and runs."""

import copy
from pathlib import Path

import pytest

from cliptail import config as cfg
from cliptail.study import build_plan, dataset_name, run_name, train_spec

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"


def load(path="config/config.yaml"):
    return cfg.validate(cfg.load_yaml(ROOT / path), SCHEMA)


def test_default_and_presets_are_valid():
    load()
    smoke = cfg.deep_merge(
        cfg.load_yaml(ROOT / "config/config.yaml"),
        cfg.load_yaml(ROOT / "config/presets/smoke.yaml"),
    )
    cfg.validate(smoke, SCHEMA)


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda c: c.update(bogus=1), r"bogus: unknown key"),
        (
            lambda c: c["defaults"].update(scale=1.5),
            r"defaults.scale: 1.5 is greater than the maximum of 1",
        ),
        (lambda c: c["defaults"].update(caption="poem"), r"defaults.caption: 'poem' is not one of"),
        (
            lambda c: c["studies"]["vocabulary"]["runs"][0]["grid"].update(colour=["red"]),
            r"studies.vocabulary.runs.0.grid",
        ),
        (lambda c: c.update(evalsets=["test"]), r"evalsets.0"),
        (lambda c: c.update(text_encoder="word2vec"), r"text_encoder: 'word2vec' does not match"),
    ],
)
def test_bad_config_names_key_and_reason(mutate, message):
    c = cfg.load_yaml(ROOT / "config/config.yaml")
    mutate(c)
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.validate(c, SCHEMA)


def test_defaults_are_filled():
    c = cfg.validate({"studies": {}}, SCHEMA)
    assert c["defaults"]["vocab_size"] == "full"
    assert c["evalsets"] == ["val", "v2"]
    assert c["text_encoder"] == "minilm"


def test_plan_dedupes_runs_shared_between_studies():
    plan = build_plan(load())
    full_clip = "clip_curated_full_s1_eval_tt-rand_seed0"
    assert full_clip in plan.studies["descriptiveness"]
    assert full_clip in plan.studies["scale"]
    assert set(plan.runs[full_clip].studies) >= {
        "descriptiveness",
        "scale",
        "distribution",
        "trim_tail",
    }
    assert len(plan.studies["descriptiveness"]) == 9
    # every run's dataset is planned, and names are unique slugs of the factors
    assert all(r.dataset in plan.datasets for r in plan.runs.values())
    assert len({run_name(r.factors) for r in plan.runs.values()}) == len(plan.runs)


def test_sl_ignores_caption_and_clip_ignores_vocabulary():
    c = load()
    c["studies"] = {
        "s": {
            "runs": [
                {"method": "sl", "grid": {"caption": ["title", "full"]}},
                {"method": "clip", "grid": {"vocab_size": [50, "full"]}},
            ]
        }
    }
    plan = build_plan(c)
    assert len(plan.runs) == 2  # one SL run (captions irrelevant), one CLIP run (vocab irrelevant)
    sl = next(r for r in plan.runs.values() if r.method == "sl")
    assert sl.factors["caption"] == "full" and sl.factors["text_tower"] is None


def test_train_spec_carries_recipe_and_factors():
    c = load()
    plan = build_plan(c)
    sl = plan.runs["sl_curated_full_s1_eval_head-rand_vocab-10-linear_seed0"]
    spec = train_spec(sl)
    assert spec["method"] == "sl" and spec["head"] == "rand"
    assert spec["vocab"] == {"shard": 8, "size": 10, "weight": "linear"}
    assert spec["optim"]["lr"] == c["train"]["sl"]["optim"]["lr"]
    clip = train_spec(plan.runs["clip_curated_title_s1_eval_tt-frozen_seed0"])
    assert clip["text_tower"] == "frozen" and "vocab" not in clip


def test_changing_one_study_changes_only_its_specs():
    a = load()
    b = copy.deepcopy(a)
    b["train"]["sl"]["optim"]["lr"] = 0.05
    pa, pb = build_plan(a), build_plan(b)
    changed = {n for n in pa.runs if train_spec(pa.runs[n]) != train_spec(pb.runs[n])}
    assert changed == {n for n, r in pa.runs.items() if r.method == "sl"}


def test_dataset_name_is_readable():
    f = {
        "source": "web",
        "caption": "title",
        "scale": 0.25,
        "classes": "all",
        "trim_k": 20,
        "trim_ceil": 1,
    }
    assert dataset_name(f) == "web_title_s0.25_all_trim20c1"


def test_caption_donor_is_the_embedded_superset_of_the_same_captions():
    plan = build_plan(load())
    embedded = {
        "curated_full_s1_all",
        "curated_full_s1_eval",
        "curated_full_s0.5_eval",
        "curated_title_s1_eval",
    }
    assert plan.caption_donor("curated_full_s0.5_eval", embedded) == "curated_full_s1_all"
    assert plan.caption_donor("curated_full_s1_eval", embedded) == "curated_full_s1_all"
    assert plan.caption_donor("curated_full_s1_all_matched", embedded) == "curated_full_s1_all"
    assert plan.caption_donor("curated_full_s1_all", embedded) is None
    assert plan.caption_donor("curated_title_s1_eval", embedded) is None  # no other title set
    without_all = embedded - {"curated_full_s1_all"}
    assert plan.caption_donor("curated_full_s0.5_eval", without_all) == "curated_full_s1_eval"
    assert plan.caption_donor("curated_full_s1_eval", without_all) is None
    assert plan.caption_donor("curated_full_s1_eval_trim20c0", embedded) == "curated_full_s1_all"


# --- every grid value is validated while planning, with the configuration key named -----------

BAD_GRID_VALUES = [
    ("source", "laion", r"grid.source\[0\] .*'laion' is not one of"),
    ("caption", "poem", r"grid.caption\[0\] .*'poem' is not one of"),
    ("scale", 2.0, r"grid.scale\[0\] .*2.0 is not a fraction in \(0, 1\]"),
    ("scale", 0, r"grid.scale\[0\] .*0 is not a fraction"),
    ("scale", "half", r"grid.scale\[0\] .*'half' is not a fraction"),
    ("classes", "some", r"grid.classes\[0\] .*'some' is not one of"),
    ("trim_k", -1, r"grid.trim_k\[0\] .*-1 is not an integer >= 0"),
    ("trim_k", 2.5, r"grid.trim_k\[0\] .*2.5 is not an integer >= 0"),
    ("trim_ceil", 2, r"grid.trim_ceil\[0\] .*2 is not one of \[0, 1\]"),
    ("method", "byol", r"grid.method\[0\] .*'byol' is not one of"),
    ("text_tower", "bert", r"grid.text_tower\[0\] .*'bert' is not one of"),
    ("head", "fixed", r"grid.head\[0\] .*'fixed' is not one of"),
    ("vocab_size", 0, r"grid.vocab_size\[0\] .*0 is neither 'full' nor an integer >= 1"),
    ("vocab_size", "half", r"grid.vocab_size\[0\] .*'half' is neither 'full'"),
    ("vocab_weight", "log", r"grid.vocab_weight\[0\] .*'log' is not one of"),
    ("seed", -3, r"grid.seed\[0\] .*-3 is not an integer >= 0"),
    ("seed", True, r"grid.seed\[0\] .*True is not an integer >= 0"),
]


@pytest.mark.parametrize("factor, value, message", BAD_GRID_VALUES)
def test_every_bad_grid_value_fails_at_planning_with_its_key(factor, value, message):
    config = load()
    config["studies"] = {"probe": {"runs": [{"method": "sl", "grid": {factor: [value]}}]}}
    with pytest.raises(ValueError, match=r"studies\.probe\.runs\[0\]\." + message):
        build_plan(config)


@pytest.mark.parametrize("factor, value, message", BAD_GRID_VALUES[:4])
def test_bad_fixed_value_and_default_name_their_key(factor, value, message):
    config = load()
    config["studies"] = {"probe": {"runs": [{"method": "clip", factor: value}]}}
    with pytest.raises(ValueError, match=rf"studies\.probe\.runs\[0\]\.{factor}: "):
        build_plan(config)
    config = load()
    config["defaults"][factor] = value
    with pytest.raises(ValueError, match=rf"defaults\.{factor}: "):
        build_plan(config)


def test_vocabulary_larger_than_the_classes_fails_at_planning():
    config = load("config/config.yaml")
    config["world"]["num_classes"] = 24
    config["studies"] = {"probe": {"runs": [{"method": "sl", "grid": {"vocab_size": [500]}}]}}
    with pytest.raises(ValueError, match=r"vocab_size: 500 exceeds the 24 classes"):
        build_plan(config)
    # the same vocabulary fits once open-world concepts are in the training data
    config["world"]["num_open_world"] = 600
    config["studies"]["probe"]["runs"][0]["classes"] = "all"
    assert len(build_plan(config).runs) == 1


def test_trimming_every_class_and_mixing_world_and_real_concept_sets_fail():
    config = load()
    config["world"]["num_classes"] = 24
    config["studies"] = {"probe": {"runs": [{"method": "clip", "grid": {"trim_k": [24]}}]}}
    with pytest.raises(ValueError, match=r"trim_k: 24 trims every one of the 24 classes"):
        build_plan(config)
    config["studies"] = {"probe": {"runs": [{"method": "clip", "classes": "in100"}]}}
    with pytest.raises(ValueError, match=r"classes: 'in100' does not apply to the synthetic"):
        build_plan(config)


def test_bad_world_and_recipe_fail_at_planning():
    config = load()
    config["world"]["num_classes"] = 1
    with pytest.raises(ValueError, match=r"world: .*num_classes"):
        build_plan(config)
    config = load()
    config["train"]["sl"]["optim"]["lr"] = -1
    with pytest.raises(ValueError, match=r"train \(sl\): .*optim.lr: must be a number > 0"):
        build_plan(config)


@pytest.mark.parametrize("key", ["threads", "workers", "device"])
def test_runtime_settings_are_not_part_of_the_recipe(key):
    config = load()
    config["train"][key] = 2
    with pytest.raises(ValueError, match=rf"\['{key}'\] are runtime settings"):
        build_plan(config)
    config = load()
    config["train"]["clip"][key] = 2
    with pytest.raises(ValueError, match=rf"\['clip.{key}'\] are runtime settings"):
        build_plan(config)


def test_scale_is_recorded_as_trained():
    config = load()
    config["studies"] = {"probe": {"runs": [{"method": "clip", "grid": {"scale": [0.5, 1]}}]}}
    plan = build_plan(config)
    assert sorted(r.factors["scale"] for r in plan.runs.values()) == [0.5, 1]


@pytest.mark.parametrize(
    "group, message",
    [
        (
            {"method": "clip", "source": "laionet", "caption": "title"},
            r"source 'laionet': caption 'title' needs IN-Caps metadata",
        ),
        ({"method": "clip", "source": "laionet_t0.8", "scale": 0.5}, r"scale must be 1"),
        (
            {"method": "clip", "source": "cc12m_cls", "classes": "in100"},
            r"classes 'in100' is defined for IN-Caps only",
        ),
        (
            {"method": "clip", "source": "incaps", "classes": "all"},
            r"classes: 'all' does not apply to the real-data source 'incaps'",
        ),
    ],
)
def test_real_data_combinations_fail_at_planning_with_their_run_group(group, message):
    config = cfg.validate(
        cfg.deep_merge(
            cfg.load_yaml(ROOT / "config/config.yaml"),
            cfg.load_yaml(ROOT / "config/presets/paper.yaml"),
        ),
        SCHEMA,
    )
    config["studies"] = {"probe": {"runs": [group]}}
    with pytest.raises(ValueError, match=r"studies\.probe\.runs\[0\]: .*" + message):
        build_plan(config)
    # SL ignores captions: the same group as SL plans (its dataset keeps the source's captions)
    if group.get("caption"):
        config["studies"] = {"probe": {"runs": [{**group, "method": "sl"}]}}
        assert len(build_plan(config).runs) == 1


def test_seeds_repeat_every_run_and_a_group_keeps_its_own_seed():
    c = load()
    single = build_plan(c)
    c["seeds"] = [0, 1, 2]
    c["studies"]["vocabulary"]["runs"][0]["seed"] = 7  # a group that sets its own seed
    plan = build_plan(c)
    vocab = [plan.runs[r] for r in plan.studies["vocabulary"]]
    assert {r.factors["seed"] for r in vocab} == {7}
    scale = [plan.runs[r] for r in plan.studies["scale"]]
    assert len(scale) == 3 * len(single.studies["scale"])
    by_name = {}
    for r in scale:
        by_name.setdefault(r.name.rsplit("_seed", 1)[0], set()).add(r.factors["seed"])
    assert all(seeds == {0, 1, 2} for seeds in by_name.values())
    # seed 0 keeps the single-seed run's name and spec: the default study's runs are reused
    for name in single.studies["scale"]:
        assert train_spec(plan.runs[name]) == train_spec(single.runs[name])


def test_study_seeds_override_the_top_level_seeds():
    c = load()
    c["seeds"] = [0, 1]
    c["studies"]["scale"]["seeds"] = [3]
    plan = build_plan(c)
    assert {plan.runs[r].factors["seed"] for r in plan.studies["scale"]} == {3}
    assert {plan.runs[r].factors["seed"] for r in plan.studies["distribution"]} == {0, 1}


def test_local_preset_is_the_default_study_on_three_seeds():
    local = cfg.validate(
        cfg.deep_merge(
            cfg.load_yaml(ROOT / "config/config.yaml"),
            cfg.load_yaml(ROOT / "config/presets/local.yaml"),
        ),
        SCHEMA,
    )
    single, plan = build_plan(load()), build_plan(local)
    assert "dino" not in single.studies  # the DINO study runs in local only (time)
    assert len(plan.zeroshot_runs()) == 3 * len(single.runs)
    assert len(plan.probed_runs()) == 3 * 6
    assert set(single.runs) < set(plan.runs)


@pytest.mark.parametrize(
    "seeds, message",
    [
        ([], r"seeds: \[\] should be non-empty"),
        ([0, 0], r"seeds: \[0, 0\] has non-unique elements"),
        ([-1], r"seeds.0: -1 is less than the minimum of 0"),
        (["a"], r"seeds.0: 'a' is not of type 'integer'"),
    ],
)
def test_bad_seeds_name_their_key(seeds, message):
    c = cfg.load_yaml(ROOT / "config/config.yaml")
    c["seeds"] = seeds
    with pytest.raises(cfg.ConfigError, match=message):
        cfg.validate(c, SCHEMA)


def test_bad_seeds_fail_at_planning_without_the_schema():
    c = load()
    c["studies"]["scale"]["seeds"] = [1, 1]
    with pytest.raises(cfg.ConfigError, match=r"studies.scale.seeds: lists a seed twice"):
        build_plan(c)
