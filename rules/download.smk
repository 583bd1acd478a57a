# Real data sources of the paper preset: download or locate each into resources/<source>/, and
# read the base datasets into results/data/<dataset>/ (manifest.parquet, classes.tsv,
# frequency.tsv, report.json, source.json).
#
# Self-contained: reads only `config["sources"]` (every key optional; defaults below and in
# README "Real datasets"). Logic lives in src/cliptail/data, I/O in workflow/scripts.
#
#   sources.metadata.base_url          authors' metadata (pinned commit; sha256 checked per file)
#   sources.download.{retries,backoff,timeout}   shared HTTP settings
#   sources.imagenet.{root,verify_images}        user-provided ImageNet (train/ and val/)
#   sources.imagenetv2.{url,sha256,verify_images}
#   sources.incaps.{url,sha256,keep_empty_text,check_images}
#   sources.laion400m.{base_url,parts,sha256}    metadata parts (sha256: {part: hex})
#   sources.laionet.{metadata,threshold,remove_nsfw,clip,img2dataset}
#   sources.wordnet_dir                           WordNet 3.0 folder (default: auto-detected)
#   sources.yfcc15m / sources.cc12m.{captions,image_column,caption_column,image_root,
#                                    phrase_source,ambiguous,processes}

import csv as _csv
from pathlib import Path as _Path

_SOURCES_REPO = _Path(workflow.current_basedir).parent
_META = "resources/metadata"
_METADATA_PATHS = [row["path"] for row in _csv.DictReader(
    open(_SOURCES_REPO / "src/cliptail/data/metadata_sha256.tsv"), delimiter="\t")]
_IMAGENET_META = {"synsets": f"{_META}/descriptors/descriptors_imagenet_synset.json",
                  "names": f"{_META}/descriptors/descriptors_imagenet.json"}
_LAION_PART = "part-{part}-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000.snappy.parquet"
_DATASET_FILES = ["manifest.parquet", "classes.tsv", "frequency.tsv", "report.json", "source.json"]
_WEB_CLS = {"yfcc15m_cls": "yfcc15m", "cc12m_cls": "cc12m"}
_WEB_DEFAULTS = {
    # The released YFCC-15M-Cls frequencies drop captions matching several classes; CC-12M-Cls
    # keeps them once per class (src/cliptail/data/web_captions.py, "Finding").
    "yfcc15m": {"ambiguous": "drop"},
    "cc12m": {"ambiguous": "all"},
}


def source_option(source, key, default=None):
    """config["sources"][source][key], or ``default``."""
    value = (config.get("sources") or {}).get(source) or {}
    return value.get(key, default) if isinstance(value, dict) else default


def source_code(*modules):
    """Library files a rule depends on (editing one reruns the rule)."""
    return [str(_SOURCES_REPO / "src/cliptail/data" / f"{m}.py") for m in modules]


def dataset_outputs(name):
    return {f.split(".")[0]: f"results/data/{name}/{f}" for f in _DATASET_FILES}


DOWNLOAD_OPTIONS = {
    "retries": int(source_option("download", "retries", 5)),
    "backoff": float(source_option("download", "backoff", 2.0)),
    "timeout": float(source_option("download", "timeout", 60)),
}
WORDNET_DIR = (config.get("sources") or {}).get("wordnet_dir")
LAION_PARTS = [f"{int(p):05d}" for p in source_option("laion400m", "parts", range(32))]
LAIONET_AUTHORS = source_option("laionet", "metadata")


wildcard_constraints:
    metadata_path=r"(freqs|descriptors|heads)/[^/]+|imagenet100_idxs\.txt",
    part=r"\d{5}",
    web_cls=r"yfcc15m_cls|cc12m_cls",


# --- the authors' metadata -------------------------------------------------------------------------

