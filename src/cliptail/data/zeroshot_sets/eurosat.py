"""EuroSAT RGB (Helber et al., 2019): 27,000 Sentinel-2 patches (64 x 64 px), 10 land-use classes.

``EuroSAT.zip`` holds ``2750/<Class>/<Class>_<n>.jpg``, one folder per class (2,000 to 3,000
images each): ``AnnualCrop``, ``Forest``, ``HerbaceousVegetation``, ``Highway``, ``Industrial``,
``Pasture``, ``PermanentCrop``, ``Residential``, ``River``, ``SeaLake``. There is no metadata file
and no official split.

Manifest: every image, split ``test``: zero-shot evaluation trains nothing on EuroSAT, so no
images need to be held back, and every published split (VTAB's 60/20/20, CoOp's 50/20/30, the
authors' 80/20) is a subset of these; the whole set gives each class's accuracy the smallest
sampling error. Classes: the class folders in sorted order (as torchvision's ``EuroSAT``); id =
folder name, name = its words (``Annual Crop``).
"""

from __future__ import annotations

import re

from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    require,
)

ARCHIVE = "EuroSAT.zip"
TOP = "2750"
IMAGE_SUFFIXES = (".jpg", ".jpeg")


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    (top,) = require(ctx.root, TOP, what=f"EuroSAT ({ARCHIVE})")
    classes = sorted(p.name for p in top.iterdir() if p.is_dir())
    if not classes:
        raise LayoutError(f"EuroSAT ({ARCHIVE}): no class folder in {TOP}/")
    rows = []
    for label, cls in enumerate(classes):
        files = sorted(
            p.name
            for p in (top / cls).iterdir()
            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        )
        rows.extend((f"{TOP}/{cls}/{name}", label, "test") for name in files)
    names = [" ".join(re.findall(r"[A-Z][a-z]*|[a-z]+|\d+", cls)) or cls for cls in classes]
    return ReadResult(frame(rows), classes, names)
