"""Prepare one zero-shot evaluation set: download, verify, extract, read, map classes, write.

:func:`prepare` does, for one set of :data:`~cliptail.data.zeroshot_sets.registry.ZEROSHOT_SETS`:

1. reads the concept set's class names (``descriptors_<set>.json``, from ``metadata_dir`` or the
   copy shipped with cliptail) before anything is downloaded;
2. **fetches and verifies** the dataset's files into ``<downloads>/<name>/`` with the transfer
   datasets' code (:func:`cliptail.data.transfer.fetch`: a file already there or in one of the
   ``local_dir`` folders is used as it is; md5 checked where published; a downloaded file that
   fails the check is deleted);
3. **reads** them with the dataset's reader into a temporary folder next to ``out_dir`` (archives
   extracted safely), and maps the dataset's classes onto the descriptor names
   (:func:`~cliptail.data.zeroshot_sets.class_names.map_classes`): a class that does not map
   stops the preparation with a :class:`ClassMappingError` naming it;
4. keeps the images of the official test split that exist and (with ``verify_images``) decode,
   relabelled in descriptor order, and removes every other extracted file;
5. **writes** the dataset folder: ``manifest.parquet`` (``image`` relative to the folder,
   ``label`` = index in descriptor order, ``caption`` = the descriptor name, ``native_label`` =
   the dataset's own class index), ``classes.tsv`` (index, ``id`` = the dataset's own class id,
   ``name`` = the descriptor name), ``source.json`` (``image_root`` = ``out_dir``,
   ``image_format: files``, ``zeroshot_set``) and ``report.json``; then renames the temporary
   folder to ``out_dir``.

Any failure removes the temporary folder: ``out_dir`` is either the complete new set or what it
was before.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.transfer import fetch
from cliptail.data.transfer.common import ReadContext, check_images
from cliptail.data.transfer.preparation import LocalDirs, staged_folder
from cliptail.data.zeroshot_sets.class_names import descriptor_names, map_classes
from cliptail.data.zeroshot_sets.registry import ZEROSHOT_SETS, ZeroShotSet

log = logging.getLogger(__name__)


def zeroshot_set(name: str | ZeroShotSet) -> ZeroShotSet:
    """The registry entry of ``name`` (a :class:`ZeroShotSet` is returned as it is)."""
    if isinstance(name, ZeroShotSet):
        return name
    if name not in ZEROSHOT_SETS:
        raise KeyError(
            f"unknown zero-shot evaluation set {name!r}; known: {', '.join(sorted(ZEROSHOT_SETS))}"
        )
    return ZEROSHOT_SETS[name]


def class_order(
    zs: ZeroShotSet,
    ids: list[str],
    names: list[str],
    metadata_dir: str | os.PathLike | None = None,
) -> tuple[list[int], list[str]]:
    """(descriptor index of each native class, the descriptor names) for a reader's classes."""
    descriptors = descriptor_names(zs.name, metadata_dir)
    where = f"{zs.title} -> descriptors_{zs.name}.json"
    return map_classes(zs.native_names(ids, names), descriptors, zs.aliases, where=where), (
        descriptors
    )


def prepare(
    name: str | ZeroShotSet,
    downloads_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    urls: Mapping[str, str] | None = None,
    *,
    url_base: str | None = None,
    local_dir: LocalDirs = None,
    verify_checksums: bool = True,
    verify_images: bool = True,
    metadata_dir: str | os.PathLike | None = None,
    progress: bool = True,
    download_options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Download (what is missing), verify, read, map and write one zero-shot set; its report.

    ``name``: a key of ``ZEROSHOT_SETS`` (or an entry, e.g. with other checksums); ``urls``: file
    name -> URL; ``url_base``: base URL of every file not in ``urls``; ``local_dir``: a folder,
    or folders searched in order, already holding (some of) the files; ``metadata_dir``: the
    authors' metadata folder (default: the copy shipped with cliptail);
    ``download_options``: passed to :func:`~cliptail.data.download.download`. Steps and
    guarantees: module docstring.
    """
    zs = zeroshot_set(name)
    spec = zs.dataset
    descriptor_names(zs.name, metadata_dir)  # fail before downloading if it is missing
    out = Path(out_dir)
    downloads = Path(downloads_dir) / zs.name
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
        result = spec.reader(ReadContext(zs.name, files, stage, downloads, progress))
        order, names = class_order(zs, result.class_ids, result.class_names, metadata_dir)
        test = result.manifest[result.manifest["split"] == zs.test_split]
        test = test.reset_index(drop=True)
        test, skipped = check_images(test, stage, decode=verify_images, progress=progress)
        df = pd.DataFrame(
            {
                "image": test["image"].astype(str),
                "label": [order[int(n)] for n in test["label"]],
                "caption": [names[order[int(n)]] for n in test["label"]],
                "native_label": test["label"].astype("int64"),
            }
        )
        df["label"] = df["label"].astype("int64")
        native_id = {order[n]: cid for n, cid in enumerate(result.class_ids)}
        classes = pd.DataFrame(
            {
                "index": range(len(names)),
                "id": [native_id[i] for i in range(len(names))],
                "name": names,
            }
        )
        removed = prune(stage, set(df["image"]))
        report = _report(zs, df, classes, skipped + result.skipped, records, verify_images)
        report["extracted_files_removed"] = removed
        source = {"image_root": str(out), "image_format": "files", "zeroshot_set": zs.name}
        folder = DatasetDir(stage)
        folder.write(df, classes, source=source)
        io.write_json(folder.report, report)
    log.info(
        "%s: %d test images of %d classes, %d skipped -> %s",
        zs.name,
        len(df),
        len(classes),
        len(report["skipped_files"]),
        out,
    )
    return report


def prune(root: Path, keep: set[str]) -> int:
    """Delete every file under ``root`` whose relative POSIX path is not in ``keep``, then the
    folders left empty; return the number of files deleted."""
    removed = 0
    for path in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True):
        if path.is_dir() and not path.is_symlink():
            if not any(path.iterdir()):
                path.rmdir()
        elif path.relative_to(root).as_posix() not in keep:
            path.unlink()
            removed += 1
    return removed


def _report(
    zs: ZeroShotSet,
    df: pd.DataFrame,
    classes: pd.DataFrame,
    skipped: list[dict[str, str]],
    records: list[dict[str, Any]],
    verify_images: bool,
) -> dict[str, Any]:
    """report.json: the test split, per-class counts, classes without images, files, skips."""
    counts = df["label"].value_counts().reindex(range(len(classes)), fill_value=0)
    empty = [classes["name"][i] for i in range(len(classes)) if counts[i] == 0]
    if empty:
        log.warning("%s: %d class(es) have no test image: %s", zs.name, len(empty), empty[:5])
    if len(classes) != zs.num_classes:
        log.warning("%s: %d classes read, expected %d", zs.name, len(classes), zs.num_classes)
    return {
        "zeroshot_set": zs.name,
        "title": zs.title,
        "concept_set": f"descriptors_{zs.name}.json",
        "test_split": zs.test_note,
        "classes": len(classes),
        "expected_classes": zs.num_classes,
        "images": len(df),
        "images_per_class": {"min": int(counts.min()), "max": int(counts.max())},
        "classes_without_images": empty,
        "renamed_classes": int((classes["id"] != classes["name"]).sum()),
        "verified_images": verify_images,
        "skipped": len(skipped),
        "skipped_files": skipped,
        "files": records,
    }
