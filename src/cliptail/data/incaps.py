"""ImageNet-Captions (IN-Caps): download the official json and read it into a manifest.

Source: ``imagenet_captions.zip`` in github.com/mlfoundations/imagenet-captions, holding
``imagenet_captions.json``: a JSON list of records ``{"filename": "n01440764_10026.JPEG",
"title": str, "tags": [str, ...], "description": str, "wnid": "n01440764"}`` describing ImageNet
*train* images. The repository publishes no checksum; the download records the digest it got in
``imagenet_captions.zip.sha256`` (pin it with ``sources.incaps.sha256``).

Manifest (one row per kept record, json order):

- ``image = "train/<wnid>/<filename>"``, relative to the ImageNet root;
- ``label`` = index of ``wnid`` in the sorted-wnid class order;
- ``title``, ``description`` as given; ``tags`` = the tag list joined with single spaces;
- ``caption`` = the "full" text: title, tags, description (non-empty ones) joined with single
  spaces, where carriage returns, newlines and tabs become spaces, runs of spaces collapse and
  the ends are stripped (the rule of :func:`cliptail.curate.captions.compose_fields`, which the
  curation step uses to build every caption variant from the three field columns);
- ``wnid``, ``source = "incaps"``.

Bad records are skipped and counted, never guessed at; the counts and the first few record
positions per reason go to the curation report (json):

- ``not_an_object``: a list entry that is not a JSON object;
- ``missing_field``: a key of the five absent or null (``missing_fields`` counts per key);
- ``bad_type``: ``tags`` not a list of strings, or another field not a string;
- ``bad_filename``: empty, a path (``/`` or ``\\``) or ``.``/``..``;
- ``unknown_wnid``: a wnid outside the 1000 classes;
- ``duplicate``: the same ``wnid/filename`` again (the first is kept);
- ``empty_text``: title, tags and description all blank, only with ``keep_empty_text=False``
  (by default such rows are kept with an empty ``caption``: the curation prepends the class
  prompt to every caption, so they still get one there, and the released counts include them);
- ``missing_image``: with ``image_root`` given, no file at ``<image_root>/train/<wnid>/<filename>``.

A file that is not a JSON list, or leaves no record, is a clear failure. The released IN-Caps has
448,896 records over 999 classes (``class_frequency_incaps_imagenet_ori.txt``); the report states
both numbers next to the ones found.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import zipfile
from collections import Counter, defaultdict
from pathlib import Path

import pandas as pd
from tqdm import tqdm

from cliptail import io
from cliptail.data.download import download, write_sha256_sidecar

ZIP_URL = "https://github.com/mlfoundations/imagenet-captions/raw/main/imagenet_captions.zip"
JSON_NAME = "imagenet_captions.json"
EXPECTED_RECORDS = 448_896
EXPECTED_CLASSES = 999
FIELDS = ("filename", "title", "tags", "description", "wnid")
SKIP_REASONS = (
    "not_an_object",
    "missing_field",
    "bad_type",
    "bad_filename",
    "unknown_wnid",
    "duplicate",
    "empty_text",
    "missing_image",
)
EXAMPLES_PER_REASON = 5
_SPACES = re.compile(r"[ \t\n\r]+")


def full_text(title: str, tags: str, description: str) -> str:
    """Title, space-joined tags and description as one caption (whitespace normalised)."""
    return _SPACES.sub(" ", f"{title} {tags} {description}").strip()


def download_incaps(
    dest: str | os.PathLike, url: str = ZIP_URL, sha256: str | None = None, **download_options
) -> Path:
    """Download the zip to ``dest``; record its sha256 beside it (``<dest>.sha256``)."""
    path = download(url, dest, sha256, **download_options)
    write_sha256_sidecar(path)
    return path


def extract_captions_json(zip_path: str | os.PathLike, dest: str | os.PathLike) -> Path:
    """Extract the one ``imagenet_captions.json`` of ``zip_path`` to ``dest`` (atomically)."""
    try:
        with zipfile.ZipFile(zip_path) as zf:
            members = [
                m
                for m in zf.namelist()
                if m.rsplit("/", 1)[-1] == JSON_NAME and "__MACOSX" not in m
            ]
            if len(members) != 1:
                raise ValueError(
                    f"{zip_path}: expected one {JSON_NAME} inside, found "
                    f"{members or 'none'}; is it the ImageNet-Captions zip?"
                )
            with zf.open(members[0]) as src, io.atomic_path(dest) as tmp, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
    except zipfile.BadZipFile:
        raise ValueError(
            f"{zip_path} is not a valid zip file; delete it and download again"
        ) from None
    return Path(dest)


def _check_record(record, wnid_to_label: dict[str, int]) -> tuple[str | None, str | None]:
    """(skip reason or None, missing key or None) for one json record."""
    if not isinstance(record, dict):
        return "not_an_object", None
    for key in FIELDS:
        if record.get(key) is None:
            return "missing_field", key
    tags = record["tags"]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return "bad_type", None
    if not all(isinstance(record[k], str) for k in ("filename", "title", "description", "wnid")):
        return "bad_type", None
    name = record["filename"]
    if not name or name in (".", "..") or "/" in name or "\\" in name:
        return "bad_filename", None
    if record["wnid"] not in wnid_to_label:
        return "unknown_wnid", None
    return None, None


def read_records(json_path: str | os.PathLike) -> list:
    """The json list of ``json_path``; a clear error if it is not one."""
    try:
        with open(json_path, encoding="utf-8") as fh:
            records = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{json_path} is not valid JSON ({exc}); delete it and extract it from the zip again"
        ) from None
    if not isinstance(records, list):
        raise ValueError(
            f"{json_path}: expected a JSON list of records, got {type(records).__name__}"
        )
    return records


def read_imagenet_captions(
    json_path: str | os.PathLike,
    classes: pd.DataFrame,
    *,
    image_root: str | os.PathLike | None = None,
    keep_empty_text: bool = True,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Manifest and curation report of ``imagenet_captions.json`` (see the module docstring)."""
    records = read_records(json_path)
    wnid_to_label = {w: i for i, w in enumerate(classes["id"])}
    skipped: Counter = Counter()
    missing_fields: Counter = Counter()
    examples: dict[str, list[int]] = defaultdict(list)
    seen: set[str] = set()
    rows = []

    def skip(reason: str, index: int) -> None:
        skipped[reason] += 1
        if len(examples[reason]) < EXAMPLES_PER_REASON:
            examples[reason].append(index)

    for index, record in enumerate(
        tqdm(records, desc="IN-Caps records", unit="rec", disable=not progress, mininterval=2)
    ):
        reason, key = _check_record(record, wnid_to_label)
        if reason is not None:
            skip(reason, index)
            if key is not None:
                missing_fields[key] += 1
            continue
        image = f"train/{record['wnid']}/{record['filename']}"
        if image in seen:
            skip("duplicate", index)
            continue
        seen.add(image)
        rows.append(
            (
                index,
                image,
                wnid_to_label[record["wnid"]],
                record["wnid"],
                record["title"],
                " ".join(record["tags"]),
                record["description"],
            )
        )
    df = pd.DataFrame(
        rows, columns=["record", "image", "label", "wnid", "title", "tags", "description"]
    )
    df["caption"] = [
        full_text(*fields)
        for fields in zip(df["title"], df["tags"], df["description"], strict=True)
    ]
    if not keep_empty_text:
        for index in df.loc[df["caption"] == "", "record"]:
            skip("empty_text", int(index))
        df = df[df["caption"] != ""]
    if image_root is not None:
        root = Path(image_root)
        present = [
            (root / p).is_file()
            for p in tqdm(
                df["image"], desc="checking images", unit="img", disable=not progress, mininterval=2
            )
        ]
        for index in df.loc[[not p for p in present], "record"]:
            skip("missing_image", int(index))
        df = df[present]
    if df.empty:
        raise ValueError(
            f"{json_path}: no usable record among {len(records)} "
            f"(skipped: {dict(skipped)}); is it the ImageNet-Captions json?"
        )
    df = df.assign(source="incaps").reset_index(drop=True)
    df["label"] = df["label"].astype("int64")
    report = {
        "source": str(json_path),
        "records": len(records),
        "kept": len(df),
        "classes_nonempty": int(df["label"].nunique()),
        "expected_records": EXPECTED_RECORDS,
        "expected_classes_nonempty": EXPECTED_CLASSES,
        "skipped": {r: int(skipped[r]) for r in SKIP_REASONS},
        "missing_fields": {k: int(missing_fields[k]) for k in FIELDS},
        "skipped_examples": {r: v for r, v in examples.items()},
        "keep_empty_text": keep_empty_text,
        "images_checked": image_root is not None,
    }
    columns = ["image", "label", "caption", "wnid", "title", "tags", "description", "source"]
    return df[columns], report
