"""Generate a synthetic world on disk: concepts, long-tailed splits, images and metadata.

Randomness comes only from ``params.seed``, through independent streams
``numpy.random.default_rng([seed, stream, ...])``: one for the concepts, one for the frequency
ranks, and per split one for the row order and, per chunk of :data:`CHUNK` rows, one for the
images and one for the text. So caption knobs never change image bytes, and the same parameters
give byte-identical files.

Completeness: ``world.json`` is removed first and written last; every other file is written
atomically before it. A world directory without ``world.json`` is incomplete.
"""

from __future__ import annotations

import random
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from cliptail import io
from cliptail.data.synthetic import profiles
from cliptail.data.synthetic.concepts import Concept, make_concepts
from cliptail.data.synthetic.params import CaptionParams, WorldParams
from cliptail.data.synthetic.render import (
    CURATED_STYLE,
    V2_STYLE,
    WEB_STYLE,
    RenderStyle,
    render,
    sample_instances,
)
from cliptail.data.synthetic.text import CaptionWriter, caption_words

SPLITS = ("train", "web", "val", "v2")
SOURCES = {"train": "curated", "val": "curated", "web": "web", "v2": "v2"}
FORMAT_VERSION = 1
CHUNK = 1024

_CONCEPT_STREAM, _FREQUENCY_STREAM = 1, 2
_SPLIT_STREAMS = {"train": 10, "web": 11, "val": 12, "v2": 13}
_ORDER, _IMAGES, _TEXT = 0, 1, 2


