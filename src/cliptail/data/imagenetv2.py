"""ImageNetV2 matched-frequency: pinned download, safe extraction, reader.

The archive (1,264,079,360 bytes; sha256 from TensorFlow Datasets' checksum list) holds one top
folder ``imagenetv2-matched-frequency-format-val/`` with 1000 class folders named by class index
``0`` ... ``999`` (the index in sorted-wnid order, the same as ImageNet's), each with 10 images
``<hash>.jpeg``: 10,000 images in all.

Extraction goes to a temporary folder next to the destination and is renamed into place only
after the layout check passed, so the extracted folder is either complete or absent. Tar members
are extracted with the ``data`` filter (no absolute paths, no links leaving the folder).

Manifest: ``image = "imagenetv2-matched-frequency-format-val/<index>/<file>"`` relative to the
folder that holds it, ``label`` = the folder's index, ``caption = "a <name>"``, ``wnid``,
``split = "v2"``. Images PIL cannot decode are left out and listed in the report
(``verify_images``, on by default: 10,000 small JPEGs).
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path

import pandas as pd

from cliptail.data.download import download
from cliptail.data.imagenet import image_files, read_image_folder

URL = (
    "https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/"
    "imagenetv2-matched-frequency.tar.gz"
)
SHA256 = "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c"
SIZE = 1_264_079_360
ARCHIVE = "imagenetv2-matched-frequency.tar.gz"
TOP_DIR = "imagenetv2-matched-frequency-format-val"
PER_CLASS = 10
NUM_CLASSES = 1000


def download_imagenetv2(
    dest: str | os.PathLike, url: str = URL, sha256: str | None = SHA256, **download_options
) -> Path:
    """Download the archive to ``dest`` (a file path), sha256-checked."""
    return download(url, dest, sha256, **download_options)


def check_layout(
    folder: str | os.PathLike, num_classes: int = NUM_CLASSES, per_class: int = PER_CLASS
) -> dict:
    """Check ``folder`` holds class folders 0..num_classes-1 with ``per_class`` images each."""
    folder = Path(folder)
    counts = {i: len(image_files(folder / str(i))) for i in range(num_classes)}
    wrong = {i: n for i, n in counts.items() if n != per_class}
    extra = sorted(
        p.name
        for p in folder.iterdir()
        if p.is_dir() and not (p.name.isdigit() and int(p.name) < num_classes)
    )
    if wrong or extra:
        first = ", ".join(f"{i}: {n}" for i, n in list(wrong.items())[:5])
        raise ValueError(
            f"{folder} is not the ImageNetV2 matched-frequency layout (folders "
            f"0..{num_classes - 1} with {per_class} images each): {len(wrong)} class folders "
            f"differ ({first})"
            + (f"; unexpected folders {extra[:5]}" if extra else "")
            + ". Delete it and the archive, and download again."
        )
    return {"classes": num_classes, "images": sum(counts.values())}


def extract_imagenetv2(
    archive: str | os.PathLike,
    dest_dir: str | os.PathLike,
    num_classes: int = NUM_CLASSES,
    per_class: int = PER_CLASS,
) -> Path:
    """Extract ``archive`` into ``dest_dir``; return ``dest_dir/TOP_DIR`` (complete or absent)."""
    dest_dir = Path(dest_dir)
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / TOP_DIR
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_dir))
    try:
        try:
            with tarfile.open(archive, "r:*") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, EOFError, OSError) as exc:
            raise ValueError(
                f"{archive} cannot be extracted ({type(exc).__name__}: {exc}); "
                "delete it and download again"
            ) from None
        extracted = tmp / TOP_DIR
        if not extracted.is_dir():
            found = sorted(p.name for p in tmp.iterdir())[:5]
            raise ValueError(f"{archive} has no top folder {TOP_DIR}/ (found {found})")
        check_layout(extracted, num_classes, per_class)
        if target.exists():
            shutil.rmtree(target)
        os.replace(extracted, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_imagenetv2(
    folder: str | os.PathLike,
    classes: pd.DataFrame,
    *,
    verify_images: bool = True,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Manifest and report of the extracted folder (``imagenetv2-matched-frequency-format-val``).

    Image paths are relative to ``folder``'s parent.
    """
    folder = Path(folder)
    num_classes = len(classes)
    check_layout(folder, num_classes)
    return read_image_folder(
        folder.parent,
        folder.name,
        [str(i) for i in range(num_classes)],
        list(range(num_classes)),
        classes["id"].tolist(),
        classes["name"].tolist(),
        split_label="v2",
        verify_images=verify_images,
        progress=progress,
    )
