"""Zero-shot evaluation: prompt order, classifier construction (against a literal
reimplementation), predictions, open-world evaluation, and trained toy models beating chance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

from cliptail import io
from cliptail.evaluate.zeroshot import evaluate_checkpoint, prompt_texts
from cliptail.models.build import load_checkpoint
from cliptail.models.clip import tokenizer_for
from cliptail.train import train_run
from tests.fixtures.toy_data import write_toy_split

C = 6
SMALL_MODEL = {
    "vision_width": 8,
    "text_width": 32,
    "text_heads": 1,
    "text_layers": 1,
    "embed_dim": 32,
}
TEMPLATES = ["a photo of a {}.", "a {} on a plain background.", "{}"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("zs")
    write_toy_split(root, "train", 512, C)
    write_toy_split(root, "val", 120, C)
    names = io.read_classes(root / "classes.tsv")["name"].tolist()
    emb = np.random.default_rng(0).standard_normal((512, 16)).astype(np.float32)
    np.save(root / "text_emb.npy", emb)
    runs = {
        "clip": {"method": "clip", "optim": {"epochs": 8, "batch_size": 64, "warmup_steps": 2}},
        "clip_frozen": {
            "method": "clip",
            "text_tower": "frozen",
            "optim": {"epochs": 1, "batch_size": 64, "warmup_steps": 1},
        },
        "sl": {"method": "sl", "optim": {"epochs": 3, "batch_size": 64}},
    }
    for name, spec in runs.items():
        train_run(
            {"run": name, "threads": 1, "model": SMALL_MODEL, **spec},
            manifest=root / "train.parquet",
            classes=root / "classes.tsv",
            images_root=root,
            out_dir=root / name,
            progress=False,
            text_embeddings=root / "text_emb.npy" if name == "clip_frozen" else None,
        )
    return root, names


def test_prompt_texts_are_class_major():
    texts = prompt_texts(["cat", "dog"], ["a {}.", lambda c: f"the {c}!"])
    assert texts == ["a cat.", "the cat!", "a dog.", "the dog!"]
    default = prompt_texts(["cat"])
    assert len(default) == len(OPENAI_IMAGENET_TEMPLATES) == 80
    assert default[0] == "a bad photo of a cat."


def literal_text_classifier(encode, class_names, templates):
    """Per class: normalise each template's embedding, average, normalise again."""
    vectors = []
    for name in class_names:
        feats = F.normalize(encode([t.format(name) for t in templates]).float(), dim=-1)
        vectors.append(F.normalize(feats.mean(dim=0), dim=-1))
    return torch.stack(vectors).numpy()


def test_clip_classifier_and_predictions(world):
    root, names = world
    out = evaluate_checkpoint(
        root / "clip" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        templates=TEMPLATES,
        progress=False,
    )
    model, ckpt = load_checkpoint(root / "clip" / "checkpoint.pt")
    tokenizer = tokenizer_for(ckpt["model_config"])
    with torch.no_grad():
        expected = literal_text_classifier(
            lambda t: model.clip.encode_text(tokenizer(t)), names, TEMPLATES
        )
    assert out.classifier.shape == (C, 32)
    np.testing.assert_allclose(out.classifier, expected, atol=1e-5)
    # predictions are the nearest class vectors by cosine; features are not normalised
    sims = out.features / np.linalg.norm(out.features, axis=1, keepdims=True) @ out.classifier.T
    assert np.array_equal(out.preds, sims.argmax(1))
    assert np.array_equal(out.top5[:, 0], out.preds) and out.top5.shape == (120, 5)
    assert np.all(np.diff(np.take_along_axis(sims, out.top5, 1), axis=1) <= 1e-6)
    assert not np.allclose(np.linalg.norm(out.features, axis=1), 1.0)
    assert np.array_equal(out.targets, pd.read_parquet(root / "val.parquet")["label"].to_numpy())
    # trained a few steps on an easy set, zero-shot with the default 80 templates beats chance
    default = evaluate_checkpoint(
        root / "clip" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        progress=False,
    )
    assert (default.preds == default.targets).mean() > 0.5  # chance: 1/6


