"""Prepare one transfer dataset: download, verify, extract safely, read, write the dataset folder.

:func:`prepare` does, for one dataset of :data:`~cliptail.data.transfer.registry.TRANSFER_DATASETS`:

1. **fetch** each of its files into ``<downloads>/<name>/<file>``: a file already there is used
   as it is (checked below); one in ``local_dir`` (a folder, or several searched in order) is
   used in place (nothing copied); otherwise
   it is downloaded from ``urls[file]``, ``<url_base>/<file>`` or the registry's URL through
   :func:`cliptail.data.download.download` (retries, resume, atomic placement, sha256);
2. **verify** its md5 (or sha256) where the registry has one: a mismatch raises
   :class:`~cliptail.data.download.ChecksumError` naming the file, the expected and the actual
   digest; a downloaded file that fails is deleted so the next run downloads it again, a file of
   ``local_dir`` is never deleted;
3. **read**: the dataset's reader unpacks the files (:mod:`.archive`: no member may leave the
   folder) into a temporary folder next to ``out_dir`` and lists the images; every listed image is
   checked to exist and, with ``verify_images``, to decode (others are left out and reported);
   the splits are completed (validation hold-out, Caltech-101's 30 per class);
4. **write** the dataset folder (:class:`~cliptail.data.dataset_dir.DatasetDir`):
   ``manifest.parquet`` (``image``, ``label``, ``caption`` = class name, ``split``, and the
   reader's own columns), ``classes.tsv``, ``source.json`` (``image_root`` = ``out_dir``,
   ``image_format: files``, ``transfer_dataset``, ``metric``) and ``report.json``; then the
   temporary folder is renamed to ``out_dir`` (an older ``out_dir`` is replaced only then).

Any failure removes the temporary folder: ``out_dir`` is either the complete new dataset, or what
it was before.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.download import ChecksumError, DownloadError, download
from cliptail.data.transfer.common import (
    ReadContext,
    check_images,
    split_counts,
)
from cliptail.data.transfer.registry import TRANSFER_DATASETS, TransferDataset, TransferFile

log = logging.getLogger(__name__)

CHUNK_SIZE = 1 << 20


def dataset(name: str | TransferDataset) -> TransferDataset:
    """The registry entry of ``name`` (a :class:`TransferDataset` is returned as it is)."""
    if isinstance(name, TransferDataset):
        return name
    if name not in TRANSFER_DATASETS:
        raise KeyError(
            f"unknown transfer dataset {name!r}; known: {', '.join(sorted(TRANSFER_DATASETS))}"
        )
    return TRANSFER_DATASETS[name]


def digests(path: Path) -> dict[str, str]:
    """md5 and sha256 of a file, read once."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(CHUNK_SIZE), b""):
            md5.update(block)
            sha256.update(block)
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def _check(
    path: Path, file: TransferFile, origin: str, *, owned: bool, verify: bool
) -> dict[str, Any]:
    """Digests of ``path``; ChecksumError if a pinned one differs (``owned``: delete it then)."""
    found = digests(path)
    record = {"file": file.filename, "from": origin, **found, "checked": None}
    if not verify:
        return record
    for kind in ("sha256", "md5"):
        expected = getattr(file, kind)
        if expected is None:
            continue
        if found[kind] != expected.lower():
            fate = "it was deleted; run again to download it anew" if owned else "it is kept"
            raise ChecksumError(
                f"checksum mismatch for {path} (from {origin}): expected {kind} {expected}, got "
                f"{found[kind]}; {fate}. Check that the source serves the original "
                f"{file.filename} (a re-packed mirror differs; verify_checksums=False / "
                "--skip-checksums accepts it at your own risk)."
            )
        record["checked"] = kind
    if record["checked"] is None:
        log.warning("%s: no published checksum; observed sha256 %s", path, found["sha256"])
    return record


LocalDirs = str | os.PathLike | Sequence[str | os.PathLike] | None


def local_folders(local_dir: LocalDirs) -> list[Path]:
    """``local_dir`` (None, one folder or several) as a list of folders, in search order."""
    if local_dir is None:
        return []
    if isinstance(local_dir, str | os.PathLike):
        return [Path(local_dir)]
    return [Path(d) for d in local_dir if d is not None]


def fetch(
    spec: TransferDataset,
    downloads: Path,
    *,
    urls: Mapping[str, str] | None = None,
    url_base: str | None = None,
    local_dir: LocalDirs = None,
    verify_checksums: bool = True,
    progress: bool = True,
    download_options: Mapping[str, Any] | None = None,
) -> tuple[dict[str, Path], list[dict[str, Any]]]:
    """Every file of ``spec``, present and checked: ``({filename: path}, [file records])``.

    ``local_dir``: a folder, or folders searched in order, that may already hold files.
    """
    paths: dict[str, Path] = {}
    records = []
    local_dirs = local_folders(local_dir)
    for file in spec.files:
        local = next((d / file.filename for d in local_dirs if (d / file.filename).is_file()), None)
        dest = downloads / file.filename
        if local is not None:
            path, origin, owned = local, f"local file {local}", False
        elif dest.is_file():
            path, origin, owned = dest, f"earlier download {dest}", True
        else:
            url = spec.url_for(file, urls, url_base)
            if url is None:
                where = "".join(f" or {d}" for d in local_dirs)
                raise DownloadError(
                    f"{spec.title}: no URL for {file.filename} ({file.note}); put it in "
                    f"{downloads}{where}, or give its URL"
                )
            log.info("%s: downloading %s from %s", spec.name, file.filename, url)
            path = download(
                url, dest, file.sha256, progress=progress, **dict(download_options or {})
            )
            origin, owned = url, True
        try:
            records.append(_check(path, file, origin, owned=owned, verify=verify_checksums))
        except ChecksumError:
            if owned:
                path.unlink(missing_ok=True)
            raise
        paths[file.filename] = path
    return paths, records


