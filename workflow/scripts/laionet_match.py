"""Rule laionet_match_part: LAIONet step 1 on one LAION-400M part (unique WordNet lemmas).

``--match authors`` (default): the LAIONet authors' rule; ``words``: cliptail's former one
(cliptail.data.laion, step 1).

Standalone: python workflow/scripts/laionet_match.py --part-file resources/laion400m/parts/part-00000-...parquet \
    --part 0 --metadata resources/metadata --out resources/laionet/matched/part-00000.parquet \
    [--match authors]
"""

import argparse
from pathlib import Path

from cliptail import io
from cliptail.data.laion import match_part, usable_lemmas
from cliptail.data.metadata import imagenet_wnids
from cliptail.data.wordnet import read_noun_synsets
from cliptail.runlog import logged


def main(
    part_file: str,
    part: int,
    metadata: str,
    out: str,
    wordnet_dir: str | None,
    log: str | None = None,
    match: str = "authors",
) -> None:
    with logged(log) as logger:
        synsets = read_noun_synsets(imagenet_wnids(metadata), wordnet_dir)
        matched, report = match_part(part_file, part, usable_lemmas(synsets, match), match=match)
        io.write_parquet(out, matched)
        io.write_json(Path(out).with_suffix(".json"), report)
        logger.info("part %d: %s", part, report)


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    main(
        snakemake.input.part,
        int(snakemake.wildcards.part),
        _metadata,
        snakemake.output.matched,
        snakemake.input.wordnet,
        snakemake.log[0],
        snakemake.params.match,
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part-file", required=True)
    parser.add_argument("--part", type=int, required=True)
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", required=True)
    parser.add_argument("--wordnet-dir", default=None)
    parser.add_argument("--match", choices=("authors", "words"), default="authors")
    args = parser.parse_args()
    main(args.part_file, args.part, args.metadata, args.out, args.wordnet_dir, match=args.match)
