"""Training: spec parsing, schedules, image stores and transforms, end-to-end CLIP / SL runs."""

from __future__ import annotations

import io as _io
import json
import math
import tarfile

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cliptail import io
from cliptail.data.images import (
    ArrayImageStore,
    FileImageStore,
    ImageTransform,
    WebDatasetImageStore,
    crop_boxes,
    draft_request,
    open_image_store,
)
from cliptail.models.build import load_checkpoint
from cliptail.train import SpecError, TrainSpec, train_run
from cliptail.train.data import EpochBatches, load_train_data
from cliptail.train.optim import learning_rate, milestone_epochs, param_groups
from tests.fixtures.toy_data import write_toy_split

SMALL_MODEL = {
    "vision_width": 8,
    "text_width": 32,
    "text_heads": 1,
    "text_layers": 1,
    "embed_dim": 32,
}


def small_spec(method: str, **extra) -> dict:
    spec = {
        "run": f"test-{method}",
        "method": method,
        "threads": 1,
        "log_every": 2,
        "model": dict(SMALL_MODEL),
        "optim": {"epochs": 2, "batch_size": 64, "warmup_steps": 2},
    }
    spec.update(extra)
    return spec


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("toy")
    write_toy_split(root, "train", 256, 6, alpha=1.0)
    return root


def run(toy, out, spec, **kwargs):
    return train_run(
        spec,
        manifest=toy / "train.parquet",
        classes=toy / "classes.tsv",
        images_root=toy,
        out_dir=out,
        progress=False,
        **kwargs,
    )


# --- spec ------------------------------------------------------------------------------------


def test_spec_defaults_follow_the_paper():
    clip = TrainSpec.from_dict({"method": "clip"}).resolved().optim
    assert (clip.epochs, clip.batch_size, clip.lr, clip.weight_decay, clip.warmup_steps) == (
        32,
        1024,
        1e-3,
        0.2,
        500,
    )
    assert (clip.schedule, clip.schedule_unit, clip.betas, clip.eps) == (
        "cosine",
        "step",
        (0.9, 0.999),
        1e-8,
    )
    sl = TrainSpec.from_dict({"method": "sl", "optim": {"batch_size": 512}}).resolved().optim
    assert (sl.epochs, sl.lr, sl.weight_decay, sl.momentum) == (90, 0.2, 1e-4, 0.9)
    assert (sl.schedule, sl.schedule_unit, sl.nesterov) == ("multistep", "epoch", True)
    cos = TrainSpec.from_dict({"method": "sl", "optim": {"schedule": "cosine"}}).resolved().optim
    assert cos.nesterov is False
    assert TrainSpec.from_dict({"method": "sl"}).vocab.shard == 64


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"optim": {"lrr": 1}}, r"unknown key\(s\) \['optim.lrr'\]"),
        ({"colour": 1}, r"unknown key\(s\) \['colour'\]"),
        ({"method": "byol"}, "method: must be one of"),
        ({"method": "sl", "vocab": {"size": 0}}, "vocab.size: must be an integer >= 1"),
        ({"method": "sl", "vocab": {"weight": "cubic"}}, "vocab.weight"),
        ({"optim": {"lr": -1}}, "optim.lr: must be a number > 0"),
        ({"optim": {"milestones": [0.5, 2]}}, "optim.milestones"),
        ({"amp": "yes"}, "amp: must be true or false"),
        ({"vocab": {"size": 10}}, "apply to method 'sl' only"),
        ({"method": "sl", "text_tower": "frozen"}, "apply to method 'clip' only"),
        ({"model": {"vision_layers": [1, 0]}}, "model.vision_layers"),
    ],
)
def test_spec_errors_name_the_key(spec, message):
    with pytest.raises(SpecError, match=message):
        TrainSpec.from_dict(spec)


