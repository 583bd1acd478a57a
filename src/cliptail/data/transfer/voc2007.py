"""PASCAL VOC 2007 classification (Everingham et al., 2010): 20 classes, multi-label.

``VOCtrainval_06-Nov-2007.tar`` and ``VOCtest_06-Nov-2007.tar`` both unpack into
``VOCdevkit/VOC2007/`` with ``JPEGImages/<id>.jpg``, ``Annotations/<id>.xml`` (one ``<object>``
per object: ``<name>`` is the class, ``<difficult>`` 1 marks an object too hard to count) and
``ImageSets/Main/``: ``train.txt``, ``val.txt``, ``test.txt`` (image ids of each split, 2,501 /
2,510 / 4,952) and per class ``<class>_<split>.txt`` (``<id>  1`` present, ``<id> -1`` absent,
``<id>  0`` present only as difficult objects).

Labels follow the VOC classification protocol, which Kornblith et al. use with the 11-point mAP:
``labels`` lists (ascending) the classes with at least one object not marked difficult (the
positives, ``1`` in the per-class files); ``difficult`` lists the classes present only as
difficult objects (``0`` in the per-class files): an evaluation ignores those (image, class) pairs
instead of counting them as negatives; every other class is a negative. Both are read from the
XML annotations, which give the same sets as the per-class files. ``label`` (the single label the
manifest contract requires) is the first of ``labels`` (the first of ``difficult`` for an image
whose objects are all difficult); ``caption`` names the classes of ``labels``.

Splits: the official ``train``, ``val`` and ``test`` image sets.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    read_lines,
    require,
    safe_relative,
)

TRAINVAL = "VOCtrainval_06-Nov-2007.tar"
TEST = "VOCtest_06-Nov-2007.tar"
TOP = "VOCdevkit/VOC2007"
CLASSES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "diningtable", "dog", "horse", "motorbike", "person", "pottedplant", "sheep", "sofa", "train",
    "tvmonitor",
)  # fmt: skip
NAMES = (
    "aeroplane", "bicycle", "bird", "boat", "bottle", "bus", "car", "cat", "chair", "cow",
    "dining table", "dog", "horse", "motorbike", "person", "potted plant", "sheep", "sofa",
    "train", "tv monitor",
)  # fmt: skip


def read_objects(path: Path) -> tuple[list[int], list[int]]:
    """``(labels, difficult)`` of one annotation file (class indices, ascending)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise LayoutError(f"{path.name}: not a VOC annotation ({exc})") from None
    present, difficult_only = set(), set()
    for obj in root.iter("object"):
        name = (obj.findtext("name") or "").strip()
        if name not in CLASSES:
            raise LayoutError(f"{path.name}: object class {name!r} is not a VOC class")
        if (obj.findtext("difficult") or "0").strip() == "1":
            difficult_only.add(CLASSES.index(name))
        else:
            present.add(CLASSES.index(name))
    return sorted(present), sorted(difficult_only - present)


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [TRAINVAL, TEST])
    top = ctx.root / TOP
    lists = require(
        top,
        "ImageSets/Main/train.txt",
        "ImageSets/Main/val.txt",
        "ImageSets/Main/test.txt",
        "Annotations",
        what=f"VOC2007 ({TRAINVAL}, {TEST})",
    )[:3]
    rows, labels, difficult, captions = [], [], [], []
    for split, listing in zip(("train", "val", "test"), lists, strict=True):
        for image_id in read_lines(listing):
            image_id = safe_relative(image_id, listing.name)
            xml = top / "Annotations" / f"{image_id}.xml"
            if not xml.is_file():
                raise LayoutError(f"VOC2007: missing Annotations/{image_id}.xml ({split} image)")
            present, hard = read_objects(xml)
            if not present and not hard:
                raise LayoutError(f"{xml.name}: no object, every VOC image has one")
            rows.append((f"{TOP}/JPEGImages/{image_id}.jpg", (present or hard)[0], split))
            labels.append(present)
            difficult.append(hard)
            captions.append(", ".join(NAMES[i] for i in present or hard))
    df = frame(rows, {"labels": labels, "difficult": difficult})
    df["caption"] = captions
    return ReadResult(df, list(CLASSES), list(NAMES), report={"multi_label": True})
