"""The =freq retrieval pool: LAION-400M captions most similar to the IN-Caps captions.

"=freq" (``laionet_freq``, :func:`cliptail.curate.matching.match_frequency`) tops LAIONet up with
LAION items retrieved by caption-to-caption similarity. The LAIONet authors' procedure
(laionet-dev: ``find_most_similar_texts_to_texts.py`` then ``find_wnid_to_laion_indices_local
.py``), rebuilt over LAION-400M streamed part by part:

1. **Queries** (:func:`incaps_queries`): one per IN-Caps image, in file-name order (the authors'
   ``imagenet_captions.parquet``, grouped by file name; ImageNet file names start with the
   wnid, so they are unique), its text "title tags description" (the
   IN-Caps manifest's ``caption``) and its class.
2. **Per-part search** (:func:`part_topk`): the CLIP text embeddings (normalised; the LAIONet
   scorer's text tower, :class:`cliptail.data.laion.DefinitionScorer`) of every caption of one
   part; for every query the ``k`` most similar rows by cosine similarity, exact (the authors
   searched an approximate faiss index, ``k = 50``). Rows without text are never retrieved.
3. **Merge** (:func:`merge_topk`): per query, the ``k`` best over all parts (ties: smaller LAION
   index first).
4. **Assignment** (:func:`assign_greedy`): queries in order, each takes its most similar LAION
   row that no earlier query took (a query whose ``k`` rows are all taken gets none). No
   similarity threshold, no NSFW filter, no check that the row names the class: the row's label
   is the query's class (all as the authors' code). ``exclude`` (library only) can also keep
   given rows (e.g. LAIONet's own) out; the authors did not.
5. The chosen rows become a candidate table (:func:`retrieval_candidates`; ``similarity`` = the
   caption-to-caption cosine), downloaded like LAIONet (:func:`cliptail.data.laion
   .download_images`) into their own shard folder, and read into the pool manifest
   (:func:`read_retrieval_pool`) that ``sources.laionet.retrieval_pool`` would otherwise supply:
   ``image`` (``"../<folder>/<shard>.tar/<key>"``, relative to the LAIONet shard folder, which
   is the dataset's image root), ``label``, ``caption``, ``retrieval_score``, ``wnid``,
   ``laion_index``, ``url``, ``source = "laion400m"``.

Cost at full scale (448,896 queries, 32 parts of about 12.5M captions): the text embeddings of
about 400M captions dominate (one ViT-B/32 text-tower pass each); the similarity search is
448,896 x 12.5M x 512 multiply-adds per part. README.md ("Every dataset, where it comes from")
gives the measured throughput.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd

from cliptail import io

NO_ROW = -1
DEFAULT_TOPK = 50
#: The retrieved images' shard folder, beside the LAIONet shard folder.
SHARD_FOLDER = "retrieval_shards"


# --- 1. queries -----------------------------------------------------------------------------------


def incaps_queries(manifest: pd.DataFrame) -> pd.DataFrame:
    """The queries of the IN-Caps manifest: one per image (``image``, ``label``, ``caption``), in
    file-name order (then path order), the first row of a repeated image only."""
    for column in ("image", "label", "caption"):
        if column not in manifest.columns:
            raise ValueError(f"the IN-Caps manifest has no {column!r} column")
    names = manifest["image"].astype(str).str.rsplit("/", n=1).str[-1]
    df = manifest.assign(_name=names.to_numpy()).drop_duplicates("image", keep="first")
    df = df.sort_values(["_name", "image"], kind="stable")
    return df[["image", "label", "caption"]].reset_index(drop=True)


# --- 2. per-part search ---------------------------------------------------------------------------


def _sort_rows(ids: np.ndarray, scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's entries by descending score, then ascending id (empty slots last), first k."""
    key_ids = np.where(ids == NO_ROW, np.iinfo(np.int64).max, ids)
    order = np.lexsort((key_ids, -scores.astype(np.float64)), axis=-1)[:, :k]
    return np.take_along_axis(ids, order, 1), np.take_along_axis(scores, order, 1)


