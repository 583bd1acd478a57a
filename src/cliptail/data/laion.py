"""LAION-400M metadata and the LAIONet pipeline (docs/study.md section 4).

LAION-400M metadata is 32 parquet parts ``part-0000k-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000
.snappy.parquet`` (about 50 GB in all) with the columns ``SAMPLE_ID, URL, TEXT, HEIGHT, WIDTH,
LICENSE, NSFW, similarity`` (``similarity``: LAION's CLIP image-text score, renamed
``laion_similarity`` here). A row is addressed by ``laion_index = part * 100,000,000 + row`` as in
the LAIONet code. LAION publishes no checksums for the parts; sha256 can be pinned per part in the
config.

LAIONet, in four steps:

1. **Lemma matching** (:func:`match_part`), by default as the LAIONet authors' code
   (``match="authors"``, Shirali & Hardt's ``label_laion.py``): the lemmas of each of the 1000
   ImageNet synsets are its WordNet 3.0 lemmas (:mod:`cliptail.data.wordnet`; spaces for
   underscores, original case); a lemma is *usable* when no other of the 1000 synsets has
   exactly the same string (:func:`authors_lemmas`). A caption contains a lemma when ``" " +
   lemma + " "`` is a substring of ``" " + caption + " "`` after every ASCII punctuation
   character of the caption (``string.punctuation``) became a space (:class:`AuthorsMatcher`):
   case-sensitive, whole words only through the spaces, a lemma with punctuation of its own
   ("St. Bernard") never matches. A caption containing usable lemmas of **several** synsets is
   **dropped** (the authors' "drop samples with multiple labels"; counted in the report as
   ``captions_ambiguous``): one row per kept caption. ``match="words"`` (cliptail's former
   rule) keeps the lower-case uniqueness of :func:`unique_lemmas` and matches with
   :class:`cliptail.data.web_captions.PhraseMatcher` (case-insensitive, word boundaries), one row
   per (caption, matched synset); step 3 then labels an image with several synsets by the
   highest similarity.
2. **Caption-to-definition similarity** (:class:`DefinitionScorer`): cosine similarity between
   the CLIP text embeddings (open_clip ``ViT-B-32``) of the caption and of the synset's query
   ``"<name> which is <definition>"`` (:attr:`NounSynset.name_definition`).
3. **Filter** (:func:`filter_laionet`): drop rows whose ``NSFW`` is not ``"UNLIKELY"`` (LAION's
   NSFW tag), keep rows with similarity ``> threshold`` (0.7; strict, as the released code), and
   give every image one label: the synset with the highest similarity among those left (ties:
   first in class order; only ``match="words"`` leaves an image with several synsets). Rows are
   sorted by ``laion_index``.
4. **Download** (:func:`download_images`): img2dataset fetches the images (256 px, keep ratio,
   only shrinking, no re-encoding) into webdataset shards ``00000.tar, ...`` with one
   ``00000.parquet`` per shard listing every URL's status.

Instead of steps 1-3, the authors' released LAIONet table (a parquet indexed by ``laion_index``
with ``URL, TEXT, wnid, text_to_name_def_wnid_similarity``, e.g.
``laionet_thresh07_success3256561.parquet``) can be used: :func:`read_authors_laionet`.

The manifest (:func:`read_laionet_shards`): one row per successfully downloaded image, in
``laion_index`` order (the order the released subsets were sampled in): ``image =
"<shard>.tar/<key>"`` (the webdataset sample ``<key>.jpg`` in that shard, relative to the shard
folder), ``label``, ``caption`` (the LAION text, carriage returns/newlines/tabs as spaces),
``wnid``, ``similarity``, ``laion_index``, ``url``, ``source = "laion400m"``. Failed downloads are
counted per status and error in the report.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import string
import subprocess
import sys
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from cliptail import io
from cliptail.data.download import download
from cliptail.data.web_captions import PhraseMatcher, clean_caption
from cliptail.data.wordnet import NounSynset

NUM_PARTS = 32
PART_TEMPLATE = "part-{part:05d}-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000.snappy.parquet"
DEFAULT_PARTS_URL = "https://the-eye.eu/public/AI/cah/laion400m-met-release/laion400m-meta/"
INDEX_SHIFT = 100_000_000
SAFE_NSFW = "UNLIKELY"
DEFAULT_THRESHOLD = 0.7
#: Step-1 matching rules: the LAIONet authors' (default) and cliptail's former word matching.
MATCH_RULES = ("authors", "words")
AUTHORS_SIMILARITY = "text_to_name_def_wnid_similarity"
#: Columns of a candidate table (steps 1-3 output, img2dataset input).
CANDIDATE_COLUMNS = ("laion_index", "URL", "TEXT", "wnid", "similarity", "NSFW", "LICENSE")
#: Columns img2dataset copies into its per-shard parquet files.
SAVED_COLUMNS = ("laion_index", "wnid", "similarity", "NSFW", "LICENSE")
DEFAULT_IMG2DATASET = {
    "image_size": 256,
    "resize_mode": "keep_ratio",
    "resize_only_if_bigger": True,
    "skip_reencode": True,
    "processes_count": 16,
    "thread_count": 64,
    "retries": 10,
    "timeout": 10,
    "number_sample_per_shard": 10000,
}


def part_name(part: int) -> str:
    if not 0 <= part < NUM_PARTS:
        raise ValueError(f"LAION-400M has parts 0..{NUM_PARTS - 1}, not {part}")
    return PART_TEMPLATE.format(part=part)


def download_part(
    part: int,
    dest_dir: str | os.PathLike,
    base_url: str = DEFAULT_PARTS_URL,
    sha256: str | None = None,
    **download_options,
) -> Path:
    """Download metadata part ``part`` into ``dest_dir`` (resumable; sha256-checked if given)."""
    name = part_name(part)
    return download(
        base_url.rstrip("/") + "/" + name, Path(dest_dir) / name, sha256, **download_options
    )


# --- step 1: lemma matching -----------------------------------------------------------------------


def unique_lemmas(synsets: Mapping[str, NounSynset]) -> dict[str, list[str]]:
    """wnid -> its lemmas (lower case) that belong to no other synset of ``synsets``."""
    owners: dict[str, set[str]] = {}
    for wnid, synset in synsets.items():
        for lemma in synset.lemmas:
            owners.setdefault(lemma.lower(), set()).add(wnid)
    return {
        wnid: [
            lemma
            for lemma in dict.fromkeys(name.lower() for name in synset.lemmas)
            if owners[lemma] == {wnid}
        ]
        for wnid, synset in synsets.items()
    }


def read_part(path: str | os.PathLike, part: int) -> pd.DataFrame:
    """One LAION-400M metadata part with ``laion_index``; LAION's score as ``laion_similarity``."""
    df = pd.read_parquet(path)
    missing = [c for c in ("URL", "TEXT") if c not in df.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}; is it a LAION-400M metadata part?")
    df = df.rename(columns={"similarity": "laion_similarity"}).reset_index(drop=True)
    df.insert(0, "laion_index", np.arange(len(df), dtype=np.int64) + part * INDEX_SHIFT)
    return df