def test_resume_key_ignores_runtime_keys_only():
    base = TrainSpec.from_dict({"method": "sl", "optim": {"epochs": 3}})
    same = TrainSpec.from_dict(
        {
            "method": "sl",
            "optim": {"epochs": 3},
            "threads": 2,
            "log_every": 7,
            "run": "other",
            "workers": 1,
        }
    )
    other = TrainSpec.from_dict({"method": "sl", "optim": {"epochs": 4}})
    assert base.resume_key("d") == same.resume_key("d")
    assert base.resume_key("d") != other.resume_key("d")
    assert base.resume_key("d") != base.resume_key("e")
    # an explicit default is the same run as an implicit one
    assert (
        base.resume_key()
        == TrainSpec.from_dict({"method": "sl", "optim": {"epochs": 3, "lr": 0.1}}).resume_key()
    )


# --- schedules and optimiser -------------------------------------------------------------------


def test_warmup_then_cosine_per_step():
    o = TrainSpec.from_dict({"optim": {"epochs": 2, "lr": 1.0, "warmup_steps": 4}}).resolved().optim
    lrs = [learning_rate(o, s, steps_per_epoch=10) for s in range(20)]
    assert lrs[:4] == [0.25, 0.5, 0.75, 1.0]
    assert lrs[4] == 1.0
    assert lrs[12] == pytest.approx(0.5 * (1 + math.cos(math.pi * 8 / 16)))
    assert lrs[-1] == pytest.approx(0.5 * (1 + math.cos(math.pi * 15 / 16)))


def test_multistep_at_the_papers_epochs():
    o = TrainSpec.from_dict({"method": "sl", "optim": {"epochs": 90, "lr": 1.0}}).resolved().optim
    assert milestone_epochs(o) == [30, 50, 70]
    lr = {e: learning_rate(o, e * 5, steps_per_epoch=5) for e in (0, 29, 30, 49, 50, 70, 89)}
    assert lr == pytest.approx({0: 1, 29: 1, 30: 0.1, 49: 0.1, 50: 0.01, 70: 0.001, 89: 0.001})
    short = TrainSpec.from_dict({"method": "sl", "optim": {"epochs": 9}}).resolved().optim
    assert milestone_epochs(short) == [3, 5, 7]


def test_per_epoch_cosine():
    o = (
        TrainSpec.from_dict(
            {"method": "sl", "optim": {"epochs": 4, "lr": 1.0, "schedule": "cosine"}}
        )
        .resolved()
        .optim
    )
    lrs = [learning_rate(o, s, steps_per_epoch=3) for s in range(12)]
    assert lrs[0] == lrs[2] == 1.0
    assert lrs[3] == lrs[5] == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))


def test_no_weight_decay_on_norms_biases_and_logit_scale():
    from cliptail.models.build import build_model
    from cliptail.models.configs import model_config

    model = build_model("clip", model_config("cliptail-tiny-rn", **SMALL_MODEL), num_classes=3)
    no_decay, decay = param_groups(model, 0.2)
    names = {id(p): n for n, p in model.named_parameters()}
    assert decay["weight_decay"] == 0.2 and no_decay["weight_decay"] == 0.0
    exempt = {names[id(p)] for p in no_decay["params"]}
    assert "clip.logit_scale" in exempt and "clip.positional_embedding" not in exempt
    assert any(".bn1." in n for n in exempt) and any(n.endswith("bias") for n in exempt)
    assert all(p.ndim >= 2 for p in decay["params"])
    assert "clip.visual.conv1.weight" in {names[id(p)] for p in decay["params"]}


# --- images ----------------------------------------------------------------------------------


def test_array_store_locates_and_loads(tmp_path):
    (tmp_path / "images").mkdir()
    a = np.arange(3 * 4 * 4 * 3, dtype=np.uint8).reshape(3, 4, 4, 3)
    b = 255 - np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    np.save(tmp_path / "images" / "train.npy", a)
    np.save(tmp_path / "images" / "val.npy", b)
    store = open_image_store(tmp_path)
    assert isinstance(store, ArrayImageStore)
    handles = store.locate(["val/0000001", "train/0000002", "train/0000000"])
    out = store.load(handles).numpy()
    assert np.array_equal(out, np.stack([b[1], a[2], a[0]]))
    with pytest.raises(ValueError, match="out of range"):
        store.locate(["train/0000003"])
    with pytest.raises(ValueError, match="'test/0000000'"):
        store.locate(["test/0000000"])


