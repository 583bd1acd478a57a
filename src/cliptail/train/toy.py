"""A tiny, easy image-text dataset for tests and benchmarks of the training and evaluation code.

Class c is a flat colour (distinct per class) plus Gaussian pixel noise; its caption is
``"a photo of a <name>"`` followed by a few filler words. Labels are drawn from a Zipf-like
long-tailed distribution (``alpha`` 0 = uniform). Written in the synthetic world's layout:
``<root>/images/<split>.npy`` (uint8 [N, S, S, 3]), ``<root>/<split>.parquet`` (manifest) and
``<root>/classes.tsv``. This is not the synthetic world (:mod:`cliptail.data.synthetic`): it only
has to be learnable in a few optimiser steps.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cliptail import io
from cliptail.data import manifest as manifest_lib

FILLER = "on a plain background near the middle small large bright dark".split()


def class_names(num_classes: int) -> list[str]:
    return [f"toy{c:03d}" for c in range(num_classes)]


def write_toy_split(
    root: str | Path,
    split: str,
    rows: int,
    num_classes: int,
    *,
    image_size: int = 32,
    alpha: float = 0.0,
    noise: float = 20.0,
    seed: int = 0,
) -> Path:
    """Write one split (images + manifest) and classes.tsv under ``root``; returns the manifest."""
    root = Path(root)
    rng = np.random.default_rng([seed, sum(map(ord, split))])
    palette = np.random.default_rng(12345).integers(30, 226, (num_classes, 3))
    prior = 1.0 / np.arange(1, num_classes + 1) ** alpha
    labels = rng.choice(num_classes, size=rows, p=prior / prior.sum())
    pixels = palette[labels][:, None, None, :] + rng.normal(
        0, noise, (rows, image_size, image_size, 3)
    )
    (root / "images").mkdir(parents=True, exist_ok=True)
    with io.atomic_path(root / "images" / f"{split}.npy") as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, np.clip(pixels, 0, 255).astype(np.uint8))
    names = class_names(num_classes)
    captions = [f"a photo of a {names[y]} " + " ".join(rng.choice(FILLER, 3)) for y in labels]
    df = pd.DataFrame(
        {
            "image": [f"{split}/{i:07d}" for i in range(rows)],
            "label": labels.astype(np.int64),
            "caption": captions,
        }
    )
    manifest_lib.write(root / f"{split}.parquet", df, num_classes)
    io.write_classes(root / "classes.tsv", [f"id{c}" for c in range(num_classes)], names)
    return root / f"{split}.parquet"