def test_text_head_cache_encodes_each_prompt_set_once(world, monkeypatch):
    """Sets with the same classes and templates reuse the trainable tower's classifier; a
    different prompt set is encoded anew; results equal the uncached evaluation."""
    root, names = world
    from cliptail.evaluate import zeroshot

    calls = []
    real = zeroshot.clip_text_classifier
    monkeypatch.setattr(
        zeroshot, "clip_text_classifier", lambda *a, **k: calls.append(a[2]) or real(*a, **k)
    )
    kwargs = dict(manifest=root / "val.parquet", images_root=root, progress=False)
    ckpt = root / "clip" / "checkpoint.pt"
    cache = {}
    first = evaluate_checkpoint(
        ckpt, class_names=names, templates=TEMPLATES, text_head_cache=cache, **kwargs
    )
    second = evaluate_checkpoint(
        ckpt, class_names=names, templates=TEMPLATES, text_head_cache=cache, **kwargs
    )
    assert len(calls) == 1 and len(cache) == 1
    np.testing.assert_array_equal(first.classifier, second.classifier)
    other = evaluate_checkpoint(
        ckpt, class_names=names, templates=TEMPLATES[:1], text_head_cache=cache, **kwargs
    )
    assert len(calls) == 2 and len(cache) == 2
    uncached = evaluate_checkpoint(ckpt, class_names=names, templates=TEMPLATES[:1], **kwargs)
    np.testing.assert_allclose(other.classifier, uncached.classifier, atol=1e-6)
    np.testing.assert_array_equal(other.preds, uncached.preds)


def test_frozen_text_classifier_matches_literal(world):
    root, names = world
    prompts = np.random.default_rng(1).standard_normal((C, 3, 16)).astype(np.float32)
    out = evaluate_checkpoint(
        root / "clip_frozen" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        prompt_embeddings=prompts,
        progress=False,
    )
    model, _ = load_checkpoint(root / "clip_frozen" / "checkpoint.pt")
    W = model.text_projection.weight.detach().numpy()
    expected = []
    for c in range(C):
        e = prompts[c] @ W.T
        e = e / np.linalg.norm(e, axis=1, keepdims=True)
        m = e.mean(0)
        expected.append(m / np.linalg.norm(m))
    np.testing.assert_allclose(out.classifier, np.stack(expected), atol=1e-5)
    flat = evaluate_checkpoint(
        root / "clip_frozen" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        prompt_embeddings=prompts.reshape(C * 3, 16),
        progress=False,
    )
    np.testing.assert_allclose(flat.classifier, out.classifier, atol=1e-6)
    with pytest.raises(ValueError, match="needs prompt_embeddings"):
        evaluate_checkpoint(
            root / "clip_frozen" / "checkpoint.pt",
            manifest=root / "val.parquet",
            images_root=root,
            class_names=names,
            progress=False,
        )


def test_sl_nearest_prototype_beats_chance_and_open_world_subset(world):
    root, names = world
    out = evaluate_checkpoint(
        root / "sl" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        progress=False,
    )
    model, _ = load_checkpoint(root / "sl" / "checkpoint.pt")
    protos = model.prototypes.detach().numpy()
    np.testing.assert_allclose(
        out.classifier, protos / np.linalg.norm(protos, axis=1, keepdims=True), atol=1e-6
    )
    assert (out.preds == out.targets).mean() > 0.5  # chance: 1/6
    # a model trained on more classes is evaluated over the first C of its label set
    val = pd.read_parquet(root / "val.parquet")
    subset = val[val["label"] < 4].reset_index(drop=True)
    sub = evaluate_checkpoint(
        root / "sl" / "checkpoint.pt",
        manifest=subset,
        images_root=root,
        class_names=names[:4],
        progress=False,
    )
    np.testing.assert_allclose(sub.classifier, out.classifier[:4], atol=1e-6)
    assert sub.preds.max() < 4 and sub.top5.shape == (len(subset), 4)
    with pytest.raises(ValueError, match="knows only"):
        evaluate_checkpoint(
            root / "sl" / "checkpoint.pt",
            manifest=val,
            images_root=root,
            class_names=names + ["extra"],
            progress=False,
        )


