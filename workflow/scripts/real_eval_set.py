"""Rule real_eval_set: the evaluation manifest of ImageNet val or ImageNetV2 from its base dataset.

Standalone: python workflow/scripts/real_eval_set.py --base results/data/imagenetv2 --out results/data/eval_imagenetv2
"""

import argparse
from pathlib import Path

from cliptail.curate.real_datasets import write_real_evalset
from cliptail.runlog import logged


def main(base: str, out_dir: str, log: str | None = None) -> None:
    with logged(log) as logger:
        n = write_real_evalset(base_dir=base, out_dir=out_dir)
        logger.info("evaluation set %s: %d images", out_dir, n)


if "snakemake" in globals():
    main(
        str(Path(snakemake.input.manifest).parent),  # noqa: F821
        str(Path(snakemake.output.manifest).parent),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    main(args.base, args.out)
