"""The authors' released metadata: pinned download and readers of the ImageNet class files.

The study's authors released per-class frequencies, class descriptors, the ImageNet-100 class list
and frozen SL heads in the ``metadata/`` folder of github.com/CVMI-Lab/clip-beyond-tail (MIT). We
fetch them from the raw URLs of one pinned commit (:data:`DEFAULT_BASE_URL`) and check every file
against the sha256 kept in ``metadata_sha256.tsv`` beside this module (columns path, sha256,
size; 118 files, 20.8 MB). The cache layout mirrors the repository: ``<root>/<path>``, e.g.
``resources/metadata/freqs/class_frequency_laion400m_imagenet.txt``.

The small files (``descriptors/``, ``freqs/``, ``imagenet100_idxs.txt``; not ``heads/``) also ship
inside the package, byte-identical, under ``cliptail/data/released/`` (:func:`released_root`, with
the authors' MIT licence beside them). The readers below take a metadata folder and fall back to
that packaged copy for any file the folder lacks, or use it directly when no folder is given.

Class order everywhere is the sorted ImageNet wnids, i.e. the key order of
``descriptors/descriptors_imagenet_synset.json`` (checked); class names are the keys of
``descriptors/descriptors_imagenet.json`` in the same order (the names of the frequency files).
"""

from __future__ import annotations

import atexit
import contextlib
import csv
import json
import logging
import os
import urllib.parse
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from cliptail import factors, io
from cliptail.data.download import download, sha256_file

COMMIT = "6d180a24c818f1439aeeade33ebdc8b0b53a3b62"
DEFAULT_BASE_URL = f"https://raw.githubusercontent.com/CVMI-Lab/clip-beyond-tail/{COMMIT}/metadata/"

SYNSETS_JSON = "descriptors/descriptors_imagenet_synset.json"
NAMES_JSON = "descriptors/descriptors_imagenet.json"
IMAGENET100_TXT = "imagenet100_idxs.txt"
#: The files every ImageNet-based reader needs.
IMAGENET_FILES = (SYNSETS_JSON, NAMES_JSON, IMAGENET100_TXT)
NUM_IMAGENET_CLASSES = 1000
#: Folder (under the released root) of the files that are download-only, not packaged.
DOWNLOAD_ONLY_PREFIX = "heads/"

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PinnedFile:
    path: str
    sha256: str
    size: int


@cache
def pinned_files() -> dict[str, PinnedFile]:
    """Every released metadata file: relative path -> pinned sha256 and size."""
    text = resources.files("cliptail.data").joinpath("metadata_sha256.tsv").read_text("utf-8")
    rows = csv.DictReader(text.splitlines(), delimiter="\t")
    return {r["path"]: PinnedFile(r["path"], r["sha256"], int(r["size"])) for r in rows}


def pinned(path: str) -> PinnedFile:
    """The pinned entry of ``path``; ValueError naming the known folders if it is not released."""
    files = pinned_files()
    if path not in files:
        raise ValueError(
            f"{path!r} is not a released metadata file (known: "
            f"{len(files)} files under freqs/, descriptors/, heads/ and "
            f"{IMAGENET100_TXT}; see src/cliptail/data/metadata_sha256.tsv)"
        )
    return files[path]


def packaged_paths() -> list[str]:
    """The released files shipped inside the package: every pinned file except ``heads/``."""
    return [p for p in pinned_files() if not p.startswith(DOWNLOAD_ONLY_PREFIX)]


@cache
def released_root() -> Path:
    """The packaged copy of the released metadata (same layout as the repository's ``metadata/``).

    Holds :func:`packaged_paths`, a ``LICENSE`` (MIT, the authors' copyright) and a ``README.md``.
    """
    root = resources.files("cliptail.data").joinpath("released")
    if isinstance(root, Path):
        return root
    # an installation that is not a plain folder (e.g. a zip): extract once for this process
    stack = contextlib.ExitStack()
    atexit.register(stack.close)
    return Path(stack.enter_context(resources.as_file(root)))


def resolve_metadata_file(path: str, root: str | os.PathLike | None = None) -> Path:
    """Local path of the released file ``path``: ``<root>/<path>`` if it exists, else the packaged
    copy (if ``path`` is packaged); ``root=None`` means the packaged copy.

    When neither exists, the returned path does not exist either (``<root>/<path>``, or the
    packaged location when no root is given); readers turn that into a FileNotFoundError.
    """
    local = Path(root) / path if root is not None else None
    if local is not None and local.is_file():
        return local
    packaged = released_root() / path
    if path in packaged_paths() and packaged.is_file():
        if local is not None:
            log.info("%s not found; using the copy shipped with cliptail (%s)", local, packaged)
        return packaged
    return local if local is not None else packaged


def metadata_url(path: str, base_url: str = DEFAULT_BASE_URL) -> str:
    """URL of one released file under ``base_url`` (which must end with a slash)."""
    return base_url.rstrip("/") + "/" + urllib.parse.quote(path)


def fetch_metadata_file(
    path: str, root: str | os.PathLike, base_url: str = DEFAULT_BASE_URL, **download_options
) -> Path:
    """Download one released file to ``<root>/<path>``, sha256-checked; return its local path."""
    entry = pinned(path)
    return download(
        metadata_url(path, base_url), Path(root) / path, entry.sha256, **download_options
    )