def authors_lemmas(synsets: Mapping[str, NounSynset]) -> dict[str, list[str]]:
    """wnid -> its lemmas (original case) whose exact string belongs to no other synset of
    ``synsets`` (the authors' ``lemma2wnid(unique_in_ilsvrc_ignored_empty_wnids)``)."""
    owners: Counter = Counter(
        lemma for synset in synsets.values() for lemma in dict.fromkeys(synset.lemmas)
    )
    return {
        wnid: [lemma for lemma in dict.fromkeys(synset.lemmas) if owners[lemma] == 1]
        for wnid, synset in synsets.items()
    }


_PUNCTUATION_TO_SPACE = str.maketrans(string.punctuation, " " * len(string.punctuation))


class AuthorsMatcher:
    """The LAIONet authors' lemma test (module docstring, step 1): ``" " + lemma + " "`` in
    ``" " + caption + " "`` with the caption's ASCII punctuation turned into spaces.

    ``phrases[c]`` lists the lemmas of class ``c``. Equivalent fast form: the caption, split at
    single spaces, holds the lemma's space-separated words as a contiguous run (a lemma word is
    never empty, so runs of spaces and other whitespace behave as in the substring test).
    """

    def __init__(self, phrases: Sequence[Sequence[str]]):
        self.num_classes = len(phrases)
        self._by_first: dict[str, list[tuple[tuple[str, ...], int]]] = {}
        for c, class_phrases in enumerate(phrases):
            for phrase in dict.fromkeys(class_phrases):
                words = tuple(phrase.split(" "))
                if not phrase or "" in words:
                    continue  # cannot be found between single spaces
                self._by_first.setdefault(words[0], []).append((words, c))

    @staticmethod
    def transform(caption: str) -> str:
        """The caption as the authors searched it: punctuation as spaces, one space each end."""
        return " " + caption.translate(_PUNCTUATION_TO_SPACE) + " "

    def classes(self, caption: str) -> list[int]:
        """Sorted positions of the classes whose lemmas ``caption`` contains."""
        words = caption.translate(_PUNCTUATION_TO_SPACE).split(" ")
        found: set[int] = set()
        for i, word in enumerate(words):
            for lemma_words, c in self._by_first.get(word, ()):
                if words[i : i + len(lemma_words)] == list(lemma_words):
                    found.add(c)
        return sorted(found)


