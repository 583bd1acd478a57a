"""The four CLIP text towers of E4 (Fig. 5): rand, frozen, CLIP-init and frozen RoBERTa.

Offline: the pre-trained models are tiny random stand-ins (tests/fixtures/tiny_models.py), an
open_clip checkpoint file for CLIP-init and a saved RoBERTa directory for the frozen RoBERTa.
"""

from __future__ import annotations

import copy
from pathlib import Path

import matplotlib
import numpy as np
import open_clip
import pandas as pd
import pytest
import torch
import torch.nn.functional as F

matplotlib.use("Agg")

from cliptail import config as cfg_lib  # noqa: E402
from cliptail.config import ConfigError  # noqa: E402
from cliptail.evaluate.zeroshot import evaluate_checkpoint, prompt_texts  # noqa: E402
from cliptail.layout import JobFiles  # noqa: E402
from cliptail.models.build import load_checkpoint  # noqa: E402
from cliptail.models.clip import (  # noqa: E402
    ClipModel,
    FrozenTextClipModel,
    init_text_tower,
    load_pretrained_clip,
    pretrained_text_config,
    tokenizer_for,
)
from cliptail.models.configs import model_config  # noqa: E402
from cliptail.models.text_encoder import (  # noqa: E402
    RobertaTextEncoder,
    create_pretrained_clip,
    embed_texts,
)
from cliptail.study import build_plan, train_spec  # noqa: E402
from cliptail.train import SpecError, TrainSpec, train_run  # noqa: E402
from tests.fixtures.study_rows import study_row  # noqa: E402
from tests.fixtures.tiny_models import tiny_openclip_checkpoint, tiny_roberta  # noqa: E402
from tests.fixtures.toy_data import class_names, write_toy_split  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "config" / "schema" / "config.schema.yaml"
TINY = "cliptail-tiny-rn"
TEXT_PREFIXES = ("token_embedding", "positional_embedding", "transformer.", "ln_final")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return tiny_openclip_checkpoint(tmp_path_factory.mktemp("openclip") / "tiny.pt", TINY)


@pytest.fixture(scope="module")
def roberta_dir(tmp_path_factory):
    return tiny_roberta(tmp_path_factory.mktemp("roberta") / "tiny-roberta")


@pytest.fixture(scope="module")
def roberta(roberta_dir):
    return RobertaTextEncoder(str(roberta_dir), device="cpu")


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    write_toy_split(root, "train", 256, 6, alpha=1.0)
    write_toy_split(root, "val", 60, 6)
    return root


def train(toy, out, spec, **kwargs):
    base = {
        "run": "test",
        "method": "clip",
        "threads": 1,
        "log_every": 2,
        "optim": {"epochs": 1, "batch_size": 64, "warmup_steps": 1},
    }
    return train_run(
        {**base, **spec},
        manifest=toy / "train.parquet",
        classes=toy / "classes.tsv",
        images_root=toy,
        out_dir=out,
        progress=False,
        **kwargs,
    )


# --- CLIP-init ------------------------------------------------------------------------------------


def test_clip_init_copies_text_tower_and_projection_not_the_image_tower(checkpoint):
    saved = torch.load(checkpoint, weights_only=True)
    torch.manual_seed(123)
    model = ClipModel(model_config(TINY))
    source = load_pretrained_clip(f"openclip:{TINY}@{checkpoint}")
    copied = init_text_tower(model, source)
    assert {"token_embedding.weight", "positional_embedding", "text_projection"} <= set(copied)
    assert {"ln_final.weight", "transformer.resblocks.1.mlp.c_proj.weight", "attn_mask"} <= set(
        copied
    )
    assert not any(k.startswith("visual.") or k == "logit_scale" for k in copied)
    state = model.clip.state_dict()
    text = [k for k in saved if k.startswith(TEXT_PREFIXES) or k == "text_projection"]
    assert len(text) == len(copied) - 1  # all but the (non-persistent) attention mask
    for k in text:
        assert torch.equal(state[k], saved[k]), k
    # the image tower keeps its own random initialisation (every conv / linear weight differs)
    visual = [k for k in saved if k.startswith("visual.") and saved[k].dim() >= 2]
    assert len(visual) > 10
    assert all(not torch.equal(state[k], saved[k]) for k in visual)
    # the initialised tower encodes text exactly as the pre-trained model does
    tokens = tokenizer_for(model_config(TINY))(["a photo of a dog", "a toy000 on a plain table"])
    with torch.no_grad():
        assert torch.allclose(
            model.eval().encode_text(tokens), source.encode_text(tokens), atol=1e-5
        )


