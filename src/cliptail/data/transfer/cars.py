"""Stanford Cars (Krause et al., 2013): 196 car models, 8,144 training and 8,041 test images.

The dataset's original downloads (``https://ai.stanford.edu/~jkrause/car196/``) are offline;
the files must come from a mirror or a local copy (``urls``, ``url_base`` or ``local_dir`` of
:func:`cliptail.data.transfer.prepare`). The expected files, byte-identical to the originals
(md5 in the registry):

- ``car_devkit.tgz``: ``devkit/cars_meta.mat`` (``class_names``: 1x196 cell of model names in
  class order, class 1 first), ``devkit/cars_train_annos.mat`` and ``devkit/cars_test_annos.mat``
  (``annotations``: 1xN struct with fields ``bbox_x1``, ``bbox_y1``, ``bbox_x2``, ``bbox_y2``,
  ``class`` (1-based; absent from the test file) and ``fname``), a README and evaluation code;
- ``cars_train.tgz``: ``cars_train/00001.jpg`` ... ``cars_train/08144.jpg``;
- ``cars_test.tgz``: ``cars_test/00001.jpg`` ... ``cars_test/08041.jpg``;
- ``cars_test_annos_withlabels.mat``: the test annotations with ``class``, released later.

Manifest: ``cars_train/<fname>`` (split ``train``, the validation split held out of it) and
``cars_test/<fname>`` (split ``test``), label = ``class - 1``; class id and name are the model
name (e.g. ``AM General Hummer SUV 2000``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    link_or_copy,
    require,
    require_file,
    safe_relative,
)

DEVKIT = "car_devkit.tgz"
TRAIN = "cars_train.tgz"
TEST = "cars_test.tgz"
TEST_ANNOS = "cars_test_annos_withlabels.mat"
ANNOTATION_FIELDS = ("class", "fname")


def _loadmat(path: Path, key: str) -> np.ndarray:
    from scipy.io import loadmat
    from scipy.io.matlab import MatReadError

    try:
        data = loadmat(path, squeeze_me=True)
    except (MatReadError, ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise LayoutError(f"{path.name} is not a readable .mat file ({exc})") from None
    if key not in data:
        found = sorted(k for k in data if not k.startswith("__"))
        raise LayoutError(f"{path.name}: no variable {key!r} (has {found})")
    return np.atleast_1d(data[key])


def read_annotations(path: Path) -> list[tuple[str, int]]:
    """``(fname, class)`` of every record of an annotations .mat file (class 1-based)."""
    annotations = _loadmat(path, "annotations")
    fields = annotations.dtype.names or ()
    missing = [f for f in ANNOTATION_FIELDS if f not in fields]
    if missing:
        raise LayoutError(f"{path.name}: annotations have no field(s) {missing} (have {fields})")
    return [(safe_relative(str(a["fname"]), path.name), int(a["class"])) for a in annotations]


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx, [DEVKIT, TRAIN, TEST])
    test_annos = ctx.root / "devkit" / TEST_ANNOS
    link_or_copy(require_file(ctx.files, TEST_ANNOS, ctx.name), test_annos)
    meta, train_annos = require(
        ctx.root, "devkit/cars_meta.mat", "devkit/cars_train_annos.mat", what="Stanford Cars"
    )
    require(
        ctx.root, "cars_train", "cars_test", what="Stanford Cars (cars_train.tgz, cars_test.tgz)"
    )
    names = [str(n).strip() for n in _loadmat(meta, "class_names")]
    rows = []
    for split, folder, annos in (
        ("train", "cars_train", train_annos),
        ("test", "cars_test", test_annos),
    ):
        for fname, cls in read_annotations(annos):
            if not 1 <= cls <= len(names):
                raise LayoutError(f"{annos.name}: {fname} has class {cls}, outside 1..{len(names)}")
            rows.append((f"{folder}/{fname}", cls - 1, split))
    return ReadResult(frame(rows), names, names)
