"""Models: tiny configs, CLIP text trimming, the SL prototype head, SyncBN, frozen text encoders."""

from __future__ import annotations

import math

import numpy as np
import open_clip
import pytest
import torch
import torch.nn.functional as F
from open_clip.modified_resnet import AttentionPool2d, ModifiedResNet

from cliptail.models.batchnorm import SyncBatchNorm2d, convert_sync_batchnorm
from cliptail.models.build import build_model
from cliptail.models.clip import LOGIT_SCALE_MAX, ClipModel, FrozenTextClipModel, tokenizer_for
from cliptail.models.configs import DEFAULT_MODEL, model_config
from cliptail.models.sl import PrototypeClassifier, load_prototypes


@pytest.fixture(scope="module")
def cfg():
    return model_config(DEFAULT_MODEL)


def test_tiny_config_is_registered_with_open_clip(cfg):
    assert DEFAULT_MODEL in open_clip.list_models()
    assert cfg["vision_cfg"]["image_size"] == 32
    assert isinstance(cfg["vision_cfg"]["layers"], list)  # CLIP's modified ResNet
    assert model_config("RN50")["embed_dim"] == 1024


def test_overrides_and_unknown_names():
    cfg = model_config(
        DEFAULT_MODEL,
        embed_dim=64,
        vision_width=8,
        context_length=20,
        vision_layers=(1, 2, 1, 1),
        image_size=None,
    )
    assert cfg["embed_dim"] == 64 and cfg["vision_cfg"]["width"] == 8
    assert cfg["vision_cfg"]["layers"] == [1, 2, 1, 1] and cfg["vision_cfg"]["image_size"] == 32
    assert cfg["text_cfg"]["context_length"] == 20
    with pytest.raises(ValueError, match="unknown model config 'nope'"):
        model_config("nope")
    with pytest.raises(ValueError, match="unknown model override"):
        model_config(DEFAULT_MODEL, depth=3)


def test_clip_image_tower_is_the_modified_resnet(cfg):
    model = ClipModel(cfg)
    visual = model.clip.visual
    assert isinstance(visual, ModifiedResNet)
    assert [visual.conv1.stride, visual.conv2.stride, visual.conv3.stride] == [
        (2, 2),
        (1, 1),
        (1, 1),
    ]
    assert isinstance(visual.attnpool, AttentionPool2d)
    out = model.encode_image(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, cfg["embed_dim"])
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))


def test_trimmed_text_encoding_equals_open_clip(cfg):
    torch.manual_seed(0)
    model = ClipModel(cfg).eval()
    tokens = tokenizer_for(cfg)(
        ["a photo of a toy", "a much longer caption about a striped red toy"]
    )
    assert tokens.shape[1] == cfg["text_cfg"]["context_length"]
    with torch.no_grad():
        ours = model.encode_text(tokens)
        reference = model.clip.encode_text(tokens)  # all context positions
    assert torch.allclose(ours, reference, atol=1e-5)


def test_clip_forward_and_logit_scale_clamp(cfg):
    model = ClipModel(cfg)
    image, text, scale = model(torch.randn(3, 3, 32, 32), tokenizer_for(cfg)(["a", "b", "c"]))
    assert torch.allclose(image.norm(dim=-1), torch.ones(3)) and torch.allclose(
        text.norm(dim=-1), torch.ones(3)
    )
    assert scale.item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(10.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == pytest.approx(LOGIT_SCALE_MAX)


def test_frozen_text_clip_projects_embeddings(cfg):
    model = FrozenTextClipModel(cfg, text_dim=384)
    emb = torch.randn(4, 384)
    assert torch.allclose(model.encode_text(emb), emb @ model.text_projection.weight.T)
    with pytest.raises(ValueError, match="embed_dim"):
        FrozenTextClipModel(cfg, text_dim=384, projection="none")
    identity = FrozenTextClipModel(cfg, text_dim=cfg["embed_dim"], projection="none")
    e = torch.randn(2, cfg["embed_dim"])
    assert torch.equal(identity.encode_text(e), e)


def test_prototype_head_is_a_scaled_cosine_classifier(cfg):
    torch.manual_seed(0)
    model = PrototypeClassifier(cfg, num_classes=7)
    dim = cfg["embed_dim"]
    assert model.prototypes.shape == (7, dim) and not model.frozen_head
    assert model.prototypes.std().item() == pytest.approx(dim**-0.5, rel=0.15)
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    model.eval()
    x = torch.randn(5, 3, 32, 32)
    with torch.no_grad():
        logits = model(x)
        h = model.encode_image(x)
    expected = (1 / 0.07) * F.normalize(h, dim=-1) @ F.normalize(model.prototypes, dim=-1).T
    assert torch.allclose(logits, expected, atol=1e-4)
    assert "bias" not in dict(model.named_parameters())
    with torch.no_grad():
        model.logit_scale.fill_(-3.0)
    model.clamp_logit_scale()
    assert model.logit_scale.item() == 0.0


def test_frozen_head_is_a_buffer_and_sets_the_dimension(tmp_path):
    protos = torch.randn(6, 48).half()
    torch.save(protos, tmp_path / "head.pt")
    np.save(tmp_path / "head.npy", protos.float().numpy())
    a, b = load_prototypes(tmp_path / "head.pt"), load_prototypes(tmp_path / "head.npy")
    assert a.dtype == np.float32 and np.array_equal(a, b)
    cfg = model_config(DEFAULT_MODEL, embed_dim=48)
    model = build_model("sl", cfg, num_classes=6, prototypes=a)
    assert model.frozen_head and "prototypes" not in dict(model.named_parameters())
    assert torch.equal(model.prototypes, torch.from_numpy(a))
    with pytest.raises(ValueError, match=r"\(6, 256\)"):
        PrototypeClassifier(model_config(DEFAULT_MODEL), 6, a)
    with pytest.raises(ValueError, match=".npy or .pt"):
        load_prototypes(tmp_path / "head.txt")


def test_sync_batchnorm_without_process_group_is_batchnorm():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    reference = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4))
    reference.load_state_dict(net.state_dict())
    converted = convert_sync_batchnorm(net, torch.device("cpu"))
    assert isinstance(converted[1], SyncBatchNorm2d)
    x = torch.randn(8, 3, 6, 6)
    assert torch.allclose(converted(x), reference(x))
    assert torch.allclose(converted[1].running_var, reference[1].running_var)


