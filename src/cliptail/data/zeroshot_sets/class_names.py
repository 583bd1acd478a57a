"""The classes of a zero-shot evaluation set, in the order and with the names of its concept set.

The authors' web-frequency files ``class_frequency_<dataset>_<set>.txt`` are keyed by the class
names of their descriptor files (``descriptors/descriptors_<set>.json``, keys in order), which are
not the datasets' own names: ``Black-footed Albatross`` for CUB's ``001.Black_footed_Albatross``,
``annual crop land`` for EuroSAT's ``AnnualCrop``, ``arcade (passageway)`` for Places365's
``/a/arcade``. :func:`map_classes` matches each native class to one descriptor name:

1. a native name listed in the set's aliases is replaced by the descriptor name given there
   (where the two differ beyond spelling: EuroSAT's folder names, Flowers-102's ``lotus``);
2. both sides are normalised by :func:`normalize` (lower case, text in parentheses dropped, every
   run of characters other than ``a-z`` and ``0-9`` one space) and must be equal.

The match must be one-to-one and cover both lists: a native class matching no descriptor name, a
descriptor name matched by no native class, two native classes on one name, or two descriptor
names that normalise alike all raise :class:`ClassMappingError`, naming them.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence

from cliptail.data.metadata import resolve_metadata_file

_PARENTHESES = re.compile(r"\([^)]*\)")
_SEPARATORS = re.compile(r"[^a-z0-9]+")


class ClassMappingError(ValueError):
    """A dataset's classes do not map one-to-one onto its concept set's descriptor names."""


def normalize(name: str) -> str:
    """``name`` lower case, parenthesised text dropped, separators and punctuation as one space."""
    text = _PARENTHESES.sub(" ", name.lower())
    return " ".join(_SEPARATORS.sub(" ", text).split())


def descriptor_file(concept_set: str, metadata_dir: str | os.PathLike | None = None):
    """``<metadata_dir>/descriptors/descriptors_<set>.json``, or the copy shipped with cliptail."""
    path = resolve_metadata_file(f"descriptors/descriptors_{concept_set}.json", metadata_dir)
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the class names of concept set {concept_set!r} come from the "
            "authors' descriptor file of that name"
        )
    return path


def descriptor_names(concept_set: str, metadata_dir: str | os.PathLike | None = None) -> list[str]:
    """The class names of a concept set: the keys of its descriptor file, in order."""
    path = descriptor_file(concept_set, metadata_dir)
    with open(path, encoding="utf-8") as fh:
        obj = json.load(fh)
    if not isinstance(obj, dict) or not obj:
        raise ValueError(f"{path}: expected a non-empty JSON object (class name -> descriptors)")
    return list(obj)


def _quoted(items: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(i) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


def map_classes(
    native: Sequence[str],
    names: Sequence[str],
    aliases: Mapping[str, str] | None = None,
    *,
    where: str = "classes",
) -> list[int]:
    """For each native class name, the index of its descriptor name in ``names``.

    ``aliases``: native name -> descriptor name, applied before normalising. Raises
    :class:`ClassMappingError` (message starting with ``where``) unless the match is one-to-one
    and complete (module docstring).
    """
    aliases = dict(aliases or {})
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = normalize(name)
        if key in index:
            raise ClassMappingError(
                f"{where}: descriptor names {names[index[key]]!r} and {name!r} cannot be told "
                "apart once normalised"
            )
        index[key] = i
    unmatched, taken, out = [], {}, []
    for cls in native:
        target = index.get(normalize(aliases.get(cls, cls)))
        if target is None:
            unmatched.append(cls)
            continue
        if target in taken:
            raise ClassMappingError(
                f"{where}: native classes {taken[target]!r} and {cls!r} both match the "
                f"descriptor name {names[target]!r}"
            )
        taken[target] = cls
        out.append(target)
    unused = [names[i] for i in range(len(names)) if i not in taken]
    if unmatched or unused:
        problems = []
        if unmatched:
            problems.append(
                f"{len(unmatched)} native class(es) match no descriptor name: {_quoted(unmatched)}"
            )
        if unused:
            problems.append(
                f"{len(unused)} descriptor name(s) match no native class: {_quoted(unused)}"
            )
        raise ClassMappingError(
            f"{where}: the dataset's {len(native)} classes do not map one-to-one onto the "
            f"{len(names)} descriptor names; "
            + "; ".join(problems)
            + " (is the download the expected dataset version?)"
        )
    return out
