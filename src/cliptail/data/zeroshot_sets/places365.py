"""Places365-Standard (Zhou et al., 2017): 365 scene categories; its validation set is the test set.

``val_256.tar`` holds ``val_256/Places365_val_<nnnnnnnn>.jpg`` (36,500 images, 100 per category,
256 x 256 px). ``filelist_places365-standard.tar`` holds ``categories_places365.txt`` (one
category a line as ``/<letter>/<category>[/<qualifier>] <index 0..364>``), ``places365_val.txt``
(``<file name> <index>``), ``places365_train_standard.txt`` and ``places365_test.txt``. The test
images have no public labels, so the labelled validation set is the benchmark's test set (as in
CLIP's and torchvision's evaluations).

Manifest: ``image = val_256/<file name>``, label = index, split ``val`` (the official validation
set); the class id is the category path (``/a/apartment_building/outdoor``), its name the same
without the letter folder (``apartment_building/outdoor``).
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

IMAGES = "val_256.tar"
FILELIST = "filelist_places365-standard.tar"
IMAGE_FOLDER = "val_256"


def _index_lines(path, what: str) -> list[tuple[str, int]]:
    """``<text> <integer>`` lines; LayoutError naming the file otherwise."""
    out = []
    for line in read_lines(path):
        text, _, index = line.rpartition(" ")
        if not text or not index.isdigit():
            raise LayoutError(f"{path.name}: {line!r} is not '<{what}> <index>'")
        out.append((text.strip(), int(index)))
    return out


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [FILELIST, IMAGES])
    categories_txt, val_txt = require(
        ctx.root,
        "categories_places365.txt",
        "places365_val.txt",
        IMAGE_FOLDER,
        what=f"Places365 ({FILELIST}, {IMAGES})",
    )[:2]
    categories = _index_lines(categories_txt, "category")
    if [i for _, i in categories] != list(range(len(categories))):
        raise LayoutError("categories_places365.txt: indices are not 0..K-1 in order")
    ids = [c for c, _ in categories]
    rows = []
    for name, label in _index_lines(val_txt, "image"):
        if label >= len(ids):
            raise LayoutError(
                f"places365_val.txt: {name} has index {label}, outside 0..{len(ids) - 1}"
            )
        entry = safe_relative(name.lstrip("/"), val_txt.name)
        rows.append((f"{IMAGE_FOLDER}/{entry}", label, "val"))
    names = [cid.strip("/").split("/", 1)[-1] for cid in ids]
    return ReadResult(frame(rows), ids, names)