rule download_metadata_file:
    """One released metadata file from the pinned commit, sha256-checked."""
    output:
        f"{_META}/{{metadata_path}}",
    params:
        base_url=source_option("metadata", "base_url",
                               "https://raw.githubusercontent.com/CVMI-Lab/clip-beyond-tail/"
                               "6d180a24c818f1439aeeade33ebdc8b0b53a3b62/metadata/"),
        download=DOWNLOAD_OPTIONS,
    log:
        "results/logs/download/metadata/{metadata_path}.log",
    resources:
        runtime=10,
        mem_mb=500,
    script:
        "../workflow/scripts/download_metadata.py"


rule download_metadata:
    """Every released metadata file (118 files, 21 MB)."""
    input:
        expand(f"{_META}/{{p}}", p=_METADATA_PATHS),


# --- ImageNet (user-provided) ----------------------------------------------------------------------

rule locate_imagenet:
    """Check the user's ImageNet tree (sources.imagenet.root) and record it."""
    input:
        **_IMAGENET_META,
        code=source_code("imagenet"),
    output:
        located="resources/imagenet/imagenet.json",
    params:
        root=source_option("imagenet", "root"),
    log:
        "results/logs/download/locate_imagenet.log",
    resources:
        runtime=30,
        mem_mb=1000,
    script:
        "../workflow/scripts/locate_imagenet.py"


rule read_imagenet_val:
    """ImageNet validation manifest (50,000 images)."""
    input:
        **_IMAGENET_META,
        located="resources/imagenet/imagenet.json",
        code=source_code("imagenet", "metadata"),
    output:
        **dataset_outputs("imagenet_val"),
    params:
        split="val",
        verify_images=bool(source_option("imagenet", "verify_images", False)),
    log:
        "results/logs/data/read_imagenet_val.log",
    resources:
        runtime=60,
        mem_mb=2000,
    script:
        "../workflow/scripts/read_imagenet.py"


# --- ImageNetV2 matched-frequency ------------------------------------------------------------------

rule download_imagenetv2:
    """The ImageNetV2 matched-frequency archive (1.26 GB)."""
    output:
        archive="resources/imagenetv2/imagenetv2-matched-frequency.tar.gz",
    params:
        url=source_option("imagenetv2", "url",
                          "https://huggingface.co/datasets/vaishaal/ImageNetV2/resolve/main/"
                          "imagenetv2-matched-frequency.tar.gz"),
        sha256=source_option("imagenetv2", "sha256",
                             "f0c37fdf925916b19ea1323cd9a2208cdb6959ba2c32eef2a7fc393835c9ca7c"),
        download=DOWNLOAD_OPTIONS,
    log:
        "results/logs/download/imagenetv2.log",
    resources:
        runtime=120,
        mem_mb=500,
    script:
        "../workflow/scripts/download_imagenetv2.py"


rule extract_imagenetv2:
    """Unpack ImageNetV2 (1000 folders x 10 images, layout checked)."""
    input:
        archive="resources/imagenetv2/imagenetv2-matched-frequency.tar.gz",
    output:
        folder=directory("resources/imagenetv2/imagenetv2-matched-frequency-format-val"),
    log:
        "results/logs/download/extract_imagenetv2.log",
    resources:
        runtime=30,
        mem_mb=1000,
    script:
        "../workflow/scripts/extract_imagenetv2.py"


rule read_imagenetv2:
    """ImageNetV2 matched-frequency manifest (10,000 images)."""
    input:
        **_IMAGENET_META,
        folder="resources/imagenetv2/imagenetv2-matched-frequency-format-val",
        code=source_code("imagenetv2", "imagenet", "metadata"),
    output:
        **dataset_outputs("imagenetv2"),
    params:
        verify_images=bool(source_option("imagenetv2", "verify_images", True)),
    log:
        "results/logs/data/read_imagenetv2.log",
    resources:
        runtime=30,
        mem_mb=2000,
    script:
        "../workflow/scripts/read_imagenetv2.py"


# --- ImageNet-Captions -----------------------------------------------------------------------------