def match_part(
    path: str | os.PathLike,
    part: int,
    lemmas: Mapping[str, Sequence[str]],
    progress: bool = True,
    match: str = "authors",
) -> tuple[pd.DataFrame, dict]:
    """Step 1 on one part (rule ``match``, module docstring) and a small report.

    ``lemmas``: wnid -> usable lemmas in class order (:func:`authors_lemmas` for
    ``match="authors"``, :func:`unique_lemmas` for ``"words"``). ``"authors"``: one row per
    caption matching exactly one synset; ``"words"``: one row per (caption, matched wnid).
    """
    if match not in MATCH_RULES:
        raise ValueError(f"match must be one of {list(MATCH_RULES)}, got {match!r}")
    df = read_part(path, part)
    wnids = list(lemmas)
    matcher_cls = AuthorsMatcher if match == "authors" else PhraseMatcher
    matcher = matcher_cls([lemmas[w] for w in wnids])
    row_ids, labels = [], []
    ambiguous = 0
    texts = df["TEXT"].tolist()
    for i, text in enumerate(
        tqdm(texts, desc=f"matching part {part}", unit="cap", disable=not progress, mininterval=10)
    ):
        if not isinstance(text, str):
            continue
        found = matcher.classes(text)
        if match == "authors" and len(found) > 1:
            ambiguous += 1
            continue
        for c in found:
            row_ids.append(i)
            labels.append(c)
    matched = df.iloc[row_ids].reset_index(drop=True)
    matched.insert(3, "wnid", [wnids[c] for c in labels])
    report = {
        "part": part,
        "match": match,
        "rows": len(df),
        "captions_matched": len(set(row_ids)),
        "captions_ambiguous": ambiguous,
        "pairs": len(matched),
        "no_text": int(sum(not isinstance(t, str) for t in texts)),
    }
    return matched, report


def usable_lemmas(synsets: Mapping[str, NounSynset], match: str = "authors"):
    """The usable lemmas of ``synsets`` under matching rule ``match``."""
    if match not in MATCH_RULES:
        raise ValueError(f"match must be one of {list(MATCH_RULES)}, got {match!r}")
    return authors_lemmas(synsets) if match == "authors" else unique_lemmas(synsets)