def test_clip_init_shape_mismatch_names_the_entries(checkpoint):
    source = load_pretrained_clip(f"openclip:{TINY}@{checkpoint}")
    model = ClipModel(model_config(TINY, text_width=32, text_heads=1))
    with pytest.raises(ValueError, match=r"text_encoder.*token_embedding\.weight: \(49408, 64\)"):
        init_text_tower(model, source)


def test_clip_init_needs_an_open_clip_text_encoder():
    with pytest.raises(ValueError, match="must name an open_clip model"):
        load_pretrained_clip("minilm")
    with pytest.raises(SpecError, match="clip_init' needs text_encoder"):
        TrainSpec.from_dict({"method": "clip", "text_tower": "clip_init"})
    with pytest.raises(SpecError, match="clip_init' needs text_encoder"):
        TrainSpec.from_dict({"method": "clip", "text_tower": "clip_init", "text_encoder": "minilm"})
    with pytest.raises(SpecError, match="apply to method 'clip' only"):
        TrainSpec.from_dict({"method": "sl", "text_encoder": "roberta:roberta-base"})


def test_quick_gelu_follows_the_pretrained_weights(monkeypatch):
    cfg = model_config(TINY)
    source = open_clip.CLIP(**cfg, quick_gelu=True)
    with pytest.raises(ValueError, match="QuickGELU"):
        init_text_tower(ClipModel(cfg), source)
    fitted = pretrained_text_config(cfg, source)
    assert fitted["quick_gelu"] is True and "quick_gelu" not in cfg
    init_text_tower(ClipModel(fitted), source)
    calls = []
    monkeypatch.setattr(open_clip, "create_model", lambda *a, **k: calls.append((a, k)))
    create_pretrained_clip("RN50", "openai")  # OpenAI's weights were trained with QuickGELU
    create_pretrained_clip("RN50", None)
    assert [k["force_quick_gelu"] for _, k in calls] == [True, False]
    assert calls[0][1]["pretrained"] == "openai"


def test_clip_init_training_step_starts_from_the_checkpoint(toy, tmp_path, checkpoint):
    saved = torch.load(checkpoint, weights_only=True)
    spec = {
        "text_tower": "clip_init",
        "text_encoder": f"openclip:{TINY}@{checkpoint}",
        "model": {"name": TINY, "vision_width": 8},
    }
    summary = train(toy, tmp_path / "init", spec)
    assert np.isfinite(summary["loss"]) and summary["steps"] == 4
    model, ckpt = load_checkpoint(tmp_path / "init" / "checkpoint.pt")
    assert isinstance(model, ClipModel) and ckpt["text_tower"] == "clip_init"
    assert ckpt["spec"]["text_encoder"] == spec["text_encoder"]
    assert ckpt["model_config"]["quick_gelu"] is False
    train(toy, tmp_path / "rand", {"model": {"name": TINY, "vision_width": 8}})
    rand = load_checkpoint(tmp_path / "rand" / "checkpoint.pt")[0].clip.state_dict()
    trained = model.clip.state_dict()
    for k in (
        "token_embedding.weight",
        "text_projection",
        "transformer.resblocks.0.mlp.c_fc.weight",
    ):
        moved = (trained[k] - saved[k]).abs().mean()
        assert 0 < moved < 0.2 * (rand[k] - saved[k]).abs().mean(), k
    with pytest.raises(ValueError, match="does not fit the trained model"):
        train(toy, tmp_path / "bad", {**spec, "model": {"name": TINY, "text_layers": 1}})


# --- frozen RoBERTa -------------------------------------------------------------------------------


TEXTS = [
    "a photo of a toy000",
    "a bad photo of the toy001 on a plain background near the middle, small and bright",
    "toy002",
]


