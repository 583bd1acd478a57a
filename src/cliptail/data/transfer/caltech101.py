"""Caltech-101 (Fei-Fei et al., 2004): 101 object categories and a background category.

``caltech-101.zip`` (CaltechDATA) holds ``caltech-101/101_ObjectCategories.tar.gz`` (which
unpacks to ``101_ObjectCategories/<category>/image_<nnnn>.jpg``, 9,144 images in 102 folders, 31
to 800 per folder), ``caltech-101/Annotations.tar`` (object outlines, not used) and a MATLAB
viewer. The inner archive is unpacked and the outer folder removed.

Classes: the 102 folders in sorted order, ``BACKGROUND_Google`` included, as Kornblith et al. and
CLIP's linear probes do (102-way classification).

Splits: the dataset has none. Following the standard protocol (Kornblith et al.), 30 images of
each class (sorted by path, permuted by a generator seeded with the dataset name and the class,
see :func:`cliptail.data.transfer.common.class_sample`) are training images and the rest test
images (a class of 30 images or fewer would have all of them in training); the validation split
is then held out of the 30 (6 per class).
"""

from __future__ import annotations

import shutil

import pandas as pd

from cliptail.data.imagenet import image_files
from cliptail.data.transfer.archive import extract
from cliptail.data.transfer.common import (
    ReadContext,
    ReadResult,
    class_sample,
    extract_all,
    frame,
    hold_out_val,
    require,
)

ARCHIVE = "caltech-101.zip"
INNER = "caltech-101/101_ObjectCategories.tar.gz"
TOP = "101_ObjectCategories"
TRAIN_PER_CLASS = 30


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    (inner,) = require(ctx.root, INNER, what=f"Caltech-101 ({ARCHIVE})")
    extract(inner, ctx.root)
    shutil.rmtree(ctx.root / "caltech-101")
    shutil.rmtree(ctx.root / "__MACOSX", ignore_errors=True)
    (top,) = require(ctx.root, TOP, what=f"Caltech-101 ({INNER})")
    classes = sorted(p.name for p in top.iterdir() if p.is_dir())
    rows = [
        (f"{TOP}/{cls}/{name}", label, "train")
        for label, cls in enumerate(classes)
        for name in image_files(top / cls)
    ]
    return ReadResult(
        frame(rows),
        classes,
        [c.replace("_", " ") for c in classes],
        report={"train_per_class": TRAIN_PER_CLASS},
    )


def assign_splits(df: pd.DataFrame, dataset: str) -> pd.DataFrame:
    """30 training images per class, the rest test; then the validation hold-out."""
    train = class_sample(df, dataset, "train30", lambda n: min(n, TRAIN_PER_CLASS))
    out = df.copy()
    out["split"] = "test"
    out.loc[train[train].index, "split"] = "train"
    return hold_out_val(out, dataset)
