"""Tests of the embedded synthetic world (cliptail.data.synthetic)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

from cliptail import io
from cliptail.data.synthetic import WorldParams, generate_world, profiles
from cliptail.data.synthetic import world as world_module
from cliptail.data.synthetic.concepts import COLORS, PATTERNS, SHAPES
from cliptail.data.synthetic.params import CaptionParams
from cliptail.data.synthetic.render import BACKGROUNDS, CURATED_STYLE, sample_instances
from cliptail.data.synthetic.text import CaptionWriter, caption_words, scenes
from tests.fixtures.real_sources import RELEASED_METADATA

SPLITS = ("train", "web", "val", "v2")
SMALL = {
    "num_classes": 20,
    "num_open_world": 10,
    "train_size": 1500,
    "web_size": 1000,
    "val_per_class": 10,
    "v2_per_class": 5,
}
# the authors' released metadata shipped in the package (no heads/)
SHARED_METADATA = RELEASED_METADATA


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "timing.json"
    }


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("world")
    stats = generate_world(SMALL, out, progress=False)
    return out, stats


def _meta(root: Path, split: str) -> pd.DataFrame:
    return pd.read_parquet(root / "metadata" / f"{split}.parquet")


# --- layout, dtypes, splits -----------------------------------------------------------------


def test_layout_and_dtypes(small_world):
    root, stats = small_world
    total = SMALL["num_classes"] + SMALL["num_open_world"]
    classes = io.read_classes(root / "classes.tsv")
    assert len(classes) == total
    assert classes["id"].tolist() == [f"c{i:04d}" for i in range(total)]

    concepts = pd.read_parquet(root / "concepts.parquet")
    assert list(concepts.columns) == [
        "index",
        "id",
        "name",
        "synonyms",
        "definition",
        "is_eval",
        "attributes",
        "train_count",
        "web_count",
    ]
    assert concepts["index"].dtype == np.int64 and concepts["train_count"].dtype == np.int64
    assert concepts["is_eval"].dtype == bool
    assert (
        concepts["is_eval"].tolist()
        == [True] * SMALL["num_classes"] + [False] * SMALL["num_open_world"]
    )
    assert concepts["name"].tolist() == classes["name"].tolist()
    assert all(
        list(s)[0] == n for s, n in zip(concepts["synonyms"], concepts["name"], strict=False)
    )
    assert concepts["attributes"].nunique() == total  # unique visual identities
    assert int(concepts["train_count"].sum()) == SMALL["train_size"]
    assert int(concepts["web_count"].sum()) == SMALL["web_size"]

    expected_rows = {
        "train": SMALL["train_size"],
        "web": SMALL["web_size"],
        "val": SMALL["num_classes"] * SMALL["val_per_class"],
        "v2": SMALL["num_classes"] * SMALL["v2_per_class"],
    }
    for split in SPLITS:
        images = np.load(root / "images" / f"{split}.npy", mmap_mode="r")
        assert images.dtype == np.uint8 and images.shape == (expected_rows[split], 32, 32, 3)
        meta = _meta(root, split)
        assert list(meta.columns) == [
            "image",
            "label",
            "concept_id",
            "title",
            "tags",
            "description",
            "source",
            "split",
        ]
        assert meta["label"].dtype == np.int64
        assert meta["image"].tolist() == [f"{split}/{i:07d}" for i in range(len(images))]
        assert (meta["concept_id"] == classes["id"].to_numpy()[meta["label"]]).all()
        assert set(meta["source"]) == {world_module.SOURCES[split]}
        assert set(meta["split"]) == {split}
        assert not meta["tags"].str.contains(r"\s\s|^\s|\s$").any()  # single-space separated
        assert stats["splits"][split]["images"] == len(images)

    info = io.read_json(root / "world.json")
    assert info["params"]["num_classes"] == SMALL["num_classes"]
    assert info["params"]["frequency"]["profile"] == "incaps"  # default filled in
    assert "seconds" in io.read_json(root / "timing.json")


def test_val_v2_balanced_eval_only_and_open_world_only_in_training(small_world):
    root, _ = small_world
    c = SMALL["num_classes"]
    for split, per_class in (("val", SMALL["val_per_class"]), ("v2", SMALL["v2_per_class"])):
        counts = np.bincount(_meta(root, split)["label"], minlength=c)
        assert len(counts) == c and (counts == per_class).all()
    train_labels = set(_meta(root, "train")["label"])
    open_world = set(range(c, c + SMALL["num_open_world"]))
    assert len(open_world & train_labels) >= SMALL["num_open_world"] - 1  # tail may be empty
    assert set(_meta(root, "web")["label"]) & open_world


def test_names_are_distinct_pseudo_words(small_world):
    root, _ = small_world
    concepts = pd.read_parquet(root / "concepts.parquet")
    words = [w for synonyms in concepts["synonyms"] for w in synonyms]
    assert len(words) == len(set(words))
    assert all(re.fullmatch(r"[a-z]{5,}", w) for w in words)
    vocabulary = (
        caption_words()
        | {s for pair in SHAPES for s in pair}
        | {n for n, _ in COLORS}
        | {p for pair in PATTERNS for p in pair}
    )
    assert not set(words) & vocabulary
    for definition, attributes in zip(concepts["definition"], concepts["attributes"], strict=False):
        attrs = dict(kv.split("=") for kv in attributes.split(";"))
        assert attrs["color"] in definition.split() and attrs["shape"] in definition


# --- determinism ----------------------------------------------------------------------------


def test_same_seed_same_bytes_other_seed_other_bytes(small_world, tmp_path):
    root, _ = small_world
    again = tmp_path / "again"
    generate_world(dict(SMALL), again, progress=False)
    assert _files(again) == _files(root)

    other = tmp_path / "other"
    generate_world({**SMALL, "seed": 1}, other, progress=False)
    a, b = _files(root), _files(other)
    assert a.keys() == b.keys()
    for name in (
        "classes.tsv",
        "concepts.parquet",
        "images/train.npy",
        "images/val.npy",
        "metadata/train.parquet",
        "world.json",
    ):
        assert a[name] != b[name], name


def test_caption_knobs_do_not_change_images(small_world, tmp_path):
    root, _ = small_world
    out = tmp_path / "captions"
    generate_world({**SMALL, "captions": {"p_attribute": 0.2}}, out, progress=False)
    for split in SPLITS:
        assert (out / "images" / f"{split}.npy").read_bytes() == (
            root / "images" / f"{split}.npy"
        ).read_bytes()
    assert (out / "metadata" / "train.parquet").read_bytes() != (
        root / "metadata" / "train.parquet"
    ).read_bytes()


def test_crash_leaves_no_completion_marker(tmp_path, monkeypatch):
    out = tmp_path / "world"
    generate_world({**SMALL, "web_size": 0}, out, progress=False)
    assert (out / "world.json").exists()

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(world_module, "render", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        generate_world(SMALL, out, progress=False)
    assert not (out / "world.json").exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".tmp")]


# --- frequencies ----------------------------------------------------------------------------


def test_train_counts_follow_the_profile(small_world):
    root, _ = small_world
    concepts = pd.read_parquet(root / "concepts.parquet")
    counts = np.sort(concepts["train_count"].to_numpy())[::-1]
    expected = profiles.ranked_weights("incaps", len(counts)) * SMALL["train_size"]
    assert np.abs(counts - expected).max() <= 1.0  # exact up to rounding
    mean = SMALL["train_size"] / len(counts)
    assert counts[0] / mean == pytest.approx(2.14, rel=0.05)  # IN-Caps max/mean
    assert counts[-1] <= 1  # the rarest concept is (nearly) absent


def test_zipf_and_laion_profiles():
    n, size = 200, 100_000
    weights = profiles.ranked_weights("zipf", n, zipf_exponent=1.3)
    counts = profiles.allocate(weights, size)
    assert counts.sum() == size and (np.diff(counts) <= 0).all()
    slope = np.polyfit(np.log(np.arange(1, 51)), np.log(counts[:50]), 1)[0]
    assert slope == pytest.approx(-1.3, abs=0.02)

    laion = profiles.ranked_weights("laion", 1000)
    assert laion[0] / laion.mean() == pytest.approx(65.5, rel=0.03)
    assert laion[-1] / laion.mean() < 1e-3


def test_web_pool_is_more_extreme_and_differently_ranked():
    params = WorldParams.from_config(
        {**SMALL, "num_classes": 150, "num_open_world": 50, "web_size": 20000}
    )
    train, web = world_module.concept_counts(params, np.random.default_rng(0))
    assert web.max() / web.mean() > 10 * train.max() / train.mean()
    rho = spearmanr(train, web)[0]
    assert 0.05 < rho < 0.6  # default web_rank_correlation 0.25


@pytest.mark.skipif(
    not (SHARED_METADATA / "freqs").is_dir(),
    reason=f"authors' metadata not found at {SHARED_METADATA}",
)
@pytest.mark.parametrize(
    "profile,source",
    [
        ("incaps", "class_frequency_incaps_imagenet.txt"),
        ("laion", "class_frequency_laion400m_imagenet.txt"),
    ],
)
def test_embedded_curves_match_the_released_frequencies(profile, source):
    real = np.sort(io.read_frequency(SHARED_METADATA / "freqs" / source)["count"].to_numpy())[::-1]
    real = real / real.sum()
    ours = profiles.ranked_weights(profile, len(real))
    assert spearmanr(real, ours)[0] > 0.999
    assert np.abs(np.cumsum(ours) - np.cumsum(real)).max() < 0.01  # share of images by rank


# --- parameter validation -------------------------------------------------------------------


@pytest.mark.parametrize(
    "config,key",
    [
        ({"num_clases": 10}, "world.num_clases"),
        ({"frequency": {"profil": "zipf"}}, "world.frequency.profil"),
        ({"frequency": {"profile": "pareto"}}, "world.frequency.profile"),
        ({"captions": {"p_misleading": 1.5}}, "world.captions.p_misleading"),
        ({"diversity": "high"}, "world.diversity"),
        ({"train_size": 10.5}, "world.train_size"),
        ({"image_size": True}, "world.image_size"),
        ({"web_frequency": 3}, "world.web_frequency"),
        ({"num_shapes": 2, "num_colors": 2, "num_patterns": 2, "max_parts": 2}, "world.num_shapes"),
    ],
)
def test_invalid_params_name_the_key(config, key):
    with pytest.raises(ValueError, match=re.escape(key)):
        WorldParams.from_config(config)


def test_params_fill_defaults():
    params = WorldParams.from_config({"frequency": {"profile": "zipf"}, "train_size": 100})
    assert params.frequency.profile == "zipf" and params.frequency.zipf_exponent == 1.0
    assert params.train_size == 100 and params.num_classes == 200
    assert params.web_frequency.profile == "laion"
    assert WorldParams.from_config(None) == WorldParams()


# --- text describes the rendered instance ---------------------------------------------------


def test_descriptions_mention_the_instance_attributes():
    from cliptail.data.synthetic.concepts import make_concepts

    concepts = make_concepts(
        30,
        0,
        num_shapes=8,
        num_colors=8,
        num_patterns=5,
        max_parts=3,
        max_synonyms=3,
        rng=np.random.default_rng(0),
        reserved_words=set(),
    )
    attributes = np.array([[c.shape, c.color, c.pattern, c.parts] for c in concepts])
    labels = np.arange(300) % 30
    inst = sample_instances(
        labels,
        attributes,
        style=CURATED_STYLE,
        diversity=1.0,
        clutter=1.0,
        num_shapes=8,
        num_colors=8,
        rng=np.random.default_rng(1),
    )
    exact = CaptionParams(
        p_description_empty=0.0, p_attribute=1.0, p_misleading=0.0, p_name_description=0.0
    )
    writer = CaptionWriter(concepts, (8, 8, 5, 3))
    _, _, descriptions = writer.write(inst, [False] * len(labels), exact, random.Random(0))
    for i, (scene, text) in enumerate(zip(scenes(inst), descriptions, strict=False)):
        concept = concepts[labels[i]]
        subject = text.lower().split(" on a ")[0]
        assert COLORS[concept.color][0] in subject.split()
        assert SHAPES[concept.shape][concept.parts > 1] in subject.split()
        if concept.pattern:
            assert any(word in subject.split() for word in PATTERNS[concept.pattern])
        assert f"on a {scene.background} background" in text
        if scene.size:
            assert scene.size in subject.split()
        if scene.distractors == 1:
            color, shape = scene.distractor
            assert f"small {COLORS[color][0]} {SHAPES[shape][0]}" in text


def test_descriptions_match_rendered_pixels(tmp_path):
    """End to end: the background a description names is the one in the image."""
    out = tmp_path / "world"
    generate_world(
        {**SMALL, "web_size": 0, "captions": {"p_attribute": 1.0, "p_misleading": 0.0}},
        out,
        progress=False,
    )
    meta = _meta(out, "train")
    images = np.load(out / "images" / "train.npy").astype(np.float64)
    corner_brightness = images[:, :3, :3].mean(axis=(1, 2, 3))
    said = meta["description"].str.extract(r"on a (\w+) background")[0]
    dark = corner_brightness[(said == "charcoal").to_numpy()]
    light = corner_brightness[(said == "cream").to_numpy()]
    assert len(dark) > 10 and len(light) > 10
    assert dark.mean() + 80 < light.mean()
    assert said.dropna().isin([name for name, _ in BACKGROUNDS]).all()


def test_names_appear_at_set_rates(small_world):
    root, _ = small_world
    meta = _meta(root, "train")
    concepts = pd.read_parquet(root / "concepts.parquet")
    synonyms = concepts["synonyms"].to_numpy()
    named = np.array(
        [
            any(s in title.lower().split() for s in synonyms[label])
            for title, label in zip(meta["title"], meta["label"], strict=False)
        ]
    )
    assert 0.2 < named.mean() < 0.45  # p_name_title 0.30 (plus a few attribute titles)
    assert (meta["description"] == "").mean() == pytest.approx(0.40, abs=0.05)


# --- images ---------------------------------------------------------------------------------


def _centroid_accuracy(root: Path, num_classes: int) -> float:
    train = np.load(root / "images" / "train.npy").reshape(SMALL["train_size"], -1) / 255.0
    labels = _meta(root, "train")["label"].to_numpy()
    present = [c for c in range(num_classes) if (labels == c).any()]
    centroids = np.stack([train[labels == c].mean(axis=0) for c in present])
    val = np.load(root / "images" / "val.npy").reshape(-1, train.shape[1]) / 255.0
    truth = _meta(root, "val")["label"].to_numpy()
    dist = ((val[:, None, :] - centroids[None]) ** 2).sum(axis=2)
    return float((np.array(present)[dist.argmin(axis=1)] == truth).mean())


def test_same_concept_images_are_more_alike(small_world):
    root, _ = small_world
    accuracy = _centroid_accuracy(root, SMALL["num_classes"])
    assert accuracy > 2.4 / SMALL["num_classes"]  # chance is 1 / num_classes


def test_diversity_increases_intra_class_variance(tmp_path):
    variance = {}
    for diversity in (0.1, 0.9):
        out = tmp_path / f"d{diversity}"
        generate_world({**SMALL, "web_size": 0, "diversity": diversity}, out, progress=False)
        images = np.load(out / "images" / "val.npy").astype(np.float64) / 255.0
        labels = _meta(out, "val")["label"].to_numpy()
        variance[diversity] = np.mean(
            [images[labels == c].var(axis=0).mean() for c in range(SMALL["num_classes"])]
        )
    assert variance[0.9] > 1.3 * variance[0.1]


def test_web_and_v2_are_shifted(small_world):
    root, _ = small_world
    val = np.load(root / "images" / "val.npy").astype(np.float64)
    web = np.load(root / "images" / "web.npy").astype(np.float64)
    # the web style adds a warm cast: red minus blue is higher on average
    assert (web[..., 0] - web[..., 2]).mean() > (val[..., 0] - val[..., 2]).mean() + 5
    assert set(_meta(root, "v2")["label"]) == set(_meta(root, "val")["label"])
