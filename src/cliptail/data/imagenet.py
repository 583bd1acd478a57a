"""ImageNet (ILSVRC-2012) train/val: locate the user's copy and read a split into a manifest.

ImageNet cannot be downloaded automatically (its terms require an account). The user points
``sources.imagenet.root`` at a folder laid out as :data:`LAYOUT_HELP` describes; the check
(:func:`locate_imagenet`) fails with one message that says what is missing, the expected layout
and how to obtain it. A class folder counts when it holds at least one image (``.JPEG``; ``.jpg``,
``.jpeg`` and ``.png`` in any case are accepted too). Validation must have exactly
:data:`VAL_PER_CLASS` images in each of the 1000 classes; train needs every class non-empty (the
full release has 1,281,167 images; the count found is recorded).

Manifest of a split: one row per image, ``image = "<split>/<wnid>/<file>"`` relative to the root,
``label`` = index of the wnid in the sorted-wnid class order, ``caption = "a <name>"`` (evaluation
sets need no caption; this keeps the manifest contract), ``wnid``, ``split``; rows sorted by path.
With ``verify_images=True`` each image is decoded with PIL; images that fail are left out and
listed in the report (``corrupt``), never silently kept.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from tqdm import tqdm

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
VAL_PER_CLASS = 50
TRAIN_IMAGES = 1_281_167

LAYOUT_HELP = """\
Expected layout (ILSVRC-2012, 1000 classes named by wnid):
  <root>/train/<wnid>/*.JPEG  e.g. train/n01440764/n01440764_10026.JPEG  (1,281,167, ~140 GB)
  <root>/val/<wnid>/*.JPEG    e.g. val/n01440764/ILSVRC2012_val_00000293.JPEG  (50/class, 6.4 GB)
How to obtain it: register at https://image-net.org/download.php and download
ILSVRC2012_img_train.tar and ILSVRC2012_img_val.tar; then
  mkdir -p train val && tar -xf ILSVRC2012_img_train.tar -C train
  cd train && for f in *.tar; do d=${f%.tar}; mkdir -p $d && tar -xf $f -C $d && rm $f; done; cd ..
  tar -xf ILSVRC2012_img_val.tar -C val
The validation tarball is flat (ILSVRC2012_val_*.JPEG): move each image into its class folder by
running valprep.sh inside val/
(https://github.com/soumith/imagenetloader.torch/blob/master/valprep.sh), or use
pytorch/examples' imagenet/extract_ILSVRC.sh, which does all of the above.
Then set sources.imagenet.root in your config to <root>."""


class ImageNetLayoutError(FileNotFoundError):
    """The ImageNet folder is missing or incomplete."""


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith(".")


def image_files(folder: Path) -> list[str]:
    """Sorted image file names directly in ``folder`` (empty if it does not exist)."""
    try:
        with os.scandir(folder) as entries:
            return sorted(e.name for e in entries if e.is_file() and _is_image(e.name))
    except FileNotFoundError:
        return []


def locate_imagenet(
    root: str | os.PathLike | None,
    wnids: Sequence[str],
    splits: Sequence[str] = ("train", "val"),
    progress: bool = True,
) -> dict:
    """Check the ImageNet tree at ``root``; return ``{"root", "splits": {split: {"images",
    "classes"}}}``, or raise :class:`ImageNetLayoutError` with one message listing every problem."""
    if not root:
        raise ImageNetLayoutError(
            "ImageNet is not configured: set sources.imagenet.root to the "
            "folder that holds train/ and val/.\n" + LAYOUT_HELP
        )
    root = Path(root).expanduser()
    problems: list[str] = []
    summary: dict = {"root": str(root.resolve()), "splits": {}}
    if not root.is_dir():
        problems.append(f"{root} does not exist or is not a folder")
    else:
        for split in splits:
            folder = root / split
            if not folder.is_dir():
                problems.append(f"{folder} is missing")
                continue
            counts = {
                w: len(image_files(folder / w))
                for w in tqdm(wnids, desc=f"checking {split}", unit="class", disable=not progress)
            }
            empty = [w for w, n in counts.items() if n == 0]
            if empty:
                problems.append(
                    f"{folder}: {len(empty)} of {len(wnids)} class folders missing or "
                    f"empty (first: {', '.join(empty[:5])})"
                )
            if split == "val":
                wrong = {w: n for w, n in counts.items() if n not in (0, VAL_PER_CLASS)}
                if wrong:
                    first = ", ".join(f"{w}: {n}" for w, n in list(wrong.items())[:5])
                    problems.append(
                        f"{folder}: {len(wrong)} class folders do not hold "
                        f"{VAL_PER_CLASS} images ({first}); is val/ sorted into "
                        "class folders completely?"
                    )
            summary["splits"][split] = {
                "images": sum(counts.values()),
                "classes": len(wnids) - len(empty),
            }
    if problems:
        raise ImageNetLayoutError(
            "ImageNet at "
            + str(root)
            + " is incomplete:\n  - "
            + "\n  - ".join(problems)
            + "\n"
            + LAYOUT_HELP
        )
    return summary


def verify_image(path: str | os.PathLike) -> str | None:
    """None if PIL decodes the image completely, else the reason it failed."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
    except Exception as exc:  # PIL raises many types for broken files
        return f"{type(exc).__name__}: {exc}"
    return None


def read_image_folder(
    root: str | os.PathLike,
    split: str,
    folders: Sequence[str],
    labels: Sequence[int],
    wnids: Sequence[str],
    names: Sequence[str],
    *,
    split_label: str | None = None,
    verify_images: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Manifest of ``<root>/<split>/<folder>/*`` with folder i labelled ``labels[i]``.

    Shared by ImageNet (folders = wnids) and ImageNetV2 (folders = class indices); the ``split``
    column holds ``split_label`` (default: ``split``). Returns the
    manifest and a report: ``images``, ``per_class_min``/``max``, ``corrupt`` (count) and
    ``corrupt_files`` (paths relative to root, with the reason).
    """
    root = Path(root)
    rows = []
    for folder, label in zip(folders, labels, strict=True):
        for name in image_files(root / split / folder):
            rows.append((f"{split}/{folder}/{name}", label))
    df = pd.DataFrame(rows, columns=["image", "label"])
    corrupt = {}
    if verify_images:
        for image in tqdm(df["image"], desc=f"decoding {split}", unit="img", disable=not progress):
            reason = verify_image(root / image)
            if reason is not None:
                corrupt[image] = reason
        df = df[~df["image"].isin(corrupt)]
    df = df.sort_values("image", kind="stable").reset_index(drop=True)
    df["label"] = df["label"].astype("int64")
    df["caption"] = [f"a {names[i]}" for i in df["label"]]
    df["wnid"] = [wnids[i] for i in df["label"]]
    df["split"] = split_label or split
    per_class = df["label"].value_counts()
    report = {
        "images": len(df),
        "classes": int(per_class.size),
        "per_class_min": int(per_class.min()) if len(per_class) else 0,
        "per_class_max": int(per_class.max()) if len(per_class) else 0,
        "verified": verify_images,
        "corrupt": len(corrupt),
        "corrupt_files": [{"image": k, "reason": v} for k, v in corrupt.items()],
    }
    return df[["image", "label", "caption", "wnid", "split"]], report


def read_imagenet_split(
    root: str | os.PathLike,
    split: str,
    classes: pd.DataFrame,
    *,
    verify_images: bool = False,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Manifest and report of ImageNet ``split`` (``train`` or ``val``) under ``root``."""
    locate_imagenet(root, classes["id"].tolist(), splits=(split,), progress=progress)
    wnids = classes["id"].tolist()
    return read_image_folder(
        root,
        split,
        wnids,
        list(range(len(wnids))),
        wnids,
        classes["name"].tolist(),
        verify_images=verify_images,
        progress=progress,
    )
