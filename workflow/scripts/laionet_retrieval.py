"""Rules laionet_retrieval_queries / laionet_retrieve_part / laionet_retrieval_candidates /
read_laionet_retrieval_pool: the =freq retrieval pool (cliptail.data.laion_retrieval).

Standalone, one step at a time:
    python workflow/scripts/laionet_retrieval.py queries --incaps results/data/incaps/manifest.parquet \
        --out resources/laionet/retrieval
    python workflow/scripts/laionet_retrieval.py part --part-file resources/laion400m/parts/part-00000-...parquet \
        --part 0 --out resources/laionet/retrieval [--topk 50]
    python workflow/scripts/laionet_retrieval.py candidates --out resources/laionet/retrieval \
        --parts resources/laion400m/parts/part-0000*.parquet [--metadata resources/metadata]
    python workflow/scripts/laionet_retrieval.py pool --shards resources/laionet/retrieval_shards \
        --pool resources/laionet/retrieval_pool.parquet [--metadata resources/metadata]
"""

import argparse
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from cliptail import io
from cliptail.data import laion_retrieval as lr
from cliptail.data.laion import INDEX_SHIFT, DefinitionScorer
from cliptail.data.metadata import imagenet_classes, imagenet_wnids
from cliptail.runlog import logged


def _scorer(clip: dict) -> DefinitionScorer:
    return DefinitionScorer(
        clip.get("model", "ViT-B-32"),
        clip.get("pretrained", "openai"),
        clip.get("device", "auto"),
        int(clip.get("batch_size", 512)),
    )


def queries(incaps: str, out_queries: str, out_embeddings: str, clip: dict, log=None) -> None:
    with logged(log) as logger:
        table = lr.incaps_queries(pd.read_parquet(incaps))
        scorer = _scorer(clip)
        emb = scorer.encode(table["caption"].fillna("").tolist(), progress=True)
        with io.atomic_path(out_embeddings) as tmp, open(tmp, "wb") as fh:
            np.save(fh, emb.astype(np.float32))
        io.write_parquet(out_queries, table)
        logger.info("%d IN-Caps queries embedded on %s", len(table), scorer.device)


def part(
    part_file: str,
    part_number: int,
    embeddings: str,
    out: str,
    clip: dict,
    retrieval: dict,
    log=None,
) -> None:
    with logged(log) as logger:
        texts = pq.read_table(part_file, columns=["TEXT"]).column("TEXT").to_pylist()
        index = np.arange(len(texts), dtype=np.int64) + part_number * INDEX_SHIFT
        scorer = _scorer(clip)
        batches = lr.embedded_batches(
            texts,
            index,
            scorer.encode,
            batch_rows=int(retrieval.get("batch_rows", 65536)),
            desc=f"part {part_number}: ",
        )
        ids, scores = lr.part_topk(
            np.load(embeddings),
            batches,
            int(retrieval.get("topk", lr.DEFAULT_TOPK)),
            device=scorer.device,
        )
        lr.write_topk(out, ids, scores)
        logger.info("part %d: %d captions searched on %s", part_number, len(texts), scorer.device)


def _part_number(path: str) -> int:
    m = re.search(r"part-(\d{5})", Path(path).name)
    if not m:
        raise ValueError(f"{path}: not a LAION-400M part file name (part-000NN-...)")
    return int(m.group(1))


