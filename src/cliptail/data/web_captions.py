"""Web caption lists (YFCC-15M, CC-12M) -> the "-Cls" training sets, and the phrase matcher.

**Matching rule** (:class:`PhraseMatcher`): a caption contains a phrase when the lower-cased phrase
occurs in the lower-cased caption with a word boundary on both sides, i.e. the regex
``(?<!\\w)<escaped phrase>(?!\\w)`` finds it (case-insensitive matching). Phrases may overlap: "sea
lion" contains "lion". A caption matches a class when it contains one of the class's phrases.
(The authors built ``\\b(p1|p2|...)\\b`` without escaping; escaping only differs for phrases with
regex characters, such as the ``.`` of "st. bernard", which their pattern let match any character.)
To stay fast on hundreds of millions of captions, a phrase is only tried when all of its word
tokens (``\\w+``, lower case) occur in the caption.

**-Cls subsets** (:func:`read_web_cls`): the phrases of each ImageNet class are its WordNet 3.0
lemmas (``phrase_source="wordnet"``, what the authors' script used: ``lemma.name()`` with ``_`` as
space) or the lower-case synonyms of ``descriptors_imagenet_synset.json``
(``phrase_source="descriptors"``). A caption matching k classes gives, with ``ambiguous="all"``,
k rows (multi-label, one per class; the authors' script and docs/study.md), with ``ambiguous="drop"``
no row at all (only captions matching exactly one class are kept).

**Finding on the released frequencies** (``tests/unit/test_src_web_captions.py``):
``class_frequency_cc12m_cls_imagenet_ori.txt`` is multi-label over WordNet lemmas (e.g. "crane"
names two synsets and both classes have 5,152 images); ``class_frequency_yfcc15m_cls_imagenet_ori
.txt`` is zero for exactly the 38 classes all of whose WordNet lemmas also match another class
("crane", "sea lion" containing "lion", ...), which only ``ambiguous="drop"`` produces. Hence the
workflow defaults: YFCC-15M-Cls ``drop``, CC-12M-Cls ``all``, both with WordNet lemmas.

Rows are in class order, and within a class in caption-list order (as the authors' script: one
block of rows per wnid). Output columns: ``image`` (the list's image column: a path relative to
the dataset's image root, or a key), ``label``, ``caption`` (carriage returns, newlines and tabs
turned into spaces), ``wnid``, ``row`` (position in the caption list), ``source``. Unusable rows
(invalid JSON line, no image, no or empty caption) are skipped and counted in the report.

Input formats, by extension: ``.jsonl``/``.json`` (one JSON object per line), ``.tsv``, ``.csv``,
``.parquet``; columns ``image_column`` / ``caption_column`` (the authors' YFCC-15M jsonl uses
``filepath`` and ``caption``).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

_WORD = re.compile(r"\w+")
_CONTROL_SPACE = re.compile(r"[\r\n\t]")
FORMATS = {".jsonl": "jsonl", ".json": "jsonl", ".tsv": "tsv", ".csv": "csv", ".parquet": "parquet"}
BATCH_SIZE = 100_000


class PhraseMatcher:
    """Which classes' phrases a caption contains (rule in the module docstring).

    ``phrases[c]`` lists the phrases of class ``c`` (class positions 0..C-1). Phrases without a
    word character cannot match and are ignored.
    """

    def __init__(self, phrases: Sequence[Sequence[str]]):
        self.num_classes = len(phrases)
        self._classes: list[int] = []
        self._tokens: list[frozenset[str]] = []
        self._patterns: list[re.Pattern] = []
        self._by_token: dict[str, list[int]] = {}
        for c, class_phrases in enumerate(phrases):
            for phrase in dict.fromkeys(p.lower() for p in class_phrases):
                tokens = _WORD.findall(phrase)
                if not tokens:
                    continue
                pid = len(self._classes)
                self._classes.append(c)
                self._tokens.append(frozenset(tokens))
                self._patterns.append(re.compile(r"(?<!\w)" + re.escape(phrase) + r"(?!\w)"))
                key = max(tokens, key=len)  # a long token is rarely present: few candidates
                self._by_token.setdefault(key, []).append(pid)

    def phrase_count(self) -> int:
        return len(self._patterns)

    def classes(self, caption: str) -> list[int]:
        """Sorted positions of the classes whose phrases ``caption`` contains."""
        text = caption.lower()
        tokens = set(_WORD.findall(text))
        found: set[int] = set()
        for token in tokens:
            for pid in self._by_token.get(token, ()):
                c = self._classes[pid]
                if (
                    c not in found
                    and self._tokens[pid] <= tokens
                    and self._patterns[pid].search(text)
                ):
                    found.add(c)
        return sorted(found)

    def phrases_found(self, caption: str) -> list[tuple[int, str]]:
        """Every (class, phrase) contained in ``caption`` (for inspection and tests)."""
        text = caption.lower()
        tokens = set(_WORD.findall(text))
        out = []
        for token in tokens:
            for pid in self._by_token.get(token, ()):
                if self._tokens[pid] <= tokens and self._patterns[pid].search(text):
                    out.append((self._classes[pid], self._patterns[pid].pattern))
        return sorted(out)


def clean_caption(text: str) -> str:
    """Carriage returns, newlines and tabs become spaces (as the authors' tsv writer did)."""
    return _CONTROL_SPACE.sub(" ", text)


# --- reading caption lists ------------------------------------------------------------------------


def caption_format(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise ValueError(
            f"{path}: unknown caption-list format {suffix!r}; use one of "
            f"{sorted(FORMATS)} (jsonl = one JSON object per line)"
        )
    return FORMATS[suffix]


def iter_caption_batches(
    path: str | os.PathLike,
    image_column: str,
    caption_column: str,
    batch_size: int = BATCH_SIZE,
    skipped: Counter | None = None,
) -> Iterator[tuple[list[int], list[str], list[str]]]:
    """Batches ``(row positions, images, captions)`` of the usable rows of a caption list.

    Unusable rows are counted in ``skipped`` under ``bad_json``, ``missing_image`` or
    ``empty_caption``. A missing column is a clear error.
    """
    skipped = Counter() if skipped is None else skipped
    fmt = caption_format(path)
    offset = 0
    for images, captions in _raw_batches(
        Path(path), fmt, image_column, caption_column, batch_size, skipped
    ):
        rows, keep_images, keep_captions = [], [], []
        for i, (image, caption) in enumerate(zip(images, captions, strict=True)):
            if not isinstance(image, str) or not image:
                skipped["missing_image"] += 1
            elif not isinstance(caption, str) or not caption.strip():
                skipped["empty_caption"] += 1
            else:
                rows.append(offset + i)
                keep_images.append(image)
                keep_captions.append(caption)
        offset += len(images)
        yield rows, keep_images, keep_captions


def _require(path: Path, columns: Sequence[str], wanted: Sequence[str]) -> None:
    missing = [c for c in wanted if c not in columns]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {missing} (found {list(columns)[:10]}); set the "
            "image/caption column names of this source in the config"
        )


def _raw_batches(
    path: Path, fmt: str, image_column: str, caption_column: str, batch_size: int, skipped: Counter
) -> Iterator[tuple[list, list]]:
    wanted = [image_column, caption_column]
    if fmt == "parquet":
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        _require(path, pf.schema_arrow.names, wanted)
        for batch in pf.iter_batches(batch_size=batch_size, columns=wanted):
            yield batch.column(0).to_pylist(), batch.column(1).to_pylist()
    elif fmt in ("tsv", "csv"):
        sep = "\t" if fmt == "tsv" else ","
        header = pd.read_csv(path, sep=sep, nrows=0).columns
        _require(path, header, wanted)
        for chunk in pd.read_csv(
            path, sep=sep, usecols=wanted, dtype=str, keep_default_na=False, chunksize=batch_size
        ):
            yield chunk[image_column].tolist(), chunk[caption_column].tolist()
    else:
        images: list = []
        captions: list = []
        checked = False
        with open(path, encoding="utf-8") as fh:
            for line in fh:
                if not line.strip():
                    continue
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError:
                    obj = None
                if not isinstance(obj, dict):
                    skipped["bad_json"] += 1
                    continue
                if not checked:
                    _require(path, list(obj), wanted)
                    checked = True
                images.append(obj.get(image_column))
                captions.append(obj.get(caption_column))
                if len(images) >= batch_size:
                    yield images, captions
                    images, captions = [], []
        if images:
            yield images, captions


# --- -Cls subsets ---------------------------------------------------------------------------------

_WORKER_MATCHER: PhraseMatcher | None = None


def _init_worker(matcher: PhraseMatcher) -> None:
    global _WORKER_MATCHER
    _WORKER_MATCHER = matcher


def _match_batch(captions: list[str]) -> list[list[int]]:
    return [_WORKER_MATCHER.classes(c) for c in captions]


PHRASE_SOURCES = ("wordnet", "descriptors")
AMBIGUOUS_POLICIES = ("all", "drop")


def class_phrases(
    wnids: Sequence[str],
    source: str = "wordnet",
    *,
    metadata_root: str | os.PathLike | None = None,
    wordnet_dir: str | os.PathLike | None = None,
) -> dict[str, list[str]]:
    """wnid -> phrases: WordNet lemmas (``wordnet``) or the released synonyms (``descriptors``)."""
    if source == "wordnet":
        from cliptail.data.wordnet import read_noun_synsets

        return {w: list(s.lemmas) for w, s in read_noun_synsets(wnids, wordnet_dir).items()}
    if source == "descriptors":
        from cliptail.data.metadata import imagenet_synonyms

        if metadata_root is None:
            raise ValueError("phrase_source 'descriptors' needs the metadata folder")
        synonyms = imagenet_synonyms(metadata_root)
        return {w: synonyms[w] for w in wnids}
    raise ValueError(f"phrase source must be one of {list(PHRASE_SOURCES)}, got {source!r}")


def _matcher(wnids: Sequence[str], phrases: dict[str, list[str]]) -> PhraseMatcher:
    missing = [w for w in wnids if w not in phrases]
    if missing:
        raise ValueError(f"no phrases for {len(missing)} classes (first: {missing[:3]})")
    return PhraseMatcher([phrases[w] for w in wnids])


def _matched_batches(
    path: str | os.PathLike,
    matcher: PhraseMatcher,
    *,
    image_column: str,
    caption_column: str,
    processes: int,
    batch_size: int,
    progress: bool,
    skipped: Counter,
) -> Iterator[tuple[list[int], list[str], list[str], list[list[int]]]]:
    """Batches ``(rows, images, captions, matched classes)`` of the usable rows of a list."""
    pool = (
        multiprocessing.get_context("fork").Pool(processes, _init_worker, (matcher,))
        if processes > 1
        else None
    )
    _init_worker(matcher)
    try:
        batches = iter_caption_batches(path, image_column, caption_column, batch_size, skipped)
        bar = tqdm(
            desc=f"matching {Path(path).name}", unit="cap", disable=not progress, mininterval=5
        )
        chunk = max(1, batch_size // max(processes, 1) // 4)
        for rows, batch_images, batch_captions in batches:
            if pool is not None:
                parts = [
                    batch_captions[i : i + chunk] for i in range(0, len(batch_captions), chunk)
                ]
                matched = [m for part in pool.map(_match_batch, parts) for m in part]
            else:
                matched = _match_batch(batch_captions)
            yield rows, batch_images, batch_captions, matched
            bar.update(len(batch_images))
        bar.close()
    finally:
        if pool is not None:
            pool.close()
            pool.join()


def read_web_cls(
    path: str | os.PathLike,
    classes: pd.DataFrame,
    phrases: dict[str, list[str]],
    *,
    ambiguous: str = "all",
    image_column: str = "filepath",
    caption_column: str = "caption",
    source: str = "web",
    processes: int = 1,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """The -Cls manifest of a caption list and its report (see the module docstring).

    ``phrases``: wnid -> phrases (:func:`class_phrases`) for every class of ``classes``.
    """
    if ambiguous not in AMBIGUOUS_POLICIES:
        raise ValueError(f"ambiguous must be one of {list(AMBIGUOUS_POLICIES)}, got {ambiguous!r}")
    wnids = classes["id"].tolist()
    matcher = _matcher(wnids, phrases)
    skipped: Counter = Counter()
    pairs_row, pairs_label, images, captions = [], [], {}, {}
    usable = dropped = 0
    for rows, batch_images, batch_captions, matched in _matched_batches(
        path,
        matcher,
        image_column=image_column,
        caption_column=caption_column,
        processes=processes,
        batch_size=batch_size,
        progress=progress,
        skipped=skipped,
    ):
        usable += len(rows)
        for row, image, caption, labels in zip(
            rows, batch_images, batch_captions, matched, strict=True
        ):
            if len(labels) > 1 and ambiguous == "drop":
                dropped += 1
            elif labels:
                images[row] = image
                captions[row] = caption
                pairs_row.extend([row] * len(labels))
                pairs_label.extend(labels)
    df = pd.DataFrame(
        {"row": pd.array(pairs_row, dtype="int64"), "label": pd.array(pairs_label, dtype="int64")}
    )
    df = df.sort_values(["label", "row"], kind="stable").reset_index(drop=True)
    df["image"] = df["row"].map(images)
    df["caption"] = df["row"].map(captions).map(clean_caption)
    df["wnid"] = [wnids[i] for i in df["label"]]
    df["source"] = source
    counts = df["label"].value_counts()
    report = {
        "source": str(path),
        "rows_read": usable + sum(skipped.values()),
        "rows_usable": usable,
        "skipped": {k: int(skipped[k]) for k in ("bad_json", "missing_image", "empty_caption")},
        "captions_matched": len(images),
        "ambiguous": ambiguous,
        "captions_dropped_ambiguous": dropped,
        "manifest_rows": len(df),
        "multi_label_captions": int((df.groupby("row").size() > 1).sum()) if len(df) else 0,
        "classes_nonempty": int(counts.size),
        "phrases": matcher.phrase_count(),
    }
    return df[["image", "label", "caption", "wnid", "row", "source"]], report


# --- whole caption lists (E5b) --------------------------------------------------------------------

#: The class appended after the ImageNet classes of a whole caption list: captions naming none.
NO_CLASS_ID = "none"
NO_CLASS_NAME = "no ImageNet class"


def with_no_class(classes: pd.DataFrame) -> pd.DataFrame:
    """``classes`` with the :data:`NO_CLASS_ID` class appended (index C)."""
    extra = pd.DataFrame({"index": [len(classes)], "id": [NO_CLASS_ID], "name": [NO_CLASS_NAME]})
    return pd.concat([classes[["index", "id", "name"]], extra], ignore_index=True)


def read_web_full(
    path: str | os.PathLike,
    classes: pd.DataFrame,
    phrases: dict[str, list[str]],
    *,
    image_column: str = "filepath",
    caption_column: str = "caption",
    source: str = "web",
    processes: int = 1,
    batch_size: int = BATCH_SIZE,
    progress: bool = True,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """The whole caption list as a manifest (one row per usable caption, list order), its classes
    and report: what CLIP trains on in E5b (YFCC-15M rather than YFCC-15M-Cls).

    Captions are matched to the classes with the -Cls rule (:class:`PhraseMatcher`, the same
    ``phrases``). ``matched`` holds every class a caption names (sorted; empty when none);
    ``label`` is the first of them, or the appended class :data:`NO_CLASS_ID` (index C of the
    returned classes) when it names none. The dataset's frequency
    (:func:`cliptail.data.manifest.frequency_counts`) counts every match: a caption naming k
    classes counts once for each, which is the ImageNet-concept frequency of the list.
    """
    wnids = classes["id"].tolist()
    matcher = _matcher(wnids, phrases)
    none = len(wnids)
    skipped: Counter = Counter()
    out_rows: list[int] = []
    out_images: list[str] = []
    out_captions: list[str] = []
    out_matched: list[list[int]] = []
    for rows, batch_images, batch_captions, matched in _matched_batches(
        path,
        matcher,
        image_column=image_column,
        caption_column=caption_column,
        processes=processes,
        batch_size=batch_size,
        progress=progress,
        skipped=skipped,
    ):
        out_rows.extend(rows)
        out_images.extend(batch_images)
        out_captions.extend(clean_caption(c) for c in batch_captions)
        out_matched.extend(matched)
    labels = [m[0] if m else none for m in out_matched]
    all_classes = with_no_class(classes)
    df = pd.DataFrame(
        {
            "image": out_images,
            "label": pd.array(labels, dtype="int64"),
            "caption": out_captions,
            "wnid": [all_classes["id"].iat[i] for i in labels],
            "row": pd.array(out_rows, dtype="int64"),
            "source": source,
            "matched": out_matched,
        }
    )
    n_matched = np.array([len(m) for m in out_matched], dtype=np.int64)
    report = {
        "source": str(path),
        "rows_read": len(df) + sum(skipped.values()),
        "rows_usable": len(df),
        "skipped": {k: int(skipped[k]) for k in ("bad_json", "missing_image", "empty_caption")},
        "captions_matched": int((n_matched > 0).sum()),
        "captions_no_class": int((n_matched == 0).sum()),
        "multi_label_captions": int((n_matched > 1).sum()),
        "class_matches": int(n_matched.sum()),
        "manifest_rows": len(df),
        "frequency": "every match: a caption naming k ImageNet classes counts once for each; "
        f"the last class ({NO_CLASS_ID!r}) counts the captions naming none",
        "phrases": matcher.phrase_count(),
    }
    return df, all_classes, report
