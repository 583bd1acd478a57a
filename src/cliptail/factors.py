"""The study's vocabulary: factor names and values, methods, caption types, concept sets.

One torch-free home for every name the configuration, the workflow, the curation, the claims and
the figures share (docs/study.md sections 3-5). A run is a complete assignment of
:data:`RUN_FACTORS`; :func:`check_factor` validates one value and names the factor when it is
wrong, so a bad grid value fails when the workflow plans, not when a job runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

#: Factors that shape a run's training data, in slug order.
DATA_FACTORS = ("source", "caption", "scale", "classes", "trim_k", "trim_ceil")
#: Factors that shape the model and its training.
MODEL_FACTORS = ("method", "text_tower", "head", "vocab_size", "vocab_weight", "seed", "recipe")
RUN_FACTORS = DATA_FACTORS + MODEL_FACTORS

METHODS = ("clip", "sl", "dino")
#: Methods evaluated by zero-shot / nearest-prototype classification (per-class records).
ZEROSHOT_METHODS = ("clip", "sl")
#: Self-supervised methods, evaluated by linear probes only (:mod:`cliptail.evaluate.linear_probe`).
PROBED_METHODS = ("dino",)
#: CLIP text towers: from scratch, frozen ``text_encoder`` embeddings, fine-tuned from the
#: open_clip ``text_encoder`` (CLIP-init), frozen RoBERTa (``roberta_encoder``) embeddings.
TEXT_TOWERS = ("rand", "frozen", "clip_init", "roberta")
#: Text towers whose caption and prompt embeddings are computed once (-> embedding-file suffix).
EMBEDDED_TOWERS = {"frozen": "", "roberta": "_roberta"}
#: The frozen RoBERTa of ``text_tower: roberta`` (config key ``roberta_encoder``).
DEFAULT_ROBERTA = "roberta-base"
HEADS = ("rand", "frozen")
VOCAB_WEIGHTS = ("linear", "sqrt", "uniform")
TRIM_CEILS = (0, 1)
#: The ``recipe`` factor's value for the method's own recipe (``train`` and ``train.<method>``);
#: any other value names an override set ``train.recipes.<name>`` (checked when planning).
DEFAULT_RECIPE = "default"

#: The nine caption types of Fig. 3, least to most descriptive (docs/study.md section 4).
CAPTION_TYPES = (
    "class_templates",
    "synset_templates",
    "description",
    "title",
    "tags",
    "title_description",
    "tags_description",
    "title_tags",
    "full",
)
#: Caption types beyond Fig. 3 ("a {class}").
EXTRA_CAPTION_TYPES = ("a_class",)
ALL_CAPTION_TYPES = CAPTION_TYPES + EXTRA_CAPTION_TYPES
#: SL and DINO ignore captions: their datasets use this caption type (the frequencies are
#: identical).
SL_CAPTION = "full"

#: Training pools of the synthetic world: curated (IN-Caps-like) and shifted web (LAIONet-like).
WORLD_SOURCES = ("curated", "web")
#: LAIONet similarity thresholds with an IN-Caps-sized variant (``laionet_t<t>``).
LAIONET_THRESHOLDS = (0.7, 0.75, 0.8, 0.82)
#: The -Cls subsets of web caption lists.
WEB_CLS_SOURCES = ("yfcc15m_cls", "cc12m_cls")
#: Whole web caption lists (every caption, E5b): CLIP only, no single label per image.
WEB_FULL_SOURCES = ("yfcc15m",)
#: Training pools of the real data (paper preset).
#: The ImageNet training set as a source (DINO's reference pre-training, E8): its images and
#: class labels as read, no captions.
IMAGENET_SOURCE = "imagenet"
REAL_SOURCES = (
    ("incaps", "laionet", "laionet_freq")
    + WEB_CLS_SOURCES
    + tuple(f"laionet_t{t:g}" for t in LAIONET_THRESHOLDS)
    + WEB_FULL_SOURCES
    + (IMAGENET_SOURCE,)
)
SOURCES = WORLD_SOURCES + REAL_SOURCES

#: Concept sets of the world: evaluation concepts, plus open-world ones, plus size-matched.
WORLD_CLASSES = ("eval", "all", "all_matched")
#: Concept sets of the real data: ImageNet, IN-Caps-100, IN-Caps (10%).
REAL_CLASSES = ("eval", "in100", "in100_matched")
CLASSES = ("eval", "all", "all_matched", "in100", "in100_matched")

#: Evaluation sets: world splits, then real ones (evaluation set -> base dataset).
WORLD_EVALSETS = ("val", "v2")
REAL_EVALSETS = {
    "imagenet_val": "imagenet_val",
    "imagenetv2": "imagenetv2",
    "imagenet100_val": "imagenet_val",
}
#: Evaluation sets restricted to a class subset (evaluated that-many-way) -> the subset's
#: ``classes`` value: IN-100 = ImageNet val on the 100 classes of IN-Caps-100.
EVALSET_CLASSES = {"imagenet100_val": "in100"}
EVALSETS = WORLD_EVALSETS + tuple(REAL_EVALSETS)

#: Number of ImageNet classes (every real source is labelled in this class space).
IMAGENET_CLASSES = 1000
IMAGENET100_CLASSES = 100

#: Concept sets of the web-frequency study (Fig. 12, 13) -> display names.
CONCEPT_SETS: dict[str, str] = {
    "imagenet": "ImageNet",
    "cub": "CUB",
    "dtd": "DTD",
    "eurosat": "EuroSAT",
    "flowers102": "Flowers-102",
    "food101": "Food-101",
    "pets": "Oxford Pets",
    "places365": "Places365",
}
#: Web datasets of the released concept frequencies -> display names.
WEB_DATASETS: dict[str, str] = {
    "cc12m": "CC-12M",
    "yfcc15m": "YFCC-15M",
    "laion400m": "LAION-400M",
    "laion2b": "LAION-2B",
    "metaclip_400m": "MetaCLIP-400M",
    "metaclip_fullcc": "MetaCLIP-2.5B",
}

#: Pre-training datasets of the released CLIP models of the open-source audit (cliptail.audit):
#: the web datasets, then OpenAI's WIT (never released: no concept frequencies).
PRETRAINING_DATASETS: dict[str, str] = {**WEB_DATASETS, "openai": "OpenAI WIT"}
#: Web dataset -> the controlled study's training source built from it (Fig. 1b's SL side):
#: CC-12M-Cls, YFCC-15M-Cls and LAIONet (from LAION-400M).
SL_SOURCE_OF: dict[str, str] = {
    "cc12m": "cc12m_cls",
    "yfcc15m": "yfcc15m_cls",
    "laion400m": "laionet",
}

#: Factor values every run starts from (the config's ``defaults`` override them).
DEFAULT_FACTORS: dict[str, Any] = {
    "source": "curated",
    "caption": "full",
    "scale": 1.0,
    "classes": "eval",
    "trim_k": 0,
    "trim_ceil": 0,
    "method": "clip",
    "text_tower": "rand",
    "head": "rand",
    "vocab_size": "full",
    "vocab_weight": "linear",
    "seed": 0,
    "recipe": DEFAULT_RECIPE,
}

_CHOICES: dict[str, tuple] = {
    "source": SOURCES,
    "caption": ALL_CAPTION_TYPES,
    "classes": CLASSES,
    "trim_ceil": TRIM_CEILS,
    "method": METHODS,
    "text_tower": TEXT_TOWERS,
    "head": HEADS,
    "vocab_weight": VOCAB_WEIGHTS,
}


_RECIPE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9.\-]*")


class FactorError(ValueError):
    """A factor name or value is not part of the study's vocabulary."""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_factor(name: str, value: Any, where: str = "") -> None:
    """Raise :class:`FactorError` naming ``where`` + ``name`` when ``value`` is not valid for it."""
    key = f"{where}{name}"
    if name not in RUN_FACTORS:
        raise FactorError(f"{key}: unknown factor; known factors: {list(RUN_FACTORS)}")
    if name in _CHOICES:
        if value not in _CHOICES[name] or isinstance(value, bool):
            raise FactorError(f"{key}: {value!r} is not one of {list(_CHOICES[name])}")
    elif name == "scale":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and 0 < value <= 1
        if not ok:
            raise FactorError(f"{key}: {value!r} is not a fraction in (0, 1]")
    elif name in ("trim_k", "seed"):
        if not _is_int(value) or value < 0:
            raise FactorError(f"{key}: {value!r} is not an integer >= 0")
    elif name == "recipe":
        if not isinstance(value, str) or not _RECIPE_NAME.fullmatch(value):
            raise FactorError(
                f"{key}: {value!r} is not a recipe name (letters, digits, '.', '-'; "
                f"{DEFAULT_RECIPE!r} or a key of train.recipes)"
            )
    elif name == "vocab_size":
        if value != "full" and (not _is_int(value) or value < 1):
            raise FactorError(f"{key}: {value!r} is neither 'full' nor an integer >= 1")


