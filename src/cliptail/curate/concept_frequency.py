"""Concept frequency of caption sets (docs/study.md section 4): how many captions mention each class.

Semantics (the authors' ``concept_freq_utils/calc_class_frequency.py``, exactly): a caption's
token set is its lemmatised tokens (:func:`cliptail.curate.concept_sets.tokenize`, WordNet noun
lemmas). A caption counts once for class c when all lemmatised tokens of at least one synonym of c
are in the token set (order ignored) and none of c's negative tokens is; one caption may count for
several classes. With weights (MetaCLIP's datacard: entry -> count) a matching entry adds its count.

How it is fast without changing the result (:class:`ConceptMatcher`):

- a batch of captions is joined into one string, so lowercasing and the letters-only filter run
  once per batch (``str.lower`` and ``bytes.translate``), and split into tokens once;
- each unique raw token is lemmatised once; a cache codes it as irrelevant (no lemma in any synonym
  or negative list), relevant, or holding an *anchor*; numpy finds the captions with an anchor;
- each synonym is indexed under one anchor, its rarest token (re-chosen from the token counts of
  the first large batch); only captions holding an anchor are matched, and only against the
  synonyms indexed under the anchors they hold;
- batches go to forked worker processes, at most ``2 x workers`` in flight (bounded memory).

Inputs are streamed (:func:`iter_caption_batches`): parquet (by record batches), tsv/csv (header
row; ``.tsv`` is read without quote handling, one record per line), jsonl (objects or strings),
plain text (one caption per line), optionally gzip-compressed (``.gz``), and MetaCLIP datacard
json (entry -> count, read incrementally). Readers run in the parent process; any error while
reading a file (a missing or non-text column, a malformed line, a truncated ``.gz`` or parquet
file) is a :class:`CaptionReadError` that names the file (and the line where known) and says what
to do, whatever the number of workers.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import csv
import gzip
import io as _io
import json
import multiprocessing
import os
import sys
import time
import zlib
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

import numpy as np
from tqdm import tqdm

from cliptail import io
from cliptail.curate.concept_sets import SPLIT_CONTRACTIONS, ConceptSet
from cliptail.data.wordnet import NounLemmatizer

FORMATS = ("parquet", "tsv", "csv", "jsonl", "txt", "datacard")
#: Column names tried, in order, when no column is given.
DEFAULT_COLUMNS = ("caption", "TEXT", "text")
DEFAULT_BATCH_SIZE = 20_000
#: Raw tokens whose lemmas are cached; past this the caches are emptied (results unchanged).
MAX_CACHED_TOKENS = 1_000_000


# --- matching --------------------------------------------------------------------------------

#: Captions a batch needs before the anchors are re-chosen from its token counts.
MIN_CALIBRATION_CAPTIONS = 2_000

_SEPARATOR = "\x00"
_SEPARATOR_TOKEN = _SEPARATOR.encode()
#: bytes -> bytes table: a-z and the separator kept, every other byte a space.
_LETTERS_ONLY = bytes(b if (0x61 <= b <= 0x7A or b == 0) else 0x20 for b in range(256))

# Token codes of a batch (int8): a caption separator, a token without relevant lemma, a token
# with relevant lemmas but no anchor, a token with an anchor lemma; -1 = not seen before.
_SEP, _IRRELEVANT, _RELEVANT, _ANCHOR = 3, 0, 1, 2


class ConceptMatcher:
    """Counts, per class, the captions that mention it (the module docstring gives the rule).

    Each synonym is indexed under one *anchor* token; a caption is checked in full only when it
    holds an anchor. Anchors are first the tokens shared by the fewest synonyms (longer first,
    one- and two-letter tokens last), then, from the first batch of at least
    :data:`MIN_CALIBRATION_CAPTIONS` captions on, the tokens seen least often in that batch. A
    batch is split into byte tokens once; each token is coded through a cache (separator /
    irrelevant / relevant / anchor) and numpy does the bookkeeping. None of this changes a count.
    """

    def __init__(self, concept_set: ConceptSet, lemmatizer: NounLemmatizer) -> None:
        self.concept_set = concept_set
        self.lemmatizer = lemmatizer
        self.num_classes = len(concept_set)
        self.negatives = [c.negatives for c in concept_set.concepts]
        self._synonyms = [
            (i, frozenset(s)) for i, c in enumerate(concept_set.concepts) for s in c.synonyms
        ]
        self.vocabulary = frozenset().union(*(s for _, s in self._synonyms), *self.negatives)
        self._share = dict.fromkeys(self.vocabulary, 0)
        for _, tokens in self._synonyms:
            for token in tokens:
                self._share[token] += 1
        self._codes: dict[bytes, int] = {_SEPARATOR_TOKEN: _SEP}  # seen raw token -> code
        self._token_lemmas: dict[bytes, frozenset[str]] = {}  # relevant raw token -> its lemmas
        self.calibrated = False
        self._choose_anchors({})

    def __getstate__(self) -> dict:
        return {"concept_set": self.concept_set, "lemmatizer": self.lemmatizer}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["concept_set"], state["lemmatizer"])

    def _choose_anchors(self, seen: dict[str, int]) -> None:
        """Index each synonym under its rarest token: fewest occurrences in ``seen``, then fewest
        synonyms sharing it, then longest (tokens of one or two letters last)."""

        def rarity(token: str) -> tuple:
            return (seen.get(token, 0), len(token) <= 2, self._share[token], -len(token), token)

        anchors: dict[str, list[tuple[int, frozenset[str]]]] = {}
        for cls, tokens in self._synonyms:
            anchor = min(tokens, key=rarity)
            anchors.setdefault(anchor, []).append((cls, tokens - {anchor}))
        self.anchors = anchors
        for token, lemmas in self._token_lemmas.items():
            self._codes[token] = _RELEVANT if lemmas.isdisjoint(anchors) else _ANCHOR

    def token_lemmas(self, token: str) -> frozenset[str]:
        """Lemmas of one raw (cleaned) token that occur in some synonym or negative list."""
        pieces = SPLIT_CONTRACTIONS.get(token, (token,))
        return frozenset(
            lemma for lemma in map(self.lemmatizer.lemmatize, pieces) if lemma in self.vocabulary
        )

    def _learn(self, tokens: Iterable[bytes]) -> None:
        """Code tokens not seen before."""
        for token in set(tokens).difference(self._codes):
            lemmas = self.token_lemmas(token.decode("ascii"))
            if not lemmas:
                self._codes[token] = _IRRELEVANT
                continue
            self._token_lemmas[token] = lemmas
            self._codes[token] = _RELEVANT if lemmas.isdisjoint(self.anchors) else _ANCHOR

    def _calibrate(self, tokens: list[bytes], relevant: np.ndarray) -> None:
        """Re-choose the anchors from how often each lemma occurs at ``relevant`` positions."""
        seen: dict[str, int] = {}
        for token in map(tokens.__getitem__, relevant.tolist()):
            for lemma in self._token_lemmas[token]:
                seen[lemma] = seen.get(lemma, 0) + 1
        self._choose_anchors(seen)
        self.calibrated = True

    def match_lemmas(self, lemmas: set[str] | frozenset[str]) -> set[int]:
        """Classes matched by a caption whose relevant lemma set is ``lemmas``."""
        hits: set[int] = set()
        for lemma in lemmas:
            for cls, rest in self.anchors.get(lemma, ()):
                if cls not in hits and rest <= lemmas and self.negatives[cls].isdisjoint(lemmas):
                    hits.add(cls)
        return hits

    def match(self, caption: str | None) -> list[int]:
        """Sorted class indices that one caption counts for."""
        return [cls for cls, n in enumerate(self.count([caption])) if n]

    def _token_codes(self, tokens: list[bytes]) -> np.ndarray:
        """The code of every token of a batch (caches emptied first when too large, never
        during a batch)."""
        if len(self._codes) >= MAX_CACHED_TOKENS:
            self._codes = {_SEPARATOR_TOKEN: _SEP}
            self._token_lemmas = {}
        codes = np.fromiter(map(self._codes.get, tokens, repeat(-1)), np.int8, len(tokens))
        unseen = np.flatnonzero(codes < 0)
        if unseen.size:
            new = [tokens[i] for i in unseen.tolist()]
            self._learn(new)
            codes[unseen] = [self._codes[t] for t in new]
        return codes

    def count_cleaned(self, cleaned: bytes, weights: Sequence[int] | None = None) -> list[int]:
        """Per-class counts of one batch prepared by :func:`clean_joined`."""
        counts = [0] * self.num_classes
        tokens = cleaned.split()
        codes = self._token_codes(tokens)
        rows = np.cumsum(codes == _SEP)  # caption index of every token
        n_rows = int(rows[-1]) + 1 if rows.size else 0
        relevant = np.flatnonzero((codes == _RELEVANT) | (codes == _ANCHOR))
        if not self.calibrated and n_rows >= MIN_CALIBRATION_CAPTIONS:
            self._calibrate(tokens, relevant)
            codes[relevant] = [self._codes[tokens[i]] for i in relevant.tolist()]
        anchored = np.zeros(n_rows, dtype=bool)
        anchored[rows[codes == _ANCHOR]] = True
        if not anchored.any():
            return counts
        relevant = relevant[anchored[rows[relevant]]]
        token_lemmas = self._token_lemmas
        current, lemmas = -1, set()
        for pos, row in zip(relevant.tolist(), rows[relevant].tolist(), strict=True):
            if row != current:
                if current >= 0:
                    self._add(counts, lemmas, current, weights)
                current, lemmas = row, set()
            lemmas |= token_lemmas[tokens[pos]]
        self._add(counts, lemmas, current, weights)
        return counts

    def _add(
        self, counts: list[int], lemmas: set[str], row: int, weights: Sequence[int] | None
    ) -> None:
        weight = 1 if weights is None else weights[row]
        for cls in self.match_lemmas(lemmas):
            counts[cls] += weight

    def count(
        self, captions: Sequence[str | None], weights: Sequence[int] | None = None
    ) -> list[int]:
        """Per-class counts of a batch of captions (``None`` counts for nothing)."""
        return self.count_cleaned(clean_joined(join_batch(captions)), weights)


def join_batch(captions: Sequence[str | None]) -> str:
    """The captions joined by ``" \\x00 "`` (the separator is a token of its own). A ``\\x00``
    inside a caption becomes a space, as any non-letter does."""
    texts = [c if c is not None else "" for c in captions]
    separator = f" {_SEPARATOR} "
    joined = separator.join(texts)
    if joined.count(_SEPARATOR) != max(len(texts) - 1, 0):
        joined = separator.join(t.replace(_SEPARATOR, " ") for t in texts)
    return joined


def clean_joined(joined: str) -> bytes:
    """Lowercase; every character other than a-z and the separator becomes a space (ASCII bytes).

    Lowercasing first and then mapping every non-ASCII character to a space (one space per
    character) is the authors' ``re.sub('[^a-zA-Z ]', ' ', text.lower())`` done in C.
    """
    return joined.lower().encode("ascii", "replace").translate(_LETTERS_ONLY)


# --- streaming readers -----------------------------------------------------------------------

#: What to do about a damaged caption file (they are downloaded, not made by the workflow).
DAMAGED_HINT = "download it again"


class CaptionReadError(io.FileReadError):
    """A caption file cannot be read: the message starts with the file (and line, where known)
    and says what is wrong and what to do."""


@dataclass(frozen=True)
class CaptionSource:
    """One caption file: ``fmt`` one of :data:`FORMATS` (None = from the suffix); ``column`` the
    caption column/key (None = the first of :data:`DEFAULT_COLUMNS` present)."""

    path: Path
    fmt: str | None = None
    column: str | None = None


@dataclass
class CaptionBatch:
    captions: list[str | None]
    weights: list[int] | None = None


def detect_format(path: str | os.PathLike) -> str:
    """The format of a caption file from its suffix (``.gz`` ignored)."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    suffix = Path(name).suffix
    by_suffix = {
        ".parquet": "parquet",
        ".tsv": "tsv",
        ".csv": "csv",
        ".jsonl": "jsonl",
        ".ndjson": "jsonl",
        ".txt": "txt",
        ".json": "datacard",
    }
    if suffix not in by_suffix:
        raise ValueError(
            f"{path}: cannot tell the caption format from the suffix {suffix!r}; "
            f"use one of {sorted(by_suffix)} or give --format ({', '.join(FORMATS)})"
        )
    return by_suffix[suffix]