def test_file_store_reads_images(tmp_path):
    from PIL import Image

    (tmp_path / "n01").mkdir()
    pixels = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "n01" / "a.png")
    store = open_image_store(tmp_path)
    assert isinstance(store, FileImageStore)
    (img,) = store.load(store.locate(["n01/a.png"]))
    assert np.array_equal(np.asarray(img), pixels)
    with pytest.raises(
        FileNotFoundError, match=f"^image 'n01/missing.png' not found under {tmp_path}$"
    ):
        store.load(store.locate(["n01/missing.png"]))


def test_pil_images_take_the_same_transforms(tmp_path):
    from PIL import Image

    pixels = np.random.default_rng(2).integers(0, 256, (40, 50, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "a.png")
    store = FileImageStore(tmp_path)
    handles = store.locate(["a.png", "a.png"])
    train = ImageTransform(16, train=True)
    noise = train.noise(2, np.random.default_rng(0))
    images = store.load(handles)
    out = train(images, noise)
    assert out.shape == (2, 3, 16, 16) and not torch.equal(out[0], out[1])
    with pytest.raises(ValueError, match="closed"):  # decoded by the transform, then released
        images[0].load()
    assert torch.equal(train(store.load(handles), noise), out)  # the crops depend on the noise
    evaluated = ImageTransform(16, train=False, resize=20)(store.load(handles))
    assert evaluated.shape == (2, 3, 16, 16) and torch.equal(evaluated[0], evaluated[1])
    decoded = [Image.open(tmp_path / "a.png").convert("RGB")]
    train(decoded, noise[:1])
    assert decoded[0].load() is not None  # images decoded by the caller are left open


def test_crop_boxes_respect_scale_ratio_and_bounds():
    noise = np.random.default_rng(0).random((500, 10, 4))
    boxes = crop_boxes(np.full(500, 40), np.full(500, 60), noise, (0.3, 0.9), (3 / 4, 4 / 3))
    i, j, h, w = boxes.T
    assert np.all((i >= 0) & (j >= 0) & (i + h <= 40) & (j + w <= 60))
    frac = h * w / (40 * 60)
    assert frac.min() > 0.28 and frac.max() < 0.92
    assert np.all((w / h > 0.7) & (w / h < 1.4))
    # no attempt can fit (area > image): torchvision's centre-crop fallback
    box = crop_boxes(np.array([10]), np.array([40]), noise[:1], (2.0, 2.0), (1.0, 1.0))
    assert box.tolist() == [[0, 15, 10, 10]]


def test_train_transform_crops_and_resizes_like_interpolate():
    rng = np.random.default_rng(0)
    images = torch.from_numpy(rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8))
    identity = ImageTransform(32, train=True, scale=(1.0, 1.0), ratio=(1.0, 1.0))
    out = identity(images, identity.noise(4, rng))
    plain = ImageTransform(32, train=False)(images)
    assert torch.allclose(out, plain, atol=1e-5)  # full-image crop at the same size = no change
    half = ImageTransform(32, train=True, scale=(0.25, 0.25), ratio=(1.0, 1.0))
    noise = half.noise(4, rng)
    out = half(images, noise)
    x = images.permute(0, 3, 1, 2).float() / 255
    for k, (i, j, h, w) in enumerate(
        crop_boxes(np.full(4, 32), np.full(4, 32), noise, (0.25, 0.25), (1.0, 1.0))
    ):
        crop = x[k : k + 1, :, i : i + h, j : j + w]
        ref = F.interpolate(crop, size=(32, 32), mode="bicubic", align_corners=False).clamp(0, 1)
        ref = (ref - torch.tensor(half.mean).view(1, 3, 1, 1)) / torch.tensor(half.std).view(
            1, 3, 1, 1
        )
        assert torch.allclose(out[k : k + 1], ref, atol=1e-4)
    with pytest.raises(ValueError, match="crop noise"):
        half(images)


