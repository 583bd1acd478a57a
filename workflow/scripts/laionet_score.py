"""Rule laionet_score_part: LAIONet step 2, CLIP caption-to-definition similarity (GPU if present).

Standalone: python workflow/scripts/laionet_score.py --matched resources/laionet/matched/part-00000.parquet \
    --metadata resources/metadata --out resources/laionet/scored/part-00000.parquet [--pretrained openai]
"""

import argparse
from pathlib import Path

import pandas as pd

from cliptail import io
from cliptail.data.laion import DefinitionScorer, score_matches
from cliptail.data.metadata import imagenet_wnids
from cliptail.data.wordnet import read_noun_synsets
from cliptail.runlog import logged


def main(
    matched: str,
    metadata: str,
    out: str,
    clip: dict,
    wordnet_dir: str | None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        synsets = read_noun_synsets(imagenet_wnids(metadata), wordnet_dir)
        scorer = DefinitionScorer(
            clip.get("model", "ViT-B-32"),
            clip.get("pretrained", "openai"),
            clip.get("device", "auto"),
            int(clip.get("batch_size", 512)),
        )
        scored = score_matches(pd.read_parquet(matched), synsets, scorer)
        io.write_parquet(out, scored)
        logger.info("%d pairs scored on %s", len(scored), scorer.device)


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    main(
        snakemake.input.matched,
        _metadata,
        snakemake.output.scored,
        dict(snakemake.params.clip),
        snakemake.input.wordnet,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matched", required=True)
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", required=True)
    parser.add_argument("--model", default="ViT-B-32")
    parser.add_argument("--pretrained", default="openai", help="open_clip tag; 'none' = random")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--wordnet-dir", default=None)
    args = parser.parse_args()
    pretrained = None if args.pretrained.lower() == "none" else args.pretrained
    main(
        args.matched,
        args.metadata,
        args.out,
        {
            "model": args.model,
            "pretrained": pretrained,
            "device": args.device,
            "batch_size": args.batch_size,
        },
        args.wordnet_dir,
    )
