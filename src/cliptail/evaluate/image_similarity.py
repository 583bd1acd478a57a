"""Intra-class image-image similarity of a training set (the densities of Fig. 4a).

The paper compares the training sets of its distribution study (IN-Caps, LAIONet at each
similarity threshold, LAIONet =freq) by how alike the images of one class are, measured on CLIP
image features. cliptail measures every training set of a configuration with one fixed encoder,
the image tower of the configuration's default CLIP run (:func:`cliptail.layout.similarity_encoder`): a CLIP
image encoder that is the same for every set compared, with no weights from outside the study.
It was trained on one of the compared sets (the curated pool; IN-Caps on real data), which may
make that set's classes look a little tighter than an independent encoder would (README,
"How each paper figure is produced").

- :func:`sample_per_class` draws, with a seeded generator, at most ``per_class`` distinct images
  of each class (a manifest lists an image once per caption; repeats are dropped first, so an
  image is never paired with itself);
- :func:`class_similarity` turns their features into one value per class: the mean cosine
  similarity over the unordered pairs of distinct drawn images
  (:func:`cliptail.evaluate.metrics.intra_class_similarity`); a class with fewer than two images
  has none (NaN);
- :func:`image_similarity` does both with a checkpoint's image tower and its evaluation
  preprocessing (:func:`cliptail.evaluate.probe_features.encode_dataset`).

Fig. 4a draws the density of the per-class values of each training set. The module imports
neither torch nor scipy until it computes, so the workflow reads its settings while planning.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

#: Images drawn per class, and the seed of the draw (the same for every training set).
IMAGES_PER_CLASS = 20
SEED = 0
#: Columns of :func:`class_similarity`'s table.
COLUMNS = ("class", "images", "similarity")


def sample_per_class(manifest: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """At most ``per_class`` distinct images (rows ``image``, ``label``) of each class.

    Repeated (image, label) rows (one per caption) count once. Classes are visited in increasing
    order with one ``numpy.random.default_rng(seed)``; a class with more images than
    ``per_class`` keeps a draw without replacement, the others keep all. The rows come back
    ordered by label, then by their first position in the manifest.
    """
    if per_class < 2:
        raise ValueError(f"per_class must be at least 2 to form pairs, got {per_class}")
    missing = {"image", "label"} - set(manifest.columns)
    if missing:
        raise ValueError(f"the manifest lacks the columns {sorted(missing)}")
    unique = manifest[["image", "label"]].drop_duplicates(ignore_index=True)
    unique = unique.assign(label=unique["label"].astype(np.int64))
    unique = unique.sort_values("label", kind="stable", ignore_index=True)
    rng = np.random.default_rng(seed)
    keep = []
    for _, rows in unique.groupby("label", sort=True):
        index = rows.index.to_numpy()
        if index.size > per_class:
            index = np.sort(rng.choice(index, size=per_class, replace=False))
        keep.append(index)
    if not keep:
        return unique.iloc[0:0]
    return unique.loc[np.concatenate(keep)].reset_index(drop=True)


def class_similarity(features: Any, labels: Any) -> pd.DataFrame:
    """Per class present in ``labels``: the number of images and the mean cosine similarity of
    their unordered pairs of distinct rows (NaN with fewer than two images); columns
    :data:`COLUMNS`, ordered by class."""
    from cliptail.evaluate.metrics import intra_class_similarity

    labels = np.asarray(labels, dtype=np.int64)
    classes, counts = np.unique(labels, return_counts=True)
    out = pd.DataFrame({"class": classes, "images": counts.astype(np.int64)})
    if not classes.size:
        return out.assign(similarity=np.zeros(0))
    pairs = intra_class_similarity(
        features, labels, max_per_class=max(2, int(counts.max())), seed=0
    )
    means = pairs.groupby("class")["similarity"].mean()
    out["similarity"] = means.reindex(classes).to_numpy(dtype=np.float64)
    return out


def image_similarity(
    checkpoint: str | os.PathLike | dict[str, Any],
    manifest: pd.DataFrame,
    images_root: str | os.PathLike,
    *,
    per_class: int = IMAGES_PER_CLASS,
    seed: int = SEED,
    progress: bool = True,
) -> pd.DataFrame:
    """:func:`class_similarity` of a seeded sample (:func:`sample_per_class`) of a training
    set's images, encoded by the image tower of ``checkpoint``."""
    from cliptail.evaluate.probe_features import encode_dataset

    sample = sample_per_class(manifest, per_class, seed)
    if sample.empty:
        raise ValueError("the manifest has no images to compare")
    features = encode_dataset(checkpoint, sample, images_root, progress=progress)
    return class_similarity(features, sample["label"].to_numpy())
