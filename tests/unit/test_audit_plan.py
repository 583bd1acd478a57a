"""The audit as the workflow plans it (evaluation sets, files, the paper preset) and the figure
jobs the catalogue plans from it."""

from __future__ import annotations

from pathlib import Path

import pytest

from cliptail import config as cfg
from cliptail.audit.plan import AUDIT_TABLE, audit_plan
from cliptail.figures.catalogue import BY_ID, plan_figures, representatives, table01_checkpoint
from cliptail.study import build_plan

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config/schema/config.schema.yaml"
AUDIT_FIGURES = {e.stem for e in BY_ID.values() if e.reads == "audit"}
TINY = [{"dataset": "laion400m", "model": "cliptail-tiny-rn", "path": "w.pt"}]


def load(*presets: str, **audit) -> dict:
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / "config/presets" / preset))
    if audit:
        config = cfg.deep_merge(config, {"audit": audit})
    return cfg.validate(config, SCHEMA)


def test_a_disabled_audit_plans_nothing():
    plan = audit_plan(load())
    assert not plan.enabled
    assert plan.checkpoints == () and plan.sets == () and plan.record_files() == []
    assert not audit_plan({}).enabled
    # checkpoints without sets plan nothing either
    assert not audit_plan({"audit": {"enabled": True, "checkpoints": TINY}}).enabled


def test_evaluation_sets_map_to_concept_sets_and_folders():
    config = {
        "audit": {
            "enabled": True,
            "checkpoints": TINY,
            "evalsets": ["imagenet_val", "imagenetv2", "val", "v2"],
            "concept_sets": ["cub", "places365"],
        }
    }
    sets = {s.name: (s.concept_set, s.folder) for s in audit_plan(config).sets}
    assert sets == {
        "imagenet_val": ("imagenet", "results/data/eval_imagenet_val"),
        "imagenetv2": ("imagenet", "results/data/eval_imagenetv2"),
        "val": ("world", "results/data/eval_val"),
        "v2": ("world", "results/data/eval_v2"),
        "cub": ("cub", "results/data/zeroshot_cub"),
        "places365": ("places365", "results/data/zeroshot_places365"),
    }


@pytest.mark.parametrize(
    "audit, message",
    [
        ({"evalsets": ["imagenet100_val"]}, r"'imagenet100_val' is a class subset; .*1000-way"),
        ({"evalsets": ["imagenet_train"]}, r"unknown evaluation set 'imagenet_train'"),
        ({"concept_sets": ["imagenet"]}, r"audit.concept_sets: 'imagenet' is not one of"),
    ],
)
def test_bad_evaluation_sets_are_refused(audit, message):
    with pytest.raises(ValueError, match=message):
        audit_plan({"audit": {"enabled": True, "checkpoints": TINY, **audit}})


def test_files_of_each_checkpoint_and_set():
    config = load(
        enabled=True,
        checkpoints=[*TINY, ["yfcc15m", "RN50-quickgelu", "yfcc15m"]],
        evalsets=["val"],
        frequencies={"laion400m": {"world": "freq.tsv"}},
    )
    plan = audit_plan(config)
    assert plan.pairs() == [("cliptail-tiny-rn", "val"), ("RN50-quickgelu_yfcc15m", "val")]
    assert plan.record_files() == [
        "results/audit/cliptail-tiny-rn/val.parquet",
        "results/audit/RN50-quickgelu_yfcc15m/val.parquet",
    ]
    assert plan.scalars_files()[0] == "results/audit/cliptail-tiny-rn/val.json"
    assert plan.sample_files()[1] == "results/audit/RN50-quickgelu_yfcc15m/val.sample.npz"
    assert list(plan.downloads()) == ["RN50-quickgelu_yfcc15m"]  # the path entry downloads nothing
    assert plan.frequency_file("cliptail-tiny-rn", "val") == "freq.tsv"
    assert plan.frequency_file("RN50-quickgelu_yfcc15m", "val") is None
    assert (plan.templates, plan.zeroshot_names, plan.batch_size, plan.sample_per_class) == (
        config["evaluation"]["templates"],
        config["evaluation"]["zeroshot_names"],
        256,
        10,
    )


@pytest.fixture(scope="module")
def paper():
    config = load("paper.yaml")
    return config, audit_plan(config), build_plan(config)


