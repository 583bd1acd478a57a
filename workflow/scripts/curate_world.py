"""Rules curate_world and world_eval_set: a training-set variant or an evaluation set of the
synthetic world, written as a dataset folder.

Standalone:
    python workflow/scripts/curate_world.py --out results/data/X \
        --factors '{"source": "curated", "caption": "full", "scale": 1.0, "classes": "eval",
                    "trim_k": 0, "trim_ceil": 0}'
    python workflow/scripts/curate_world.py --evalset val --out results/data/eval_val
"""

import argparse
import json
from pathlib import Path

from cliptail.curate.world_datasets import write_world_dataset, write_world_evalset
from cliptail.runlog import logged


def main(
    world: str,
    out_dir: str,
    *,
    factors: dict | None = None,
    evalset: str | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        if evalset is not None:
            n = write_world_evalset(world_dir=world, split=evalset, out_dir=out_dir)
            logger.info("evaluation set %s: %d images", evalset, n)
        else:
            report = write_world_dataset(factors, world_dir=world, out_dir=out_dir)
            logger.info(
                "dataset %s: %s", out_dir, {k: v for k, v in report.items() if k != "tail_classes"}
            )


if "snakemake" in globals():
    _smk = snakemake
    main(
        str(Path(_smk.input.concepts).parent),
        str(Path(_smk.output.manifest).parent),
        factors=dict(_smk.params.factors) if "factors" in _smk.params.keys() else None,
        evalset=_smk.wildcards.get("evalset"),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", default="resources/world", help="the world's folder")
    parser.add_argument("--out", required=True, help="dataset folder to write")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--factors", help="JSON object of the data factors (a training set)")
    what.add_argument("--evalset", choices=["val", "v2"], help="an evaluation set")
    args = parser.parse_args()
    main(
        args.world,
        args.out,
        factors=json.loads(args.factors) if args.factors else None,
        evalset=args.evalset,
    )