def test_eval_transform_resizes_then_centre_crops():
    images = torch.from_numpy(
        np.random.default_rng(1).integers(0, 256, (2, 40, 40, 3), dtype=np.uint8)
    )
    t = ImageTransform(16, train=False, resize=20)
    x = images.permute(0, 3, 1, 2).float() / 255
    ref = F.interpolate(
        x, size=(20, 20), mode="bicubic", antialias=True, align_corners=False
    ).clamp(0, 1)
    ref = ref[..., 2:18, 2:18]
    ref = (ref - torch.tensor(t.mean).view(1, 3, 1, 1)) / torch.tensor(t.std).view(1, 3, 1, 1)
    assert torch.allclose(t(images), ref, atol=1e-5)


# --- reduced-size JPEG decoding (Image.draft) --------------------------------------------------


def _photo(width: int = 500, height: int = 375, seed: int = 0):
    """A smooth photo-like RGB PIL image: colour gradients and a few flat shapes."""
    from PIL import Image, ImageDraw

    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    phase = rng.random(3) * 6
    pixels = np.stack([np.sin(3 * x + p) * np.cos(2 * y - p) for p in phase], axis=-1)
    img = Image.fromarray(((pixels + 1) * 120 + 8).astype(np.uint8))
    draw = ImageDraw.Draw(img)
    for _ in range(4):
        x0, x1 = sorted(rng.integers(0, width, 2).tolist())
        y0, y1 = sorted(rng.integers(0, height, 2).tolist())
        draw.ellipse((x0, y0, x1, y1), fill=tuple(rng.integers(0, 256, 3).tolist()))
    return img


def _jpeg(img, **options) -> bytes:
    buf = _io.BytesIO()
    img.save(buf, "JPEG", quality=90, **options)
    return buf.getvalue()


def _open(data: bytes):
    from PIL import Image

    return Image.open(_io.BytesIO(data))


def _decoded(data: bytes):
    """The same image fully decoded first (``draft`` is then a no-op): the reference path."""
    img = _open(data)
    img.load()
    return img


def _unnormalise(t: ImageTransform, x: torch.Tensor) -> torch.Tensor:
    """Back to [0, 1] values."""
    return x * torch.tensor(t.std).view(1, 3, 1, 1) + torch.tensor(t.mean).view(1, 3, 1, 1)


def test_draft_request_known_answers():
    from PIL import Image

    # a 900 x 720 crop of a 1000 x 800 image at 224 px: 1/2 keeps 450 x 360, 1/4 would not (180)
    assert draft_request(1000, 800, 720, 224) == (500, 400)
    assert draft_request(1000, 800, 896, 224) == (250, 200)  # 1/4: 224 x 224 exactly
    assert draft_request(1000, 800, 447, 224) == (1000, 800)  # no downscale
    assert draft_request(4000, 3000, 3000, 224) == (500, 375)  # 1/8 at most
    assert draft_request(1001, 801, 720, 224) == (500, 400)  # odd sizes: still 1/2
    for short, decoded in ((720, (500, 400)), (896, (250, 200)), (2000, (125, 100))):
        img = Image.new("RGB", (1000, 800))
        img = _open(_jpeg(img))
        img.draft("RGB", draft_request(1000, 800, short, 224))
        assert img.size == decoded  # what PIL's decoder then gives
    img = _open(_jpeg(Image.new("RGB", (1001, 801))))
    img.draft("RGB", draft_request(1001, 801, 720, 224))
    assert img.size == (501, 401)
    # the plan: a 900 x 720 box (torchvision's first attempt) of a 1000 x 800 image
    t = ImageTransform(224, train=True, scale=(0.5, 1.0))
    noise = np.zeros((10, 4))
    noise[0] = (0.62, math.log(1.25 / 0.75) / math.log(16 / 9), 0.5, 0.5)
    assert t.decode_plan(1000, 800, noise) == ((40, 50, 720, 900), (500, 400))
    # eval: the shorter side must stay >= resize
    assert ImageTransform(224, train=False).decode_plan(1000, 800, None) == (None, (500, 400))
    assert ImageTransform(224, train=False, resize=256).decode_plan(1000, 500, None) == (
        None,
        (1000, 500),
    )


