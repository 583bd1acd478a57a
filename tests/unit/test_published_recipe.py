"""The recipe behind the published numbers (paper preset defaults) and each documented alternative.

Known answers: the SL per-epoch cosine, SGD without Nesterov, weight decay on every parameter,
the trim-tail ``recipe`` (batch 1024 in 256-image vocabulary shards), open_clip's zero-shot class
names, IN-Caps rows without text kept, and the float32 pseudo-inverse cut-off of NC1.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

from cliptail import config as cfg
from cliptail import factors as F
from cliptail.data import incaps
from cliptail.data.metadata import imagenet_classes
from cliptail.evaluate import metrics as M
from cliptail.study import build_plan, normalise_factors, run_name, train_spec
from cliptail.train.optim import build_optimizer, learning_rate, milestone_epochs, param_groups
from cliptail.train.spec import TrainSpec
from cliptail.train.vocab import class_weights, shard_vocabularies
from tests.fixtures.real_sources import authors_counts, shared_metadata

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"
PAPER = ROOT / "config" / "presets" / "paper.yaml"
TRIM_RECIPE = "b1024-shard256"


def paper_config() -> dict:
    """The paper preset merged over config/config.yaml, validated (as `--configfile` does)."""
    merged = cfg.deep_merge(cfg.load_yaml(ROOT / "config/config.yaml"), cfg.load_yaml(PAPER))
    return cfg.validate(merged, SCHEMA)


@pytest.fixture(scope="module")
def paper():
    return paper_config()


@pytest.fixture(scope="module")
def paper_plan(paper):
    return build_plan(paper)


def resolved(run) -> TrainSpec:
    return TrainSpec.from_dict(train_spec(run)).resolved()


# --- 1. SL optimisation: the released scripts' recipe -------------------------------------------


def test_paper_sl_default_is_the_released_scripts_recipe(paper_plan):
    sl = resolved(paper_plan.runs[paper_plan.default_run("sl")])
    o = sl.optim
    assert (o.schedule, o.schedule_unit, o.nesterov, o.decay_all) == (
        "cosine",
        "epoch",
        False,
        True,
    )
    assert (o.epochs, o.batch_size, o.lr, o.weight_decay, o.warmup_steps) == (90, 256, 0.1, 1e-4, 0)
    assert (o.momentum, sl.amp, sl.sync_bn, sl.vocab.shard) == (0.9, False, False, 64)
    clip = resolved(paper_plan.runs[paper_plan.default_run("clip")])
    assert (clip.amp, clip.sync_bn, clip.optim.decay_all) == (True, True, False)
    assert (clip.optim.schedule, clip.optim.schedule_unit) == ("cosine", "step")


def test_per_epoch_cosine_learning_rates_of_a_90_epoch_run():
    o = (
        TrainSpec.from_dict(
            {"method": "sl", "optim": {"lr": 0.1, "schedule": "cosine", "schedule_unit": "epoch"}}
        )
        .resolved()
        .optim
    )
    assert o.epochs == 90 and o.warmup_steps == 0
    steps = 10  # steps per epoch: the lr is constant within an epoch
    expected = {
        0: 0.1,
        1: 0.09996954135095479,  # 0.05 (1 + cos(pi / 90))
        30: 0.075,  # 0.05 (1 + cos(pi / 3))
        45: 0.05,
        60: 0.025,
        89: 3.0458649045213e-05,  # 0.05 (1 - cos(pi / 90))
    }
    for epoch, lr in expected.items():
        for step in (epoch * steps, epoch * steps + steps - 1):
            assert learning_rate(o, step, steps) == pytest.approx(lr, rel=1e-12, abs=1e-15)


def _toy_sl_model() -> nn.Module:
    class Toy(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, bias=False)
            self.bn = nn.BatchNorm2d(4)
            self.fc = nn.Linear(4, 5)
            self.logit_scale = nn.Parameter(torch.tensor(2.0))

    return Toy()


def test_decay_all_decays_every_parameter_and_sgd_has_no_nesterov(paper_plan):
    spec = resolved(paper_plan.runs[paper_plan.default_run("sl")])
    model = _toy_sl_model()
    opt = build_optimizer(model, spec)
    assert isinstance(opt, torch.optim.SGD)
    decayed = [p for g in opt.param_groups if g["weight_decay"] == 1e-4 for p in g["params"]]
    undecayed = [p for g in opt.param_groups if g["weight_decay"] == 0 for p in g["params"]]
    assert len(decayed) == len(list(model.parameters())) == 6 and undecayed == []
    assert all(g["nesterov"] is False and g["momentum"] == 0.9 for g in opt.param_groups)
    # the option: open_clip's rule exempts bn weight/bias, fc bias and the logit scale
    no_decay, decay = param_groups(model, 1e-4, decay_all=False)
    assert len(no_decay["params"]) == 4 and len(decay["params"]) == 2


def test_decay_all_is_validated():
    with pytest.raises(ValueError, match=r"optim\.decay_all: must be true or false, got 'yes'"):
        TrainSpec.from_dict({"method": "sl", "optim": {"decay_all": "yes"}})


def _commented_option() -> dict:
    """The paper text's SL recipe as commented in config/presets/paper.yaml (`#   sl:` block)."""
    lines = PAPER.read_text().splitlines()
    start = lines.index("#   sl:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:])
    return yaml.safe_load("\n".join(block))


def test_paper_text_recipe_is_the_documented_option(paper):
    option = _commented_option()
    config = copy.deepcopy(paper)
    config["train"] = cfg.deep_merge(config["train"], option)
    plan = build_plan(config)
    spec = resolved(plan.runs[plan.default_run("sl")])
    o = spec.optim
    assert (o.schedule, o.nesterov, o.decay_all, spec.amp, spec.sync_bn) == (
        "multistep",
        True,
        False,
        True,
        True,
    )
    assert milestone_epochs(o) == [30, 50, 70]
    lrs = [learning_rate(o, e, 1) for e in (29, 30, 49, 50, 70)]
    assert lrs == pytest.approx([0.1, 0.01, 0.01, 0.001, 0.0001])


# --- 2. the recipe factor: trim-tail SL frozen head + subsampled vocabulary ---------------------


def test_trim_tail_sub_vocabulary_runs_use_their_recipe(paper, paper_plan):
    trim = [r for r in paper_plan.runs_of("trim_tail") if r.factors["recipe"] != "default"]
    assert len(trim) == 13  # trim_k 0 once + 6 k x 2 ceilings
    for run in trim:
        assert run.name.endswith(f"_recipe-{TRIM_RECIPE}")
        spec = resolved(run)
        assert (spec.head, spec.vocab.size, spec.vocab.shard) == ("frozen", 50, 256)
        assert (spec.optim.batch_size, spec.optim.lr, spec.optim.schedule_unit) == (
            1024,
            0.4,
            "epoch",
        )
        assert spec.optim.batch_size // spec.vocab.shard == 4
    # the text_tower study's SL frozen K=50 shares every other factor value: a different run
    twin = run_name(normalise_factors({**trim[0].factors, "recipe": "default"}))
    assert twin in paper_plan.studies["text_tower"]
    assert "recipe" not in twin
    assert (
        resolved(paper_plan.runs[twin]).optim.batch_size,
        resolved(paper_plan.runs[twin]).vocab.shard,
    ) == (256, 64)


def test_default_recipe_keeps_every_run_name():
    plan = build_plan(cfg.validate(cfg.load_yaml(ROOT / "config/config.yaml"), SCHEMA))
    assert all("recipe" not in n for n in plan.runs)
    assert (
        run_name(normalise_factors(F.DEFAULT_FACTORS)) == "clip_curated_full_s1_eval_tt-rand_seed0"
    )
    sl = {**F.DEFAULT_FACTORS, "method": "sl", "vocab_size": 64, "recipe": "big"}
    assert run_name(normalise_factors(sl)) == (
        "sl_curated_full_s1_eval_head-rand_vocab-64-linear_seed0_recipe-big"
    )


def _mini_with(recipes: dict, group: dict) -> dict:
    config = cfg.validate(cfg.load_yaml(ROOT / "config/config.yaml"), SCHEMA)
    config["train"]["recipes"] = recipes
    config["studies"] = {"probe": {"runs": [group]}}
    return config


def test_recipes_plan_by_name_and_merge_over_the_method_recipe():
    recipes = {"big": {"model": {"image_size": 64}, "sl": {"optim": {"batch_size": 1024}}}}
    group = {"method": "sl", "grid": {"recipe": ["default", "big"]}}
    plan = build_plan(_mini_with(recipes, group))
    names = plan.studies["probe"]
    assert len(names) == 2 and names[1] == names[0] + "_recipe-big"
    base, big = (resolved(plan.runs[n]) for n in names)
    assert (base.optim.batch_size, base.model.image_size) == (256, 32)
    assert (big.optim.batch_size, big.model.image_size) == (1024, 64)
    assert big.optim.schedule == base.optim.schedule == "multistep"  # the rest is the method's
    assert big.vocab.shard == base.vocab.shard == 8  # the mini recipe's shard, kept


@pytest.mark.parametrize(
    ("recipes", "group", "message"),
    [
        (
            {},
            {"method": "sl", "recipe": "nope"},
            r"studies\.probe\.runs\[0\]\.recipe: recipe 'nope'",
        ),
        (
            {"big": {}},
            {"method": "sl", "grid": {"recipe": ["big", "nope"]}},
            r"studies\.probe\.runs\[0\]\.grid\.recipe\[1\]: recipe 'nope' is not defined; .*\['big'\]",
        ),
        (
            {"big": {"sl": {"optim": {"lr": -1}}}},
            {"method": "sl"},
            r"train\.recipes\.big \(sl\): train spec: optim\.lr: must be a number > 0",
        ),
        ({"big": {"threads": 4}}, {"method": "sl"}, r"train\.recipes\.big: \['threads'\]"),
    ],
)
def test_bad_recipes_fail_at_planning_with_the_key(recipes, group, message):
    with pytest.raises(ValueError, match=message):
        build_plan(_mini_with(recipes, group))


def test_schema_rejects_a_recipe_named_default():
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    config["train"]["recipes"] = {"default": {}}
    with pytest.raises(cfg.ConfigError, match=r"train\.recipes"):
        cfg.validate(config, SCHEMA)


def test_256_image_shards_of_incaps_hold_about_222_classes_so_k50_adds_none():
    counts = np.asarray(authors_counts("incaps_imagenet_ori"), dtype=np.int64)
    assert counts.sum() == 448_896
    p = counts / counts.sum()
    expected = float(np.sum(1.0 - (1.0 - p) ** 256))
    assert expected == pytest.approx(222.08, abs=0.01)
    # the other SL runs' 64-image shards: about 62 classes, so K=50 adds none there either
    assert float(np.sum(1.0 - (1.0 - p) ** 64)) == pytest.approx(61.74, abs=0.01)
    # the training order: the shuffled pool, batches of 1024 split into 4 vocabulary shards
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(len(counts)), counts)[rng.permutation(counts.sum())]
    batches = labels[: 250 * 1024].reshape(250, 1024)
    weights = class_weights(counts, "linear")
    sizes, added = [], 0
    for batch in batches:
        vocabularies = shard_vocabularies(
            batch, size=50, shard=256, weights=weights, rngs=[rng] * 4
        )
        for k, vocab in enumerate(vocabularies):
            present = np.unique(batch[k * 256 : (k + 1) * 256])
            added += len(np.setdiff1d(vocab, present))
            sizes.append(len(vocab))
    assert added == 0
    assert min(sizes) > 50
    # 1000 shards: the standard error of the mean is about 0.2 classes
    assert np.mean(sizes) == pytest.approx(expected, abs=1.0)