def test_roberta_mean_pooling_matches_a_hand_computation(roberta):
    assert all(not p.requires_grad for p in roberta.model.parameters())
    emb = roberta.encode(TEXTS, batch_size=8, progress=False)
    assert emb.shape == (3, 32) and emb.dtype == np.float32
    batch = roberta.tokenizer(TEXTS, padding=True, return_tensors="pt")
    mask = batch["attention_mask"]
    assert (mask == 0).any()  # the short texts are padded
    with torch.no_grad():
        hidden = roberta.model(**batch).last_hidden_state
    for i, text in enumerate(TEXTS):
        n = int(mask[i].sum())
        masked_mean = hidden[i, :n].mean(dim=0)  # tokens come first, padding after
        assert torch.allclose(torch.from_numpy(emb[i]), masked_mean, atol=1e-5)
        alone = roberta.tokenizer([text], return_tensors="pt")
        with torch.no_grad():
            unpadded = roberta.model(**alone).last_hidden_state[0].mean(dim=0)
        assert torch.allclose(torch.from_numpy(emb[i]), unpadded, atol=1e-5)
    one_by_one = roberta.encode(TEXTS, batch_size=1, progress=False)
    np.testing.assert_allclose(emb, one_by_one, atol=1e-5)


def test_roberta_encoder_by_name(roberta_dir, roberta):
    emb = embed_texts(TEXTS + TEXTS[:1], progress=False, encoder=f"roberta:{roberta_dir}")
    np.testing.assert_allclose(
        emb, roberta.encode(TEXTS + TEXTS[:1], batch_size=8, progress=False), atol=1e-5
    )
    with pytest.raises(ValueError, match="roberta:<name or directory>"):
        embed_texts(["x"], progress=False, encoder="bert")


def test_roberta_tower_trains_and_its_projection_serves_zero_shot(toy, tmp_path, roberta):
    captions = pd.read_parquet(toy / "train.parquet")["caption"].tolist()
    np.save(tmp_path / "emb.npy", roberta.encode(captions, batch_size=64, progress=False))
    spec = {
        "text_tower": "roberta",
        "text_encoder": f"roberta:{roberta.name}",
        "model": {"vision_width": 8, "embed_dim": 24},
    }
    with pytest.raises(ValueError, match="'roberta' needs text_embeddings"):
        train(toy, tmp_path / "out", spec)
    summary = train(toy, tmp_path / "out", spec, text_embeddings=tmp_path / "emb.npy")
    assert np.isfinite(summary["loss"])
    model, ckpt = load_checkpoint(tmp_path / "out" / "checkpoint.pt")
    assert isinstance(model, FrozenTextClipModel) and ckpt["text_dim"] == 32
    weight = model.text_projection.weight.detach()
    assert weight.shape == (24, 32)
    names = class_names(6)
    templates = ["a photo of a {}.", "a {} on a table."]
    prompts = roberta.encode(prompt_texts(names, templates), batch_size=64, progress=False)
    out = evaluate_checkpoint(
        ckpt,
        manifest=toy / "val.parquet",
        images_root=toy,
        class_names=names,
        prompt_embeddings=prompts,
        progress=False,
    )
    projected = F.normalize(torch.from_numpy(prompts) @ weight.T, dim=-1).view(6, 2, 24)
    expected = F.normalize(projected.mean(dim=1), dim=-1)
    np.testing.assert_allclose(out.classifier, expected.numpy(), atol=1e-5)
    assert out.preds.shape == (60,)


# --- planning -------------------------------------------------------------------------------------


def tower_config(**extra):
    c = cfg_lib.load_yaml(ROOT / "config/config.yaml")
    c["studies"] = {
        "towers": {
            "runs": [
                {
                    "method": "clip",
                    "grid": {"text_tower": ["rand", "frozen", "clip_init", "roberta"]},
                }
            ]
        }
    }
    c.update(
        {
            "text_encoder": "openclip:cliptail-tiny-rn@/data/ckpt/tiny.pt",
            "roberta_encoder": "/data/models/tiny-roberta",
            **extra,
        }
    )
    return cfg_lib.validate(c, SCHEMA)


