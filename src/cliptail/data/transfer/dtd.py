"""Describable Textures Dataset, DTD r1.0.1 (Cimpoi et al., 2014): 47 texture classes.

``dtd-r1.0.1.tar.gz`` holds ``dtd/images/<class>/<class>_<n>.jpg`` (120 images per class),
``dtd/labels/`` with ten official splits ``train<k>.txt``, ``val<k>.txt``, ``test<k>.txt``
(k = 1..10; 40 images per class in each; one image a line as ``<class>/<file>``) and
``labels_joint_anno.txt``, and ``dtd/imdb/imdb.mat``.

Manifest: split 1 (``train1``, ``val1``, ``test1``, as Kornblith et al.), the official validation
split included; classes are the class folders in sorted order (as ``imdb.mat`` and torchvision
number them); ``image = dtd/images/<class>/<file>``.
"""

from __future__ import annotations

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

ARCHIVE = "dtd-r1.0.1.tar.gz"
PARTITION = 1


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    top = ctx.root / "dtd"
    images, *lists = require(
        top,
        "images",
        f"labels/train{PARTITION}.txt",
        f"labels/val{PARTITION}.txt",
        f"labels/test{PARTITION}.txt",
        what=f"DTD ({ARCHIVE})",
    )
    classes = sorted(p.name for p in images.iterdir() if p.is_dir())
    index = {c: i for i, c in enumerate(classes)}
    rows = []
    for split, listing in zip(("train", "val", "test"), lists, strict=True):
        for line in read_lines(listing):
            entry = safe_relative(line, listing.name)
            cls = entry.split("/", 1)[0]
            if cls not in index:
                raise LayoutError(f"{listing.name}: {line!r} is in no class folder of dtd/images")
            rows.append((f"dtd/images/{entry}", index[cls], split))
    return ReadResult(frame(rows), classes, classes, report={"partition": PARTITION})