def concept_counts(params: WorldParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Per-concept image counts of the curated (``train``) and ``web`` pools.

    Each concept gets a rank by a seeded permutation (train) or by a permutation whose rank
    correlation with the train ranks is about ``web_rank_correlation`` (web); the count of the
    concept at rank ``r`` is the profile's share at ``r`` times the pool size, rounded so that
    the counts sum exactly to the pool size (:func:`profiles.allocate`).
    """
    total = params.num_classes + params.num_open_world
    train_ranks = rng.permutation(total)
    web_ranks = profiles.correlated_ranks(train_ranks, params.web_rank_correlation, rng)
    counts = []
    for freq, ranks, size in (
        (params.frequency, train_ranks, params.train_size),
        (params.web_frequency, web_ranks, params.web_size),
    ):
        weights = profiles.ranked_weights(freq.profile, total, freq.zipf_exponent)
        counts.append(profiles.allocate(weights[ranks], size))
    return counts[0], counts[1]


def _split_labels(counts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    labels = np.repeat(np.arange(len(counts), dtype=np.int64), counts)
    return labels[rng.permutation(len(labels))]


def _count_summary(counts: np.ndarray, num_eval: int) -> dict[str, Any]:
    return {
        "images": int(counts.sum()),
        "eval_images": int(counts[:num_eval].sum()),
        "open_world_images": int(counts[num_eval:].sum()),
        "concepts_with_images": int((counts > 0).sum()),
        "concepts_without_images": int((counts == 0).sum()),
        "max": int(counts.max()),
        "median": float(np.median(counts)),
        "min": int(counts.min()),
    }


def _concept_table(concepts: Sequence[Concept], train: np.ndarray, web: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "index": pd.array([c.index for c in concepts], dtype="int64"),
            "id": [c.id for c in concepts],
            "name": [c.name for c in concepts],
            "synonyms": [list(c.synonyms) for c in concepts],
            "definition": [c.definition for c in concepts],
            "is_eval": pd.array([c.is_eval for c in concepts], dtype="bool"),
            "attributes": [c.attributes for c in concepts],
            "train_count": pd.array(train, dtype="int64"),
            "web_count": pd.array(web, dtype="int64"),
        }
    )


class _SplitWriter:
    """Renders and writes one split (images array + metadata table), chunk by chunk."""

    def __init__(self, params: WorldParams, concepts: Sequence[Concept], bar: tqdm):
        self.params = params
        self.concepts = concepts
        self.attributes = np.array(
            [[c.shape, c.color, c.pattern, c.parts] for c in concepts], dtype=np.int64
        )
        self.captions = CaptionWriter(
            concepts, (params.num_shapes, params.num_colors, params.num_patterns, params.max_parts)
        )
        self.bar = bar

    def _style(self, split: str) -> tuple[RenderStyle, CaptionParams, float]:
        """Render style, caption rates and probability of the alt-text style for ``split``."""
        p = self.params
        if split == "web":
            return CURATED_STYLE.towards(WEB_STYLE, p.web_shift), p.web_captions, p.web_shift
        if split == "v2":
            return CURATED_STYLE.towards(V2_STYLE, p.v2_shift), p.captions, 0.0
        return CURATED_STYLE, p.captions, 0.0

    def write(self, out: Path, split: str, labels: np.ndarray) -> None:
        p = self.params
        stream = _SPLIT_STREAMS[split]
        style, rates, p_alt = self._style(split)
        size = p.image_size
        n = len(labels)
        titles: list[str] = []
        tags: list[str] = []
        descriptions: list[str] = []
        with io.atomic_path(out / "images" / f"{split}.npy") as tmp:
            if n == 0:
                with open(tmp, "wb") as fh:
                    np.save(fh, np.zeros((0, size, size, 3), dtype=np.uint8))
            else:
                images = np.lib.format.open_memmap(
                    tmp, mode="w+", dtype=np.uint8, shape=(n, size, size, 3)
                )
                for k, start in enumerate(range(0, n, CHUNK)):
                    chunk = labels[start : start + CHUNK]
                    rng = np.random.default_rng([p.seed, stream, _IMAGES, k])
                    inst = sample_instances(
                        chunk,
                        self.attributes,
                        style=style,
                        diversity=p.diversity,
                        clutter=p.clutter,
                        num_shapes=p.num_shapes,
                        num_colors=p.num_colors,
                        rng=rng,
                    )
                    images[start : start + len(chunk)] = render(inst, style, size, rng)
                    text_seed = np.random.SeedSequence([p.seed, stream, _TEXT, k])
                    r = random.Random(int(text_seed.generate_state(1)[0]))
                    alt = [r.random() < p_alt for _ in range(len(chunk))]
                    t, g, d = self.captions.write(inst, alt, rates, r)
                    titles += t
                    tags += g
                    descriptions += d
                    self.bar.update(len(chunk))
                images.flush()
                del images
        concept_ids = np.array([c.id for c in self.concepts], dtype=object)
        io.write_parquet(
            out / "metadata" / f"{split}.parquet",
            pd.DataFrame(
                {
                    "image": [f"{split}/{row:07d}" for row in range(n)],
                    "label": pd.array(labels, dtype="int64"),
                    "concept_id": concept_ids[labels].tolist(),
                    "title": titles,
                    "tags": tags,
                    "description": descriptions,
                    "source": [SOURCES[split]] * n,
                    "split": [split] * n,
                }
            ),
        )


def generate_world(
    params: Mapping[str, Any] | WorldParams | None, out_dir: str | Path, progress: bool = True
) -> dict[str, Any]:
    """Generate the world described by ``params`` (the config's ``world:`` section) in ``out_dir``.

    Returns the statistics also stored in ``world.json`` plus ``seconds`` (total wall time) and
    ``seconds_per_split``; timings are written to ``timing.json`` so that every other file is
    byte-identical for identical parameters.
    """
    started = time.perf_counter()
    p = params if isinstance(params, WorldParams) else WorldParams.from_config(params)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "world.json").unlink(missing_ok=True)

    concepts = make_concepts(
        p.num_classes,
        p.num_open_world,
        num_shapes=p.num_shapes,
        num_colors=p.num_colors,
        num_patterns=p.num_patterns,
        max_parts=p.max_parts,
        max_synonyms=p.max_synonyms,
        rng=np.random.default_rng([p.seed, _CONCEPT_STREAM]),
        reserved_words=caption_words(),
    )
    train_counts, web_counts = concept_counts(p, np.random.default_rng([p.seed, _FREQUENCY_STREAM]))
    is_eval = (np.arange(len(concepts)) < p.num_classes).astype(np.int64)
    counts = {
        "train": train_counts,
        "web": web_counts,
        "val": is_eval * p.val_per_class,
        "v2": is_eval * p.v2_per_class,
    }
    io.write_classes(out / "classes.tsv", [c.id for c in concepts], [c.name for c in concepts])
    io.write_parquet(out / "concepts.parquet", _concept_table(concepts, train_counts, web_counts))

    seconds: dict[str, float] = {}
    total = int(sum(c.sum() for c in counts.values()))
    with tqdm(total=total, desc="synthetic world", unit="img", disable=not progress) as bar:
        writer = _SplitWriter(p, concepts, bar)
        for split in SPLITS:
            split_started = time.perf_counter()
            bar.set_postfix_str(split)
            labels = _split_labels(
                counts[split], np.random.default_rng([p.seed, _SPLIT_STREAMS[split], _ORDER])
            )
            writer.write(out, split, labels)
            seconds[split] = round(time.perf_counter() - split_started, 3)

    stats: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "num_concepts": len(concepts),
        "num_classes": p.num_classes,
        "num_open_world": p.num_open_world,
        "sources": SOURCES,
        "splits": {split: _count_summary(counts[split], p.num_classes) for split in SPLITS},
    }
    elapsed = round(time.perf_counter() - started, 3)
    io.write_json(out / "timing.json", {"seconds": elapsed, "seconds_per_split": seconds})
    io.write_json(out / "world.json", {"params": p.to_dict(), "stats": stats})
    return {**stats, "seconds": elapsed, "seconds_per_split": seconds}
