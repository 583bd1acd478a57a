"""The registry of data sources: where each comes from, how it is checked, where its images live.

One entry per source of raw data (docs/study.md section 4): the synthetic world, the authors'
metadata, ImageNet, ImageNetV2, ImageNet-Captions, LAION-400M / LAIONet, the YFCC-15M and CC-12M
caption lists and WordNet. An entry holds the facts the workflow and the readers share:

- ``pinned``: the pinned download (``url`` or ``base_url``, ``sha256`` where one is published;
  empty for what the user provides or the workflow builds);
- ``images``: where the source's images live, a path or ``{sources.<name>.<key>}`` (a
  user-configured folder), and ``image_format`` (``world`` arrays, ``files`` or ``webdataset``);
- ``proof``: the files whose presence shows the images are there (written by the download or
  locate rules; Snakemake inputs of every job that reads the images).

Settings of a source (``sources.<name>.<key>`` in the configuration) are typed, with their defaults,
in ``config/schema/config.schema.yaml``; a ``url``/``sha256``/``base_url`` left ``null`` there
means the pinned value below (:func:`resolve`). Which source a dataset's ``source`` factor or an
evaluation set draws its images from is :func:`for_dataset_source` / :func:`for_evalset`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cliptail import factors

#: The authors' metadata at the pinned commit of github.com/CVMI-Lab/clip-beyond-tail.
METADATA_COMMIT = "6d180a24c818f1439aeeade33ebdc8b0b53a3b62"
#: LAION-400M metadata part file names (``part`` zero-padded to 5 digits).
LAION_PART = "part-{part:05d}-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000.snappy.parquet"
#: Where user-provided inputs go by default (a missing one fails with what to place there).
USER_FOLDER = "resources/user"


@dataclass(frozen=True)
class Source:
    """One source of raw data."""

    name: str
    title: str
    images: str | None = None
    image_format: str | None = None
    proof: tuple[str, ...] = ()
    #: What the user must provide and where it goes, for sources that cannot be downloaded.
    user_provided: str | None = None
    #: The pinned download: settings of ``sources.<name>`` (``url``, ``base_url``, ``sha256``)
    #: whose ``null`` in the configuration means the value here.
    pinned: Mapping[str, Any] = field(default_factory=dict)


REGISTRY: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "world",
            "the embedded synthetic long-tailed world",
            images="resources/world",
            image_format="world",
            proof=("resources/world/world.json",),
        ),
        Source(
            "metadata",
            "the authors' released frequencies, descriptors, class lists and heads",
            pinned={
                "base_url": f"https://raw.githubusercontent.com/CVMI-Lab/clip-beyond-tail/"
                f"{METADATA_COMMIT}/metadata/"
            },
        ),
        Source(
            "imagenet",
            "ImageNet (ILSVRC-2012) train and val",
            images="{sources.imagenet.root}",
            image_format="files",
            proof=("resources/imagenet/imagenet.json",),
            user_provided="the ILSVRC-2012 tree with train/<wnid>/*.JPEG and val/<wnid>/*.JPEG "
            "(sources.imagenet.root); image-net.org licenses it per user",
        ),
        Source(
            "imagenetv2",
            "ImageNetV2 matched-frequency",
            images="resources/imagenetv2",
            image_format="files",
            proof=("resources/imagenetv2/imagenetv2-matched-frequency-format-val",),
            pinned={
                "url": "https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/"
                "imagenetv2-matched-frequency.tar.gz",
                "sha256": "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c",
            },
        ),
        Source(
            "incaps",
            "ImageNet-Captions (imagenet_captions.json; images from ImageNet train)",
            images="{sources.imagenet.root}",
            image_format="files",
            proof=("resources/imagenet/imagenet.json",),
            pinned={
                "url": "https://github.com/mlfoundations/imagenet-captions/raw/main/"
                "imagenet_captions.zip"
            },
        ),
        Source(
            "laion400m",
            "LAION-400M metadata parts (captions, URLs, NSFW tags)",
            pinned={
                "base_url": "https://the-eye.eu/public/AI/cah/laion400m-met-release/laion400m-meta/"
            },
        ),
        Source(
            "laionet",
            "LAIONet images (img2dataset webdataset shards, 256 px)",
            images="resources/laionet/shards",
            image_format="webdataset",
            proof=("resources/laionet/shards",),
        ),
        Source(
            "yfcc15m",
            "YFCC-15M caption list and images",
            images="{sources.yfcc15m.image_root}",
            image_format="files",
            user_provided="the YFCC-15M caption list (jsonl/tsv/csv/parquet with an image and a "
            "caption column; sources.yfcc15m.captions) and its images (sources.yfcc15m.image_root)",
        ),
        Source(
            "cc12m",
            "CC-12M caption list and images",
            images="{sources.cc12m.image_root}",
            image_format="files",
            user_provided="the CC-12M caption list (tsv/jsonl/parquet with an image and a caption "
            "column; sources.cc12m.captions) and its images (sources.cc12m.image_root)",
        ),
        Source(
            "wordnet",
            "the WordNet 3.0 database (noun index, exceptions and synsets)",
            proof=("resources/wordnet",),
        ),
    )
}

#: Dataset ``source`` factor -> registry source of its images.
_DATASET_SOURCES = {
    **{s: "world" for s in factors.WORLD_SOURCES},
    "incaps": "incaps",
    "laionet": "laionet",
    "laionet_freq": "laionet",
    **{f"laionet_t{t:g}": "laionet" for t in factors.LAIONET_THRESHOLDS},
    "yfcc15m_cls": "yfcc15m",
    "cc12m_cls": "cc12m",
    "yfcc15m": "yfcc15m",
    "imagenet": "imagenet",
}
#: Evaluation set -> registry source of its images.
_EVALSET_SOURCES = {
    **{e: "world" for e in factors.WORLD_EVALSETS},
    "imagenet_val": "imagenet",
    "imagenet100_val": "imagenet",
    "imagenetv2": "imagenetv2",
}


def get(name: str) -> Source:
    """The registry entry ``name``; ValueError naming the known sources otherwise."""
    if name not in REGISTRY:
        raise ValueError(f"unknown data source {name!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[name]


def for_dataset_source(source: str) -> Source:
    """The registry entry behind a dataset's ``source`` factor (``incaps``, ``laionet_t0.8``...)."""
    if source not in _DATASET_SOURCES:
        raise ValueError(f"unknown dataset source {source!r}; known: {sorted(_DATASET_SOURCES)}")
    return REGISTRY[_DATASET_SOURCES[source]]