def test_draft_keeps_the_crop_boxes():
    """The boxes are chosen from the header size in original coordinates: with the same noise
    they are torchvision's boxes of the full image, and in relative coordinates the same region
    of the downscaled image."""
    data = _jpeg(_photo(1000, 750))
    t = ImageTransform(224, train=True)
    noise = t.noise(50, np.random.default_rng(0))
    full = _decoded(data)
    ref = crop_boxes(np.full(50, full.height), np.full(50, full.width), noise, t.scale, t.ratio)
    for k in range(50):
        img = _open(data)
        box, requested = t.decode_plan(*img.size, noise[k])
        assert box == tuple(ref[k].tolist())
        _, (_, _, width, height) = img.draft("RGB", requested)
        assert img.size == (500, 375) and (width, height) == (500.0, 375.0)  # scale 1/2
        i, j, h, w = box
        f = width / 1000
        relative = (j * f / width, i * f / height, (j + w) * f / width, (i + h) * f / height)
        assert relative == (j / 1000, i / 750, (j + w) / 1000, (i + h) / 750)


@pytest.mark.parametrize(
    "transform",
    [
        ImageTransform(112, train=True),  # 1/2
        ImageTransform(64, train=True),  # 1/4
        ImageTransform(40, train=True, scale=(0.08, 1.0)),  # small crops: 1/1 to 1/4
        ImageTransform(112, train=False, resize=128),  # 1/2
    ],
    ids=["clip-crop-half", "clip-crop-quarter", "sl-crop", "eval"],
)
def test_draft_output_is_close_to_the_full_decode(transform):
    data = [_jpeg(_photo(seed=s)) for s in range(4)]
    noise = transform.noise(4, np.random.default_rng(1))
    lazy = [_open(d) for d in data]
    drafted = _unnormalise(transform, transform(lazy, noise))
    full = _unnormalise(transform, transform([_decoded(d) for d in data], noise))
    assert min(img.size for img in lazy) < (500, 375)  # the decoder did downscale
    assert (drafted - full).abs().mean() < 0.01
    assert (drafted - full).abs().mean(dim=(1, 2, 3)).max() < 0.01


def test_jpeg_without_downscale_and_png_give_the_full_decode_exactly():
    """At 224 px a 500 x 375 JPEG is decoded at full size: the same pixels as before; PNG ignores
    draft. Both equal the previous pipeline (decode, convert to RGB, crop + resize / Resize +
    CenterCrop)."""
    from PIL import Image
    from torchvision.transforms import functional as TF

    photo = _photo()
    buf = _io.BytesIO()
    photo.convert("P", palette=Image.ADAPTIVE).save(buf, "PNG")
    png = buf.getvalue()
    for data in (_jpeg(photo), png):
        for t in (ImageTransform(224, train=True), ImageTransform(224, train=False, resize=256)):
            noise = t.noise(2, np.random.default_rng(2))
            out = t([_open(data), _open(data)], noise)
            ref = []
            for k in range(2):
                img = _open(data).convert("RGB")
                if t.train:
                    i, j, h, w = crop_boxes(
                        np.array([375]), np.array([500]), noise[k : k + 1], t.scale, t.ratio
                    )[0].tolist()
                    img = img.resize((224, 224), Image.BICUBIC, box=(j, i, j + w, i + h))
                else:
                    img = TF.resize(img, 256, TF.InterpolationMode.BICUBIC)
                    img = TF.center_crop(img, 224)
                ref.append(TF.pil_to_tensor(img).float().div_(255))
            assert torch.equal(out, t._normalise(torch.stack(ref)))


