"""Training-set variants and evaluation sets of the real data (the paper preset).

The same data factors as the synthetic world (:data:`cliptail.factors.DATA_FACTORS`) describe a
variant of a real base dataset (``results/data/<base>/``, written by ``rules/download.smk``); the
curation functions are the shared ones (:mod:`cliptail.curate.captions`,
:mod:`cliptail.curate.subsets`, :mod:`cliptail.curate.laionet_variants`,
:mod:`cliptail.curate.matching`). Real ``source`` values (docs/study.md section 4):

- ``incaps``: ImageNet-Captions. ``caption`` is one of the caption types, built from the title /
  tags / description columns with the class name *prepended* (every variant keeps every row;
  order shuffled once, templates and lemmas drawn with seed 0). ``classes``: ``eval`` (the 1000
  ImageNet classes), ``in100`` (IN-Caps-100: the classes of ``imagenet100_idxs.txt``, labels kept
  in the 1000-class space), ``in100_matched`` (IN-Caps (10%): rows sorted by file path, then a
  pandas-style sample of as many rows as IN-Caps-100 has, 44,548 on the released data).
- ``laionet``: the downloaded LAIONet (similarity >= 0.7); ``scale`` is the fraction of the
  data-scale study (``thresh0.7_frac<scale>``; 1 = every row).
- ``laionet_t<t>`` (t in 0.7, 0.75, 0.8, 0.82): rows with similarity >= t, subsampled to the
  IN-Caps size (``thresh<t>_n448896``).
- ``laionet_freq``: "=freq", LAIONet resampled to IN-Caps' per-class counts, topped up from a
  retrieval pool (:func:`cliptail.curate.matching.match_frequency`).
- ``yfcc15m_cls``, ``cc12m_cls``: the -Cls subsets as read (``scale`` subsamples them).
- ``imagenet``: the ImageNet training set as read (1,281,167 images, the labels of its class
  folders, caption ``a <class name>``): DINO's reference pre-training (E8), never CLIP or SL.
- ``yfcc15m``: the whole YFCC-15M caption list as read (E5b; CLIP only, no ``trim_k``): one row
  per caption, the ImageNet classes it names in ``matched``, a 1001st class ``none`` for the
  captions naming none, and a frequency counting every match
  (:func:`cliptail.data.web_captions.read_web_full`).

``classes: in100`` records its 100 classes as the dataset's ``class_subset`` (``source.json``):
an SL run on it trains 100-way. Evaluation sets: ``imagenet_val``, ``imagenetv2`` as read;
``imagenet100_val`` = ImageNet val restricted to the IN-100 classes (:func:`write_real_evalset`).

Web sources keep their own captions: their ``caption`` must be ``full`` (the text as is) and their
``classes`` ``eval``. After the source step, every source applies, in this order, ``scale`` (a
pandas-style ``sample(frac=scale, random_state=42)`` with lost classes re-added; LAIONet's own
fraction step for ``laionet``) and ``trim_k``/``trim_ceil`` (the ``trim_k`` rarest classes keep at
most ``trim_ceil`` random images, seed 0). Outputs follow the synthetic variants:
``manifest.parquet``, ``classes.tsv`` (the base dataset's 1000 classes), ``frequency.tsv`` (the
authors' format, every class, zeros included), ``report.json`` and ``source.json`` (the base
dataset's: where the images live); see :mod:`cliptail.data.dataset_dir`.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cliptail import factors, io
from cliptail.curate import laionet_variants, matching, subsets
from cliptail.data import manifest
from cliptail.data.dataset_dir import DatasetDir
from cliptail.factors import IMAGENET_SOURCE

SAMPLE_SEED = subsets.SAMPLE_SEED
CAPTION_SEED = 0
TRIM_SEED = 0
MATCH_SEED = 0

LAIONET_THRESHOLDS = factors.LAIONET_THRESHOLDS
WEB_CLS = factors.WEB_CLS_SOURCES
REAL_SOURCES = factors.REAL_SOURCES
REAL_CLASSES = factors.REAL_CLASSES
REAL_EVALSETS = factors.REAL_EVALSETS

#: Curation families, one workflow rule each (rules/curate.smk).
FAMILIES = (
    "incaps_captions",
    "incaps_subsets",
    "incaps_trim_tail",
    "laionet_variants",
    "laionet_freq",
    "web_cls",
    "imagenet",
)

_LAIONET_T = re.compile(r"laionet_t(\d+(?:\.\d+)?)")


def laionet_threshold(source: str) -> float | None:
    """The threshold of ``laionet_t<t>``, or None."""
    m = _LAIONET_T.fullmatch(source)
    return float(m.group(1)) if m else None


def family(factors: dict[str, Any]) -> str:
    """The curation family (one workflow rule) of a real variant; ValueError if it is invalid."""
    check_factors(factors)
    source = factors["source"]
    if source == "incaps":
        if factors["trim_k"]:
            return "incaps_trim_tail"
        return "incaps_subsets" if factors["classes"] != "eval" else "incaps_captions"
    if source == "laionet_freq":
        return "laionet_freq"
    if source.startswith("laionet"):
        return "laionet_variants"
    if source == IMAGENET_SOURCE:
        return "imagenet"
    return "web_cls"


def sized_to_incaps(factors: dict[str, Any]) -> bool:
    """A LAIONet threshold variant sampled to IN-Caps' size (``laionet_t<t>``): the only variants
    that read ``sources.laionet.in_caps_size`` (so a change of it reruns only them)."""
    return factors["source"].startswith("laionet_t")


def check_factors(data: dict[str, Any]) -> None:
    """Raise ValueError naming the factor when a real variant's factors do not fit its source
    (:func:`cliptail.factors.check_real_data`, after each value's own check)."""
    source = data["source"]
    if source not in REAL_SOURCES:
        raise ValueError(
            f"source {source!r} is not a real source; expected one of {list(REAL_SOURCES)}"
        )
    if data["classes"] not in REAL_CLASSES:
        raise ValueError(
            f"source {source!r}: classes {data['classes']!r} is for the synthetic world; "
            f"real data take one of {list(REAL_CLASSES)}"
        )
    factors.check_real_data(data)


def _restrict_classes(df: pd.DataFrame, classes: str, imagenet100) -> tuple[pd.DataFrame, dict]:
    if classes == "eval":
        return df, {}
    if imagenet100 is None:
        raise ValueError(
            f"classes {classes!r} needs the ImageNet-100 class list (imagenet100_idxs.txt)"
        )
    in100 = subsets.class_subset(df, imagenet100)
    if classes == "in100":
        return in100, {"imagenet100_classes": len(np.unique(imagenet100))}
    # IN-Caps (10%): all classes, as many rows as IN-Caps-100, sorted by path first
    return (subsets.in_caps_10pct(df, n=len(in100), seed=SAMPLE_SEED), {"matched_size": len(in100)})


def build_variant(
    factors: dict[str, Any],
    base: pd.DataFrame,
    classes: pd.DataFrame,
    *,
    synonyms=None,
    imagenet100=None,
    target_counts=None,
    pool: pd.DataFrame | None = None,
    in_caps_size: int = laionet_variants.IN_CAPS_SIZE,
) -> tuple[pd.DataFrame, dict]:
    """Apply the data factors to a base dataset; return (manifest, curation report).

    ``synonyms``: per-class lemma lists (``synset_templates``); ``imagenet100``: the IN-100 class
    indices (``in100``, ``in100_matched``); ``target_counts`` and ``pool``: IN-Caps' per-class
    counts and the retrieval pool (``laionet_freq``); ``in_caps_size``: size of the IN-Caps-sized
    LAIONet variants.
    """
    check_factors(factors)
    source, num_classes = factors["source"], len(classes)
    scale = float(factors["scale"])
    report: dict[str, Any] = {"base_rows": len(base)}
    if len(base) == 0:
        raise ValueError(f"the base dataset of source {source!r} has no rows")
    if source == "incaps":
        from cliptail.curate import captions  # imports open_clip: only where captions are built

        df, extra = _restrict_classes(base, factors["classes"], imagenet100)
        report.update(extra, pool=len(df))
        df = captions.caption_variant(
            df,
            factors["caption"],
            class_names=classes["name"].tolist(),
            synonyms=synonyms,
            seed=CAPTION_SEED,
            prepend_class_prompt=True,
        )
    elif source == "laionet":
        df = laionet_variants.laionet_subset(
            base, threshold=laionet_variants.SCALE_THRESHOLD, frac=scale, seed=SAMPLE_SEED
        )
        report["variant"] = laionet_variants.variant_name(
            laionet_variants.SCALE_THRESHOLD, frac=scale
        )
        scale = 1.0  # applied by the LAIONet procedure itself
    elif source == "laionet_freq":
        if target_counts is None:
            raise ValueError("laionet_freq needs the IN-Caps per-class counts")
        if len(target_counts) != num_classes:
            raise ValueError(f"{len(target_counts)} target counts for {num_classes} classes")
        pool = pool if pool is not None else base.iloc[:0]
        df = matching.match_frequency(base, pool, target_counts, seed=MATCH_SEED)
        report.update(
            variant="match_incap",
            pool=len(pool),
            retrieved=int((df["origin"] == "retrieval").sum()),
            target=int(np.sum(target_counts)),
        )
    elif source.startswith("laionet_t"):
        t = laionet_threshold(source)
        df = laionet_variants.laionet_subset(base, threshold=t, n=in_caps_size, seed=SAMPLE_SEED)
        report["variant"] = laionet_variants.variant_name(t, n=in_caps_size)
    else:  # YFCC-15M-Cls / CC-12M-Cls / the ImageNet training set: as read
        df = base
    df, tail, tail_max_count = subsets.scale_and_trim(
        df,
        scale=scale,
        trim_k=factors["trim_k"],
        trim_ceil=factors["trim_ceil"],
        num_classes=num_classes,
        sample_seed=SAMPLE_SEED,
        trim_seed=TRIM_SEED,
    )
    if tail_max_count is not None:
        report["tail_max_count"] = tail_max_count
    counts = manifest.class_counts(df["label"], num_classes)
    report.update(
        {
            "images": len(df),
            "classes": num_classes,
            "nonempty_classes": int((counts > 0).sum()),
            "tail_classes": tail,
            "factors": dict(factors),
        }
    )
    return df, report


def _read_base(base: DatasetDir) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Manifest, classes and ``source.json`` (without its per-dataset keys) of a base dataset."""
    source = base.read_source()
    source = {
        k: v for k, v in source.items() if k not in ("dataset", "manifest_rows", "class_subset")
    }
    return base.read_manifest(), base.read_classes(), source


def read_pool(path: str | os.PathLike | None, classes: pd.DataFrame) -> pd.DataFrame | None:
    """The =freq retrieval pool (a manifest-like parquet with ``image``, ``label``, ``caption``
    and ``retrieval_score``), or None."""
    if not path:
        return None
    pool = manifest.validate(
        manifest.read(path), len(classes), where=str(path), allow_empty_captions=True
    )
    return pool


def write_real_dataset(
    factors: dict[str, Any],
    *,
    base_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    synonyms=None,
    imagenet100_file: str | os.PathLike | None = None,
    incaps_frequency: str | os.PathLike | None = None,
    pool: str | os.PathLike | None = None,
    in_caps_size: int = laionet_variants.IN_CAPS_SIZE,
    wordnet_dir: str | os.PathLike | None = None,
) -> dict:
    """Build a real variant from ``base_dir`` and write manifest, classes, frequency, report.

    ``synset_templates`` draw from the WordNet 3.0 lemmas of each class (``wordnet_dir``, default:
    auto-detected) unless ``synonyms`` are given.
    """
    base_dir = Path(base_dir)
    base, classes, source = _read_base(DatasetDir(base_dir))
    if synonyms is None and factors["caption"] == "synset_templates":
        from cliptail.data.wordnet import wordnet_lemmas

        synonyms = wordnet_lemmas(classes["id"].tolist(), wordnet_dir)
    imagenet100 = subsets.read_class_indices(imagenet100_file) if imagenet100_file else None
    targets = None
    if incaps_frequency:
        freq = io.read_frequency(incaps_frequency)
        if freq["name"].tolist() != classes["name"].tolist():
            raise ValueError(
                f"{incaps_frequency}: its classes are not those of "
                f"{base_dir / 'classes.tsv'} (same names, same order expected)"
            )
        targets = freq["count"].to_numpy(dtype=np.int64)
    df, report = build_variant(
        factors,
        base,
        classes,
        synonyms=synonyms,
        imagenet100=imagenet100,
        target_counts=targets,
        pool=read_pool(pool, classes),
        in_caps_size=in_caps_size,
    )
    report["base"] = str(base_dir)
    # IN-Caps-100 is a 100-class dataset in the 1000-class space: SL trains over those classes
    subset = (
        sorted(int(c) for c in np.unique(imagenet100)) if factors["classes"] == "in100" else None
    )
    DatasetDir(out_dir).write(
        df,
        classes,
        source=source,
        report=report,
        allow_empty_captions=True,
        class_subset=subset,
    )
    return report


def write_real_evalset(
    *,
    base_dir: str | os.PathLike,
    out_dir: str | os.PathLike,
    class_subset: list[int] | None = None,
    max_per_class: int | None = None,
) -> int:
    """The evaluation manifest of a real evaluation set (ImageNet val, ImageNetV2) as read, or,
    with ``class_subset`` (e.g. the IN-100 classes), its images of those classes only: the set is
    then evaluated over those classes (K-way), its labels and ``classes.tsv`` stay in the base
    dataset's class space and ``source.json`` records the subset. ``max_per_class``: keep only
    the first that many images of each class (manifest order; config
    ``evaluation.max_per_class``, for quick checks: the paper evaluates every image)."""
    df, classes, source = _read_base(DatasetDir(base_dir))
    if class_subset is not None:
        subset = sorted({int(c) for c in class_subset})
        if not subset or subset[0] < 0 or subset[-1] >= len(classes):
            raise ValueError(f"class subset out of range for {len(classes)} classes")
        df = df[df["label"].isin(subset)].reset_index(drop=True)
        empty = sorted(set(subset) - set(df["label"].unique().tolist()))
        if empty:
            raise ValueError(
                f"{base_dir}: no evaluation images for {len(empty)} classes of the subset "
                f"(first: {classes['id'].iat[empty[0]]})"
            )
        class_subset = subset
    if max_per_class is not None:
        if max_per_class < 1:
            raise ValueError(f"max_per_class must be >= 1, got {max_per_class}")
        df = df.groupby("label", sort=False).head(max_per_class).reset_index(drop=True)
    if len(df) == 0:
        raise ValueError(f"{base_dir}: the evaluation set has no images")
    names = classes["name"].tolist()
    df = df.assign(caption=[f"a {names[i]}" for i in df["label"]])
    DatasetDir(out_dir).write(df, classes, source=source, class_subset=class_subset)
    return len(df)
