"""CIFAR-10 and CIFAR-100 (Krizhevsky, 2009): the "python version" pickles, written out as PNGs.

``cifar-10-python.tar.gz`` holds ``cifar-10-batches-py/`` with ``data_batch_1`` ...
``data_batch_5`` (training, 10,000 images each), ``test_batch`` (10,000) and ``batches.meta``
(``label_names``: the 10 class names in label order). ``cifar-100-python.tar.gz`` holds
``cifar-100-python/`` with ``train`` (50,000), ``test`` (10,000) and ``meta``
(``fine_label_names``, ``coarse_label_names``). Each batch is a pickled dict (written by
Python 2: keys and strings are byte strings) with ``data``, a uint8 array [N, 3072] holding each
32x32 image as its red, green and blue planes one after the other, row-major, the labels
(``labels``; CIFAR-100: ``fine_labels`` and ``coarse_labels``) and ``filenames``.

The pickles are loaded by an unpickler that only admits what these files contain (numpy arrays,
built-in containers), so a tampered download cannot run code. Each image is written as
``images/<batch>/<row:05d>.png`` (lossless) and the manifest points at these files
(``image_format: files``). Classes: CIFAR-100 uses the 100 fine labels. The validation split is
held out of the training batches; ``test`` is the test batch.
"""

from __future__ import annotations

import logging
import pickle
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from tqdm import tqdm

from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    require,
)

log = logging.getLogger(__name__)

CIFAR10 = {
    "archive": "cifar-10-python.tar.gz",
    "top": "cifar-10-batches-py",
    "train": [f"data_batch_{i}" for i in range(1, 6)],
    "test": ["test_batch"],
    "meta": "batches.meta",
    "names": "label_names",
    "labels": "labels",
}
CIFAR100 = {
    "archive": "cifar-100-python.tar.gz",
    "top": "cifar-100-python",
    "train": ["train"],
    "test": ["test"],
    "meta": "meta",
    "names": "fine_label_names",
    "labels": "fine_labels",
}

_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),
}


class _BatchUnpickler(pickle.Unpickler):
    """Unpickles numpy arrays and built-in containers only."""

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(
                f"refusing to load {module}.{name}: a CIFAR batch holds numpy arrays only"
            )
        if module.startswith("numpy.core."):
            module = "numpy._core." + module.removeprefix("numpy.core.")
        return super().find_class(module, name)


def _text(value: Any) -> Any:
    return value.decode("latin1") if isinstance(value, bytes) else value


def load_batch(path: Path) -> dict[str, Any]:
    """One pickled batch as a dict with str keys (byte strings in lists decoded as latin-1)."""
    try:
        with open(path, "rb") as fh:
            raw = _BatchUnpickler(fh, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError) as exc:
        raise LayoutError(
            f"{path.name} is not a CIFAR batch ({type(exc).__name__}: {exc})"
        ) from None
    if not isinstance(raw, dict):
        raise LayoutError(f"{path.name} is not a CIFAR batch (a {type(raw).__name__}, not a dict)")
    out = {}
    for key, value in raw.items():
        if isinstance(value, list):
            value = [_text(v) for v in value]
        out[_text(key)] = value
    return out


def _images(batch: dict[str, Any], path: Path, labels_key: str) -> tuple[np.ndarray, list[int]]:
    for key in ("data", labels_key):
        if key not in batch:
            raise LayoutError(f"{path.name}: no {key!r} entry (has {sorted(batch)})")
    data = np.asarray(batch["data"])
    labels = [int(x) for x in batch[labels_key]]
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        raise LayoutError(
            f"{path.name}: 'data' is {data.dtype} {data.shape}, expected uint8 [N, 3072]"
        )
    if len(labels) != len(data):
        raise LayoutError(f"{path.name}: {len(data)} images but {len(labels)} labels")
    return data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1), labels


def _read(ctx: ReadContext, spec: dict[str, Any]) -> ReadResult:
    extract_all(ctx)
    top = ctx.root / spec["top"]
    batches = spec["train"] + spec["test"]
    require(top, spec["meta"], *batches, what=f"CIFAR ({spec['archive']})")
    meta = load_batch(top / spec["meta"])
    if spec["names"] not in meta:
        raise LayoutError(f"{spec['meta']}: no {spec['names']!r} entry (has {sorted(meta)})")
    names = [str(n) for n in meta[spec["names"]]]
    rows, filenames = [], []
    for batch_name in batches:
        split = "train" if batch_name in spec["train"] else "test"
        path = top / batch_name
        batch = load_batch(path)
        pixels, labels = _images(batch, path, spec["labels"])
        out_dir = ctx.root / "images" / batch_name
        out_dir.mkdir(parents=True, exist_ok=True)
        names_in_batch = batch.get("filenames") or [""] * len(labels)
        for row in tqdm(
            range(len(labels)), desc=f"writing {batch_name}", unit="img", disable=not ctx.progress
        ):
            if not 0 <= labels[row] < len(names):
                raise LayoutError(f"{path.name}: label {labels[row]} at row {row} out of range")
            image = f"images/{batch_name}/{row:05d}.png"
            Image.fromarray(pixels[row]).save(ctx.root / image, format="PNG")
            rows.append((image, labels[row], split))
            filenames.append(str(names_in_batch[row]))
    # the archive's own pickles are not needed once written out as images
    for batch_name in [spec["meta"], *batches]:
        (top / batch_name).unlink()
    return ReadResult(
        frame(rows, {"filename": filenames}), names, [n.replace("_", " ") for n in names]
    )


def read_cifar10(ctx: ReadContext) -> ReadResult:
    return _read(ctx, CIFAR10)


def read_cifar100(ctx: ReadContext) -> ReadResult:
    return _read(ctx, CIFAR100)