rule download_incaps:
    """imagenet_captions.zip from github.com/mlfoundations/imagenet-captions."""
    output:
        zip="resources/incaps/imagenet_captions.zip",
    params:
        url=source_option("incaps", "url",
                          "https://github.com/mlfoundations/imagenet-captions/raw/main/"
                          "imagenet_captions.zip"),
        sha256=source_option("incaps", "sha256"),
        download=DOWNLOAD_OPTIONS,
    log:
        "results/logs/download/incaps.log",
    resources:
        runtime=30,
        mem_mb=500,
    script:
        "../workflow/scripts/download_incaps.py"


rule extract_incaps:
    input:
        zip="resources/incaps/imagenet_captions.zip",
    output:
        json="resources/incaps/imagenet_captions.json",
    log:
        "results/logs/download/extract_incaps.log",
    resources:
        runtime=10,
        mem_mb=1000,
    script:
        "../workflow/scripts/extract_incaps.py"


def _incaps_check_images():
    return bool(source_option("incaps", "check_images", True)) and bool(source_option("imagenet", "root"))


rule read_incaps:
    """IN-Caps base manifest (448,896 records in the release); bad records go to report.json."""
    input:
        **_IMAGENET_META,
        json="resources/incaps/imagenet_captions.json",
        located=["resources/imagenet/imagenet.json"] if _incaps_check_images() else [],
        code=source_code("incaps", "metadata"),
    output:
        **dataset_outputs("incaps"),
    params:
        imagenet_root=source_option("imagenet", "root"),
        check_images=_incaps_check_images(),
        keep_empty_text=bool(source_option("incaps", "keep_empty_text", False)),
    log:
        "results/logs/data/read_incaps.log",
    resources:
        runtime=30,
        mem_mb=8000,
    script:
        "../workflow/scripts/read_incaps.py"


# --- LAION-400M and LAIONet ------------------------------------------------------------------------

def _laion_part_sha256(part):
    """sources.laion400m.sha256[part] (keys may be written as numbers or strings), or None."""
    pinned = source_option("laion400m", "sha256") or {}
    return pinned.get(part) or pinned.get(str(part)) or pinned.get(f"{part:05d}")


rule download_laion_part:
    """One LAION-400M metadata part (about 1.6 GB)."""
    output:
        part=f"resources/laion400m/parts/{_LAION_PART}",
    params:
        base_url=source_option("laion400m", "base_url",
                               "https://the-eye.eu/public/AI/cah/laion400m-met-release/laion400m-meta/"),
        sha256=lambda w: _laion_part_sha256(int(w.part)),
        download=DOWNLOAD_OPTIONS,
    log:
        "results/logs/download/laion400m/part-{part}.log",
    resources:
        runtime=120,
        mem_mb=500,
    script:
        "../workflow/scripts/download_laion_part.py"


rule laionet_match_part:
    """LAIONet step 1: captions containing a lemma unique to one ImageNet synset."""
    input:
        **_IMAGENET_META,
        part=f"resources/laion400m/parts/{_LAION_PART}",
        code=source_code("laion", "web_captions", "wordnet_defs"),
    output:
        matched="resources/laionet/matched/part-{part}.parquet",
        report="resources/laionet/matched/part-{part}.json",
    params:
        wordnet_dir=WORDNET_DIR,
    log:
        "results/logs/laionet/match/part-{part}.log",
    resources:
        runtime=600,
        mem_mb=16000,
    script:
        "../workflow/scripts/laionet_match.py"


rule laionet_score_part:
    """LAIONet step 2: CLIP similarity of caption and '<name> which is <definition>'."""
    input:
        **_IMAGENET_META,
        matched="resources/laionet/matched/part-{part}.parquet",
        code=source_code("laion", "wordnet_defs"),
    output:
        scored="resources/laionet/scored/part-{part}.parquet",
    params:
        wordnet_dir=WORDNET_DIR,
        clip={"model": "ViT-B-32", "pretrained": "openai", "device": "auto", "batch_size": 512,
              **(source_option("laionet", "clip") or {})},
    log:
        "results/logs/laionet/score/part-{part}.log",
    resources:
        runtime=240,
        mem_mb=16000,
        gpu=1,
    script:
        "../workflow/scripts/laionet_score.py"