def empty_topk(num_queries: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    return (
        np.full((num_queries, k), NO_ROW, dtype=np.int64),
        np.full((num_queries, k), -np.inf, dtype=np.float32),
    )


def part_topk(
    queries: np.ndarray,
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    k: int = DEFAULT_TOPK,
    *,
    device: str = "cpu",
    query_block: int = 16384,
) -> tuple[np.ndarray, np.ndarray]:
    """For each query (a row of the normalised ``queries`` [Q, D]) the ``k`` best rows of
    ``batches`` (``(laion_index [B], normalised embeddings [B, D])``) by dot product.

    Returns ``ids`` [Q, k] (int64, :data:`NO_ROW` where fewer than k rows exist) and ``scores``
    [Q, k] (float32, -inf there), each row by descending score, ties by smaller id. The running
    best k stay on ``device`` (torch), so one pass over the batches suffices.
    """
    import torch

    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    q = torch.as_tensor(np.ascontiguousarray(queries, dtype=np.float32), device=device)
    num = q.shape[0]
    best_s = torch.full((num, k), float("-inf"), device=device)
    best_i = torch.full((num, k), NO_ROW, dtype=torch.int64, device=device)
    for ids, emb in batches:
        if len(ids) == 0:
            continue
        e = torch.as_tensor(np.ascontiguousarray(emb, dtype=np.float32), device=device)
        rows = torch.as_tensor(np.asarray(ids, dtype=np.int64), device=device)
        take = min(k, len(ids))
        for start in range(0, num, query_block):
            stop = min(start + query_block, num)
            sims = q[start:stop] @ e.T
            s, j = torch.topk(sims, take, dim=1)
            cat_s = torch.cat([best_s[start:stop], s], dim=1)
            cat_i = torch.cat([best_i[start:stop], rows[j]], dim=1)
            s2, j2 = torch.topk(cat_s, k, dim=1)
            best_s[start:stop] = s2
            best_i[start:stop] = torch.gather(cat_i, 1, j2)
    ids_np = best_i.cpu().numpy()
    scores_np = best_s.cpu().numpy().astype(np.float32)
    ids_np[~np.isfinite(scores_np)] = NO_ROW
    return _sort_rows(ids_np, scores_np, k)


def embedded_batches(
    texts: Sequence,
    laion_index: np.ndarray,
    encode,
    batch_rows: int = 65536,
    desc: str = "",
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """``(laion_index, encode(texts))`` for consecutive slices of ``batch_rows`` rows, rows
    without text (None, NaN, not a string) left out; progress logged about every minute."""
    log = logging.getLogger("cliptail")
    total = len(texts)
    started = last = time.monotonic()
    for start in range(0, total, batch_rows):
        chunk = texts[start : start + batch_rows]
        keep = np.array([isinstance(t, str) for t in chunk], dtype=bool)
        ids = np.asarray(laion_index[start : start + batch_rows])[keep]
        kept = [t for t, ok in zip(chunk, keep, strict=True) if ok]
        yield ids, (encode(kept) if kept else np.zeros((0, 1), np.float32))
        now = time.monotonic()
        done = min(start + batch_rows, total)
        if now - last > 60 or done == total:
            rate = done / max(now - started, 1e-9)
            log.info("%s%d/%d captions embedded (%.0f/s)", desc, done, total, rate)
            last = now


def write_topk(path: str | os.PathLike, ids: np.ndarray, scores: np.ndarray) -> None:
    """Atomically write a top-k table (npz: ``ids``, ``scores``)."""
    with io.atomic_path(path) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, ids=ids, scores=scores)


def read_topk(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as data:
        return data["ids"], data["scores"]


# --- 3. merge -------------------------------------------------------------------------------------


def merge_topk(
    a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray], k: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` best of two top-k tables of the same queries (default: a's width)."""
    if a[0].shape[0] != b[0].shape[0]:
        raise ValueError(f"top-k tables of {a[0].shape[0]} and {b[0].shape[0]} queries")
    k = a[0].shape[1] if k is None else k
    ids = np.concatenate([a[0], b[0]], axis=1)
    scores = np.concatenate([a[1], b[1]], axis=1)
    return _sort_rows(ids, scores, k)


# --- 4. assignment --------------------------------------------------------------------------------


def assign_greedy(
    ids: np.ndarray, scores: np.ndarray, exclude: Iterable[int] = ()
) -> tuple[np.ndarray, np.ndarray]:
    """Queries in order take their best row not taken before (nor in ``exclude``).

    Returns the chosen LAION index per query (:data:`NO_ROW` = none) and its score (NaN there).
    """
    taken = set(int(x) for x in exclude)
    chosen = np.full(len(ids), NO_ROW, dtype=np.int64)
    chosen_score = np.full(len(ids), np.nan, dtype=np.float32)
    for q, (row_ids, row_scores) in enumerate(zip(ids.tolist(), scores.tolist(), strict=True)):
        for i, s in zip(row_ids, row_scores, strict=True):
            if i != NO_ROW and i not in taken:
                taken.add(i)
                chosen[q], chosen_score[q] = i, s
                break
    return chosen, chosen_score


# --- 5. candidates and pool -----------------------------------------------------------------------


def retrieval_candidates(
    queries: pd.DataFrame,
    chosen: np.ndarray,
    chosen_score: np.ndarray,
    rows: pd.DataFrame,
    wnids: Sequence[str],
) -> pd.DataFrame:
    """The candidate table of the retrieved rows (``cliptail.data.laion.CANDIDATE_COLUMNS`` plus
    ``query_image``), sorted by LAION index. ``rows``: the LAION rows (``laion_index``, ``URL``,
    ``TEXT``, ``NSFW``, ``LICENSE``) of at least the chosen indices."""
    has = chosen != NO_ROW
    picked = pd.DataFrame(
        {
            "laion_index": chosen[has],
            "wnid": np.asarray(wnids, dtype=object)[queries["label"].to_numpy()[has]],
            "similarity": chosen_score[has].astype(np.float32),
            "query_image": queries["image"].to_numpy()[has],
        }
    )
    table = rows.drop_duplicates("laion_index").set_index("laion_index")
    missing = ~picked["laion_index"].isin(table.index)
    if missing.any():
        raise ValueError(
            f"{int(missing.sum())} retrieved LAION rows are not in the parts read "
            f"(first: {int(picked['laion_index'][missing].iloc[0])})"
        )
    columns = ["URL", "TEXT", "NSFW", "LICENSE"]
    for column in columns:
        if column not in table.columns:
            table[column] = None
    out = picked.join(table[columns], on="laion_index")
    first = ["laion_index", "URL", "TEXT", "wnid", "similarity", "NSFW", "LICENSE"]
    return out[first + ["query_image"]].sort_values("laion_index").reset_index(drop=True)


def read_retrieval_pool(
    folder: str | os.PathLike, classes: pd.DataFrame, prefix: str = f"../{SHARD_FOLDER}/"
) -> tuple[pd.DataFrame, dict]:
    """The pool manifest of the downloaded retrieval shards (module docstring, step 5)."""
    from cliptail.data.laion import read_laionet_shards

    manifest, report = read_laionet_shards(folder, classes)
    pool = manifest.rename(columns={"similarity": "retrieval_score"})
    pool["image"] = prefix + pool["image"]
    return pool, report


def write_pool(path: str | os.PathLike, pool: pd.DataFrame) -> None:
    io.write_parquet(path, pool.reset_index(drop=True))
