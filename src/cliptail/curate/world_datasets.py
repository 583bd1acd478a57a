"""Training-set variants and evaluation sets of the synthetic world.

The same curation functions as for the real data (:mod:`cliptail.curate.captions`,
:mod:`cliptail.curate.subsets`) turn the world's metadata into manifests. The data factors of a
run (:data:`cliptail.factors.DATA_FACTORS`) are applied in a fixed order, so a variant never depends
on which other variants exist:

1. ``source``: ``curated`` is the world's ``train`` pool; ``web`` is its shifted ``web`` pool,
   subsampled (pandas-style, random_state 42, lost classes re-added) to the size of the curated
   pool with the same class set, so the two differ in distribution, not in size.
2. ``classes``: ``eval`` keeps the evaluation concepts only (labels 0..C-1, like IN-Caps, whose
   classes are all evaluation classes); ``all`` keeps the open-world concepts too; ``all_matched``
   keeps all concepts but samples as many images as the ``eval`` pool has (the IN-Caps (10%)
   analogue of docs/study.md section 4).
3. ``caption``: one of the caption types of :mod:`cliptail.curate.captions`, drawn with seed 0.
4. ``scale``: a pandas-style ``sample(frac=scale, random_state=42)``, lost classes re-added.
5. ``trim_k``/``trim_ceil``: the ``trim_k`` rarest classes keep at most ``trim_ceil`` images.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cliptail.curate import captions, subsets
from cliptail.data import manifest
from cliptail.data.dataset_dir import DatasetDir

SAMPLE_SEED = 42
CAPTION_SEED = 0
TRIM_SEED = 0


def load_concepts(world_dir: str | os.PathLike) -> pd.DataFrame:
    return pd.read_parquet(Path(world_dir) / "concepts.parquet")


def num_eval_classes(concepts: pd.DataFrame) -> int:
    is_eval = concepts["is_eval"].to_numpy(dtype=bool)
    c = int(is_eval.sum())
    if not is_eval[:c].all():
        raise ValueError("concepts.parquet: evaluation concepts must come first")
    return c


def _restrict(df: pd.DataFrame, classes: str, num_eval: int) -> pd.DataFrame:
    return df[df["label"] < num_eval] if classes == "eval" else df


def select_pool(
    factors: dict[str, Any], train: pd.DataFrame, web: pd.DataFrame, num_eval: int
) -> pd.DataFrame:
    """Steps 1-2: the rows of the variant's pool, before captions, scale and trimming."""
    classes = factors["classes"]
    if classes not in ("eval", "all", "all_matched"):
        raise ValueError(f"unknown classes setting {classes!r}")
    target_size = len(_restrict(train, "eval" if classes == "all_matched" else classes, num_eval))
    source = factors["source"]
    if source == "curated":
        pool = _restrict(train, classes, num_eval)
    elif source == "web":
        pool = _restrict(web, classes, num_eval)
    else:
        raise ValueError(f"unknown source {source!r}; expected 'curated' or 'web'")
    if source == "web" or classes == "all_matched":
        if target_size > len(pool):
            raise ValueError(
                f"the {source} pool has {len(pool)} images, fewer than the "
                f"{target_size} requested; enlarge world.web_size"
            )
        pool = subsets.sample_subset(pool, n=target_size, seed=SAMPLE_SEED, keep_classes=True)
    return pool.reset_index(drop=True)


def build_variant(
    factors: dict[str, Any], *, train: pd.DataFrame, web: pd.DataFrame, concepts: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Apply the data factors; return (manifest, classes frame, curation report)."""
    num_eval = num_eval_classes(concepts)
    class_table = concepts if factors["classes"] != "eval" else concepts.iloc[:num_eval]
    pool = select_pool(factors, train, web, num_eval)
    names = concepts["name"].tolist()
    synonyms = [list(s) for s in concepts["synonyms"]]
    df = captions.caption_variant(
        pool, factors["caption"], class_names=names, synonyms=synonyms, seed=CAPTION_SEED
    )
    report: dict[str, Any] = {"pool": len(pool)}
    df, tail, _ = subsets.scale_and_trim(
        df,
        scale=float(factors["scale"]),
        trim_k=factors["trim_k"],
        trim_ceil=factors["trim_ceil"],
        num_classes=num_eval,
        sample_seed=SAMPLE_SEED,
        trim_seed=TRIM_SEED,
    )
    counts = manifest.class_counts(df["label"], len(class_table))
    report.update(
        {
            "images": len(df),
            "classes": len(class_table),
            "nonempty_classes": int((counts > 0).sum()),
            "tail_classes": tail,
            "factors": dict(factors),
        }
    )
    classes_df = pd.DataFrame(
        {
            "index": np.arange(len(class_table)),
            "id": class_table["id"].tolist(),
            "name": class_table["name"].tolist(),
        }
    )
    return df, classes_df, report


def write_world_dataset(
    factors: dict[str, Any], *, world_dir: str | os.PathLike, out_dir: str | os.PathLike
) -> dict:
    """Build a variant from the world in ``world_dir`` and write its dataset folder."""
    world = Path(world_dir)
    concepts = load_concepts(world)
    train = pd.read_parquet(world / "metadata" / "train.parquet")
    web = pd.read_parquet(world / "metadata" / "web.parquet")
    df, classes_df, report = build_variant(factors, train=train, web=web, concepts=concepts)
    DatasetDir(out_dir).write(df, classes_df, source=world_source(world), report=report)
    return report


def world_source(world_dir: str | os.PathLike) -> dict[str, str]:
    """``source.json`` of a dataset drawn from the world in ``world_dir``."""
    return {"image_root": str(world_dir), "image_format": "world"}


def write_world_evalset(
    *, world_dir: str | os.PathLike, split: str, out_dir: str | os.PathLike
) -> int:
    """The evaluation manifest of world split ``split`` over the evaluation classes."""
    world = Path(world_dir)
    concepts = load_concepts(world)
    num_eval = num_eval_classes(concepts)
    df = pd.read_parquet(world / "metadata" / f"{split}.parquet")
    if (df["label"] >= num_eval).any():
        raise ValueError(f"world split {split!r} contains non-evaluation concepts")
    names = concepts["name"].tolist()[:num_eval]
    df = df.assign(caption=[f"a {names[i]}" for i in df["label"]])
    classes = pd.DataFrame(
        {"index": np.arange(num_eval), "id": concepts["id"].tolist()[:num_eval], "name": names}
    )
    DatasetDir(out_dir).write(df, classes, source=world_source(world))
    return len(df)
