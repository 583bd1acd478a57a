"""What every transfer-dataset reader shares: its inputs and output, layout checks, splits.

A reader is a function ``read(ctx: ReadContext) -> ReadResult``. It unpacks the downloaded files
(``ctx.files``: file name -> path) into ``ctx.root`` (a temporary folder that becomes the dataset
folder) and returns one manifest row per image listed by the dataset's own metadata: ``image``
(path relative to ``ctx.root``), ``label`` (0..C-1 in the order of the class list it returns) and
``split`` (``train``/``val``/``test`` as the dataset defines them; datasets without an official
validation split only use ``train`` and ``test``). The preparation then checks that every image
exists and decodes (:func:`check_images`), assigns the validation split where the dataset has
none (:func:`hold_out_val`) and writes the folder.

Validation hold-out (Kornblith et al., 2019, used a held-out part of the training set to choose
the linear probe's regularisation): for every class, its training images sorted by path are
shuffled with a generator seeded by ``(seed_for(dataset, "val"), label)``, and the first
``round(0.2 * n)`` (half rounded up) become ``val``. The choice depends only on the dataset name,
the class and that class's file list, so it is the same on every machine and run, and every
class keeps the 80/20 proportion.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from cliptail.data.transfer import archive

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
VAL_FRACTION = 0.2


class LayoutError(FileNotFoundError):
    """Downloaded files do not have the dataset's layout (message names what is missing)."""


@dataclass
class ReadContext:
    """Inputs of a reader."""

    name: str
    files: Mapping[str, Path]
    root: Path
    downloads: Path
    progress: bool = True
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReadResult:
    """Output of a reader: the manifest rows, the classes, and facts for the report."""

    manifest: pd.DataFrame
    class_ids: list[str]
    class_names: list[str]
    report: dict[str, Any] = field(default_factory=dict)
    skipped: list[dict[str, str]] = field(default_factory=list)


def seed_for(dataset: str, purpose: str) -> int:
    """A 64-bit seed that depends only on the dataset name and the purpose."""
    digest = hashlib.sha256(f"{dataset}/{purpose}".encode()).digest()
    return int.from_bytes(digest[:8], "little")


def round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def class_sample(
    df: pd.DataFrame, dataset: str, purpose: str, count: Callable[[int], int]
) -> pd.Series:
    """Boolean mask: per class (``label``), ``count(n)`` of its ``n`` rows drawn at random.

    Rows of a class are sorted by ``image`` and permuted by a generator seeded with
    ``(seed_for(dataset, purpose), label)``: deterministic and stratified.
    """
    mask = pd.Series(False, index=df.index)
    seed = seed_for(dataset, purpose)
    for label, group in df.groupby("label", sort=True):
        ordered = group.sort_values("image", kind="stable").index.to_numpy()
        rng = np.random.default_rng([seed, int(label)])
        chosen = ordered[rng.permutation(len(ordered))[: count(len(ordered))]]
        mask.loc[chosen] = True
    return mask


def hold_out_val(df: pd.DataFrame, dataset: str, fraction: float = VAL_FRACTION) -> pd.DataFrame:
    """``df`` with ``round(fraction * n)`` of each class's ``train`` rows moved to ``val``."""
    train = df[df["split"] == "train"]
    chosen = class_sample(train, dataset, "val", lambda n: round_half_up(fraction * n))
    out = df.copy()
    out.loc[chosen[chosen].index, "split"] = "val"
    return out


def require(root: Path, *relative: str, what: str) -> list[Path]:
    """The paths ``root/<relative>``; LayoutError naming every missing one."""
    paths = [root / rel for rel in relative]
    missing = [rel for rel, path in zip(relative, paths, strict=True) if not path.exists()]
    if missing:
        raise LayoutError(
            f"{what}: missing {', '.join(missing)} (looked in the extracted files under "
            f"{root.name}/); the download is incomplete or not the expected file"
        )
    return paths


def require_file(files: Mapping[str, Path], name: str, dataset: str) -> Path:
    """The downloaded file ``name``; LayoutError if the dataset's files do not include it."""
    if name not in files:
        raise LayoutError(f"{dataset}: the file {name} is needed but was not provided")
    return files[name]


def extract_all(ctx: ReadContext, names: Iterable[str] | None = None) -> None:
    """Unpack the named downloaded archives (default: every file) into ``ctx.root``."""
    for name in names if names is not None else ctx.files:
        path = require_file(ctx.files, name, ctx.name)
        log.info("%s: extracting %s", ctx.name, path.name)
        archive.extract(path, ctx.root)


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a text file, stripped (UTF-8, a stray BOM or CR removed)."""
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    return [line.strip() for line in text.splitlines() if line.strip()]


def safe_relative(path: str, where: str) -> str:
    """``path`` (from a dataset's metadata) as a relative POSIX path that stays in its folder."""
    p = PurePosixPath(path.strip().replace("\\", "/"))
    if not p.parts or p.is_absolute() or ".." in p.parts:
        raise LayoutError(f"{where}: image path {path!r} is not a relative path inside the dataset")
    return str(p)


def frame(
    rows: list[tuple[str, int, str]], extra: Mapping[str, list] | None = None
) -> pd.DataFrame:
    """The manifest rows ``(image, label, split)`` as a frame (plus ``extra`` columns)."""
    df = pd.DataFrame(rows, columns=["image", "label", "split"])
    df["label"] = df["label"].astype("int64")
    for column, values in (extra or {}).items():
        df[column] = values
    return df


def verify_image(path: Path) -> str | None:
    """None if PIL decodes the image completely, else why not."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img.load()
    except Exception as exc:  # PIL raises many types for broken files
        return f"undecodable ({type(exc).__name__}: {exc})"
    return None


def check_images(
    df: pd.DataFrame, root: Path, *, decode: bool = True, progress: bool = True
) -> tuple[pd.DataFrame, list[dict[str, str]]]:
    """``df`` without the rows whose image is missing (or, with ``decode``, undecodable).

    Returns the kept rows and the skipped ones as ``{"image", "split", "reason"}``.
    """
    skipped: list[dict[str, str]] = []
    keep = np.ones(len(df), dtype=bool)
    images = df["image"].tolist()
    splits = df["split"].tolist()
    desc = "checking images" if not decode else "decoding images"
    for i, image in enumerate(tqdm(images, desc=desc, unit="img", disable=not progress)):
        path = root / image
        reason = "missing (listed by the dataset, absent from the archive)"
        if path.is_file():
            reason = verify_image(path) if decode else None
        if reason is not None:
            keep[i] = False
            skipped.append({"image": image, "split": splits[i], "reason": reason})
    return df[keep].reset_index(drop=True), skipped


def split_counts(df: pd.DataFrame) -> dict[str, int]:
    counts = df["split"].value_counts()
    return {split: int(counts.get(split, 0)) for split in SPLITS}


def link_or_copy(src: Path, dest: Path) -> None:
    """Hard-link ``src`` at ``dest`` (copy where links are not possible)."""
    import shutil

    dest.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dest)
    except OSError:
        shutil.copyfile(src, dest)
