"""Caption variants of an image-text manifest (docs/study.md section 4; the caption types of Fig. 3).

Every variant is built from the per-image metadata fields ``title``, ``tags`` and ``description``
(IN-Caps: Flickr metadata; the synthetic world: generated text) and the class of the image:

- field captions (:func:`compose_fields`): the chosen fields joined with single spaces in the
  order title, tags (a list, or one space-joined string), description; empty fields are skipped,
  newlines, carriage returns and tabs become spaces, runs of spaces collapse to one;
- ``class_templates``: one of the 80 OpenAI ImageNet templates filled with the class name;
- ``synset_templates``: one of the 80 templates filled with a random synonym (WordNet lemma) of the
  class;
- ``a_class``: ``"a {class name}"``.

Semantics adopted from the authors' ``create_incaps_caption_variants.py`` (IN-Caps, README's
recommended ``--append_cname --shuffle``):

- **Class prompt prepended.** A field caption is ``"{class name} {fields}"`` (their mode ``cname``:
  the bare class name, not a template), so a row whose fields are all empty still has a caption
  and every variant keeps all rows. With ``prepend_class_prompt=False`` the caption is the fields
  alone and rows whose caption is empty are dropped, as their script did without
  ``--append_cname`` (the ``*_only`` / ``no_*`` frequency files).
- **Seeding and order.** One ``random.Random(seed)`` (their ``random.seed(0)``) first shuffles the
  row order (``random.shuffle`` of the row list), then, walking the rows *in the shuffled order*,
  draws the template (``choice`` over the 80 templates) and then, for synset templates, the
  synonym (``choice`` over the class's synonyms). The returned frame is in that shuffled order,
  as their written TSV was; rows keep their index labels. The permutation depends only on the
  number of rows and the seed, so all caption types of one table share the same row order and
  differ only in their captions. Given rows in the order of ``imagenet_captions.json`` and the
  synonyms of :func:`cliptail.data.wordnet.wordnet_lemmas`, the draws are theirs.
- **Synonyms.** They drew from the synset's WordNet 3.0 lemmas (NLTK ``lemma.name()``, ``_`` ->
  space, case kept), which :func:`cliptail.data.wordnet.wordnet_lemmas` reads. The lists of
  ``descriptors_imagenet_synset.json`` are a curated variant (lower case, disambiguated or
  extended: different for 258 of the 1000 classes); they are for concept matching, not for
  reproducing the synset-template captions.

Class names are ``class_names[label]`` (for ImageNet data the keys of ``descriptors_imagenet.json``,
as the authors used). Templates are open_clip's ``OPENAI_IMAGENET_TEMPLATES``, the 80 OpenAI
templates in their published order (the authors imported their own copy of that list).

Deviations: captions are whitespace-normalised (runs of spaces collapsed, no leading or trailing
space; their template-only captions ended in a space). open_clip's tokenizer normalises whitespace
the same way, so the tokens are identical.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.openclip import open_clip_data

OPENAI_IMAGENET_TEMPLATES = open_clip_data("zero_shot_metadata").OPENAI_IMAGENET_TEMPLATES

#: The caption types (nine of Fig. 3, least to most descriptive, then "a {class}").
CAPTION_TYPES = factors.CAPTION_TYPES
ALL_CAPTION_TYPES = factors.ALL_CAPTION_TYPES

#: Metadata fields, in the order they are concatenated.
FIELD_ORDER = ("title", "tags", "description")
#: Field-based caption types -> the fields they use.
CAPTION_FIELDS: dict[str, tuple[str, ...]] = {
    "description": ("description",),
    "title": ("title",),
    "tags": ("tags",),
    "title_description": ("title", "description"),
    "tags_description": ("tags", "description"),
    "title_tags": ("title", "tags"),
    "full": ("title", "tags", "description"),
}

Template = Callable[[str], str]

_SPACES = re.compile(r"[ \t\n\r]+")


def _field_text(value) -> str:
    """One field of one row as text: lists/arrays of tags are space-joined; missing is empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, np.ndarray)):
        return " ".join(str(v) for v in value)
    if isinstance(value, float) and np.isnan(value):
        return ""
    return str(value)


