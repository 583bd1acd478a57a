"""CUB-200-2011 (Wah et al., 2011): 200 bird species, official train/test split.

``CUB_200_2011.tgz`` holds ``CUB_200_2011/`` with ``images/<NNN>.<Class_name>/<file>.jpg``
(11,788 images), ``images.txt`` (``<image id> <path under images/>``), ``image_class_labels.txt``
(``<image id> <class id 1..200>``), ``train_test_split.txt`` (``<image id> <1 train | 0 test>``:
5,994 training and 5,794 test images), ``classes.txt`` (``<class id> <NNN>.<Class_name>``) and
bounding boxes, parts and attributes (plus an ``attributes.txt`` beside the folder).

Manifest: ``image = CUB_200_2011/images/<path>``, label = class id - 1, split ``train``/``test``
as published; the class id is its folder name (``001.Black_footed_Albatross``), its name the
same without the number, underscores as spaces. An image whose folder is not its class's is a
layout error.
"""

from __future__ import annotations

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

ARCHIVE = "CUB_200_2011.tgz"
TOP = "CUB_200_2011"


def _pairs(path: Path) -> dict[int, str]:
    """``<image id> <value>`` lines as {id: value}; LayoutError naming the file otherwise."""
    out: dict[int, str] = {}
    for line in read_lines(path):
        key, _, value = line.partition(" ")
        if not key.isdigit() or not value.strip():
            raise LayoutError(f"{path.name}: {line!r} is not '<id> <value>'")
        if int(key) in out:
            raise LayoutError(f"{path.name}: id {key} is listed twice")
        out[int(key)] = value.strip()
    return out


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    top = ctx.root / TOP
    classes_txt, images_txt, labels_txt, split_txt = require(
        top,
        "classes.txt",
        "images.txt",
        "image_class_labels.txt",
        "train_test_split.txt",
        "images",
        what=f"CUB-200-2011 ({ARCHIVE})",
    )[:4]
    classes = _pairs(classes_txt)
    if sorted(classes) != list(range(1, len(classes) + 1)):
        raise LayoutError(f"classes.txt: class ids {sorted(classes)[:5]}... are not 1..K")
    ids = [classes[k] for k in range(1, len(classes) + 1)]
    images, labels, splits = _pairs(images_txt), _pairs(labels_txt), _pairs(split_txt)
    rows = []
    for image_id, path in images.items():
        if image_id not in labels or image_id not in splits:
            missing = "image_class_labels.txt" if image_id not in labels else "train_test_split.txt"
            raise LayoutError(f"{missing}: image {image_id} of images.txt is not listed")
        label, is_train = labels[image_id], splits[image_id]
        if not label.isdigit() or not 1 <= int(label) <= len(ids) or is_train not in ("0", "1"):
            raise LayoutError(
                f"image {image_id}: class {label!r} / split {is_train!r} outside "
                f"1..{len(ids)} / 0-1"
            )
        entry = safe_relative(path, images_txt.name)
        if entry.split("/", 1)[0] != ids[int(label) - 1]:
            raise LayoutError(
                f"images.txt: {entry!r} is not in the folder of its class {ids[int(label) - 1]!r}"
            )
        rows.append(
            (f"{TOP}/images/{entry}", int(label) - 1, "train" if is_train == "1" else "test")
        )
    names = [cid.split(".", 1)[-1].replace("_", " ") for cid in ids]
    return ReadResult(frame(rows), ids, names)