rule laionet_candidates:
    """LAIONet step 3: NSFW filter, similarity threshold, one label per image."""
    input:
        **_IMAGENET_META,
        scored=[] if LAIONET_AUTHORS else expand("resources/laionet/scored/part-{part}.parquet",
                                                 part=LAION_PARTS),
        authors=[LAIONET_AUTHORS] if LAIONET_AUTHORS else [],
        code=source_code("laion"),
    output:
        candidates="resources/laionet/candidates.parquet",
        report="resources/laionet/candidates.json",
    params:
        authors=LAIONET_AUTHORS,
        threshold=source_option("laionet", "threshold", 0.7),
        remove_nsfw=source_option("laionet", "remove_nsfw", True),
    log:
        "results/logs/laionet/candidates.log",
    resources:
        runtime=60,
        mem_mb=32000,
    script:
        "../workflow/scripts/laionet_candidates.py"


rule download_laionet_images:
    """LAIONet step 4: img2dataset into webdataset shards (256 px)."""
    input:
        candidates="resources/laionet/candidates.parquet",
    output:
        shards=directory("resources/laionet/shards"),
        stats="resources/laionet/download_stats.json",
    params:
        img2dataset=source_option("laionet", "img2dataset") or {},
    log:
        "results/logs/laionet/download_images.log",
    threads: 16
    resources:
        runtime=2880,
        mem_mb=32000,
    script:
        "../workflow/scripts/download_laionet_images.py"


rule read_laionet:
    """LAIONet base manifest (downloaded images only)."""
    input:
        **_IMAGENET_META,
        shards="resources/laionet/shards",
        code=source_code("laion", "metadata"),
    output:
        **dataset_outputs("laionet"),
    log:
        "results/logs/data/read_laionet.log",
    resources:
        runtime=30,
        mem_mb=16000,
    script:
        "../workflow/scripts/read_laionet.py"


# --- YFCC-15M-Cls / CC-12M-Cls ---------------------------------------------------------------------

def _web_captions(wildcards):
    source = _WEB_CLS[wildcards.web_cls]
    path = source_option(source, "captions")
    if not path:
        raise ValueError(f"sources.{source}.captions is not set: point it at the {source} caption "
                         "list (jsonl/tsv/csv/parquet with an image and a caption column; see "
                         "README 'Real datasets')")
    return path


def _web_options(wildcards):
    source = _WEB_CLS[wildcards.web_cls]
    options = {"image_column": "filepath", "caption_column": "caption", "image_root": None,
               "phrase_source": "wordnet", "processes": None, **_WEB_DEFAULTS[source]}
    options.update({k: v for k, v in ((config.get("sources") or {}).get(source) or {}).items()
                    if k != "captions"})
    return options


rule read_web_cls:
    """YFCC-15M-Cls / CC-12M-Cls: caption list -> ImageNet-class rows (WordNet lemma matching)."""
    input:
        **_IMAGENET_META,
        captions=_web_captions,
        code=source_code("web_captions", "wordnet_defs", "metadata"),
    output:
        manifest="results/data/{web_cls}/manifest.parquet",
        classes="results/data/{web_cls}/classes.tsv",
        frequency="results/data/{web_cls}/frequency.tsv",
        report="results/data/{web_cls}/report.json",
        source="results/data/{web_cls}/source.json",
    params:
        options=_web_options,
    log:
        "results/logs/data/read_{web_cls}.log",
    threads: 4
    resources:
        runtime=240,
        mem_mb=32000,
    script:
        "../workflow/scripts/read_web_cls.py"


rule real_datasets:
    """Every base real dataset whose source is configured (ImageNet and caption lists are user-provided)."""
    input:
        "results/data/imagenetv2/frequency.tsv",
        "results/data/incaps/frequency.tsv",
        "results/data/laionet/frequency.tsv",
        ["results/data/imagenet_val/frequency.tsv"] if source_option("imagenet", "root") else [],
        [f"results/data/{d}/frequency.tsv" for d, s in _WEB_CLS.items()
         if source_option(s, "captions")],