# --- step 2: caption-to-definition similarity -----------------------------------------------------


class DefinitionScorer:
    """CLIP text similarity of captions to synset queries (normalised open_clip text embeddings).

    The text tower is the project's :class:`cliptail.models.text_encoder.OpenClipTextEncoder`.
    ``pretrained``: an open_clip tag of ``model`` (``"openai"``, ``"laion400m_e32"``, ...), a
    path to a checkpoint file, or None for random weights (tests: the same code path,
    meaningless scores). ``device``: ``"auto"`` (CUDA if available) or a torch device.
    """

    def __init__(
        self,
        model: str = "ViT-B-32",
        pretrained: str | None = "openai",
        device: str = "auto",
        batch_size: int = 512,
    ):
        from cliptail.models.text_encoder import OpenClipTextEncoder

        self.batch_size = batch_size
        try:
            self.encoder = OpenClipTextEncoder(
                model, pretrained, device=None if device == "auto" else device
            )
        except Exception as exc:
            raise RuntimeError(
                f"cannot load open_clip {model} with pretrained={pretrained!r} "
                f"({exc}); the weights download once from the internet (set "
                "HF_HUB_OFFLINE=0) or choose another tag"
            ) from exc

    @property
    def device(self) -> str:
        return self.encoder.device

    @property
    def model(self):
        return self.encoder.model

    @property
    def tokenizer(self):
        return self.encoder.tokenizer

    def encode(self, texts: Sequence[str], progress: bool = False) -> np.ndarray:
        """L2-normalised text embeddings, float32 [len(texts), D]."""
        return self.encoder.encode(
            list(texts), batch_size=self.batch_size, progress=progress, normalize=True
        )

    def similarity(
        self,
        captions: Sequence[str],
        wnids: Sequence[str],
        queries: Mapping[str, str],
        progress: bool = True,
    ) -> np.ndarray:
        """cos(caption_i, query(wnid_i)) for every pair i."""
        if len(captions) == 0:
            return np.zeros(0, np.float32)
        needed = list(dict.fromkeys(wnids))
        query_emb = dict(zip(needed, self.encode([queries[w] for w in needed]), strict=True))
        caption_emb = self.encode(list(captions), progress=progress)
        targets = np.stack([query_emb[w] for w in wnids])
        return (caption_emb * targets).sum(axis=1).astype(np.float32)


def score_matches(
    matched: pd.DataFrame,
    synsets: Mapping[str, NounSynset],
    scorer: DefinitionScorer,
    progress: bool = True,
) -> pd.DataFrame:
    """Step 2: ``matched`` with ``similarity`` = cos(caption, "<name> which is <definition>")."""
    queries = {w: s.name_definition for w, s in synsets.items()}
    sims = scorer.similarity(
        matched["TEXT"].tolist(), matched["wnid"].tolist(), queries, progress=progress
    )
    return matched.assign(similarity=sims)


# --- step 3: filter -------------------------------------------------------------------------------


