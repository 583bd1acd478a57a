"""Food-101 (Bossard et al., 2014): 101 dishes, 750 training and 250 test images each.

Format of ``food-101.tar.gz``: one top folder ``food-101/`` with ``images/<class>/<id>.jpg`` and
``meta/``: ``classes.txt`` (the 101 class folder names, one a line: the class order),
``labels.txt`` (their readable names in the same order, e.g. ``Apple pie``), ``train.txt`` and
``test.txt`` (one image a line as ``<class>/<id>``, no extension; the official split), plus the
same lists as JSON.

Manifest: ``image = food-101/images/<class>/<id>.jpg``, label = index in ``classes.txt``,
splits ``train``/``test`` as listed (the validation split is held out of ``train``); class names
from ``labels.txt`` (the folder name with spaces where that file is absent).
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

ARCHIVE = "food-101.tar.gz"
TOP = "food-101"


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    top = ctx.root / TOP
    classes_txt, train_txt, test_txt = require(
        top, "meta/classes.txt", "meta/train.txt", "meta/test.txt", what=f"Food-101 ({ARCHIVE})"
    )
    ids = read_lines(classes_txt)
    names = [name.replace("_", " ") for name in ids]
    labels_txt = top / "meta" / "labels.txt"
    if labels_txt.is_file() and len(read_lines(labels_txt)) == len(ids):
        names = read_lines(labels_txt)
    index = {cls: i for i, cls in enumerate(ids)}
    rows = []
    for split, listing in (("train", train_txt), ("test", test_txt)):
        for line in read_lines(listing):
            entry = safe_relative(line, listing.name)
            cls = entry.split("/", 1)[0]
            if cls not in index:
                raise LayoutError(
                    f"{listing.name}: {line!r} names class {cls!r}, not in classes.txt"
                )
            rows.append((f"{TOP}/images/{entry}.jpg", index[cls], split))
    return ReadResult(frame(rows), ids, names)