def test_the_paper_audit_is_36_checkpoints_on_9_sets(paper):
    _, plan, _ = paper
    assert len(plan.checkpoints) == 36
    assert [s.name for s in plan.sets] == [
        "imagenet_val",
        "imagenetv2",
        "cub",
        "dtd",
        "eurosat",
        "flowers102",
        "food101",
        "pets",
        "places365",
    ]
    files = plan.record_files()
    assert len(files) == len(set(files)) == 36 * 9 == 324
    assert plan.frequency_file("RN50-quickgelu_yfcc15m", "imagenet_val").endswith(
        "class_frequency_yfcc15m_imagenet_ori.txt"
    )
    assert plan.frequency_file("RN50-quickgelu_openai", "imagenet_val") is None


def test_the_paper_plans_every_audit_figure_and_table01_reads_rn50_yfcc15m(paper):
    config, audit, plan = paper
    jobs = plan_figures(plan, "imagenet_val", audit=audit)
    assert AUDIT_FIGURES <= set(jobs)
    assert table01_checkpoint(audit) == "RN50-quickgelu_yfcc15m"
    table01 = jobs["table01_yfcc_rare_classes"]
    assert table01.inputs["per_class"] == [
        "results/audit/RN50-quickgelu_yfcc15m/imagenet_val.parquet"
    ]
    assert table01.params["accuracy_from"] == "RN50-quickgelu_yfcc15m"
    fig01b = jobs["fig01b_openclip_robustness"]
    assert fig01b.inputs["audit"] == [AUDIT_TABLE]
    assert fig01b.params["evalset"] == "imagenet_val"
    assert fig01b.params["evalsets"] == ["imagenet_val", "imagenetv2"]
    assert fig01b.inputs["tables"]  # the study tables with SL runs on a class-matched subset
    chosen = representatives(audit)
    assert len(chosen) == 7  # one per pre-training dataset, the first listed
    assert chosen["YFCC-15M: RN50-quickgelu"] == "RN50-quickgelu_yfcc15m"
    assert chosen["OpenAI WIT: RN50-quickgelu"] == "RN50-quickgelu_openai"
    fig20 = jobs["fig20_tsne_features"]
    assert fig20.params["labels"] == list(chosen)
    assert (
        fig20.inputs["samples"][1] == "results/audit/RN50-quickgelu_yfcc15m/imagenet_val.sample.npz"
    )
    assert fig20.inputs["records"][0] == "results/audit/RN50-quickgelu_cc12m/imagenet_val.parquet"


def test_without_the_audit_no_audit_figure_and_table01_without_accuracy(paper):
    config, _, plan = paper
    for audit in (None, audit_plan({**config, "audit": {"enabled": False}})):
        jobs = plan_figures(plan, "imagenet_val", audit=audit)
        assert not AUDIT_FIGURES & set(jobs)
        table01 = jobs["table01_yfcc_rare_classes"]
        assert "per_class" not in table01.inputs and "accuracy_from" not in table01.params


def test_the_world_audit_draws_no_table01_accuracy_and_no_fig12():
    config = load(enabled=True, checkpoints=TINY, evalsets=["val"])
    audit = audit_plan(config)
    jobs = plan_figures(build_plan(config), "val", audit=audit)
    assert "fig12_openclip_concept_sets" not in jobs  # no other concept set audited
    assert "fig01b_openclip_robustness" in jobs
    assert jobs["fig07b_tsne_text_centres"].inputs["records"] == [
        "results/audit/cliptail-tiny-rn/val.parquet"
    ]
    # Table 1 is about ImageNet classes: the world's val gives it no accuracy column
    assert table01_checkpoint(audit) is None
    assert "per_class" not in jobs["table01_yfcc_rare_classes"].inputs


def test_table01_checkpoint_is_chosen_or_the_first_rn50_of_yfcc15m():
    entries = [
        ["yfcc15m", "RN101-quickgelu", "yfcc15m"],
        ["yfcc15m", "RN50-quickgelu", "yfcc15m"],
        ["cc12m", "RN50-quickgelu", "cc12m"],
    ]
    base = {"enabled": True, "checkpoints": entries, "evalsets": ["imagenet_val"]}
    assert audit_plan({"audit": base}).table01_checkpoint == "RN50-quickgelu_yfcc15m"
    chosen = {**base, "table01_checkpoint": "RN50-quickgelu_cc12m"}
    assert table01_checkpoint(audit_plan({"audit": chosen})) == "RN50-quickgelu_cc12m"
    with pytest.raises(ValueError, match=r"table01_checkpoint: 'RN50_x' is not an audited"):
        audit_plan({"audit": {**base, "table01_checkpoint": "RN50_x"}})
    assert audit_plan({"audit": {**base, "checkpoints": entries[2:]}}).table01_checkpoint is None