def test_planning_the_four_towers():
    config = tower_config()
    plan = build_plan(config)
    names = plan.studies["towers"]
    assert names == [
        f"clip_curated_full_s1_eval_tt-{t}_seed0"
        for t in ("rand", "frozen", "clip_init", "roberta")
    ]
    rand, frozen, init, rob = (plan.runs[n] for n in names)
    assert [r.frozen_text for r in (rand, frozen, init, rob)] == [False, True, False, True]
    assert [r.embedded_text for r in (rand, frozen, init, rob)] == [None, "frozen", None, "roberta"]
    specs = [train_spec(r) for r in (rand, frozen, init, rob)]
    for spec in specs:
        TrainSpec.from_dict(spec)
    assert "text_encoder" not in specs[0] and "text_encoder" not in specs[1]
    assert specs[2]["text_encoder"] == "openclip:cliptail-tiny-rn@/data/ckpt/tiny.pt"
    assert specs[3]["text_encoder"] == "roberta:/data/models/tiny-roberta"
    assert specs[3]["text_projection"] == "linear"
    files = JobFiles(plan, config)
    data = "results/data/curated_full_s1_eval"
    assert files.train(frozen.name)["text_embeddings"] == f"{data}/text_embeddings.npy"
    assert files.train(rob.name)["text_embeddings"] == f"{data}/text_embeddings_roberta.npy"
    assert "text_embeddings" not in files.train(init.name)
    assert "prompt_embeddings" not in files.evaluate(init.name)
    assert files.evaluate(rob.name)["prompt_embeddings"] == [
        "results/data/eval_val/prompt_embeddings_roberta.npy",
        "results/data/eval_v2/prompt_embeddings_roberta.npy",
    ]
    assert files.prompt_embeddings("v2", "roberta")["reuse_embeddings"] == (
        "results/data/eval_val/prompt_embeddings_roberta.npy"
    )
    assert files.embedded_by == {"frozen": {rob.dataset}, "roberta": {rob.dataset}}


def test_a_changed_roberta_encoder_changes_only_roberta_specs():
    before = build_plan(tower_config())
    after = build_plan(tower_config(roberta_encoder="roberta-large"))
    changed = [n for n in before.runs if train_spec(before.runs[n]) != train_spec(after.runs[n])]
    assert changed == ["clip_curated_full_s1_eval_tt-roberta_seed0"]


def test_clip_init_needs_an_open_clip_text_encoder_at_planning():
    with pytest.raises(
        ConfigError, match=r"studies.towers.runs\[0\].*clip_init.*text_encoder: 'minilm'"
    ):
        build_plan(tower_config(text_encoder="minilm"))
    c = copy.deepcopy(tower_config())
    c["studies"]["towers"]["runs"][0]["grid"]["text_tower"] = ["bert"]
    with pytest.raises(Exception, match=r"grid.text_tower\[0\] text_tower: 'bert' is not one of"):
        build_plan(c)


def test_paper_preset_scale_study_has_the_four_towers():
    c = cfg_lib.deep_merge(
        cfg_lib.load_yaml(ROOT / "config/config.yaml"),
        cfg_lib.load_yaml(ROOT / "config/presets/paper.yaml"),
    )
    plan = build_plan(cfg_lib.validate(c, SCHEMA))
    towers = {plan.runs[n].factors["text_tower"] for n in plan.studies["scale"]}
    assert towers == {"rand", "frozen", "clip_init", "roberta", None}  # None: the SL point
    assert c["roberta_encoder"] == "roberta-base"


# --- Fig. 5 ---------------------------------------------------------------------------------------


def test_fig05_draws_the_four_towers_and_the_sl_point():
    from cliptail import figures

    rows = []
    for k, tower in enumerate(("rand", "frozen", "clip_init", "roberta")):
        for scale in (1.0, 0.5, 0.25):
            rows.append(
                study_row(
                    "scale",
                    f"clip_{tower}_{scale}",
                    text_tower=tower,
                    scale=scale,
                    n_train=int(4000 * scale),
                    top1=scale / 2 + k / 100,
                    nc1=k + scale,
                    nc2_m=k / 10 + scale,
                )
            )
    rows.append(study_row("scale", "sl_frozen", method="sl", head="frozen", n_train=4000))
    df = pd.DataFrame(rows)
    for column in ("vocab_size", "vocab_weight", "text_tower", "head"):
        df[column] = df[column].astype("string")
    fig = figures.fig05(df)
    labels = ("top1", "rho_acc", "nc1", "nc2_m")
    assert [ax.get_ylabel() for ax in fig.axes] == [figures.style.LABELS[c] for c in labels]
    families = [
        "CLIP (rand text)",
        "CLIP (frozen text)",
        "CLIP (CLIP-init text)",
        "CLIP (frozen RoBERTa text)",
    ]
    for ax, column in zip(fig.axes, labels, strict=True):
        lines = {line.get_gid(): line for line in ax.lines}
        for k, family in enumerate(families):
            x, y = lines[f"line:{family}"].get_data()
            assert list(x) == [1000, 2000, 4000], family
            if column == "nc1":
                assert np.allclose(y, [k + 0.25, k + 0.5, k + 1.0])
        assert len(lines["line:SL (frozen head)"].get_data()[0]) == 1
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert set(legend) == {*families, "SL (frozen head)"}
    colors = {figures.style.color(f) for f in families}
    assert len(colors) == 4