def test_openclip_text_encoder_behind_the_same_interface():
    from cliptail.models.text_encoder import embed_texts, get_encoder

    encoder = get_encoder(f"openclip:{DEFAULT_MODEL}")  # random weights: no download here
    emb = embed_texts(["a toy", "two toys", "a toy"], encoder=encoder, progress=False)
    assert emb.shape == (3, encoder.dim) and emb.dtype == np.float32
    assert np.array_equal(emb[0], emb[2])
    with pytest.raises(ValueError, match="unknown text encoder"):
        get_encoder("word2vec")


@pytest.mark.slow
def test_minilm_embeddings_offline():
    from cliptail.models.text_encoder import embed_texts

    texts = [
        "a red circle on a grey background",
        "a red disc on a grey background",
        "a photo of a spaceship",
        "a red circle on a grey background",
    ]
    emb = embed_texts(texts, progress=False)
    assert emb.shape == (4, 384) and emb.dtype == np.float32
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    assert np.array_equal(emb[0], emb[3])
    assert emb[0] @ emb[1] > emb[0] @ emb[2] + 0.2


def test_embed_script_uses_the_configured_encoder(tmp_path):
    """workflow/scripts/embed_texts.py --encoder (the rules pass config `text_encoder`)."""
    import subprocess
    import sys
    from pathlib import Path

    from cliptail import io
    from cliptail.models.text_encoder import get_encoder

    repo = Path(__file__).resolve().parents[2]
    classes = tmp_path / "classes.tsv"
    io.write_classes(classes, ["n1", "n2"], ["toy boat", "sea lion"])
    out = tmp_path / "prototypes.npy"
    encoder = f"openclip:{DEFAULT_MODEL}"  # random weights: no download here
    proc = subprocess.run(
        [
            sys.executable,
            str(repo / "workflow/scripts/embed_texts.py"),
            "prototypes",
            str(classes),
            str(out),
            "--encoder",
            encoder,
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    emb = np.load(out)
    assert emb.shape == (2, get_encoder(encoder).dim) and get_encoder(encoder).dim != 384
    assert np.isfinite(emb).all() and not np.allclose(emb[0], emb[1])
    reused = tmp_path / "reused.npy"
    proc = subprocess.run(
        [
            sys.executable,
            str(repo / "workflow/scripts/embed_texts.py"),
            "prototypes",
            str(classes),
            str(reused),
            "--encoder",
            encoder,
            "--reuse",
            str(classes),
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert np.array_equal(np.load(reused), emb)  # every text copied, none encoded again
    assert "0 distinct texts encoded" in proc.stderr
    bad = subprocess.run(
        [
            sys.executable,
            str(repo / "workflow/scripts/embed_texts.py"),
            "prototypes",
            str(classes),
            str(tmp_path / "x.npy"),
            "--encoder",
            "w2v",
        ],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and "unknown text encoder" in bad.stderr
    assert not (tmp_path / "x.npy").exists()


def test_embed_reusing_copies_known_rows_and_encodes_the_rest():
    from cliptail.models.text_encoder import embed_reusing, embed_texts, get_encoder

    encoder = get_encoder(f"openclip:{DEFAULT_MODEL}")
    known_texts = ["a toy", "two toys", "a boat"]
    known = embed_texts(known_texts, encoder=encoder, progress=False)
    texts = ["a boat", "a sea lion", "a toy", "a sea lion"]
    emb, encoded = embed_reusing(texts, known_texts, known, encoder=encoder, progress=False)
    assert encoded == 1 and emb.shape == (4, encoder.dim) and emb.dtype == np.float32
    assert np.array_equal(emb[0], known[2]) and np.array_equal(emb[2], known[0])
    assert np.array_equal(emb[1], emb[3])
    direct = embed_texts(texts, encoder=encoder, progress=False)
    assert np.allclose(emb, direct, atol=1e-5)
    only_known, encoded = embed_reusing(["two toys"], known_texts, known, encoder=encoder)
    assert encoded == 0 and np.array_equal(only_known[0], known[1])
    with pytest.raises(ValueError, match="another encoder"):
        embed_reusing(["new text"], known_texts, known[:, :8], encoder=encoder, progress=False)
    with pytest.raises(ValueError, match="3 known texts but 2"):
        embed_reusing(["a toy"], known_texts, known[:2], encoder=encoder)