def _normalise(text: pd.Series) -> pd.Series:
    return text.str.replace(_SPACES, " ", regex=True).str.strip()


def compose_fields(df: pd.DataFrame, fields: Sequence[str]) -> pd.Series:
    """The chosen metadata fields of every row joined into one caption (index of ``df`` kept).

    ``caption = " ".join(non-empty fields in the order title, tags, description)``, tags
    space-joined; newlines, carriage returns and tabs become spaces and runs of spaces collapse.
    """
    unknown = [f for f in fields if f not in FIELD_ORDER]
    if unknown or not fields:
        raise ValueError(
            f"fields must be a non-empty subset of {list(FIELD_ORDER)}, got {list(fields)}"
        )
    missing = [f for f in fields if f not in df.columns]
    if missing:
        raise ValueError(f"the table has no column(s) {missing}; field captions need them")
    joined = pd.Series("", index=df.index, dtype=object)
    for field in FIELD_ORDER:
        if field in fields:
            joined = joined + " " + df[field].map(_field_text).astype(object)
    return _normalise(joined.astype(str))


def _class_lookup(labels: np.ndarray, class_names: Sequence[str]) -> np.ndarray:
    names = np.asarray(list(class_names), dtype=object)
    if len(labels) and (labels.min() < 0 or labels.max() >= len(names)):
        raise ValueError(
            f"labels range {labels.min()}..{labels.max()} but only {len(names)} "
            "class names were given"
        )
    return names[labels]


def caption_variant(
    df: pd.DataFrame,
    caption_type: str,
    *,
    class_names: Sequence[str],
    synonyms: Sequence[Sequence[str]] | None = None,
    seed: int = 0,
    prepend_class_prompt: bool = True,
    templates: Sequence[Template] = OPENAI_IMAGENET_TEMPLATES,
) -> pd.DataFrame:
    """``df`` in its seeded shuffled order with ``caption`` set for ``caption_type``.

    ``class_names[label]`` and ``synonyms[label]`` give a class's name and its synonyms (needed for
    ``synset_templates`` only). See the module docstring for the exact seeding and order.
    """
    if caption_type not in ALL_CAPTION_TYPES:
        raise ValueError(
            f"unknown caption type {caption_type!r}; expected one of {list(ALL_CAPTION_TYPES)}"
        )
    if "label" not in df.columns:
        raise ValueError("the table has no 'label' column")
    rng = random.Random(seed)
    order = list(range(len(df)))
    rng.shuffle(order)
    out = df.iloc[order].copy()
    labels = out["label"].to_numpy(dtype=np.int64)
    names = _class_lookup(labels, class_names)

    if caption_type in CAPTION_FIELDS:
        text = compose_fields(out, CAPTION_FIELDS[caption_type])
        if prepend_class_prompt:
            text = _normalise(pd.Series(names, index=out.index) + " " + text)
        out["caption"] = text
        return out[out["caption"].str.len() > 0]

    if caption_type == "a_class":
        out["caption"] = [f"a {name}" for name in names]
        return out

    if caption_type == "synset_templates":
        if synonyms is None:
            raise ValueError("synset_templates need the synonyms of every class")
        if len(synonyms) < len(class_names):
            raise ValueError(f"{len(synonyms)} synonym lists for {len(class_names)} classes")
        empty = sorted({int(c) for c in labels if len(synonyms[c]) == 0})
        if empty:
            raise ValueError(
                f"class(es) {empty[:10]} have no synonyms; synset_templates need at "
                "least one per class"
            )
        captions = []
        for label in labels:
            template = rng.choice(templates)
            captions.append(template(rng.choice(synonyms[label])))
    else:  # class_templates
        captions = [rng.choice(templates)(name) for name in names]
    out["caption"] = _normalise(pd.Series(captions, index=out.index, dtype=object))
    return out
