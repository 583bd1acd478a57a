"""DINO (``method: dino``): spec, prototype subsampling, Sinkhorn-Knopp teacher, loss, EMA teacher,
multi-crop, the multi-resolution backbone, end-to-end runs and their checkpoints, and the
multi-process parts (same subset on every rank, distributed Sinkhorn-Knopp = one process)."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F

from cliptail import io
from cliptail.data.images import ImageTransform, crop_boxes, open_image_store
from cliptail.data.multicrop import (
    BOX_FIELDS,
    FIELDS,
    MultiCropTransform,
    adjust_brightness,
    adjust_contrast,
    adjust_hue,
    adjust_saturation,
    augment,
    gaussian_blur,
    grayscale,
)
from cliptail.models.build import build_model, load_checkpoint
from cliptail.models.clip import build_vision_tower
from cliptail.models.configs import model_config
from cliptail.models.dino import DinoModel, multi_resolution
from cliptail.train import SpecError, TrainSpec, train_run
from cliptail.train.data import EpochBatches, load_train_data
from cliptail.train.dino_loss import (
    assert_same_on_ranks,
    dino_loss,
    prototype_subset,
    sinkhorn_knopp,
    teacher_momentum,
    teacher_temperature,
)
from cliptail.train.dino_step import local_crop_size
from tests.fixtures.toy_data import write_toy_split

HEAD = {"prototypes": 64, "head_hidden": 32, "bottleneck": 16, "head_layers": 3}
SMALL = {"vision_width": 8, "embed_dim": 32}


def tiny_dino_spec(run: str = "dino", epochs: int = 2, **dino) -> dict:
    """A tiny DINO run on the toy data (well under a second per epoch on one thread)."""
    return {
        "run": run,
        "method": "dino",
        "threads": 1,
        "log_every": 2,
        "model": dict(SMALL),
        "dino": {**HEAD, "subsample": 32, "local_crops": 2, "local_size": 16, **dino},
        "optim": {"epochs": epochs, "batch_size": 64},
    }


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("dino")
    write_toy_split(root, "train", 256, 6, alpha=1.0)
    return root


@pytest.fixture(scope="module")
def model() -> DinoModel:
    torch.manual_seed(0)
    return DinoModel(model_config("cliptail-tiny-rn", **SMALL), HEAD)


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


def test_spec_defaults_follow_the_papers_dino_recipe():
    spec = TrainSpec.from_dict({"method": "dino"}).resolved()
    o = spec.optim
    assert (o.epochs, o.batch_size, o.lr, o.weight_decay, o.warmup_steps) == (
        100,
        1024,
        pytest.approx(0.12),
        1e-4,
        0,
    )
    assert (o.schedule, o.schedule_unit, o.momentum, o.nesterov) == ("cosine", "step", 0.9, False)
    d = spec.dino
    assert (d.prototypes, d.subsample, d.head_hidden, d.bottleneck, d.head_layers) == (
        65536,
        None,
        2048,
        256,
        3,
    )
    assert (d.student_temp, d.teacher_temp, d.sinkhorn_iterations) == (0.1, 0.04, 3)
    assert (d.momentum, d.momentum_final) == (0.996, 1.0)
    assert (d.global_scale, d.local_scale, d.local_crops, d.local_size) == (
        (0.14, 1.0),
        (0.05, 0.14),
        6,
        None,
    )
    assert local_crop_size(224) == 96 and local_crop_size(32) == 14
    half = TrainSpec.from_dict({"method": "dino", "optim": {"batch_size": 128}}).resolved()
    assert half.optim.lr == pytest.approx(0.015)
    # an explicit default is the same run as an implicit one
    assert (
        TrainSpec.from_dict({"method": "dino"}).resume_key("d")
        == TrainSpec.from_dict({"method": "dino", "dino": {"prototypes": 65536}}).resume_key("d")
        != TrainSpec.from_dict({"method": "dino", "dino": {"subsample": 1024}}).resume_key("d")
    )


def test_clip_and_sl_specs_are_unchanged_by_the_dino_key():
    """Resume keys of CLIP / SL specs as they were before DINO existed; no ``dino`` key."""
    clip = TrainSpec.from_dict({"method": "clip"})
    assert clip.resume_key("fp") == "254793333db3bc63"
    assert "dino" not in clip.to_dict() and "dino" not in clip.resolved().to_dict()
    assert TrainSpec.from_dict({"method": "clip", "dino": None}).to_dict() == clip.to_dict()
    sl = TrainSpec.from_dict({"method": "sl", "vocab": {"size": 4}})
    assert sl.resume_key("fp") == "fe5a2ede883031be"


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"method": "dino", "dino": {"prototype": 8}}, r"unknown key\(s\) \['dino.prototype'\]"),
        (
            {"method": "dino", "dino": {"prototypes": 8, "subsample": 9}},
            "dino.subsample: must be <=",
        ),
        ({"method": "dino", "dino": {"subsample": 0}}, "dino.subsample: must be an integer >= 1"),
        ({"method": "dino", "dino": {"teacher_temp": 0}}, "dino.teacher_temp: must be a number >"),
        ({"method": "dino", "dino": {"momentum": 1.1}}, r"dino.momentum: must be in \[0, 1\]"),
        ({"method": "dino", "dino": {"local_scale": [0.3, 0.1]}}, "dino.local_scale"),
        ({"method": "dino", "dino": {"global_scale": [0.3]}}, "dino.global_scale"),
        ({"method": "dino", "dino": {"local_crops": -1}}, "dino.local_crops"),
        ({"method": "dino", "dino": []}, "dino: must be a mapping"),
        ({"method": "sl", "dino": {}}, "'dino' applies to method 'dino' only"),
        ({"method": "dino", "vocab": {"size": 3}}, "apply to method 'sl' only"),
        ({"method": "dino", "text_tower": "frozen"}, "apply to method 'clip' only"),
    ],
)
def test_spec_errors_name_the_key(spec, message):
    with pytest.raises(SpecError, match=message):
        TrainSpec.from_dict(spec)


# --- prototype subsets and the loss ------------------------------------------------------------


def test_prototype_subset_is_uniform_unique_and_deterministic():
    a = prototype_subset(1000, 100, seed=0, epoch=1, step=2)
    assert a.dtype == torch.int64 and a.shape == (100,)
    assert len(set(a.tolist())) == 100 and 0 <= int(a.min()) and int(a.max()) < 1000
    assert torch.equal(a, a.sort().values)
    assert torch.equal(a, prototype_subset(1000, 100, seed=0, epoch=1, step=2))
    others = [(0, 1, 3), (0, 2, 2), (1, 1, 2)]
    assert all(not torch.equal(a, prototype_subset(1000, 100, *o)) for o in others)
    assert prototype_subset(1000, None, 0, 0, 0) is None
    assert torch.equal(prototype_subset(50, 50, 3, 4, 5), torch.arange(50))
    # uniform: over many steps every prototype is drawn about S / K of the time
    counts = torch.bincount(
        torch.cat([prototype_subset(64, 16, 0, 0, t) for t in range(2000)]), minlength=64
    )
    assert counts.float().div(2000).sub(0.25).abs().max() < 0.04
    with pytest.raises(ValueError, match="outside"):
        prototype_subset(10, 11, 0, 0, 0)
    assert_same_on_ranks(a)  # one process: nothing to compare, no error


def _loss(model: DinoModel, crops, subset, temp: float = 0.04) -> torch.Tensor:
    student, teacher = model(crops[:2], crops[2:], subset)
    targets = sinkhorn_knopp(teacher, temp, 3, world=1)
    return dino_loss(student.chunk(len(crops)), targets.chunk(2), 0.1)


def _crops(n: int = 6) -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return [torch.randn(n, 3, 32, 32, generator=g) for _ in range(2)] + [
        torch.randn(n, 3, 16, 16, generator=g) for _ in range(3)
    ]


def test_subsampled_loss_equals_full_loss_at_s_equal_k_and_reaches_only_its_rows(model):
    model.train()
    crops = _crops()
    full = _loss(model, crops, None)
    same = _loss(model, crops, prototype_subset(64, 64, 0, 0, 0))
    assert torch.equal(full, same)
    subset = prototype_subset(64, 16, 0, 0, 0)
    model.zero_grad(set_to_none=True)
    part = _loss(model, crops, subset)
    assert not torch.allclose(part, full)
    part.backward()
    grad = model.student.head.prototypes.grad
    selected = torch.zeros(64, dtype=torch.bool)
    selected[subset] = True
    assert torch.all(grad[~selected] == 0) and torch.all(grad[selected].abs().sum(dim=1) > 0)
    assert all(p.grad is None for p in model.teacher.parameters())  # the teacher has no gradient
    assert model.student.backbone.conv1.weight.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_sinkhorn_knopp_known_answer_by_hand():
    """Scores log([[1, 2], [3, 4]]) at temperature 1, one iteration: Q = [[1, 3], [2, 4]] / 10
    (prototype x sample); rows to 1/2: [[1/8, 3/8], [1/6, 1/3]]; columns to 1/2:
    [[3/7, 9/17], [4/7, 8/17]] / 2; times B = 2 and transposed: [[3/7, 4/7], [9/17, 8/17]]."""
    scores = torch.log(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    q = sinkhorn_knopp(scores, 1.0, 1, world=1)
    assert torch.allclose(q, torch.tensor([[3 / 7, 4 / 7], [9 / 17, 8 / 17]]), atol=1e-6)
    # 3 x 2 with equal scores: uniform targets whatever the iterations
    assert torch.allclose(
        sinkhorn_knopp(torch.zeros(3, 2), 0.1, 3, world=1), torch.full((3, 2), 0.5)
    )


def test_sinkhorn_knopp_balances_the_prototypes():
    scores = F.normalize(torch.randn(24, 6, generator=torch.Generator().manual_seed(0)), dim=1)
    for iterations, tol in ((3, 0.35), (50, 1e-3)):
        q = sinkhorn_knopp(scores, 0.5, iterations, world=1)
        assert torch.allclose(q.sum(dim=1), torch.ones(24), atol=1e-5)  # rows: distributions
        assert (q.sum(dim=0) - 24 / 6).abs().max() < tol * 24 / 6  # prototypes: uniform mass
    assert torch.all(q >= 0)
    # the constant shift before exp() cancels; a low temperature stays finite
    assert torch.allclose(q, sinkhorn_knopp(scores - 0.3, 0.5, 50, world=1), atol=1e-6)
    assert torch.isfinite(sinkhorn_knopp(scores, 1e-3, 3, world=1)).all()
    softmax = torch.softmax(scores / 0.5, dim=1)
    assert not torch.allclose(q, softmax, atol=1e-2)  # not the teacher's plain softmax


def test_dino_loss_pairs_and_known_answers():
    g = torch.Generator().manual_seed(0)
    B, K = 4, 7
    s = [torch.randn(B, K, generator=g) for _ in range(5)]
    q = [torch.softmax(torch.randn(B, K, generator=g), dim=-1) for _ in range(2)]
    ref, pairs = 0.0, 0
    for iq in range(2):  # DINO's DINOLoss.forward
        for v in range(5):
            if v != iq:
                ref += torch.sum(-q[iq] * F.log_softmax(s[v] / 0.1, dim=-1), dim=-1).mean()
                pairs += 1
    assert pairs == 8 and torch.allclose(dino_loss(s, q, 0.1), ref / pairs)
    uniform = [torch.full((B, K), 1 / K)] * 2
    assert dino_loss([torch.zeros(B, K)] * 3, uniform, 0.1).item() == pytest.approx(math.log(K))
    with pytest.raises(ValueError, match="at least two crops"):
        dino_loss(s[:1], q[:1], 0.1)


def test_momentum_and_teacher_temperature_schedules():
    assert teacher_momentum(0.996, 1.0, 0, 100) == pytest.approx(0.996)
    assert teacher_momentum(0.996, 1.0, 50, 100) == pytest.approx(0.998)
    assert teacher_momentum(0.996, 1.0, 100, 100) == pytest.approx(1.0)
    assert [teacher_temperature(0.07, 0.04, 4, e) for e in range(6)] == pytest.approx(
        list(np.linspace(0.04, 0.07, 4)) + [0.07, 0.07]
    )
    assert teacher_temperature(0.04, 0.01, 0, 0) == 0.04


# --- model -------------------------------------------------------------------------------------


def test_ema_teacher_update_known_answer():
    torch.manual_seed(0)
    m = DinoModel(model_config("cliptail-tiny-rn", **SMALL), HEAD)
    assert all(not p.requires_grad for p in m.teacher.parameters())
    assert all(
        torch.equal(a, b)
        for a, b in zip(
            m.student.state_dict().values(), m.teacher.state_dict().values(), strict=True
        )
    )
    with torch.no_grad():
        for p in m.student.parameters():
            p.fill_(3.0)
        for p in m.teacher.parameters():
            p.fill_(1.0)
    m.update_teacher(0.75)  # 0.75 * 1 + 0.25 * 3
    assert all(torch.all(p == 1.5) for p in m.teacher.parameters())
    assert all(torch.all(p == 3.0) for p in m.student.parameters())
    m.update_teacher(1.0)
    assert all(torch.all(p == 1.5) for p in m.teacher.parameters())


def test_backbone_is_the_clip_tower_and_takes_small_crops():
    cfg = model_config("cliptail-tiny-rn")
    torch.manual_seed(0)
    plain = build_vision_tower(cfg).eval()
    torch.manual_seed(0)
    multi = multi_resolution(build_vision_tower(cfg)).eval()
    assert plain.state_dict().keys() == multi.state_dict().keys()
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(plain(x), multi(x))  # bit-identical at the config's image size
        for side in (16, 14, 8):
            assert multi(torch.randn(2, 3, side, side)).shape == (2, 256)
        pool = multi.attnpool
        grid = torch.randn(2, pool.positional_embedding.shape[1], 1, 1)
        assert torch.equal(pool(grid), pool.pool(grid, pool.positional_embedding))


def test_rn50_backbone_resizes_its_positional_embedding_for_local_crops():
    torch.manual_seed(0)
    tower = multi_resolution(build_vision_tower(model_config("RN50"))).eval()
    pool = tower.attnpool
    assert torch.equal(pool.resized_embedding(7, 7), pool.positional_embedding)
    with torch.no_grad():
        assert tower(torch.randn(1, 3, 96, 96)).shape == (1, 1024)  # 3 x 3 grid
        assert tower(torch.randn(1, 3, 224, 224)).shape == (1, 1024)


def test_build_model_needs_the_dino_settings():
    cfg = model_config("cliptail-tiny-rn", **SMALL)
    with pytest.raises(ValueError, match="dino settings"):
        build_model("dino", cfg, num_classes=3)
    m = build_model("dino", cfg, num_classes=3, dino={**HEAD, "subsample": 8})
    assert m.student.head.prototypes.shape == (64, 16) and m.embed_dim == 32


# --- multi-crop ----------------------------------------------------------------------------------


def _images(n: int = 8, side: int = 32, seed: int = 0) -> torch.Tensor:
    rng = np.random.default_rng(seed)
    return torch.from_numpy(rng.integers(0, 256, (n, side, side, 3), dtype=np.uint8))


def test_multicrop_shapes_and_determinism():
    t = MultiCropTransform(global_size=32, local_size=16, local_crops=3)
    noise = t.noise(8, np.random.default_rng([0, 1, 2, 1]))
    assert noise.shape == (8, 5, BOX_FIELDS + len(FIELDS))
    crops = t(_images(), noise)
    assert [tuple(c.shape) for c in crops] == [(8, 3, 32, 32)] * 2 + [(8, 3, 16, 16)] * 3
    again = t(_images(), t.noise(8, np.random.default_rng([0, 1, 2, 1])))
    assert all(torch.equal(a, b) for a, b in zip(crops, again, strict=True))
    other = t(_images(), t.noise(8, np.random.default_rng([0, 1, 3, 1])))
    assert not torch.equal(crops[0], other[0])
    assert not torch.equal(crops[0], crops[1])  # the two global views differ
    # values stay those of normalised [0, 1] pixels
    lo = (0 - torch.tensor(t.mean)) / torch.tensor(t.std)
    hi = (1 - torch.tensor(t.mean)) / torch.tensor(t.std)
    for c in crops:
        assert torch.all(c >= lo.view(1, 3, 1, 1) - 1e-5) and torch.all(
            c <= hi.view(1, 3, 1, 1) + 1e-5
        )
    with pytest.raises(ValueError, match="noise"):
        t(_images(), noise[:, :2])


def test_multicrop_boxes_respect_the_scales():
    t = MultiCropTransform(global_size=224, local_size=96, local_crops=2)
    noise = t.noise(2000, np.random.default_rng(0))
    boxes = t.boxes(np.full(2000, 300), np.full(2000, 400), noise)
    i, j, h, w = (boxes[..., k] for k in range(4))
    assert np.all((i >= 0) & (j >= 0) & (i + h <= 300) & (j + w <= 400))
    frac = h * w / (300 * 400)
    g, loc = frac[:, :2], frac[:, 2:]
    assert g.min() > 0.13 and g.max() <= 1.0 and np.median(g) > 0.4
    assert loc.min() > 0.045 and loc.max() < 0.15
    assert np.all((w / h > 0.7) & (w / h < 1.4))
    # the global crops are torchvision's RandomResizedCrop boxes for those uniforms
    ref = crop_boxes(
        np.full(2000, 300),
        np.full(2000, 400),
        noise[:, 0, :40].reshape(2000, 10, 4),
        (0.14, 1.0),
        (3 / 4, 4 / 3),
    )
    assert np.array_equal(boxes[:, 0], ref)


def test_crops_are_the_image_transform_crops_before_colour():
    """With every photometric operation off, a crop is the CLIP/SL transform's crop at that
    scale and size, for the same box noise (the same crop + bicubic resize code)."""
    t = MultiCropTransform(
        global_size=32,
        local_size=16,
        local_crops=1,
        jitter_p=0.0,
        grayscale_p=0.0,
        blur_p=(0.0, 0.0, 0.0),
        solarize_p=(0.0, 0.0, 0.0),
    )
    noise = t.noise(4, np.random.default_rng(3))
    noise[:, :, BOX_FIELDS + FIELDS.index("flip")] = 0.9  # no flip
    crops = t(_images(4), noise)
    for c, (size, scale) in enumerate([(32, t.global_scale)] * 2 + [(16, t.local_scale)]):
        ref = ImageTransform(size, train=True, scale=scale)(
            _images(4), noise[:, c, :BOX_FIELDS].reshape(4, 10, 4)
        )
        assert torch.allclose(crops[c], ref, atol=1e-5)


def test_colour_operations_match_torchvision():
    from torchvision.transforms import functional as TF

    x = torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    f = torch.tensor([0.6, 0.9, 1.2, 1.4])
    hue = torch.tensor([-0.1, -0.03, 0.05, 0.1])
    for k in range(4):
        one = x[k : k + 1]
        assert torch.allclose(adjust_brightness(x, f)[k], TF.adjust_brightness(one, float(f[k]))[0])
        assert torch.allclose(
            adjust_contrast(x, f)[k], TF.adjust_contrast(one, float(f[k]))[0], atol=1e-6
        )
        assert torch.allclose(
            adjust_saturation(x, f)[k], TF.adjust_saturation(one, float(f[k]))[0], atol=1e-6
        )
        assert torch.allclose(
            adjust_hue(x, hue)[k], TF.adjust_hue(one, float(hue[k]))[0], atol=1e-5
        )
        assert torch.allclose(
            gaussian_blur(x, torch.full((4,), 0.8), 2)[k],
            TF.gaussian_blur(one, [5, 5], [0.8, 0.8])[0],
            atol=1e-6,
        )
    assert torch.allclose(grayscale(x), TF.rgb_to_grayscale(x), atol=1e-6)


def test_jitter_runs_in_each_samples_random_order():
    t = MultiCropTransform(
        global_size=12,
        local_size=8,
        local_crops=0,
        grayscale_p=0.0,
        blur_p=(0.0, 0.0, 0.0),
        solarize_p=(0.0, 0.0, 0.0),
    )
    x = torch.rand(6, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    u = torch.rand(6, len(FIELDS), generator=torch.Generator().manual_seed(2))
    u[:, FIELDS.index("flip")] = 0.9
    u[:, FIELDS.index("jitter")] = 0.1  # jitter every sample
    out = augment(x.clone(), u, t, 0.0, 0.0)
    ops = (adjust_brightness, adjust_contrast, adjust_saturation, adjust_hue)
    factors = (0.6 + 0.8 * u[:, 2], 0.6 + 0.8 * u[:, 3], 0.8 + 0.4 * u[:, 4], -0.1 + 0.2 * u[:, 5])
    orders = set()
    for k in range(6):
        order = torch.argsort(u[k, 6:10]).tolist()
        orders.add(tuple(order))
        y = x[k : k + 1].clone()
        for op in order:
            y = ops[op](y, factors[op][k : k + 1])
        assert torch.allclose(out[k : k + 1], y, atol=1e-6)
    assert len(orders) > 1


def test_multicrop_batches_split_across_processes(toy):
    data = load_train_data(toy / "train.parquet", toy / "classes.tsv", toy)
    t = MultiCropTransform(global_size=32, local_size=16, local_crops=2)
    whole = EpochBatches(data, t, seed=3, epoch=1, batch_size=64)[2]
    halves = [
        EpochBatches(data, t, seed=3, epoch=1, batch_size=64, rank=r, world_size=2)[2]
        for r in range(2)
    ]
    for c in range(4):
        assert torch.allclose(torch.cat([h["images"][c] for h in halves]), whole["images"][c])


def test_multicrop_of_image_files(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for k in range(3):
        Image.fromarray(rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)).save(
            tmp_path / f"{k}.png"
        )
    store = open_image_store(tmp_path)
    handles = store.locate([f"{k}.png" for k in range(3)])
    t = MultiCropTransform(global_size=32, local_size=16, local_crops=2)
    noise = t.noise(3, np.random.default_rng(1))
    images = store.load(handles)
    crops = t(images, noise)
    assert [tuple(c.shape) for c in crops] == [(3, 3, 32, 32)] * 2 + [(3, 3, 16, 16)] * 2
    with pytest.raises(ValueError, match="closed"):  # decoded once, then released
        images[0].load()
    again = t(store.load(handles), noise)
    assert all(torch.equal(a, b) for a, b in zip(crops, again, strict=True))


# --- end to end ------------------------------------------------------------------------------


def test_dino_run_writes_its_outputs_and_its_checkpoint_encodes(toy, tmp_path):
    summary = run(toy, tmp_path, tiny_dino_spec())
    assert summary["method"] == "dino" and summary["steps"] == 8 and math.isfinite(summary["loss"])
    lines = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    steps = [x for x in lines if x["event"] == "step"]
    assert len(steps) == 4 and [x["epoch"] for x in lines if x["event"] == "epoch"] == [1, 2]
    assert set(steps[0]) >= {"loss", "lr", "momentum", "teacher_temp", "prototypes", "images_per_s"}
    assert "logit_scale" not in steps[0] and steps[0]["prototypes"] == 32
    assert steps[0]["momentum"] == pytest.approx(teacher_momentum(0.996, 1.0, 1, 8))
    assert steps[0]["lr"] == pytest.approx(0.0075 * 0.5 * (1 + math.cos(math.pi / 8)))
    meta = io.read_json(tmp_path / "run.json")
    assert meta["spec"]["dino"]["subsample"] == 32 and meta["multicrop"]["local_size"] == 16
    assert meta["trainable_parameters"] * 2 == meta["parameters"]  # the teacher is frozen

    model, ckpt = load_checkpoint(tmp_path / "checkpoint.pt")
    assert isinstance(model, DinoModel) and not model.training and ckpt["method"] == "dino"
    assert {k.split(".")[0] for k in ckpt["state_dict"]} == {"student", "teacher"}
    images = ImageTransform(32, train=False)(_images(5))
    with torch.no_grad():
        features = model.encode_image(images)
        assert features.shape == (5, 32)  # model.embed_dim; 256 for cliptail-tiny-rn
        assert torch.equal(features, model.teacher.backbone(images))
        assert not torch.allclose(features, model.student.backbone(images))
    state = ckpt["state_dict"]
    assert not torch.equal(state["student.head.prototypes"], state["teacher.head.prototypes"])

    # same seed, same weights
    run(toy, tmp_path / "again", tiny_dino_spec())
    again = torch.load(tmp_path / "again" / "checkpoint.pt", weights_only=False)["state_dict"]
    assert all(torch.equal(state[k], again[k]) for k in state)


def test_dino_run_without_subsampling_and_with_amp(toy, tmp_path):
    spec = tiny_dino_spec(epochs=1, subsample=None, local_crops=0, warmup_teacher_temp_epochs=2)
    spec["amp"] = True
    spec["dino"]["teacher_temp"] = 0.07
    summary = run(toy, tmp_path, spec)
    assert math.isfinite(summary["loss"])
    lines = [json.loads(x) for x in (tmp_path / "train.jsonl").read_text().splitlines()]
    assert {x["teacher_temp"] for x in lines} == {0.04} and lines[0]["prototypes"] == 64
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=False)["state_dict"]
    assert all(v.dtype != torch.bfloat16 for v in state.values())


# --- several processes ---------------------------------------------------------------------------


def _two_process_worker(rank: int, world: int, init_file: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        subset = prototype_subset(4096, 512, seed=7, epoch=3, step=11)
        assert_same_on_ranks(subset, "prototype subset")
        gathered = [torch.empty_like(subset) for _ in range(world)]
        dist.all_gather(gathered, subset)
        try:
            assert_same_on_ranks(torch.tensor([rank]), "rank")
            mismatch_raised = False
        except RuntimeError:
            mismatch_raised = True
        scores = F.normalize(torch.randn(16, 10, generator=torch.Generator().manual_seed(0)), dim=1)
        rows = scores[rank * 8 : (rank + 1) * 8]
        q = sinkhorn_knopp(rows, 0.1, 3)  # world size from the process group
        torch.save(
            {"gathered": gathered, "mismatch_raised": mismatch_raised, "q": q},
            f"{out}/rank{rank}.pt",
        )
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_processes_share_the_subset_and_the_sinkhorn_normalisation(tmp_path):
    mp.spawn(
        _two_process_worker,
        args=(2, str(tmp_path / "init"), str(tmp_path)),
        nprocs=2,
        join=True,
    )
    results = [torch.load(tmp_path / f"rank{r}.pt", weights_only=False) for r in range(2)]
    expected = prototype_subset(4096, 512, seed=7, epoch=3, step=11)
    for result in results:
        assert all(torch.equal(g, expected) for g in result["gathered"])
        assert result["mismatch_raised"]
    scores = F.normalize(torch.randn(16, 10, generator=torch.Generator().manual_seed(0)), dim=1)
    single = sinkhorn_knopp(scores, 0.1, 3, world=1)
    assert torch.allclose(torch.cat([r["q"] for r in results]), single, atol=1e-6)
    local = sinkhorn_knopp(scores[:8], 0.1, 3, world=1)
    assert not torch.allclose(results[0]["q"], local, atol=1e-3)  # the normalisation is global


def test_sync_batchnorm_keeps_the_teacher_frozen():
    """The CPU SyncBN conversion must not make the teacher's batch-norm parameters trainable
    (DDP would then wait for their gradients and skip reducing whole buckets)."""
    from cliptail.models.batchnorm import SyncBatchNorm2d, convert_sync_batchnorm

    torch.manual_seed(0)
    m = DinoModel(model_config("cliptail-tiny-rn", **SMALL), HEAD)
    trainable = [n for n, p in m.named_parameters() if p.requires_grad]
    m = convert_sync_batchnorm(m, torch.device("cpu"))
    assert isinstance(m.teacher.backbone.bn1, SyncBatchNorm2d)
    assert [n for n, p in m.named_parameters() if p.requires_grad] == trainable
    assert all(n.startswith("student.") for n in trainable)