def is_real_source(source: str) -> bool:
    """True when ``source`` is a real dataset (paper preset), not the synthetic world."""
    return source in REAL_SOURCES


def check_run(factors: Mapping[str, Any], num_classes: int, where: str = "") -> None:
    """Check a complete run's factors together (each value, then how they combine).

    ``num_classes``: the number of classes of the run's training data, which bounds
    ``vocab_size`` and ``trim_k``.
    """
    for name in RUN_FACTORS:
        check_factor(name, factors[name], where)
    real = is_real_source(factors["source"])
    allowed = REAL_CLASSES if real else WORLD_CLASSES
    if factors["classes"] not in allowed:
        kind = "real-data" if real else "synthetic-world"
        raise FactorError(
            f"{where}classes: {factors['classes']!r} does not apply to the {kind} source "
            f"{factors['source']!r}; expected one of {list(allowed)}"
        )
    if factors["trim_k"] and factors["trim_k"] >= num_classes:
        raise FactorError(
            f"{where}trim_k: {factors['trim_k']} trims every one of the {num_classes} classes "
            "of the training data; use a smaller number"
        )
    if factors["source"] == IMAGENET_SOURCE and factors["method"] not in PROBED_METHODS:
        raise FactorError(
            f"{where}source: 'imagenet' (the ImageNet training set without captions) is DINO's "
            "reference pre-training; CLIP and SL train on IN-Caps (source: incaps)"
        )
    if factors["method"] == "sl" and factors["source"] in WEB_FULL_SOURCES:
        raise FactorError(
            f"{where}source: {factors['source']!r} holds every caption of the list, most naming "
            "no single ImageNet class, so it has no label per image for SL; train SL on its -Cls "
            "subset (e.g. yfcc15m_cls)"
        )
    vocab = factors["vocab_size"]
    if factors["method"] == "sl" and vocab != "full" and vocab > num_classes:
        raise FactorError(
            f"{where}vocab_size: {vocab} exceeds the {num_classes} classes of the training "
            "data (use 'full' for a softmax over all classes)"
        )