def for_evalset(evalset: str) -> Source:
    """The registry entry behind an evaluation set."""
    if evalset not in _EVALSET_SOURCES:
        raise ValueError(f"unknown evaluation set {evalset!r}; known: {sorted(_EVALSET_SOURCES)}")
    return REGISTRY[_EVALSET_SOURCES[evalset]]


def base_dataset(source: str) -> str:
    """The base dataset (``results/data/<base>``) a real ``source`` factor is curated from."""
    if not factors.is_real_source(source):
        raise ValueError(
            f"{source!r} is not a real source; expected one of {list(factors.REAL_SOURCES)}"
        )
    if source == factors.IMAGENET_SOURCE:
        return "imagenet_train"
    return "laionet" if source.startswith("laionet") else source


def resolve(configured: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The ``sources`` configuration with each ``null`` pinned key replaced by its pinned value."""
    out = copy.deepcopy({k: dict(v) for k, v in configured.items()})
    for name, entry in REGISTRY.items():
        settings = out.setdefault(name, {})
        for key, value in entry.pinned.items():
            if settings.get(key) is None:
                settings[key] = value
    return out


def image_root(source: Source, configured: Mapping[str, Any]) -> str | None:
    """Where ``source``'s images live under the configuration (``None``: not configured)."""
    if source.images is None or not source.images.startswith("{"):
        return source.images
    _, name, key = source.images.strip("{}").split(".")
    return (configured.get(name) or {}).get(key)


def images_record(name: str, configured: Mapping[str, Any]) -> dict[str, Any]:
    """What a base dataset read from source ``name`` records in its ``source.json``."""
    entry = get(name)
    return {
        "source": name,
        "image_root": image_root(entry, configured),
        "image_format": entry.image_format,
    }


def laion_part_file(part: int) -> str:
    """File name of LAION-400M metadata part ``part``."""
    return LAION_PART.format(part=part)


def laion_part_url(configured: Mapping[str, Any], part: int) -> str:
    """URL of LAION-400M metadata part ``part`` under the resolved ``sources`` settings."""
    return configured["laion400m"]["base_url"].rstrip("/") + "/" + laion_part_file(part)


def laion_part_sha256(configured: Mapping[str, Any], part: int) -> str | None:
    """The configured checksum of part ``part`` (keys may be numbers or strings), or None."""
    pinned = configured["laion400m"].get("sha256") or {}
    for key in (part, str(part), f"{part:05d}"):
        if pinned.get(key):
            return pinned[key]
    return None


def web_captions(configured: Mapping[str, Any], dataset_source: str) -> str:
    """The caption list of a web dataset source (``yfcc15m_cls``, ``yfcc15m``...); ValueError
    saying which key to set."""
    name = for_dataset_source(dataset_source).name
    path = configured[name].get("captions")
    if not path:
        raise ValueError(
            f"sources.{name}.captions is not set: point it at {get(name).user_provided} "
            "(README 'The paper preset and its data')"
        )
    return path


def user_files(configured: Mapping[str, Any]) -> dict[str, str]:
    """Configured inputs under ``resources/user/`` -> what the user must place there."""
    out = {}
    for name, entry in REGISTRY.items():
        for value in (configured.get(name) or {}).values():
            if (
                isinstance(value, str)
                and value.startswith(USER_FOLDER + "/")
                and entry.user_provided
            ):
                out[value.removeprefix(USER_FOLDER + "/")] = entry.user_provided
    return out