def _open_text(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def _pick_column(path: Path, available: Sequence[str], column: str | None) -> str:
    if column is not None:
        if column not in available:
            raise CaptionReadError(
                f"{path}: no column {column!r}; columns are {list(available)[:20]}; "
                "choose the caption column with --column"
            )
        return column
    for name in DEFAULT_COLUMNS:
        if name in available:
            return name
    raise CaptionReadError(
        f"{path}: none of the default caption columns {list(DEFAULT_COLUMNS)} is "
        f"present (columns: {list(available)[:20]}); choose one with --column"
    )


def count_rows(source: CaptionSource) -> int | None:
    """Number of captions when known without reading the data (parquet metadata), else None."""
    if (source.fmt or detect_format(source.path)) == "parquet":
        path = Path(source.path)
        with _reading(path, "parquet"), io.open_parquet(path, hint=DAMAGED_HINT) as pf:
            return pf.metadata.num_rows
    return None


def iter_caption_batches(
    source: CaptionSource, batch_size: int = DEFAULT_BATCH_SIZE
) -> Iterator[CaptionBatch]:
    """Stream a caption file in batches of at most ``batch_size`` captions."""
    path = Path(source.path)
    if not path.is_file():
        raise FileNotFoundError(f"caption file {path} not found")
    fmt = source.fmt or detect_format(path)
    readers = {
        "parquet": _parquet_batches,
        "tsv": _delimited_batches,
        "csv": _delimited_batches,
        "jsonl": _jsonl_batches,
        "txt": _text_batches,
        "datacard": _datacard_batches,
    }
    if fmt not in readers:
        raise ValueError(f"unknown caption format {fmt!r}; use one of {', '.join(FORMATS)}")
    with _reading(path, fmt):
        yield from readers[fmt](path, fmt, source.column, batch_size)


@contextlib.contextmanager
def _reading(path: Path, fmt: str) -> Iterator[None]:
    """Turn any error about the content of ``path`` raised in the block into
    :func:`read_error`'s :class:`CaptionReadError`."""
    try:
        yield
    except CaptionReadError:
        raise
    except Exception as exc:
        error = read_error(path, fmt, exc)
        if error is None:
            raise
        raise error from None


def read_error(path: Path, fmt: str, exc: BaseException) -> CaptionReadError | None:
    """The :class:`CaptionReadError` for an error raised while reading ``path`` (of format
    ``fmt``): what is wrong with the file, named, and what to do. None for errors that are not
    about the file's content (the file vanished, no permission: those keep their own message)."""
    import pyarrow as pa

    gz = path.name.lower().endswith(".gz")
    if isinstance(exc, io.FileReadError):
        return CaptionReadError(str(exc))
    if isinstance(exc, EOFError):
        what = "truncated gzip stream" if gz else "the file ends unexpectedly"
        return CaptionReadError(f"{path}: {what} (the file is incomplete; {DAMAGED_HINT})")
    if isinstance(exc, (gzip.BadGzipFile, zlib.error)):
        return CaptionReadError(
            f"{path}: corrupt gzip stream ({exc}); the file is damaged or not gzip-compressed: "
            f"{DAMAGED_HINT}, or drop the .gz suffix if it is plain text"
        )
    if isinstance(exc, csv.Error):
        return CaptionReadError(f"{path}: not a readable table ({exc}); {DAMAGED_HINT}")
    if isinstance(exc, (FileNotFoundError, IsADirectoryError, PermissionError)):
        return None
    if fmt == "parquet" and isinstance(exc, (pa.ArrowException, OSError)):
        return CaptionReadError(str(io.parquet_read_error(path, exc, DAMAGED_HINT)))
    if isinstance(exc, OSError):
        return CaptionReadError(f"{path}: cannot read the file ({exc}); {DAMAGED_HINT}")
    if isinstance(exc, ValueError):
        text = str(exc).strip() or type(exc).__name__
        return CaptionReadError(text if text.startswith(str(path)) else f"{path}: {text}")
    return None


def _parquet_batches(path: Path, fmt: str, column: str | None, batch_size: int):
    import pyarrow as pa

    # a buffered stream without pre-buffering: pyarrow's default caches what it has read
    with io.open_parquet(path, hint=DAMAGED_HINT, buffer_size=1 << 20, pre_buffer=False) as pf:
        name = _pick_column(path, pf.schema_arrow.names, column)
        kind = pf.schema_arrow.field(name).type
        if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
            raise CaptionReadError(
                f"{path}: column {name!r} holds {kind}, not text (expected the caption text); "
                "choose the caption column with --column"
            )
        for batch in pf.iter_batches(batch_size=batch_size, columns=[name]):
            yield CaptionBatch(batch.column(0).to_pylist())


def _delimited_batches(path: Path, fmt: str, column: str | None, batch_size: int):
    csv.field_size_limit(sys.maxsize)
    options = {"delimiter": "\t", "quoting": csv.QUOTE_NONE} if fmt == "tsv" else {}
    with _open_text(path) as fh:
        reader = csv.reader(fh, **options)
        header = next(reader, None)
        if header is None:
            return
        index = header.index(_pick_column(path, header, column))
        batch: list[str | None] = []
        try:
            for row in reader:
                batch.append(row[index] if index < len(row) else None)
                if len(batch) == batch_size:
                    yield CaptionBatch(batch)
                    batch = []
        except csv.Error as exc:
            raise CaptionReadError(
                f"{path}:{reader.line_num}: not a readable {fmt} line ({exc}); {DAMAGED_HINT}"
            ) from None
        if batch:
            yield CaptionBatch(batch)


def _jsonl_batches(path: Path, fmt: str, column: str | None, batch_size: int):
    key = None
    batch: list[str | None] = []
    with _open_text(path) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CaptionReadError(
                    f"{path}:{lineno}: not a JSON line ({exc.msg} at column {exc.colno}); "
                    "each line must be one JSON object or string"
                ) from None
            if isinstance(obj, dict):
                if key is None:
                    key = _pick_column(path, list(obj), column)
                value = obj.get(key)
            else:
                value = obj
            batch.append(value if isinstance(value, str) else None)
            if len(batch) == batch_size:
                yield CaptionBatch(batch)
                batch = []
    if batch:
        yield CaptionBatch(batch)


def _text_batches(path: Path, fmt: str, column: str | None, batch_size: int):
    with _open_text(path) as fh:
        batch: list[str | None] = []
        for line in fh:
            batch.append(line.rstrip("\r\n"))
            if len(batch) == batch_size:
                yield CaptionBatch(batch)
                batch = []
        if batch:
            yield CaptionBatch(batch)


def _datacard_batches(path: Path, fmt: str, column: str | None, batch_size: int):
    captions: list[str | None] = []
    weights: list[int] = []
    with _open_text(path) as fh:
        for entry, count in iter_json_object(fh, where=str(path)):
            if isinstance(count, bool) or not isinstance(count, int) or count < 0:
                raise CaptionReadError(
                    f"{path}: entry {entry!r} has count {count!r}; a MetaCLIP "
                    "datacard maps each entry to a non-negative integer count"
                )
            captions.append(entry)
            weights.append(count)
            if len(captions) == batch_size:
                yield CaptionBatch(captions, weights)
                captions, weights = [], []
    if captions:
        yield CaptionBatch(captions, weights)


def iter_json_object(
    fh: _io.TextIOBase, where: str = "json", chunk_chars: int = 1 << 20
) -> Iterator[tuple[str, object]]:
    """Stream the (key, value) pairs of a top-level JSON object without loading the whole file."""
    decoder = json.JSONDecoder()
    buf, pos, eof = "", 0, False

    def fill() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        more = fh.read(chunk_chars)
        eof = not more
        buf, pos = buf[pos:] + more, 0
        return bool(more)

    def skip_space() -> str:
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n":
                pos += 1
            if pos < len(buf):
                return buf[pos]
            if not fill():
                raise ValueError(f"{where}: unexpected end of file inside the JSON object")

    def value():
        nonlocal pos
        while True:
            try:
                obj, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if fill():
                    continue
                raise ValueError(
                    f"{where}: invalid JSON ({exc.msg} at character {exc.pos} of the current chunk)"
                ) from None
            # a number or literal ends only at a delimiter: it may continue in the next chunk
            scalar = not isinstance(obj, (str, list, dict))
            if scalar and (end == len(buf) or buf[end] not in " \t\r\n,}]") and fill():
                continue
            pos = end
            return obj

    fill()
    if skip_space() != "{":
        raise ValueError(f"{where}: expected a JSON object mapping entries to counts")
    pos += 1
    if skip_space() == "}":
        return
    while True:
        skip_space()
        key = value()
        if not isinstance(key, str):
            raise ValueError(f"{where}: expected a string key, got {key!r}")
        if skip_space() != ":":
            raise ValueError(f"{where}: expected ':' after key {key!r}")
        pos += 1
        skip_space()
        yield key, value()
        sep = skip_space()
        pos += 1
        if sep == "}":
            return
        if sep != ",":
            raise ValueError(f"{where}: expected ',' or '}}' after the value of {key!r}")


# --- the estimator ---------------------------------------------------------------------------


@dataclass
class FrequencyResult:
    """Per-class counts in class order, with what was read."""

    names: list[str]
    counts: np.ndarray
    captions: int = 0
    seconds: float = 0.0

    def sorted_order(self) -> np.ndarray:
        """Class indices by count, descending; ties keep class order (the authors' sorted files)."""
        return np.argsort(-self.counts, kind="stable")


_WORKER_MATCHER: ConceptMatcher | None = None


def _init_worker(matcher: ConceptMatcher) -> None:
    global _WORKER_MATCHER
    _WORKER_MATCHER = matcher


def _count_in_worker(joined: str, weights: list[int] | None) -> list[int]:
    assert _WORKER_MATCHER is not None
    return _WORKER_MATCHER.count_cleaned(clean_joined(joined), weights)


def estimate_frequency(
    sources: Iterable[CaptionSource],
    matcher: ConceptMatcher,
    *,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: bool = True,
) -> FrequencyResult:
    """Count every class of ``matcher`` over all captions of ``sources`` (summed over files).

    ``workers > 1`` runs batches in that many forked processes; the result does not depend on it.
    The progress bar shows captions and captions/s.
    """
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    sources = list(sources)
    missing = [str(s.path) for s in sources if not Path(s.path).is_file()]
    if missing:
        raise FileNotFoundError(f"caption file(s) not found: {', '.join(missing)}")
    for source in sources:
        if source.fmt is None:
            detect_format(source.path)
    counts = np.zeros(matcher.num_classes, dtype=np.int64)
    start, n = time.perf_counter(), 0
    pool = None
    if workers > 1:  # forked before any reader starts threads
        pool = cf.ProcessPoolExecutor(
            workers,
            mp_context=multiprocessing.get_context("fork"),
            initializer=_init_worker,
            initargs=(matcher,),
        )
    bar = None
    try:
        totals = [count_rows(s) for s in sources]
        total = sum(totals) if all(t is not None for t in totals) else None
        bar = tqdm(
            total=total,
            unit=" captions",
            unit_scale=True,
            disable=not progress,
            desc="concept frequency",
            mininterval=1.0,
            smoothing=0.1,
        )
        pending: deque[tuple[cf.Future, int]] = deque()

        def collect(future: cf.Future, size: int) -> None:
            nonlocal counts
            counts += np.asarray(future.result(), dtype=np.int64)
            bar.update(size)

        for source in sources:
            for batch in iter_caption_batches(source, batch_size):
                n += len(batch.captions)
                if pool is None:
                    counts += np.asarray(matcher.count(batch.captions, batch.weights), np.int64)
                    bar.update(len(batch.captions))
                    continue
                pending.append(
                    (
                        pool.submit(_count_in_worker, join_batch(batch.captions), batch.weights),
                        len(batch.captions),
                    )
                )
                while len(pending) >= 2 * workers:
                    collect(*pending.popleft())
        while pending:
            collect(*pending.popleft())
    except BrokenProcessPool:
        raise RuntimeError(
            "a concept-frequency worker process died (out of memory?); "
            "retry with fewer --workers or a smaller --batch-size"
        ) from None
    finally:
        if bar is not None:
            bar.close()
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    return FrequencyResult(matcher.concept_set.names, counts, n, time.perf_counter() - start)


def sorted_path(out: str | os.PathLike) -> Path:
    """Where the count-sorted copy of ``out`` goes: ``OUT.tsv`` -> ``OUT.sorted.tsv``."""
    out = Path(out)
    return out.with_name(f"{out.stem}.sorted{out.suffix or '.tsv'}")


def write_frequency_files(out: str | os.PathLike, result: FrequencyResult) -> tuple[Path, Path]:
    """Write ``out`` (class order, like the authors' ``_ori`` files) and :func:`sorted_path`
    (count-descending, ties in class order, like their files without ``_ori``)."""
    io.write_frequency(out, result.names, result.counts)
    order = result.sorted_order()
    io.write_frequency(sorted_path(out), [result.names[i] for i in order], result.counts[order])
    return Path(out), sorted_path(out)