# --- 3. zero-shot class names --------------------------------------------------------------------


def _embed_texts_script():
    path = ROOT / "workflow" / "scripts" / "embed_texts.py"
    spec = importlib.util.spec_from_file_location("embed_texts_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_zeroshot_prompts_use_open_clip_names_by_default(tmp_path, paper):
    from open_clip.zero_shot_metadata import IMAGENET_CLASSNAMES, OPENAI_IMAGENET_TEMPLATES

    classes = imagenet_classes(shared_metadata())
    path = tmp_path / "classes.tsv"
    classes.to_csv(path, sep="\t", index=False)  # an ImageNet evaluation set's classes.tsv
    texts_for = _embed_texts_script().texts_for
    choice = paper["evaluation"]["zeroshot_names"]
    assert choice == "openclip"
    t = len(OPENAI_IMAGENET_TEMPLATES)
    prompts = texts_for("prompts", str(path), choice)
    assert len(prompts) == 1000 * t
    assert (
        prompts[0]
        == OPENAI_IMAGENET_TEMPLATES[0](IMAGENET_CLASSNAMES[0])
        == "a bad photo of a tench."
    )
    assert prompts[27 * t] == "a bad photo of a newt."  # descriptors: "eft"
    assert prompts[638 * t] == "a bad photo of a tights."  # descriptors: "maillot"
    option = texts_for("prompts", str(path), "descriptors")
    assert option[0] == "a bad photo of a tench."
    assert (
        option[27 * t] == "a bad photo of a eft." and option[638 * t] == "a bad photo of a maillot."
    )
    assert sum(a != b for a, b in zip(prompts, option, strict=True)) == 4 * t
    # an ImageNet subset keeps open_clip's names by wnid; other class spaces keep their own
    from cliptail.evaluate.zeroshot import zeroshot_class_names

    subset = classes.iloc[[638, 27]].reset_index(drop=True)
    assert zeroshot_class_names(subset) == ["tights", "newt"]
    world = classes.iloc[:2].assign(id=["c0", "c1"])
    assert zeroshot_class_names(world) == ["tench", "goldfish"]


def test_zeroshot_names_default_in_schema_and_rejects_unknown():
    config = cfg.validate({"studies": {}}, SCHEMA)
    evaluation = config["evaluation"]
    assert (evaluation["zeroshot_names"], evaluation["nc1_pinv"]) == ("openclip", "float32")
    with pytest.raises(cfg.ConfigError, match=r"evaluation\.zeroshot_names"):
        cfg.validate({"evaluation": {"zeroshot_names": "wordnet"}}, SCHEMA)


# --- 4. IN-Caps rows without text ---------------------------------------------------------------


def test_incaps_rows_without_text_are_kept_and_counted(tmp_path, paper):
    classes = imagenet_classes(shared_metadata())
    wnids = classes["id"].tolist()

    def record(wnid, n, text):
        return {
            "filename": f"{wnid}_{n}.JPEG",
            "title": "a title" if text else "",
            "tags": ["tag"] if text else [],
            "description": "" if text else " \n",
            "wnid": wnid,
        }

    # class 0: 3 rows (1 empty); class 1: 2 rows (both empty); class 2: 1 row with text
    layout = {0: [True, False, True], 1: [False, False], 2: [True]}
    records = [record(wnids[c], n, t) for c, ts in layout.items() for n, t in enumerate(ts)]
    path = tmp_path / "imagenet_captions.json"
    path.write_text(json.dumps(records))
    assert paper["sources"]["incaps"]["keep_empty_text"] is True
    assert cfg.validate({}, SCHEMA)["sources"]["incaps"]["keep_empty_text"] is True

    df, report = incaps.read_imagenet_captions(path, classes, progress=False)
    counts = np.bincount(df["label"], minlength=1000)
    assert counts[:3].tolist() == [3, 2, 1] and counts.sum() == len(records) == 6
    assert report["skipped"]["empty_text"] == 0
    dropped, report = incaps.read_imagenet_captions(
        path, classes, keep_empty_text=False, progress=False
    )
    assert np.bincount(dropped["label"], minlength=3)[:3].tolist() == [2, 0, 1]
    assert report["skipped"]["empty_text"] == 3


# --- 5. NC1 pseudo-inverse cut-off --------------------------------------------------------------


def test_nc1_pinv_cutoff_float32_default_and_float64_option():
    """Means (1, e), (-1, e), (0, -2e) with e = 1e-4: Sigma_B = diag(2/3, 2 e^2), eigenvalue
    ratio 3e-8, between D eps(float64) = 4.4e-16 and D eps(float32) = 2.4e-7. Class 0 has two
    samples (1 +- 1, e +- e), N = 4: Sigma_W^0 = 1/2 [[1, e], [e, e^2]].
    float32: Sigma_B^+ = diag(3/2, 0) -> NC1_0 = 3/4; float64: diag(3/2, 1/(2 e^2)) -> 3/4 + 1/4.
    """
    e = 1e-4
    assert 2 * np.finfo(np.float64).eps < 3 * e**2 < 2 * np.finfo(np.float32).eps
    h = np.array([[2.0, 2 * e], [0.0, 0.0], [-1.0, e], [0.0, -2 * e]])
    y = np.array([0, 0, 1, 2])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    table, overall = M.nc_metrics(h, y, w)  # default: the authors' float32 cut-off
    np.testing.assert_allclose(table["nc1"], [0.75, 0.0, 0.0], atol=1e-12)
    assert overall["nc1"] == pytest.approx(0.25)
    table, overall = M.nc_metrics(h, y, w, pinv="float64")
    np.testing.assert_allclose(table["nc1"], [1.0, 0.0, 0.0], rtol=1e-9, atol=1e-12)
    assert overall["nc1"] == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="pinv must be one of"):
        M.nc_metrics(h, y, w, pinv="float16")


def test_nc1_pinv_is_passed_from_the_records():
    from cliptail.evaluate.records import evaluation_records

    e = 1e-4
    h = np.array([[2.0, 2 * e], [0.0, 0.0], [-1.0, e], [0.0, -2 * e]])
    y = np.array([0, 0, 1, 2])
    w = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, -1.0]])
    kwargs = dict(
        features=h,
        targets=y,
        preds=y,
        top5=np.repeat(y[:, None], 5, axis=1),
        classifier=w,
        freq=[3, 2, 1],
        class_names=["a", "b", "c"],
    )
    assert evaluation_records(**kwargs)[1]["nc1"] == pytest.approx(0.25)
    assert evaluation_records(**kwargs, nc1_pinv="float64")[1]["nc1"] == pytest.approx(1 / 3)


def test_readme_documents_each_default_and_its_option():
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("The recipe behind the published numbers") :]
    for key in (
        "decay_all",
        "multistep",
        "b1024-shard256",
        "zeroshot_names",
        "keep_empty_text",
        "nc1_pinv",
    ):
        assert re.search(re.escape(key), section), key