def fetch_metadata(
    root: str | os.PathLike,
    paths: list[str] | None = None,
    base_url: str = DEFAULT_BASE_URL,
    progress: bool = True,
    **download_options,
) -> list[Path]:
    """Download ``paths`` (default: every released file) to ``root``; files already there and
    matching their hash are kept."""
    paths = list(pinned_files()) if paths is None else paths
    return [
        fetch_metadata_file(p, root, base_url, progress=False, **download_options)
        for p in tqdm(paths, desc="metadata", unit="file", disable=not progress)
    ]


def verify_metadata(root: str | os.PathLike, paths: list[str] | None = None) -> list[str]:
    """Released files under ``root`` that are missing or differ from their pinned hash."""
    paths = list(pinned_files()) if paths is None else paths
    bad = []
    for path in paths:
        local = Path(root) / path
        if not local.is_file() or sha256_file(local) != pinned(path).sha256:
            bad.append(path)
    return bad


# --- readers of the ImageNet class files ---------------------------------------------------------


def _missing(path: Path) -> FileNotFoundError:
    return FileNotFoundError(
        f"{path} not found; fetch the authors' metadata first "
        f"(snakemake resources/metadata/{SYNSETS_JSON}, or "
        "cliptail sources metadata --root <folder>)"
    )


def _read_json_object(path: Path) -> dict:
    if not path.is_file():
        raise _missing(path)
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def imagenet_synonyms(root: str | os.PathLike | None = None) -> dict[str, list[str]]:
    """wnid -> lower-case synonyms (``descriptors_imagenet_synset.json``), sorted-wnid order.

    ``root``: a metadata folder; files it lacks (and ``root=None``) come from the packaged copy.
    """
    path = resolve_metadata_file(SYNSETS_JSON, root)
    synonyms = _read_json_object(path)
    wnids = list(synonyms)
    if wnids != sorted(wnids) or len(wnids) != NUM_IMAGENET_CLASSES:
        raise ValueError(
            f"{path}: expected {NUM_IMAGENET_CLASSES} wnids in sorted order; "
            "is it the released file?"
        )
    return synonyms


def imagenet_wnids(root: str | os.PathLike | None = None) -> list[str]:
    """The 1000 ImageNet wnids in class order (sorted)."""
    return list(imagenet_synonyms(root))


def imagenet_classes(root: str | os.PathLike | None = None) -> pd.DataFrame:
    """The ImageNet class table (index, id = wnid, name = caption/head class name)."""
    wnids = imagenet_wnids(root)
    path = resolve_metadata_file(NAMES_JSON, root)
    names = list(_read_json_object(path))
    if len(names) != len(wnids):
        raise ValueError(f"{path}: {len(names)} names for {len(wnids)} wnids")
    return pd.DataFrame({"index": range(len(wnids)), "id": wnids, "name": names})


def write_classes_table(classes: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a class table as ``classes.tsv`` (index, id, name)."""
    io.write_classes(path, classes["id"].tolist(), classes["name"].tolist())


def imagenet100_indices(root: str | os.PathLike | None = None) -> list[int]:
    """The 100 class indices of ImageNet-100 (``imagenet100_idxs.txt``), file order."""
    path = resolve_metadata_file(IMAGENET100_TXT, root)
    if not path.is_file():
        raise _missing(path)
    indices = [int(line) for line in path.read_text().split()]
    if len(indices) != 100 or len(set(indices)) != 100 or not all(0 <= i < 1000 for i in indices):
        raise ValueError(f"{path}: expected 100 distinct class indices in 0..999")
    return indices


def frequency_path(
    root: str | os.PathLike,
    dataset: str,
    concept_set: str = "imagenet",
    original_order: bool = True,
) -> Path:
    """Path of a released frequency file, e.g. ``freqs/class_frequency_incaps_imagenet_ori.txt``.

    Some controlled-study files have no concept-set part (``laionet_thresh0.7_ori``): pass
    ``concept_set=""`` for those.
    """
    stem = f"class_frequency_{dataset}" + (f"_{concept_set}" if concept_set else "")
    return Path(root) / "freqs" / (stem + ("_ori" if original_order else "") + ".txt")


def released_frequency_file(dataset: str, concepts: str) -> str:
    """File name of a released web-dataset frequency file, preferring the class-order (``_ori``)
    version.

    The authors released ``_ori`` files for ImageNet and for both MetaCLIP datasets; for the other
    datasets and concept sets only the count-sorted file exists (class names are unique, so its
    rows are put back in class order by name).
    """
    if dataset not in factors.WEB_DATASETS:
        raise ValueError(
            f"unknown web dataset {dataset!r}; expected one of {list(factors.WEB_DATASETS)}"
        )
    if concepts not in factors.CONCEPT_SETS:
        raise ValueError(
            f"unknown concept set {concepts!r}; expected one of {list(factors.CONCEPT_SETS)}"
        )
    ori = concepts == "imagenet" or dataset.startswith("metaclip")
    return frequency_path("", dataset, concepts, original_order=ori).name