def candidates(
    queries_file: str,
    topk_files: list[str],
    part_files: list[str],
    metadata: str,
    out: str,
    log=None,
) -> None:
    with logged(log) as logger:
        table = pd.read_parquet(queries_file)
        merged = None
        for path in topk_files:
            got = lr.read_topk(path)
            merged = got if merged is None else lr.merge_topk(merged, got)
            logger.info("merged %s", path)
        chosen, chosen_score = lr.assign_greedy(*merged)
        wanted = set(chosen[chosen != lr.NO_ROW].tolist())
        rows = []
        for path in part_files:
            number = _part_number(path)
            columns = [
                c for c in ("URL", "TEXT", "NSFW", "LICENSE") if c in pq.read_schema(path).names
            ]
            df = pq.read_table(path, columns=columns).to_pandas()
            df.insert(0, "laion_index", np.arange(len(df), dtype=np.int64) + number * INDEX_SHIFT)
            rows.append(df[df["laion_index"].isin(wanted)])
        result = lr.retrieval_candidates(
            table, chosen, chosen_score, pd.concat(rows), imagenet_wnids(metadata)
        )
        io.write_parquet(out, result)
        report = {
            "queries": len(table),
            "retrieved": len(result),
            "queries_without_row": int((chosen == lr.NO_ROW).sum()),
            "topk": int(merged[0].shape[1]),
            "parts": len(topk_files),
            "classes_nonempty": int(result["wnid"].nunique()),
        }
        io.write_json(Path(out).with_suffix(".json"), report)
        logger.info("retrieval candidates: %s", report)


def pool(shards: str, metadata: str, out: str, log=None) -> None:
    with logged(log) as logger:
        table, report = lr.read_retrieval_pool(shards, imagenet_classes(metadata))
        lr.write_pool(out, table)
        io.write_json(Path(out).with_suffix(".json"), report)
        logger.info("retrieval pool: %d images (%d URLs failed)", len(table), report["failed"])


if "snakemake" in globals():
    _smk = snakemake
    _out = _smk.output.keys()
    if "embeddings" in _out:
        queries(
            _smk.input.manifest,
            _smk.output.queries,
            _smk.output.embeddings,
            dict(_smk.params.clip),
            _smk.log[0],
        )
    elif "topk" in _out:
        part(
            _smk.input.part,
            int(_smk.wildcards.part),
            _smk.input.embeddings,
            _smk.output.topk,
            dict(_smk.params.clip),
            dict(_smk.params.retrieval),
            _smk.log[0],
        )
    elif "candidates" in _out:
        candidates(
            _smk.input.queries,
            list(_smk.input.topk),
            list(_smk.input.parts),
            str(Path(_smk.input.synsets).parents[1]),
            _smk.output.candidates,
            _smk.log[0],
        )
    else:
        pool(
            _smk.input.shards,
            str(Path(_smk.input.synsets).parents[1]),
            _smk.output.pool,
            _smk.log[0],
        )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("step", choices=("queries", "part", "candidates", "pool"))
    parser.add_argument("--incaps", default="results/data/incaps/manifest.parquet")
    parser.add_argument("--out", default="resources/laionet/retrieval")
    parser.add_argument("--part-file")
    parser.add_argument("--part", type=int)
    parser.add_argument("--parts", nargs="*", default=[])
    parser.add_argument("--topk", type=int, default=lr.DEFAULT_TOPK)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", default="openai", help="open_clip tag; 'none' = random")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--shards", default="resources/laionet/retrieval_shards")
    parser.add_argument("--pool", default="resources/laionet/retrieval_pool.parquet")
    args = parser.parse_args()
    out = Path(args.out)
    clip = {
        "model": args.model,
        "pretrained": None if args.pretrained.lower() == "none" else args.pretrained,
        "device": args.device,
    }
    if args.step == "queries":
        queries(args.incaps, out / "queries.parquet", out / "queries.npy", clip)
    elif args.step == "part":
        part(
            args.part_file,
            args.part,
            out / "queries.npy",
            out / f"part-{args.part:05d}.npz",
            clip,
            {"topk": args.topk},
        )
    elif args.step == "candidates":
        topk = [str(out / f"part-{_part_number(p):05d}.npz") for p in args.parts]
        candidates(
            out / "queries.parquet", topk, args.parts, args.metadata, out / "candidates.parquet"
        )
    else:
        pool(args.shards, args.metadata, args.pool)
