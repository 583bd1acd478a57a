"""Rule laionet_candidates: LAIONet step 3 (NSFW, threshold, one label per image) -> img2dataset input.

Input: the scored parts of steps 1-2, or the authors' released LAIONet table (--authors).
Standalone: python workflow/scripts/laionet_candidates.py --scored resources/laionet/scored/part-*.parquet \
    --metadata resources/metadata --out resources/laionet/candidates.parquet [--threshold 0.7]
"""

import argparse
from pathlib import Path

import pandas as pd

from cliptail import io
from cliptail.data.laion import filter_laionet, read_authors_laionet, write_candidates
from cliptail.data.metadata import imagenet_wnids
from cliptail.runlog import logged


def main(
    scored: list[str],
    authors: str | None,
    metadata: str,
    out: str,
    threshold: float,
    remove_nsfw: bool,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        if authors:
            table = read_authors_laionet(authors)
        else:
            table = pd.concat([pd.read_parquet(p) for p in scored], ignore_index=True)
        candidates, report = filter_laionet(
            table, imagenet_wnids(metadata), threshold=threshold, remove_nsfw=remove_nsfw
        )
        write_candidates(candidates, out)
        io.write_json(
            Path(out).with_suffix(".json"),
            {**report, "input": authors or "scored LAION-400M parts"},
        )
        logger.info("LAIONet candidates: %s", report)


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    main(
        list(snakemake.input.scored),
        snakemake.input.authors[0] if snakemake.input.authors else None,
        _metadata,
        snakemake.output.candidates,
        float(snakemake.params.threshold),
        bool(snakemake.params.remove_nsfw),
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--scored", nargs="+")
    source.add_argument("--authors", help="the authors' LAIONet parquet")
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="resources/laionet/candidates.parquet")
    parser.add_argument("--threshold", type=float, default=0.7)
    parser.add_argument("--keep-nsfw", dest="remove_nsfw", action="store_false")
    args = parser.parse_args()
    main(args.scored or [], args.authors, args.metadata, args.out, args.threshold, args.remove_nsfw)