def test_template_sets():
    from cliptail.evaluate.zeroshot import prompt_texts, zeroshot_templates

    simple = prompt_texts(["tench", "goldfish"], zeroshot_templates("simple"))
    assert len(simple) == 2 * 7 and len(prompt_texts(["tench"], zeroshot_templates())) == 80
    assert simple[0] == "itap of a tench." and simple[7] == "itap of a goldfish."
    with pytest.raises(ValueError, match="unknown template set 'many'"):
        zeroshot_templates("many")
    # the world's prompts are its curated name titles without numbers, filled as the writer does
    world = prompt_texts(["zudru"], zeroshot_templates("world"))
    assert world == [
        "zudru", "Zudru", "my zudru", "the zudru", "Zudru close up", "another zudru",
        "zudru at home", "Zudru!",
    ]  # fmt: skip


def test_evaluate_run_writes_each_runs_classifier(world, tmp_path):
    """The evaluation job writes the class embeddings it evaluated with: float32 [C, D], unit
    rows equal to the zero-shot head (CLIP) or the normalised prototypes (SL)."""
    import runpy
    from pathlib import Path

    from cliptail.data.dataset_dir import DatasetDir
    from cliptail.evaluate.zeroshot import zeroshot_templates

    root, names = world
    classes = io.read_classes(root / "classes.tsv")
    source = {"image_root": str(root), "image_format": "world"}
    data = DatasetDir(tmp_path / "data")
    data.write(pd.read_parquet(root / "train.parquet"), classes, source=source, report={})
    evalset = DatasetDir(tmp_path / "eval_val")
    evalset.write(pd.read_parquet(root / "val.parquet"), classes, source=source)
    script = Path(__file__).resolve().parents[2] / "workflow/scripts/evaluate_run.py"
    evaluate_run = runpy.run_path(str(script))
    model, _ = load_checkpoint(root / "sl" / "checkpoint.pt")
    protos = model.prototypes.detach().numpy()
    clip_head = evaluate_checkpoint(
        root / "clip" / "checkpoint.pt",
        manifest=root / "val.parquet",
        images_root=root,
        class_names=names,
        templates=zeroshot_templates("simple"),
        progress=False,
    ).classifier
    expected = {"clip": clip_head, "sl": protos / np.linalg.norm(protos, axis=1, keepdims=True)}
    for run, head in expected.items():
        out = tmp_path / "eval" / run
        evaluate_run["main"](
            checkpoint=str(root / run / "checkpoint.pt"),
            data=data,
            run=run,
            evalsets=[
                evaluate_run["EvalSet"](
                    "val",
                    evalset,
                    None,
                    str(out / "val.parquet"),
                    str(out / "val.json"),
                    str(out / "val.classifier.npy"),
                    str(out / "val.bootstrap.parquet"),
                )
            ],
            templates="simple",
        )
        written = np.load(out / "val.classifier.npy")
        assert written.dtype == np.float32 and written.shape == (C, 32)
        np.testing.assert_allclose(np.linalg.norm(written, axis=1), 1.0, atol=1e-6)
        np.testing.assert_allclose(written, head, atol=1e-5)
        assert len(pd.read_parquet(out / "val.parquet")) == len(written)
        assert len(pd.read_parquet(out / "val.bootstrap.parquet")) == 1000
        assert sorted(p.name for p in out.iterdir()) == [
            "val.bootstrap.parquet",
            "val.classifier.npy",
            "val.json",
            "val.parquet",
        ]  # written atomically: no temporary file left behind
