"""Rule curate_dataset: build one training-set variant of the synthetic world.

Standalone: python workflow/scripts/curate_dataset.py --world resources/world --out results/data/X \
    --factors '{"source": "curated", "caption": "full", "scale": 1.0, "classes": "eval", "trim_k": 0, "trim_ceil": 0}'
"""

import argparse
import json
from pathlib import Path

from cliptail.curate.world_datasets import write_world_dataset
from cliptail.runlog import logged


def main(factors: dict, world: str, out_dir: str, log: str | None = None) -> None:
    with logged(log) as logger:
        report = write_world_dataset(factors, world_dir=world, out_dir=out_dir)
        logger.info("dataset %s: %s", out_dir, report)


if "snakemake" in globals():
    main(
        dict(snakemake.params.factors),
        str(Path(snakemake.input.classes).parent),  # noqa: F821
        str(Path(snakemake.output.manifest).parent),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="resources/world")
    parser.add_argument("--out", required=True)
    parser.add_argument("--factors", required=True, help="JSON object of the data factors")
    args = parser.parse_args()
    main(json.loads(args.factors), args.world, args.out)
