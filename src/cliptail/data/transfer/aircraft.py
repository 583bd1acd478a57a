"""FGVC-Aircraft 2013b (Maji et al., 2013): 100 aircraft variants, official train/val/test.

``fgvc-aircraft-2013b.tar.gz`` holds ``fgvc-aircraft-2013b/data/`` with ``images/<id>.jpg``
(10,000 images, 7-digit ids), ``variants.txt`` (the 100 variants, one a line: the class order),
and for each split ``images_variant_{train,val,test}.txt`` (one image a line as
``<id> <variant>``; variants may contain spaces, e.g. ``Cessna 172``), plus the same lists for
families and manufacturers.

Manifest: the variant level (Kornblith et al.), splits ``train``/``val``/``test`` as published
(3,334 / 3,333 / 3,333 images), ``image = fgvc-aircraft-2013b/data/images/<id>.jpg``. The images
keep the 20-pixel copyright banner at their bottom, as distributed.
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

ARCHIVE = "fgvc-aircraft-2013b.tar.gz"
TOP = "fgvc-aircraft-2013b"


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    data = ctx.root / TOP / "data"
    variants_txt, *lists = require(
        data,
        "variants.txt",
        "images_variant_train.txt",
        "images_variant_val.txt",
        "images_variant_test.txt",
        what=f"FGVC-Aircraft ({ARCHIVE})",
    )
    variants = read_lines(variants_txt)
    index = {v: i for i, v in enumerate(variants)}
    rows = []
    for split, listing in zip(("train", "val", "test"), lists, strict=True):
        for line in read_lines(listing):
            image_id, _, variant = line.partition(" ")
            if variant not in index:
                raise LayoutError(f"{listing.name}: {line!r} names no variant of variants.txt")
            image = safe_relative(f"{image_id}.jpg", listing.name)
            rows.append((f"{TOP}/data/images/{image}", index[variant], split))
    return ReadResult(frame(rows), variants, variants)