def filter_laionet(
    scored: pd.DataFrame,
    class_order: Sequence[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    remove_nsfw: bool = True,
) -> tuple[pd.DataFrame, dict]:
    """Step 3: NSFW filter, similarity > threshold, one label per image; sorted by laion_index."""
    report = {
        "pairs_in": len(scored),
        "images_in": int(scored["laion_index"].nunique()),
        "threshold": threshold,
        "remove_nsfw": remove_nsfw,
    }
    df = scored
    if remove_nsfw:
        if "NSFW" not in df.columns:
            raise ValueError(
                "the table has no NSFW column; keep LAION's NSFW tag or set remove_nsfw to false"
            )
        df = df[df["NSFW"] == SAFE_NSFW]
    report["pairs_after_nsfw"] = len(df)
    df = df[df["similarity"] > threshold]
    report["pairs_above_threshold"] = len(df)
    rank = {w: i for i, w in enumerate(class_order)}
    df = df.assign(_class=df["wnid"].map(rank))
    df = df.sort_values(
        ["laion_index", "similarity", "_class"], ascending=[True, False, True], kind="stable"
    )
    multi = int((df["laion_index"].value_counts() > 1).sum())
    df = df.drop_duplicates("laion_index", keep="first").drop(columns="_class")
    report.update(
        images_out=len(df),
        images_with_several_synsets=multi,
        classes_nonempty=int(df["wnid"].nunique()),
    )
    return df.reset_index(drop=True), report


def read_authors_laionet(path: str | os.PathLike) -> pd.DataFrame:
    """The authors' released LAIONet table as a candidate table (``CANDIDATE_COLUMNS``).

    Its index is the LAION index; ``text_to_name_def_wnid_similarity`` becomes ``similarity``
    (its own ``similarity`` column is LAION's image-text score and becomes ``laion_similarity``).
    """
    df = pd.read_parquet(path)
    missing = [c for c in ("URL", "TEXT", "wnid", AUTHORS_SIMILARITY) if c not in df.columns]
    if missing:
        raise ValueError(
            f"{path}: no column(s) {missing}; expected the authors' LAIONet metadata "
            f"(columns URL, TEXT, wnid, {AUTHORS_SIMILARITY}, index = LAION index)"
        )
    if not pd.api.types.is_integer_dtype(df.index):
        raise ValueError(f"{path}: the index must be the integer LAION index")
    df = df.rename(columns={"similarity": "laion_similarity", AUTHORS_SIMILARITY: "similarity"})
    df = df.assign(laion_index=df.index.astype("int64")).reset_index(drop=True)
    for column in ("NSFW", "LICENSE"):
        if column not in df.columns:
            df[column] = None
    return df.sort_values("laion_index", kind="stable").reset_index(drop=True)


def write_candidates(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a candidate table (the columns img2dataset needs, plus any extra ones)."""
    missing = [c for c in CANDIDATE_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"candidate table lacks {missing}")
    extra = [c for c in df.columns if c not in CANDIDATE_COLUMNS]
    io.write_parquet(path, df[list(CANDIDATE_COLUMNS) + extra].reset_index(drop=True))


# --- step 4: image download -----------------------------------------------------------------------

_IMG2DATASET = (
    "import json, sys\nfrom img2dataset import download\ndownload(**json.loads(sys.argv[1]))\n"
)


def download_images(
    candidates: str | os.PathLike,
    out_dir: str | os.PathLike,
    options: Mapping | None = None,
    log_file: str | os.PathLike | None = None,
) -> dict:
    """Step 4: img2dataset downloads the candidates' images into webdataset shards in ``out_dir``.

    ``options`` override :data:`DEFAULT_IMG2DATASET`. img2dataset runs in a child process
    (it spawns workers); it writes into ``<out_dir>.partial``, which replaces ``out_dir`` only
    when it finished, so ``out_dir`` never holds a half-done download. Returns the summed
    per-shard statistics.
    """
    out_dir = Path(out_dir)
    partial = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    args = dict(DEFAULT_IMG2DATASET, **(options or {}))
    args.update(
        url_list=str(Path(candidates).resolve()),
        output_folder=str(partial.resolve()),
        input_format="parquet",
        url_col="URL",
        caption_col="TEXT",
        output_format="webdataset",
        save_additional_columns=list(SAVED_COLUMNS),
        enable_wandb=False,
    )
    env = dict(os.environ, NO_ALBUMENTATIONS_UPDATE="1", WANDB_MODE="disabled")
    with open(log_file or os.devnull, "a") as log:
        proc = subprocess.run(
            [sys.executable, "-c", _IMG2DATASET, json.dumps(args)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    stats = shard_statistics(partial)
    if proc.returncode != 0 or stats["shards"] == 0:
        raise RuntimeError(
            f"img2dataset failed (exit {proc.returncode}, {stats['shards']} shards)"
            f"; see {log_file or 'its output'}; partial output in {partial}"
        )
    shutil.rmtree(out_dir, ignore_errors=True)
    os.replace(partial, out_dir)
    return stats


def shard_statistics(folder: str | os.PathLike) -> dict:
    """Sum of img2dataset's ``*_stats.json`` in ``folder``."""
    totals: Counter = Counter()
    statuses: Counter = Counter()
    files = sorted(glob.glob(os.path.join(folder, "*_stats.json")))
    for path in files:
        with open(path) as fh:
            stats = json.load(fh)
        for key in ("count", "successes", "failed_to_download", "failed_to_resize"):
            totals[key] += int(stats.get(key, 0))
        statuses.update(stats.get("status_dict", {}))
    return {
        "shards": len(files),
        **{k: int(v) for k, v in totals.items()},
        "status": dict(statuses.most_common(20)),
    }


# --- manifest -------------------------------------------------------------------------------------


def read_laionet_shards(
    folder: str | os.PathLike, classes: pd.DataFrame
) -> tuple[pd.DataFrame, dict]:
    """The LAIONet manifest of an img2dataset webdataset folder, and a report (module docstring)."""
    folder = Path(folder)
    tables = sorted(p for p in folder.glob("*.parquet") if p.stem.isdigit())
    if not tables:
        raise FileNotFoundError(
            f"{folder}: no img2dataset shard tables (00000.parquet, ...); "
            "run the LAIONet image download first"
        )
    parts = []
    for table in tables:
        df = pd.read_parquet(table)
        df["shard"] = table.stem
        parts.append(df)
    df = pd.concat(parts, ignore_index=True)
    missing = [c for c in ("key", "status", "caption", "url", *SAVED_COLUMNS[:3]) if c not in df]
    if missing:
        raise ValueError(
            f"{folder}: shard tables lack {missing}; were they written by download_images?"
        )
    failures = df[df["status"] != "success"]
    ok = df[df["status"] == "success"]
    missing_tar = sorted({s for s in ok["shard"] if not (folder / f"{s}.tar").is_file()})
    if missing_tar:
        raise FileNotFoundError(f"{folder}: shard archives missing for {missing_tar[:5]}")
    wnid_to_label = {w: i for i, w in enumerate(classes["id"])}
    unknown = ~ok["wnid"].isin(wnid_to_label)
    ok = ok[~unknown]
    manifest = (
        pd.DataFrame(
            {
                "image": (ok["shard"] + ".tar/" + ok["key"].astype(str)).to_numpy(),
                "label": ok["wnid"].map(wnid_to_label).astype("int64").to_numpy(),
                "caption": ok["caption"].fillna("").map(clean_caption).to_numpy(),
                "wnid": ok["wnid"].to_numpy(),
                "similarity": ok["similarity"].astype("float32").to_numpy(),
                "laion_index": ok["laion_index"].astype("int64").to_numpy(),
                "url": ok["url"].to_numpy(),
                "source": "laion400m",
            }
        )
        .sort_values("laion_index", kind="stable")
        .reset_index(drop=True)
    )
    empty = manifest["caption"].str.strip() == ""
    manifest = manifest[~empty].reset_index(drop=True)
    report = {
        "folder": str(folder),
        "shards": len(tables),
        "urls": len(df),
        "downloaded": int(len(ok) + unknown.sum()),
        "kept": len(manifest),
        "failed": len(failures),
        "failed_by_status": {str(k): int(v) for k, v in failures["status"].value_counts().items()},
        "failed_top_errors": {
            str(k): int(v) for k, v in failures["error_message"].value_counts().head(10).items()
        }
        if "error_message" in failures
        else {},
        "skipped_unknown_wnid": int(unknown.sum()),
        "skipped_empty_caption": int(empty.sum()),
        "classes_nonempty": int(manifest["label"].nunique()),
    }
    return manifest, report
