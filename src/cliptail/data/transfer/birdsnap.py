"""Birdsnap 1.1 (Berg et al., 2014): 500 North American bird species, images fetched from Flickr.

``birdsnap.tgz`` ships no images, only metadata in a top folder ``birdsnap/``:

- ``species.txt``: tab-separated with a header ``id common scientific dir``; ids 1..500 give the
  class order, ``dir`` the species' folder name;
- ``images.txt``: tab-separated with a header; the columns used are ``url`` (the Flickr URL the
  image was taken from), ``md5`` (of the image file), ``path`` (``<dir>/<n>.jpg``) and
  ``species_id`` (bounding boxes and part locations follow);
- ``test_images.txt``: a header ``path``, then the paths of the 2,443 test images of the paper.

Every image is fetched from its URL through :func:`cliptail.data.download.download` into
``<downloads>/birdsnap/images/<path>`` (kept between runs: an image already there whose md5
matches is not fetched again), several at a time (``workers``), with few retries
(``image_retries``) because many of the URLs are gone for good. An image whose URL fails or whose
md5 differs from ``images.txt`` (Flickr serves a placeholder for deleted photos) is left out and
listed in the report with the reason. Kept images are hard-linked into the dataset folder as
``birdsnap/images/<path>``.

Splits: ``test`` = the images of ``test_images.txt``; every other image is ``train``, of which the
validation split is held out.
"""

from __future__ import annotations

import csv
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tqdm import tqdm

from cliptail.data.download import DownloadError, download
from cliptail.data.transfer.archive import md5_file
from cliptail.data.transfer.common import (
    LayoutError,
    ReadContext,
    ReadResult,
    extract_all,
    frame,
    link_or_copy,
    read_lines,
    require,
    safe_relative,
)

log = logging.getLogger(__name__)

ARCHIVE = "birdsnap.tgz"
TOP = "birdsnap"
IMAGE_COLUMNS = ("url", "md5", "path", "species_id")


def _table(path: Path, columns: tuple[str, ...]) -> list[dict[str, str]]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    header = list(rows[0]) if rows else []
    missing = [c for c in columns if c not in header]
    if missing:
        raise LayoutError(f"{path.name}: no column(s) {missing} in its header {header[:8]}")
    return rows


def fetch_image(url: str, md5: str, dest: Path, **download_options) -> str | None:
    """Fetch one image into ``dest`` and check its md5; None when done, else why it failed."""
    if dest.is_file():
        if md5_file(dest) == md5.lower():
            return None
        dest.unlink()
    try:
        download(url, dest, progress=False, **download_options)
    except (DownloadError, ValueError) as exc:  # ValueError: a malformed URL
        return f"download failed ({exc})"
    actual = md5_file(dest)
    if actual != md5.lower():
        dest.unlink()
        return (
            f"md5 mismatch (expected {md5.lower()}, got {actual}; the photo was changed or removed)"
        )
    return None


def read(ctx: ReadContext) -> ReadResult:
    extract_all(ctx)
    top = ctx.root / TOP
    species_txt, images_txt, test_txt = require(
        top, "species.txt", "images.txt", "test_images.txt", what=f"Birdsnap ({ARCHIVE})"
    )
    species = sorted(_table(species_txt, ("id", "common", "dir")), key=lambda r: int(r["id"]))
    label_of = {int(r["id"]): i for i, r in enumerate(species)}
    images = _table(images_txt, IMAGE_COLUMNS)
    test = {safe_relative(p, test_txt.name) for p in read_lines(test_txt)[1:]}
    options = ctx.options
    download_options = {
        "retries": int(options.get("image_retries", 1)),
        "backoff": float(options.get("image_backoff", 1.0)),
        "timeout": float(options.get("image_timeout", 30.0)),
    }
    store = ctx.downloads / "images"
    jobs = []
    for row in images:
        path = safe_relative(row["path"], images_txt.name)
        species_id = int(row["species_id"])
        if species_id not in label_of:
            raise LayoutError(
                f"{images_txt.name}: {path} has species_id {species_id}, not in species.txt"
            )
        jobs.append((path, label_of[species_id], row["url"].strip(), row["md5"].strip()))

    def fetch(job: tuple[str, int, str, str]) -> str | None:
        path, _, url, md5 = job
        return fetch_image(url, md5, store / path, **download_options)

    workers = max(1, int(options.get("workers", 8)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(
            tqdm(
                pool.map(fetch, jobs),
                total=len(jobs),
                desc="fetching Birdsnap images",
                unit="img",
                disable=not ctx.progress,
            )
        )
    rows, skipped = [], []
    for (path, label, url, _), failure in zip(jobs, results, strict=True):
        split = "test" if path in test else "train"
        image = f"{TOP}/images/{path}"
        if failure is not None:
            skipped.append({"image": image, "split": split, "reason": failure, "url": url})
            continue
        link_or_copy(store / path, ctx.root / image)
        rows.append((image, label, split))
    listed = {job[0] for job in jobs}
    report = {
        "images_listed": len(jobs),
        "images_fetched": len(rows),
        "test_paths_not_in_images_txt": len(test - listed),
    }
    log.info("Birdsnap: %d of %d images fetched", len(rows), len(jobs))
    ids = [r["dir"] for r in species]
    names = [r["common"] for r in species]
    return ReadResult(frame(rows), ids, names, report=report, skipped=skipped)
