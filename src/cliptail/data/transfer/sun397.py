"""SUN397 (Xiao et al., 2010): 397 scene categories, with the official partition 1.

``SUN397.tar.gz`` holds ``SUN397/ClassName.txt`` (the 397 categories, one a line as
``/<letter>/<category>[/<sub-category>]``, e.g. ``/a/abbey``, ``/a/apartment_building/outdoor``:
the class order) and the images ``SUN397/<letter>/<category>/.../sun_<id>.jpg``.
``Partitions.zip`` holds the ten official train/test partitions, ``Training_01.txt`` ...
``Training_10.txt`` and ``Testing_01.txt`` ... ``Testing_10.txt`` (50 + 50 images per class
each, one image a line as ``/<letter>/<category>/sun_<id>.jpg``), at its top level or in a
``Partitions/`` folder.

Manifest: partition 1 only (Kornblith et al. and CLIP use the first partition): ``train`` from
``Training_01.txt`` (the validation split held out of it), ``test`` from ``Testing_01.txt``;
``image = SUN397/<letter>/<category>/sun_<id>.jpg``. Class id: the category path without the
letter (``apartment_building/outdoor``), name with spaces (``apartment building / outdoor``).
Images in no list of partition 1 are not in the manifest.
"""

from __future__ import annotations

from pathlib import Path

from cliptail.data.transfer.archive import extract
from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    read_lines,
    require,
    require_file,
    safe_relative,
)

ARCHIVE = "SUN397.tar.gz"
PARTITIONS = "Partitions.zip"
TOP = "SUN397"
PARTITION = 1


def _partition_dir(root: Path) -> Path:
    for candidate in (root, root / "Partitions"):
        if (candidate / f"Training_{PARTITION:02d}.txt").is_file():
            return candidate
    raise LayoutError(
        f"SUN397 ({PARTITIONS}): missing Training_{PARTITION:02d}.txt (looked at the top of the "
        "archive and in Partitions/); the download is incomplete or not the expected file"
    )


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [ARCHIVE])
    partitions = extract(require_file(ctx.files, PARTITIONS, ctx.name), ctx.root / "partitions")
    top = ctx.root / TOP
    (class_txt,) = require(top, "ClassName.txt", what=f"SUN397 ({ARCHIVE})")
    folder = _partition_dir(partitions)
    train_txt, test_txt = require(
        folder,
        f"Training_{PARTITION:02d}.txt",
        f"Testing_{PARTITION:02d}.txt",
        what=f"SUN397 ({PARTITIONS})",
    )
    categories = [safe_relative(line.lstrip("/"), class_txt.name) for line in read_lines(class_txt)]
    index = {category: i for i, category in enumerate(categories)}
    rows = []
    for split, listing in (("train", train_txt), ("test", test_txt)):
        for line in read_lines(listing):
            entry = safe_relative(line.lstrip("/"), listing.name)
            category = entry.rsplit("/", 1)[0]
            if category not in index:
                raise LayoutError(f"{listing.name}: {line!r} is in no category of ClassName.txt")
            rows.append((f"{TOP}/{entry}", index[category], split))
    ids = [category.split("/", 1)[1] for category in categories]
    names = [i.replace("_", " ").replace("/", " / ") for i in ids]
    return ReadResult(frame(rows), ids, names, report={"partition": PARTITION})
