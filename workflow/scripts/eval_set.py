"""Rule eval_set: the balanced evaluation manifest (world split val or v2) over the evaluation classes.

Standalone: python workflow/scripts/eval_set.py --world resources/world --split val --out results/data/eval_val
"""

import argparse
from pathlib import Path

from cliptail.curate.world_datasets import write_world_evalset
from cliptail.runlog import logged


def main(world: str, split: str, out_dir: str, log: str | None = None) -> None:
    with logged(log) as logger:
        n = write_world_evalset(world_dir=world, split=split, out_dir=out_dir)
        logger.info("evaluation set %s: %d images", split, n)


if "snakemake" in globals():
    main(
        str(Path(snakemake.input.classes).parent),
        snakemake.wildcards.evalset,  # noqa: F821
        str(Path(snakemake.output.manifest).parent),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="resources/world")
    parser.add_argument("--split", choices=["val", "v2"], required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    main(args.world, args.split, args.out)