@pytest.mark.parametrize("mode", ["L", "CMYK"])
def test_greyscale_and_cmyk_jpegs_are_downscaled_and_converted_to_rgb(mode):
    data = _jpeg(_photo().convert(mode))
    t = ImageTransform(112, train=True)
    noise = t.noise(1, np.random.default_rng(3))
    lazy = _open(data)
    assert lazy.mode == mode
    out = _unnormalise(t, t([lazy], noise))
    assert lazy.size == (250, 188)  # decoded at 1/2
    full = _unnormalise(t, t([_decoded(data)], noise))
    assert out.shape == (1, 3, 112, 112) and (out - full).abs().mean() < 0.01
    if mode == "L":
        assert torch.allclose(out[:, 0], out[:, 1], atol=1e-6)


def test_file_trees_and_webdataset_shards_take_the_draft_path(tmp_path):
    data = [_jpeg(_photo(seed=s)) for s in range(3)]
    (tmp_path / "tree" / "n01").mkdir(parents=True)
    (tmp_path / "shards").mkdir()
    with tarfile.open(tmp_path / "shards" / "00000.tar", "w") as tar:
        for k, d in enumerate(data):
            (tmp_path / "tree" / "n01" / f"{k}.JPEG").write_bytes(d)
            for suffix, payload in (("jpg", d), ("txt", b"a photo")):
                info = tarfile.TarInfo(f"00000000{k}.{suffix}")
                info.size = len(payload)
                tar.addfile(info, _io.BytesIO(payload))
    files = open_image_store(tmp_path / "tree")
    shards = open_image_store(tmp_path / "shards")
    assert isinstance(files, FileImageStore) and isinstance(shards, WebDatasetImageStore)
    t = ImageTransform(112, train=True)
    noise = t.noise(3, np.random.default_rng(4))
    outs = []
    for store, keys in (
        (files, [f"n01/{k}.JPEG" for k in range(3)]),
        (shards, [f"00000.tar/00000000{k}" for k in range(3)]),
    ):
        images = store.load(store.locate(keys))
        assert all(img.tile and img.size == (500, 375) for img in images)  # opened, not decoded
        outs.append(t(images, noise))
        assert all(img.size == (250, 188) for img in images)  # decoded at 1/2
    assert torch.equal(outs[0], outs[1])
    full = t([_decoded(d) for d in data], noise)
    assert not torch.equal(outs[0], full)
    assert (_unnormalise(t, outs[0]) - _unnormalise(t, full)).abs().mean() < 0.01


# --- data order ------------------------------------------------------------------------------


def test_batches_are_deterministic_and_split_across_processes(toy):
    data = load_train_data(toy / "train.parquet", toy / "classes.tsv", toy)
    t = ImageTransform(32, train=True)
    whole = EpochBatches(data, t, seed=3, epoch=1, batch_size=64)
    parts = [
        EpochBatches(data, t, seed=3, epoch=1, batch_size=64, rank=r, world_size=2)
        for r in range(2)
    ]
    assert len(whole) == 4
    for step in range(len(whole)):
        full = whole[step]
        halves = [p[step] for p in parts]
        assert torch.equal(torch.cat([h["labels"] for h in halves]), full["labels"])
        assert torch.equal(torch.cat([h["images"] for h in halves]), full["images"])
        assert [h["first_row"] for h in halves] == [0, 32]
    again = EpochBatches(data, t, seed=3, epoch=1, batch_size=64)[2]
    assert torch.equal(again["images"], whole[2]["images"])
    assert not torch.equal(
        EpochBatches(data, t, seed=3, epoch=2, batch_size=64)[2]["labels"], whole[2]["labels"]
    )
    with pytest.raises(ValueError, match="not divisible"):
        EpochBatches(data, t, seed=0, epoch=0, batch_size=64, world_size=3)


# --- end to end ------------------------------------------------------------------------------


