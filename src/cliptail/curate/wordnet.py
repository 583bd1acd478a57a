"""Offline WordNet noun lemmatiser, identical in output to NLTK's ``WordNetLemmatizer`` (pos="n").

Only two files of the WordNet 3.0 database are read: ``index.noun`` (the noun lemmas: first field
of every line that does not start with a space) and ``noun.exc`` (irregular plurals: ``form
lemma [lemma ...]``). Debian's ``wordnet-base`` package installs them in ``/usr/share/wordnet``
(``scripts/install_system_deps.sh`` does it); an NLTK data tree (``$NLTK_DATA/corpora/wordnet``)
works as well.

The lemma of a word w is NLTK's rule: ``min(candidates(w), key=len)``, or w itself when there is no
candidate, where ``candidates`` is WordNet's *morphy* for nouns:

1. if w is in the exception list: ``[w] + exceptions[w]``, kept if a noun lemma;
2. otherwise w and every detachment of one suffix rule (``s->'', ses->s, ves->f, xes->x, zes->z,
   ches->ch, shes->sh, men->man, ies->y``), kept if a noun lemma (first occurrence order);
3. only with ``repeat_rules=True`` (NLTK <= 3.8, the version the authors' released frequencies
   were computed with): while step 2 found nothing, apply the rules again to the forms of the
   previous round (without re-checking the word itself) and return the first non-empty round.
   NLTK >= 3.9 stops after step 2 (``repeat_rules=False``). The two differ only for words that
   need two detachments, e.g. ``"dogss"`` -> ``"dog"`` (<= 3.8) vs ``"dogss"`` (>= 3.9).

``min`` keeps the first of equally short candidates, so order matters and is reproduced exactly.
Lookups are pure dict/set operations and every word's lemma is cached.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

NOUN_SUFFIX_RULES: tuple[tuple[str, str], ...] = (
    ("s", ""),
    ("ses", "s"),
    ("ves", "f"),
    ("xes", "x"),
    ("zes", "z"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("men", "man"),
    ("ies", "y"),
)

WORDNET_DIR_ENV = "CLIPTAIL_WORDNET_DIR"
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
INSTALL_HINT = (
    "install the WordNet 3.0 database: `apt-get install wordnet-base wordnet-sense-index` "
    "(or `bash scripts/install_system_deps.sh`), or set "
    f"{WORDNET_DIR_ENV} to a folder holding index.noun and noun.exc"
)

# Caches grow with the caption vocabulary; past this many entries they are emptied (memory bound).
MAX_CACHE_ENTRIES = 2_000_000


def wordnet_dir_candidates() -> list[Path]:
    """Folders searched for the WordNet files, in order.

    ``$CLIPTAIL_WORDNET_DIR``; ``/usr/share/wordnet`` (Debian); ``corpora/wordnet`` under each
    ``$NLTK_DATA`` entry, ``~/nltk_data``, ``/usr/share/nltk_data`` and
    ``/usr/local/share/nltk_data``.
    """
    dirs: list[Path] = []
    if os.environ.get(WORDNET_DIR_ENV):
        dirs.append(Path(os.environ[WORDNET_DIR_ENV]))
    dirs.append(DEBIAN_WORDNET_DIR)
    roots = [p for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    roots += [str(Path.home() / "nltk_data"), "/usr/share/nltk_data", "/usr/local/share/nltk_data"]
    dirs.extend(Path(root) / "corpora" / "wordnet" for root in roots)
    return dirs


def find_wordnet_dir(path: str | os.PathLike | None = None) -> Path:
    """The WordNet folder to use: ``path`` if given, else the first complete candidate.

    Raises FileNotFoundError saying where it looked and how to install the database.
    """
    candidates = [Path(path)] if path is not None else wordnet_dir_candidates()
    for folder in candidates:
        if (folder / "index.noun").is_file() and (folder / "noun.exc").is_file():
            return folder
    looked = ", ".join(str(p) for p in candidates)
    raise FileNotFoundError(
        f"WordNet index.noun/noun.exc not found (looked in: {looked}); {INSTALL_HINT}"
    )


def read_noun_lemmas(folder: str | os.PathLike) -> frozenset[str]:
    """Noun lemmas of ``index.noun`` (lines starting with a space are the licence header)."""
    lemmas = set()
    with open(Path(folder) / "index.noun", encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith(" "):
                lemmas.add(line.split(maxsplit=1)[0])
    return frozenset(lemmas)


def read_noun_exceptions(folder: str | os.PathLike) -> dict[str, tuple[str, ...]]:
    """Irregular forms of ``noun.exc``: form -> its lemmas (a later line wins, as in NLTK)."""
    exceptions: dict[str, tuple[str, ...]] = {}
    with open(Path(folder) / "noun.exc", encoding="utf-8") as fh:
        for line in fh:
            terms = line.split()
            if terms:
                exceptions[terms[0]] = tuple(terms[1:])
    return exceptions


class NounLemmatizer:
    """WordNet noun lemmatiser with NLTK's semantics (see the module docstring)."""

    def __init__(
        self,
        lemmas: Iterable[str],
        exceptions: Mapping[str, Iterable[str]],
        repeat_rules: bool = True,
    ) -> None:
        self.lemmas = frozenset(lemmas)
        self.exceptions = {form: tuple(forms) for form, forms in exceptions.items()}
        self.repeat_rules = repeat_rules
        self._cache: dict[str, str] = {}

    @classmethod
    def from_wordnet(
        cls, path: str | os.PathLike | None = None, repeat_rules: bool = True
    ) -> NounLemmatizer:
        """Load from a WordNet folder (``find_wordnet_dir(path)``)."""
        folder = find_wordnet_dir(path)
        return cls(read_noun_lemmas(folder), read_noun_exceptions(folder), repeat_rules)

    def __getstate__(self) -> dict:
        return {
            "lemmas": self.lemmas,
            "exceptions": self.exceptions,
            "repeat_rules": self.repeat_rules,
        }

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["lemmas"], state["exceptions"], state["repeat_rules"])

    def _known(self, forms: Iterable[str]) -> list[str]:
        """Forms that are noun lemmas, first occurrences only, order kept."""
        return list(dict.fromkeys(f for f in forms if f in self.lemmas))

    @staticmethod
    def _detach(forms: Iterable[str]) -> list[str]:
        return [
            form[: -len(old)] + new
            for form in forms
            for old, new in NOUN_SUFFIX_RULES
            if form.endswith(old)
        ]

    def candidates(self, word: str) -> list[str]:
        """WordNet morphy candidates of ``word`` as a noun (NLTK's ``_morphy(word, "n")``)."""
        if word in self.exceptions:
            return self._known((word, *self.exceptions[word]))
        forms = self._detach([word])
        found = self._known([word, *forms])
        if self.repeat_rules:
            while not found and forms:
                forms = list(dict.fromkeys(self._detach(forms)))
                found = self._known(forms)
        return found

    def lemmatize(self, word: str) -> str:
        """The shortest candidate (first among equals), or ``word`` itself when there is none."""
        lemma = self._cache.get(word)
        if lemma is None:
            found = self.candidates(word)
            lemma = min(found, key=len) if found else word
            if len(self._cache) >= MAX_CACHE_ENTRIES:
                self._cache.clear()
            self._cache[word] = lemma
        return lemma
