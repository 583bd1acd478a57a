"""Oxford-IIIT Pet (Parkhi et al., 2012): 37 cat and dog breeds, official trainval/test.

``images.tar.gz`` holds ``images/<Breed_name>_<n>.jpg`` (7,390 images; cat breeds are
capitalised, dog breeds lower case; a few stray non-image files). ``annotations.tar.gz`` holds
``annotations/`` with ``trainval.txt`` (3,680 images) and ``test.txt`` (3,669), one image a line
as ``<image name> <class id> <species> <breed id>`` (class id 1..37 across both species,
species 1 cat / 2 dog, breed id within the species), ``list.txt`` (both, after ``#`` comment
lines), trimaps and XML head boxes.

Manifest: ``image = images/<image name>.jpg``, label = class id - 1; the class's id is the image
name without its number (``american_bulldog``), its name the same with spaces; ``train`` =
``trainval.txt`` (the validation split held out of it), ``test`` = ``test.txt``.
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

IMAGES = "images.tar.gz"
ANNOTATIONS = "annotations.tar.gz"


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [IMAGES, ANNOTATIONS])
    lists = require(
        ctx.root,
        "annotations/trainval.txt",
        "annotations/test.txt",
        "images",
        what=f"Oxford-IIIT Pet ({IMAGES}, {ANNOTATIONS})",
    )[:2]
    rows, breeds = [], {}
    for split, listing in zip(("train", "test"), lists, strict=True):
        for line in read_lines(listing):
            if line.startswith("#"):
                continue
            fields = line.split()
            if len(fields) != 4 or not fields[1].isdigit():
                raise LayoutError(f"{listing.name}: {line!r} is not '<image> <class> <sp> <breed>'")
            name, class_id = safe_relative(fields[0], listing.name), int(fields[1])
            breed = name.rsplit("_", 1)[0]
            if breeds.setdefault(class_id, breed) != breed:
                raise LayoutError(
                    f"{listing.name}: class {class_id} is both {breeds[class_id]!r} and {breed!r}"
                )
            rows.append((f"images/{name}.jpg", class_id - 1, split))
    if sorted(breeds) != list(range(1, len(breeds) + 1)):
        raise LayoutError(f"Oxford-IIIT Pet: class ids {sorted(breeds)[:5]}... are not 1..K")
    ids = [breeds[k] for k in sorted(breeds)]
    return ReadResult(frame(rows), ids, [i.replace("_", " ") for i in ids])
