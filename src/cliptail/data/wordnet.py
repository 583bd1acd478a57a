"""The WordNet 3.0 database: locating or fetching it (no root), noun lemmas, synsets, definitions.

Three files of WordNet 3.0's ``dict/`` folder are read (:data:`REQUIRED_FILES`):

- ``index.noun``: the noun lemmas (first field of every line that does not start with a space;
  the lines starting with a space are the licence header);
- ``noun.exc``: irregular plurals (``form lemma [lemma ...]``);
- ``data.noun``: the noun synsets. An ImageNet wnid ``n<offset>`` names the synset whose line
  starts at byte ``offset`` of ``data.noun`` (WordNet's own addressing), so one ``seek`` +
  ``readline`` per synset is enough.

**Where the database comes from** (:func:`locate_wordnet`, :func:`fetch_wordnet`,
:func:`ensure_wordnet`): the first folder holding all three files among ``$CLIPTAIL_WORDNET_DIR``,
``resources/wordnet`` (the workflow's own copy, relative to the working directory),
``/usr/share/wordnet`` (Debian's ``wordnet-base`` package) and NLTK data folders
(``corpora/wordnet``). Without any of them, :func:`fetch_wordnet` downloads Princeton's WordNet
3.0 release (resumable, sha256-verified) and extracts the three files: no root needed. The workflow
fills ``resources/wordnet`` with :func:`ensure_wordnet` (``workflow/scripts/fetch_wordnet.py``).

**Noun lemmatiser** (:class:`NounLemmatizer`), identical in output to NLTK's
``WordNetLemmatizer`` (pos="n"). The lemma of a word w is NLTK's rule:
``min(candidates(w), key=len)``, or w itself when there is no candidate, where ``candidates`` is
WordNet's *morphy* for nouns:

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

**Synsets** (:func:`read_noun_synsets`, :class:`NounSynset`): a ``data.noun`` line is ``offset
lexfile pos n_lemmas(hex) lemma lex_id ... | gloss``; the gloss is the definition followed by
``"quoted examples"``. As in NLTK: definition = gloss with the quoted examples removed, stripped
of spaces and semicolons; lemma syntactic markers such as ``(a)`` are dropped; the synset's
*name* is its first lemma, lower-cased (``tench.n.01`` -> ``tench``). Lemmas have underscores
replaced by spaces and keep their case (NLTK's ``lemma.name().replace("_", " ")``).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tarfile
import tempfile
import urllib.parse
import zlib
from collections.abc import Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from cliptail.data.download import download

log = logging.getLogger(__name__)

#: The database files this module reads; a WordNet folder must hold all of them.
REQUIRED_FILES = ("index.noun", "noun.exc", "data.noun")

WORDNET_DIR_ENV = "CLIPTAIL_WORDNET_DIR"
#: Where the workflow keeps its copy (relative to the working directory, the repository root).
WORKFLOW_WORDNET_DIR = Path("resources/wordnet")
DEBIAN_WORDNET_DIR = Path("/usr/share/wordnet")
#: System-wide NLTK data folders (besides ``$NLTK_DATA`` and ``~/nltk_data``).
SYSTEM_NLTK_DATA = (Path("/usr/share/nltk_data"), Path("/usr/local/share/nltk_data"))

#: Princeton's WordNet 3.0 release (the whole distribution: its ``dict/`` has the .exc files,
#: which the database-only WNdb-3.0.tar.gz lacks).
WORDNET_URL = "https://wordnetcode.princeton.edu/3.0/WordNet-3.0.tar.gz"
#: sha256 of WordNet-3.0.tar.gz, as pinned by Spack's recipe
#: (spack/spack, var/spack/repos/builtin/packages/wordnet/package.py: version "3.0").
WORDNET_SHA256 = "640db279c949a88f61f851dd54ebbb22d003f8b90b85267042ef85a3781d3a52"
#: The same release as .tar.bz2, and its sha256 as pinned by Homebrew's wordnet formula
#: (homebrew-core, Formula/wordnet.rb; nixpkgs' and Arch's wordnet recipes pin the same hash).
WORDNET_BZ2_URL = "https://wordnetcode.princeton.edu/3.0/WordNet-3.0.tar.bz2"
WORDNET_BZ2_SHA256 = "6c492d0c7b4a40e7674d088191d3aa11f373bb1da60762e098b8ee2dda96ef22"

INSTALL_HINT = (
    "without root, fetch it with `python workflow/scripts/fetch_wordnet.py --out "
    f"{WORKFLOW_WORDNET_DIR}` (downloads Princeton's WordNet 3.0, sha256-checked; the workflow "
    f"does this itself) and set {WORDNET_DIR_ENV} (or the config's sources.wordnet.dir) to that "
    "folder unless it is ./resources/wordnet; with root: `apt-get install wordnet-base "
    "wordnet-sense-index` (or `bash scripts/install_system_deps.sh`)"
)

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

# Caches grow with the caption vocabulary; past this many entries they are emptied (memory bound).
MAX_CACHE_ENTRIES = 2_000_000

_NOUN_WNID = re.compile(r"n[0-9]{8}")
_QUOTED = re.compile(r'"[^"]*"')
_SYNTACTIC_MARKER = re.compile(r"\([^()]*\)$")


# --- locating and fetching the database -----------------------------------------------------------


def wordnet_dir_candidates() -> list[Path]:
    """Folders searched for the WordNet files, in order.

    ``$CLIPTAIL_WORDNET_DIR``; ``resources/wordnet`` (the workflow's copy); ``/usr/share/wordnet``
    (Debian); ``corpora/wordnet`` under each ``$NLTK_DATA`` entry, ``~/nltk_data``,
    ``/usr/share/nltk_data`` and ``/usr/local/share/nltk_data``.
    """
    dirs: list[Path] = []
    if os.environ.get(WORDNET_DIR_ENV):
        dirs.append(Path(os.environ[WORDNET_DIR_ENV]))
    dirs += [WORKFLOW_WORDNET_DIR, DEBIAN_WORDNET_DIR]
    roots = [Path(p) for p in os.environ.get("NLTK_DATA", "").split(os.pathsep) if p]
    roots += [Path.home() / "nltk_data", *SYSTEM_NLTK_DATA]
    dirs.extend(root / "corpora" / "wordnet" for root in roots)
    return dirs


def missing_files(folder: str | os.PathLike) -> list[str]:
    """The :data:`REQUIRED_FILES` that ``folder`` lacks."""
    return [name for name in REQUIRED_FILES if not (Path(folder) / name).is_file()]


def locate_wordnet(path: str | os.PathLike | None = None) -> Path:
    """The WordNet folder to use: ``path`` if given, else the first complete candidate.

    Complete = holds all of :data:`REQUIRED_FILES`. Raises FileNotFoundError saying where it
    looked (and what was missing where) and how to get the database without root.
    """
    candidates = [Path(path)] if path is not None else wordnet_dir_candidates()
    looked = []
    for folder in candidates:
        lacking = missing_files(folder)
        if not lacking:
            return folder
        if folder.is_dir():
            looked.append(f"{folder} (lacks {', '.join(lacking)})")
        else:
            looked.append(f"{folder} (no such folder)")
    raise FileNotFoundError(
        f"WordNet 3.0 database ({', '.join(REQUIRED_FILES)}) not found; looked in: "
        f"{'; '.join(looked)}. To fix: {INSTALL_HINT}"
    )


def _install_files(dest: Path, sources: Mapping[str, str | os.PathLike | bytes], what: str) -> Path:
    """Write ``sources`` (name -> a file to copy, or the file's bytes) into ``dest`` atomically.

    The files go to a temporary folder next to ``dest``, which replaces ``dest`` only once all
    are written and flushed; on any failure it is removed and ``dest`` is left as it was.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        umask = os.umask(0o022)
        os.umask(umask)
        tmp.chmod(0o777 & ~umask)  # mkdtemp's folder is private; dest is an ordinary folder
        for name, source in sources.items():
            target = tmp / name
            if isinstance(source, bytes):
                target.write_bytes(source)
            else:
                shutil.copyfile(source, target)
            with open(target, "rb+") as fh:
                os.fsync(fh.fileno())
        lacking = missing_files(tmp)
        if lacking:
            raise FileNotFoundError(f"{what}: {', '.join(lacking)} missing")
        old = None
        if dest.exists() or dest.is_symlink():
            old = dest.with_name(f".{dest.name}.old-{os.getpid()}")
            os.replace(dest, old)
        try:
            os.replace(tmp, dest)
        except BaseException:
            if old is not None:
                os.replace(old, dest)
            raise
        if old is not None:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest


def _archive_members(archive: tarfile.TarFile, url: str) -> dict[str, tarfile.TarInfo]:
    """The regular-file members ``<top>/dict/<name>`` for every name of :data:`REQUIRED_FILES`."""
    found: dict[str, tarfile.TarInfo] = {}
    for member in archive.getmembers():
        parts = member.name.strip("/").split("/")
        if (
            member.isfile()
            and len(parts) >= 2
            and parts[-2] == "dict"
            and parts[-1] in REQUIRED_FILES
            and parts[-1] not in found
        ):
            found[parts[-1]] = member
    lacking = [name for name in REQUIRED_FILES if name not in found]
    if lacking:
        raise ValueError(
            f"{url}: the archive has no dict/{', dict/'.join(lacking)}; is it Princeton's "
            "WordNet 3.0 release (WordNet-3.0.tar.gz)?"
        )
    return found


def fetch_wordnet(
    dest: str | os.PathLike,
    url: str = WORDNET_URL,
    sha256: str | None = WORDNET_SHA256,
    *,
    keep_archive: bool = False,
    **download_options,
) -> Path:
    """Download the WordNet 3.0 release and put its :data:`REQUIRED_FILES` into ``dest``; return it.

    The archive is fetched with :func:`cliptail.data.download.download` (retries, resume,
    ``sha256`` verification; ``download_options`` are passed on) into ``<dest>.download/``, kept
    there when a transfer fails (the next call resumes) and removed after a successful extraction
    unless ``keep_archive``. Only the needed ``dict/`` files are extracted, into a temporary
    folder that replaces ``dest`` when complete: ``dest`` never holds a partial database, and a
    checksum mismatch leaves ``dest`` untouched. ``sha256=None`` skips verification (a warning is
    logged).
    """
    dest = Path(dest)
    if sha256 is None:
        log.warning("WordNet archive %s is not verified: no sha256 given", url)
    staging = dest.with_name(dest.name + ".download")
    name = Path(urllib.parse.urlsplit(url).path).name or "wordnet.tar.gz"
    try:
        archive_path = download(url, staging / name, sha256, **download_options)
    except BaseException:
        with suppress(OSError):
            staging.rmdir()  # only when empty: a partial download is kept for resuming
        raise
    try:
        with tarfile.open(archive_path, "r:*") as archive:
            members = _archive_members(archive, url)
            contents = {n: archive.extractfile(m).read() for n, m in members.items()}
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        archive_path.unlink(missing_ok=True)
        raise ValueError(
            f"{url} did not give a readable WordNet tarball ({exc}); it was deleted, run again "
            "to download it afresh"
        ) from exc
    _install_files(dest, contents, f"{url} extracted to {dest}")
    if not keep_archive:
        archive_path.unlink(missing_ok=True)
        with suppress(OSError):
            staging.rmdir()
    log.info("WordNet 3.0 from %s extracted to %s", url, dest)
    return dest


def _same_folder(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return False


def ensure_wordnet(
    dest: str | os.PathLike,
    configured_dir: str | os.PathLike | None = None,
    url: str = WORDNET_URL,
    sha256: str | None = WORDNET_SHA256,
    **download_options,
) -> Path:
    """Fill ``dest`` with the WordNet files and return it (the workflow's ``resources/wordnet``).

    1. ``configured_dir`` given: it must hold :data:`REQUIRED_FILES` (else FileNotFoundError);
       they are copied into ``dest``;
    2. otherwise the database found on the machine (:func:`locate_wordnet`) is copied;
    3. otherwise it is downloaded (:func:`fetch_wordnet` with ``url``, ``sha256`` and
       ``download_options``).

    Copies are atomic like the extraction (``dest`` appears complete or not at all). When the
    source folder is ``dest`` itself nothing is copied.
    """
    dest = Path(dest)
    if configured_dir is not None:
        source = locate_wordnet(configured_dir)
    else:
        try:
            source = locate_wordnet()
        except FileNotFoundError:
            log.info("no WordNet 3.0 database on this machine; downloading %s", url)
            return fetch_wordnet(dest, url, sha256, **download_options)
    if _same_folder(source, dest):
        return dest
    log.info("WordNet 3.0 database copied from %s to %s", source, dest)
    return _install_files(
        dest, {n: source / n for n in REQUIRED_FILES}, f"copy of {source} to {dest}"
    )


# --- noun lemmatiser ------------------------------------------------------------------------------


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
        """Load from a WordNet folder (``locate_wordnet(path)``)."""
        folder = locate_wordnet(path)
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


# --- synsets, definitions and lemmas --------------------------------------------------------------


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

    ``wordnet_dir``: see :func:`locate_wordnet`. Raises ValueError naming a wnid that is not a
    noun synset id or not a synset of this WordNet.
    """
    data_noun = locate_wordnet(wordnet_dir) / "data.noun"
    out: dict[str, NounSynset] = {}
    with open(data_noun, "rb") as fh:
        for wnid in wnids:
            if not _NOUN_WNID.fullmatch(wnid):
                raise ValueError(f"{wnid!r} is not a noun synset id like 'n01440764'")
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


def wordnet_lemmas(
    wnids: Sequence[str], wordnet_dir: str | os.PathLike | None = None
) -> list[list[str]]:
    """The lemmas of each noun synset ``wnid``, in WordNet 3.0 order, one list per wnid given.

    Names as NLTK's ``lemma.name().replace("_", " ")`` gives them (case kept); these are the
    synonyms the authors drew for IN-Caps synset templates.
    """
    synsets = read_noun_synsets(wnids, wordnet_dir)
    return [list(synsets[w].lemmas) for w in wnids]