def check_real_data(data: Mapping[str, Any], where: str = "") -> None:
    """Check how the data factors of a real-data variant fit its source (the synthetic world
    takes every combination). ``data``: the data factors after the method's normalisation (an SL
    dataset always has ``caption: full``)."""
    source = data["source"]
    if not is_real_source(source):
        return
    kind = f"{where}source {source!r}"
    if source != "incaps" and data["caption"] != "full":
        raise FactorError(
            f"{kind}: caption {data['caption']!r} needs IN-Caps metadata; web sources keep "
            "their own captions (caption: full)"
        )
    if source != "incaps" and data["classes"] != "eval":
        raise FactorError(
            f"{kind}: classes {data['classes']!r} is defined for IN-Caps only (IN-Caps-100, "
            "IN-Caps (10%)); use classes: eval"
        )
    if source.startswith("laionet_") and float(data["scale"]) != 1.0:
        raise FactorError(
            f"{kind}: the variant has a fixed size (IN-Caps size or =freq); scale must be 1, "
            f"got {data['scale']}"
        )
    if data["classes"] != "eval" and float(data["scale"]) != 1.0:
        raise FactorError(
            f"{kind}: IN-Caps-100 / IN-Caps (10%) have a fixed size; scale must be 1, "
            f"got {data['scale']}"
        )
    if source in WEB_FULL_SOURCES and data["trim_k"]:
        raise FactorError(
            f"{kind}: trim_k needs one class per image; a caption of the whole list may name "
            "several classes or none (trim its -Cls subset instead)"
        )