def prepare(
    name: str | TransferDataset,
    downloads_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    urls: Mapping[str, str] | None = None,
    *,
    url_base: str | None = None,
    local_dir: LocalDirs = None,
    verify_checksums: bool = True,
    verify_images: bool = True,
    progress: bool = True,
    download_options: Mapping[str, Any] | None = None,
    reader_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Download (what is missing), verify, extract, read and write one dataset; return its report.

    ``name``: a key of ``TRANSFER_DATASETS`` (or an entry itself, e.g. with other checksums);
    ``urls``: file name -> URL overrides; ``url_base``: base URL for every file not in ``urls``;
    ``local_dir``: a folder (or folders, searched in order) already holding (some of) the files;
    ``download_options``: passed to :func:`~cliptail.data.download.download` (``retries``,
    ``backoff``, ``timeout``);
    ``reader_options``: the reader's own (Birdsnap: ``workers``, ``image_retries``,
    ``image_backoff``, ``image_timeout``). Steps and guarantees: module docstring.
    """
    spec = dataset(name)
    out = Path(out_dir)
    downloads = Path(downloads_dir) / spec.name
    downloads.mkdir(parents=True, exist_ok=True)
    files, records = fetch(
        spec,
        downloads,
        urls=urls,
        url_base=url_base,
        local_dir=local_dir,
        verify_checksums=verify_checksums,
        progress=progress,
        download_options=download_options,
    )
    with staged_folder(out) as stage:
        ctx = ReadContext(spec.name, files, stage, downloads, progress, dict(reader_options or {}))
        result = spec.reader(ctx)
        df, skipped = check_images(result.manifest, stage, decode=verify_images, progress=progress)
        df = spec.splits(df)
        names = result.class_names
        if "caption" not in df.columns:
            df["caption"] = [names[i] for i in df["label"]]
        classes_df = _classes(result.class_ids, names)
        skipped = result.skipped + skipped
        report = _report(spec, df, classes_df, skipped, records, result.report, verify_images)
        source = {
            "image_root": str(out),
            "image_format": "files",
            "transfer_dataset": spec.name,
            "metric": spec.metric,
            "splits": list(report["splits"]),
        }
        folder = DatasetDir(stage)
        folder.write(df, classes_df, source=source)
        io.write_json(folder.report, report)
    log.info(
        "%s: %s images (%s), %d skipped -> %s",
        spec.name,
        len(df),
        ", ".join(f"{k} {v}" for k, v in report["splits"].items()),
        len(skipped),
        out,
    )
    return report


def _classes(ids: list[str], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"index": range(len(ids)), "id": ids, "name": names})


def _report(
    spec: TransferDataset,
    df: pd.DataFrame,
    classes: pd.DataFrame,
    skipped: list[dict[str, str]],
    records: list[dict[str, Any]],
    extra: Mapping[str, Any],
    verify_images: bool,
) -> dict[str, Any]:
    """report.json: counts per split, classes, files checked, images skipped and why."""
    reasons: dict[str, int] = {}
    for item in skipped:
        key = item["reason"].split(" (", 1)[0]
        reasons[key] = reasons.get(key, 0) + 1
    per_split_classes = {
        split: int(df.loc[df["split"] == split, "label"].nunique()) for split in split_counts(df)
    }
    if len(classes) != spec.num_classes:
        log.warning(
            "%s: %d classes read, the dataset has %d", spec.name, len(classes), spec.num_classes
        )
    val = (
        "official validation split"
        if spec.val == "official"
        else "20 % of each class's training images, held out (seeded by the dataset name)"
    )
    return {
        "dataset": spec.name,
        "title": spec.title,
        "metric": spec.metric,
        "classes": len(classes),
        "expected_classes": spec.num_classes,
        "images": len(df),
        "splits": split_counts(df),
        "classes_per_split": per_split_classes,
        "val_split": val,
        "verified_images": verify_images,
        "skipped": len(skipped),
        "skipped_reasons": reasons,
        "skipped_files": skipped,
        "files": records,
        **extra,
    }


@contextlib.contextmanager
def staged_folder(out: Path) -> Iterator[Path]:
    """A folder to build ``out`` in: it replaces ``out`` (:func:`replace_folder`) when the block
    succeeds; on failure it is removed and an older ``out`` stays as it was."""
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        stage = staging / out.name
        stage.mkdir()
        yield stage
        replace_folder(stage, out, staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def replace_folder(stage: Path, out: Path, staging: Path) -> None:
    """Move the finished ``stage`` to ``out``; an older ``out`` is removed only afterwards."""
    old = None
    if out.exists() or out.is_symlink():
        old = staging / ".previous"
        os.replace(out, old)
    try:
        os.replace(stage, out)
    except BaseException:
        if old is not None:
            os.replace(old, out)
        raise
