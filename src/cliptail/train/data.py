"""Training data: the manifest's rows as batches of images + captions / text embeddings / labels.

Determinism (what makes resume bit-identical and multi-process runs equal to one process):

- epoch e visits the rows in the order ``default_rng([seed, e, 0]).permutation(N)``; the last
  incomplete global batch is dropped;
- the random crops of global batch t of epoch e come from ``default_rng([seed, e, t, 1])``,
  drawn for the whole global batch, each process using its slice;
- the vocabulary of the SL shard that starts at global row r of that batch comes from
  ``default_rng([seed, e, t, 2, r])``.

With P processes, process p takes rows ``p*B/P .. (p+1)*B/P - 1`` of every global batch of B rows
(a shared sampler: the data is split, not repeated). Nothing depends on the number of
data-loader workers.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from cliptail import io
from cliptail.data import manifest as manifest_lib
from cliptail.data.images import ImageStore, ImageTransform, open_image_store


@dataclass
class TrainData:
    """The rows of a training manifest, resolved against their image store."""

    store: ImageStore
    handles: np.ndarray  # int64 [N] image handles
    labels: np.ndarray  # int64 [N]
    captions: list[str]
    class_names: list[str]
    text_embeddings: np.ndarray | None = None  # [N, D_text], memory-mapped
    #: Class index in the dataset's class space of each trained class (``labels`` index it),
    #: or None when the training classes are the dataset's classes (:func:`remap_labels`).
    class_ids: np.ndarray | None = None

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def __len__(self) -> int:
        return len(self.labels)

    def frequencies(self) -> np.ndarray:
        return manifest_lib.class_counts(self.labels, self.num_classes)

    def fingerprint(self) -> str:
        """A hash of what the training sees (image keys, labels, captions, text embeddings)."""
        h = hashlib.sha256()
        h.update(np.ascontiguousarray(self.handles).tobytes())
        h.update(np.ascontiguousarray(self.labels).tobytes())
        h.update(
            pd.util.hash_pandas_object(pd.Series(self.captions), index=False).to_numpy().tobytes()
        )
        h.update("\n".join(self.class_names).encode())
        if self.class_ids is not None:
            h.update(np.ascontiguousarray(self.class_ids, dtype=np.int64).tobytes())
        if self.text_embeddings is not None:
            emb = self.text_embeddings
            h.update(str(emb.shape).encode())
            h.update(np.ascontiguousarray(emb[:: max(1, len(emb) // 1000)]).tobytes())
        return h.hexdigest()[:16]


def _frame(obj: str | os.PathLike | pd.DataFrame, reader) -> pd.DataFrame:
    return obj if isinstance(obj, pd.DataFrame) else reader(obj)


def remap_labels(labels: np.ndarray, class_subset) -> tuple[np.ndarray, np.ndarray]:
    """Labels in a dataset's class space -> positions 0..K-1 in the sorted ``class_subset``;
    returns (remapped labels, class ids: position -> class index). The inverse is
    ``class_ids[remapped]``. ValueError when a label is outside the subset."""
    class_ids = np.unique(np.asarray(class_subset, dtype=np.int64))
    labels = np.asarray(labels, dtype=np.int64)
    pos = np.searchsorted(class_ids, labels)
    pos = np.minimum(pos, len(class_ids) - 1)
    bad = class_ids[pos] != labels
    if bad.any():
        raise ValueError(
            f"{int(bad.sum())} labels (first: {int(labels[bad][0])}) are outside the class "
            f"subset of {len(class_ids)} classes"
        )
    return pos.astype(np.int64), class_ids


def load_train_data(
    manifest: str | os.PathLike | pd.DataFrame,
    classes: str | os.PathLike | pd.DataFrame,
    images_root: str | os.PathLike,
    text_embeddings: str | os.PathLike | None = None,
    class_subset=None,
) -> TrainData:
    """Read and check a training manifest, its classes and (optionally) row-aligned embeddings.

    ``class_subset``: class indices the training runs over (SL on IN-Caps-100: the 100 classes,
    the authors' 100-way training); labels become positions 0..K-1 in the sorted subset and
    :attr:`TrainData.class_ids` maps them back.
    """
    class_df = _frame(classes, io.read_classes)
    where = str(manifest) if not isinstance(manifest, pd.DataFrame) else "manifest"
    df = manifest_lib.validate(
        _frame(manifest, manifest_lib.read), len(class_df), where=where, allow_empty_captions=True
    )
    if len(df) == 0:
        raise ValueError(f"{where}: the training manifest has no rows")
    store = open_image_store(images_root)
    emb = None
    if text_embeddings is not None:
        emb = np.load(text_embeddings, mmap_mode="r")
        if emb.ndim != 2 or emb.shape[0] != len(df):
            raise ValueError(
                f"{text_embeddings}: expected [{len(df)}, D] text embeddings aligned "
                f"with the manifest rows, got shape {emb.shape}; re-embed the captions"
            )
    labels = df["label"].to_numpy(np.int64)
    names = class_df["name"].tolist()
    class_ids = None
    if class_subset is not None:
        labels, class_ids = remap_labels(labels, class_subset)
        if class_ids[-1] >= len(names):
            raise ValueError(f"class subset out of range for the {len(names)} classes")
        names = [names[c] for c in class_ids]
    return TrainData(
        store=store,
        handles=store.locate(df["image"].tolist()),
        labels=labels,
        captions=df["caption"].tolist(),
        class_names=names,
        text_embeddings=emb,
        class_ids=class_ids,
    )


def epoch_order(seed: int, epoch: int, n: int) -> np.ndarray:
    return np.random.default_rng([seed, epoch, 0]).permutation(n)


def crop_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, step, 1])


def vocab_rng(seed: int, epoch: int, step: int, row: int) -> np.random.Generator:
    return np.random.default_rng([seed, epoch, step, 2, row])


class EpochBatches(torch.utils.data.Dataset):
    """The batches of one epoch for one process: ``batches[t]`` is a dict with ``images``
    (normalised float [b, 3, S, S]), ``labels`` (int64 [b]), ``text`` (token ids [b, L] for a
    trainable text tower, float embeddings [b, D] for a frozen one, absent for SL), ``step`` and
    ``first_row`` (position of this process's first row in the global batch)."""

    def __init__(
        self,
        data: TrainData,
        transform: ImageTransform,
        *,
        seed: int,
        epoch: int,
        batch_size: int,
        rank: int = 0,
        world_size: int = 1,
        text: str | None = None,
        tokenizer: Any = None,
    ):
        if batch_size % world_size:
            raise ValueError(
                f"batch_size {batch_size} is not divisible by the {world_size} training processes"
            )
        if len(data) < batch_size:
            raise ValueError(
                f"the training set has {len(data)} rows, fewer than one batch of "
                f"{batch_size}; lower optim.batch_size"
            )
        self.data, self.transform = data, transform
        self.seed, self.epoch, self.batch_size = seed, epoch, batch_size
        self.local = batch_size // world_size
        self.offset = rank * self.local
        self.text, self.tokenizer = text, tokenizer
        self.order = epoch_order(seed, epoch, len(data))

    def __len__(self) -> int:
        return len(self.data) // self.batch_size

    def __getitem__(self, step: int) -> dict[str, Any]:
        if not 0 <= step < len(self):
            raise IndexError(step)
        start = step * self.batch_size + self.offset
        rows = self.order[start : start + self.local]
        noise = self.transform.noise(self.batch_size, crop_rng(self.seed, self.epoch, step))
        if noise is not None:
            noise = noise[self.offset : self.offset + self.local]
        images = self.transform(self.data.store.load(self.data.handles[rows]), noise)
        batch = {
            "images": images,
            "labels": torch.from_numpy(self.data.labels[rows]),
            "step": step,
            "first_row": self.offset,
        }
        if self.text == "tokens":
            batch["text"] = self.tokenizer([self.data.captions[r] for r in rows])
        elif self.text == "embeddings":
            batch["text"] = torch.from_numpy(
                np.asarray(self.data.text_embeddings[rows], dtype=np.float32)
            )
        return batch