def test_clip_run_writes_its_outputs(toy, tmp_path):
    summary = run(toy, tmp_path, small_spec("clip"))
    assert summary["steps"] == 8 and summary["resumed_from"] == []
    lines = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    epochs = [x for x in lines if x["event"] == "epoch"]
    steps = [x for x in lines if x["event"] == "step"]
    assert [e["epoch"] for e in epochs] == [1, 2] and len(steps) == 4
    assert set(steps[0]) >= {"step", "epoch", "loss", "lr", "logit_scale", "images_per_s"}
    assert steps[0]["lr"] == pytest.approx(1e-3)  # step 2 of 2 warm-up steps
    meta = io.read_json(tmp_path / "run.json")
    assert meta["spec"]["optim"]["schedule"] == "cosine" and meta["seed"] == 0
    assert {"torch", "open_clip", "numpy"} <= set(meta["versions"]) and meta["device"] == "cpu"
    model, ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert ckpt["class_names"] == io.read_classes(toy / "classes.tsv")["name"].tolist()
    assert ckpt["model_config"]["embed_dim"] == 32
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())  # no temporary files


def test_same_seed_same_weights_different_seed_different(toy, tmp_path):
    spec = small_spec("sl", optim={"epochs": 1, "batch_size": 64})
    run(toy, tmp_path / "a", spec)
    run(toy, tmp_path / "b", spec)
    run(toy, tmp_path / "c", {**spec, "seed": 1})
    a, b, c = (
        torch.load(tmp_path / x / "checkpoint.pt", weights_only=False)["state_dict"] for x in "abc"
    )
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["prototypes"], c["prototypes"])


def test_sl_with_vocabulary_and_frozen_head(toy, tmp_path):
    protos = np.random.default_rng(0).standard_normal((6, 24)).astype(np.float16)
    torch.save(torch.from_numpy(protos), tmp_path / "head.pt")
    spec = small_spec("sl", head="frozen", vocab={"size": 3, "weight": "sqrt", "shard": 16})
    spec["model"].pop("embed_dim")
    summary = run(toy, tmp_path / "out", spec, class_embeddings=tmp_path / "head.pt")
    assert math.isfinite(summary["loss"])
    model, ckpt = load_checkpoint(tmp_path / "out" / "checkpoint.pt")
    assert ckpt["model_config"]["embed_dim"] == 24
    assert torch.equal(model.prototypes, torch.from_numpy(protos.astype(np.float32)))


def test_clip_with_frozen_text_tower(toy, tmp_path):
    emb = np.random.default_rng(0).standard_normal((256, 20)).astype(np.float32)
    np.save(tmp_path / "emb.npy", emb)
    spec = small_spec("clip", text_tower="frozen")
    with pytest.raises(ValueError, match="needs text_embeddings"):
        run(toy, tmp_path / "out", spec)
    run(toy, tmp_path / "out", spec, text_embeddings=tmp_path / "emb.npy")
    model, ckpt = load_checkpoint(tmp_path / "out" / "checkpoint.pt")
    assert ckpt["text_dim"] == 20 and model.text_projection.weight.shape == (32, 20)
    np.save(tmp_path / "short.npy", np.zeros((3, 20), dtype=np.float32))
    with pytest.raises(ValueError, match="aligned with the manifest rows"):
        run(toy, tmp_path / "out2", spec, text_embeddings=tmp_path / "short.npy")


@pytest.mark.parametrize("method", ["clip", "sl"])
def test_mixed_precision_on_cpu(toy, tmp_path, method):
    summary = run(
        toy,
        tmp_path,
        small_spec(method, amp=True, optim={"epochs": 1, "batch_size": 64, "warmup_steps": 1}),
    )
    assert math.isfinite(summary["loss"])
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["state_dict"]
    assert all(v.dtype != torch.bfloat16 for v in state.values())  # weights stay float32


def test_user_errors_are_clear(toy, tmp_path):
    with pytest.raises(ValueError, match="fewer than one batch"):
        run(toy, tmp_path, small_spec("sl", optim={"batch_size": 1024}))
    with pytest.raises(ValueError, match="needs class_embeddings"):
        run(toy, tmp_path, small_spec("sl", head="frozen"))
