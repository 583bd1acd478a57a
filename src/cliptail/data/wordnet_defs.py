"""WordNet 3.0 noun synsets by ImageNet wnid: lemmas and definition, read from ``data.noun``.

A wnid ``n<offset>`` names the noun synset whose line starts at byte ``offset`` of ``data.noun``
(WordNet's own addressing), so one ``seek`` + ``readline`` per synset is enough. A line is
``offset lexfile pos n_lemmas(hex) lemma lex_id ... | gloss``; the gloss is the definition
followed by ``"quoted examples"``. As in NLTK: definition = gloss with the quoted examples removed,
stripped of spaces and semicolons; lemma syntactic markers such as ``(a)`` are dropped; the
synset's *name* is its first lemma, lower-cased (``tench.n.01`` -> ``tench``). Lemmas here have
underscores replaced by spaces.

The folder is found as in :mod:`cliptail.curate.wordnet` (``$CLIPTAIL_WORDNET_DIR``, Debian's
``/usr/share/wordnet`` from the ``wordnet-base`` package, NLTK data folders).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cliptail.curate.wordnet import INSTALL_HINT, wordnet_dir_candidates

_QUOTED = re.compile(r'"[^"]*"')
_SYNTACTIC_MARKER = re.compile(r"\([^()]*\)$")


@dataclass(frozen=True)
class NounSynset:
    """One noun synset: its ImageNet wnid, lemmas (spaces, original case) and definition."""

    wnid: str
    lemmas: tuple[str, ...]
    definition: str

    @property
    def name(self) -> str:
        """The synset's head word as NLTK names it: first lemma, lower-cased."""
        return self.lemmas[0].lower()

    @property
    def name_definition(self) -> str:
        """LAIONet's query text: ``"<name> which is <definition>"``."""
        return f"{self.name} which is {self.definition}"


def find_data_noun(path: str | os.PathLike | None = None) -> Path:
    """The ``data.noun`` to read: in ``path`` if given, else in the first folder that has it."""
    candidates = [Path(path)] if path is not None else wordnet_dir_candidates()
    for folder in candidates:
        if (folder / "data.noun").is_file():
            return folder / "data.noun"
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(f"WordNet data.noun not found (looked in: {looked}); {INSTALL_HINT}")


def parse_data_line(wnid: str, line: str) -> NounSynset:
    """Parse one ``data.noun`` line into a :class:`NounSynset` named ``wnid``."""
    columns, sep, gloss = line.partition("|")
    if not sep:
        raise ValueError(f"WordNet line for {wnid} has no gloss: {line[:80]!r}")
    fields = columns.split()
    count = int(fields[3], 16)
    lemmas = tuple(
        _SYNTACTIC_MARKER.sub("", fields[4 + 2 * i]).replace("_", " ") for i in range(count)
    )
    definition = _QUOTED.sub("", gloss).strip().strip("; ")
    return NounSynset(wnid=wnid, lemmas=lemmas, definition=definition)


def read_noun_synsets(
    wnids: Iterable[str], wordnet_dir: str | os.PathLike | None = None
) -> dict[str, NounSynset]:
    """``{wnid: NounSynset}`` for noun wnids (``n`` + 8-digit offset), in the order given.

    Raises ValueError naming a wnid that is not a noun offset of this WordNet.
    """
    data_noun = find_data_noun(wordnet_dir)
    out: dict[str, NounSynset] = {}
    with open(data_noun, "rb") as fh:
        for wnid in wnids:
            if not re.fullmatch(r"n\d{8}", wnid):
                raise ValueError(f"{wnid!r} is not a noun wnid (expected 'n' + 8 digits)")
            offset = int(wnid[1:])
            fh.seek(offset)
            line = fh.readline().decode("utf-8")
            if not line.startswith(wnid[1:] + " "):
                raise ValueError(
                    f"{wnid} is not a synset of {data_noun} (no line at byte "
                    f"{offset}); is this WordNet 3.0?"
                )
            out[wnid] = parse_data_line(wnid, line)
    return out
