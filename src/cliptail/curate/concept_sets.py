"""Concept sets for concept-frequency estimation, and the text normalisation they are matched with.

Text normalisation (captions and concept phrases alike; the authors' ``preprocess_text``):
lowercase; every character other than ``a-z`` and space becomes a space (digits, punctuation,
accents, tabs and newlines included); split on spaces; then NLTK's ``word_tokenize`` splits the
contractions it knows (on letters-only text only these remain: ``cannot -> can not``, ``gimme ->
gim me``, ``gonna -> gon na``, ``gotta -> got ta``, ``lemme -> lem me``, ``wanna -> wan na``).
Each token is then lemmatised as a WordNet noun (:mod:`cliptail.data.wordnet`).

A concept (class) is a list of synonyms, each a list of lemmatised tokens, plus a list of negative
tokens. Where synonyms come from, per concept set (``--concepts``):

- ``imagenet``: class names = keys of ``descriptors_imagenet.json``; synonyms = the values of
  ``descriptors_imagenet_synset.json`` in the same (sorted-wnid) order, lowercased, text in
  parentheses removed. The negative lists of docs/study.md section 4 apply to the class whose synonym
  list contains the trigger synonym (:data:`IMAGENET_NEGATIVES`; first trigger wins, as in the
  authors' ``elif`` chain).
- ``cub``, ``dtd``, ``eurosat``, ``flowers102``, ``food101``, ``pets``, ``places365``: class names =
  keys of ``descriptors_<set>.json``; synonyms = the name lowercased, parentheses removed, split on
  ``" or "`` and ``" / "``; then the authors' rewrites (:data:`SYNONYM_REWRITES`, from their
  ``concept_freq_utils/calc_class_frequency.py``) replace the synonyms of three ambiguous classes:
  Places365 ``arcade`` and ``lock_chamber`` and CUB ``cardinal``.
- a path to a JSON object ``{class name: [synonym, ...]}`` or ``{class name: {"synonyms": [...],
  "negatives": [...]}}`` (class order = key order); synonyms are lowercased and parentheses removed,
  as for ImageNet.

The descriptor files are read from a metadata folder (``metadata_dir``, the authors' layout
``descriptors/descriptors_<set>.json``); a file the folder lacks, or every file when no folder is
given, comes from the copy shipped with cliptail (:func:`cliptail.data.metadata.released_root`).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from cliptail.data.metadata import resolve_metadata_file
from cliptail.data.wordnet import NounLemmatizer

#: Concept sets built from the authors' descriptor files (docs/study.md section 4; Fig. 12, 13).
CONCEPT_SETS = ("imagenet", "cub", "dtd", "eurosat", "flowers102", "food101", "pets", "places365")

#: Trigger synonym -> negative words (docs/study.md section 4), in the authors' order.
IMAGENET_NEGATIVES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("sorrel", ("plant", "herb", "flower", "leaf")),
    ("horizontal bar", ("chart", "plot", "graph", "diagram")),
    ("impala", ("car", "automobile", "vehicle", "chevy")),
    ("bow", ("tie",)),
    ("ringlet", ("hair",)),
    (
        "ram",
        (
            "car",
            "truck",
            "automobile",
            "vehicle",
            "dodge",
            "logo",
            "computer",
            "memory",
            "random access",
            "chip",
            "review",
        ),
    ),
    ("crane", ("bird", "fish", "water", "wing", "leg", "zoo")),
    ("sub", ("sandwich", "bread", "italian", "meatball", "grill", "menu")),
    ("sidewinder", ("missile", "army", "military", "resort", "park")),
)

#: Concept set -> trigger synonym -> the synonyms that replace the class's own (authors' rewrites).
SYNONYM_REWRITES: dict[str, dict[str, tuple[str, ...]]] = {
    "places365": {
        "arcade": ("arcade passageway", "arcade walkway", "arcade hallway", "arcade corridor"),
        "lock_chamber": ("lock chamber canal", "lock chamber waterway", "lock chamber water"),
    },
    "cub": {"cardinal": ("cardinal bird", "northern cardinal", "red cardinal")},
}

#: Whole tokens that NLTK's word tokenizer splits in two (on letters-only, lowercase text).
SPLIT_CONTRACTIONS: dict[str, tuple[str, str]] = {
    "cannot": ("can", "not"),
    "gimme": ("gim", "me"),
    "gonna": ("gon", "na"),
    "gotta": ("got", "ta"),
    "lemme": ("lem", "me"),
    "wanna": ("wan", "na"),
}

_NON_LETTERS = re.compile(r"[^a-z ]+")
_PARENTHESISED = re.compile(r"\([^)]*\)")
_ALTERNATIVES = re.compile(" or | / ")


def tokenize(text: str | None) -> list[str]:
    """Tokens of ``text`` (see the module docstring); ``None`` has no tokens."""
    if text is None:
        return []
    tokens: list[str] = []
    for word in _NON_LETTERS.sub(" ", text.lower()).split():
        tokens.extend(SPLIT_CONTRACTIONS.get(word, (word,)))
    return tokens


@dataclass(frozen=True)
class ConceptPhrases:
    """One class before lemmatisation: output name, synonym phrases, negative phrases."""

    name: str
    synonyms: tuple[str, ...]
    negatives: tuple[str, ...] = ()


@dataclass(frozen=True)
class Concept:
    """One class ready for matching: each synonym and the negatives as lemmatised tokens."""

    name: str
    synonyms: tuple[tuple[str, ...], ...]
    negatives: frozenset[str]


@dataclass(frozen=True)
class ConceptSet:
    """An ordered list of concepts; ``names`` is the class order of every output file."""

    name: str
    concepts: tuple[Concept, ...]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.concepts]

    def __len__(self) -> int:
        return len(self.concepts)


def strip_parentheses(text: str) -> str:
    """Lowercase and remove every ``(...)`` (the authors' template clean-up)."""
    return _PARENTHESISED.sub("", text.lower())


def class_name_synonyms(name: str, concept_set: str) -> tuple[str, ...]:
    """Synonyms of a class given by its name: split on " or " / " / ", then the set's rewrites."""
    synonyms = tuple(s.strip() for s in _ALTERNATIVES.split(strip_parentheses(name)))
    for trigger, replacement in SYNONYM_REWRITES.get(concept_set, {}).items():
        if trigger in synonyms:
            return replacement
    return synonyms


def imagenet_negatives(synonyms: Sequence[str]) -> tuple[str, ...]:
    """Negative words of an ImageNet class from its (cleaned) synonyms; first trigger wins."""
    for trigger, negatives in IMAGENET_NEGATIVES:
        if trigger in synonyms:
            return negatives
    return ()


def _read_json_object(path: Path) -> dict:
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found")
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not valid JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a JSON object, got {type(obj).__name__}")
    return obj


def _descriptor_file(metadata_dir: str | os.PathLike | None, stem: str) -> Path:
    """``<metadata_dir>/descriptors/descriptors_<stem>.json``, or the packaged copy."""
    path = resolve_metadata_file(f"descriptors/descriptors_{stem}.json", metadata_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found; --metadata must point at the authors' metadata folder (with "
            "descriptors/ inside), which the workflow downloads to resources/metadata"
        )
    return path


def concept_phrases(
    concepts: str | os.PathLike, metadata_dir: str | os.PathLike | None = None
) -> list[ConceptPhrases]:
    """The classes of a concept set (a name of :data:`CONCEPT_SETS` or a JSON path), as phrases.

    ``metadata_dir``: the authors' metadata folder; files it lacks (and ``None``) come from the
    packaged copy.
    """
    if str(concepts) == "imagenet":
        names = list(_read_json_object(_descriptor_file(metadata_dir, "imagenet")))
        synsets = _read_json_object(_descriptor_file(metadata_dir, "imagenet_synset"))
        synsets = list(synsets.values())
        if len(names) != len(synsets):
            raise ValueError(
                f"descriptors_imagenet.json has {len(names)} classes but "
                f"descriptors_imagenet_synset.json has {len(synsets)}"
            )
        out = []
        for name, synonyms in zip(names, synsets, strict=True):
            cleaned = tuple(strip_parentheses(s) for s in synonyms)
            out.append(ConceptPhrases(name, cleaned, imagenet_negatives(cleaned)))
        return out
    if str(concepts) in CONCEPT_SETS:
        names = list(_read_json_object(_descriptor_file(metadata_dir, str(concepts))))
        return [ConceptPhrases(n, class_name_synonyms(n, str(concepts))) for n in names]
    path = Path(concepts)
    if path.suffix != ".json":
        raise ValueError(
            f"unknown concept set {str(concepts)!r}; use one of "
            f"{', '.join(CONCEPT_SETS)} or a path to a synonyms .json file"
        )
    return _custom_phrases(path)


def _custom_phrases(path: Path) -> list[ConceptPhrases]:
    out = []
    for name, value in _read_json_object(path).items():
        if isinstance(value, dict):
            synonyms, negatives = value.get("synonyms"), value.get("negatives", [])
        else:
            synonyms, negatives = value, []
        if not _is_string_list(synonyms) or not synonyms or not _is_string_list(negatives):
            raise ValueError(
                f"{path}: class {name!r} must map to a non-empty list of synonym strings, or to "
                '{"synonyms": [...], "negatives": [...]}'
            )
        out.append(
            ConceptPhrases(
                name,
                tuple(strip_parentheses(s) for s in synonyms),
                tuple(n.lower() for n in negatives),
            )
        )
    if not out:
        raise ValueError(f"{path}: no classes")
    return out


def _is_string_list(value) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def lemmatize_phrase(phrase: str, lemmatizer: NounLemmatizer) -> tuple[str, ...]:
    return tuple(lemmatizer.lemmatize(t) for t in tokenize(phrase))


def build_concept_set(
    name: str, phrases: Iterable[ConceptPhrases], lemmatizer: NounLemmatizer
) -> ConceptSet:
    """Tokenise and lemmatise every synonym and negative phrase.

    A synonym without letters would match every caption: it is rejected with the class named.
    """
    concepts = []
    for cls in phrases:
        synonyms = tuple(lemmatize_phrase(s, lemmatizer) for s in cls.synonyms)
        if not synonyms or any(not s for s in synonyms):
            raise ValueError(
                f"concept set {name!r}, class {cls.name!r}: a synonym has no letters "
                f"({list(cls.synonyms)}); every synonym needs at least one word"
            )
        negatives = frozenset(t for n in cls.negatives for t in lemmatize_phrase(n, lemmatizer))
        concepts.append(Concept(cls.name, synonyms, negatives))
    return ConceptSet(name, tuple(concepts))


def load_concept_set(
    concepts: str | os.PathLike,
    metadata_dir: str | os.PathLike | None,
    lemmatizer: NounLemmatizer,
) -> ConceptSet:
    """A concept set ready for matching (see the module docstring for the sources).

    ``metadata_dir=None`` reads the descriptor files shipped with cliptail.
    """
    name = str(concepts) if str(concepts) in CONCEPT_SETS else Path(concepts).stem
    return build_concept_set(name, concept_phrases(concepts, metadata_dir), lemmatizer)
