"""Rules curate_incaps_* / curate_laionet_* / curate_web_cls: one training-set variant of real data.

Standalone: python workflow/scripts/curate_real.py --base results/data/incaps --out results/data/X \
    --factors '{"source": "incaps", "caption": "title", "scale": 1.0, "classes": "eval", "trim_k": 0, "trim_ceil": 0}' \
    [--imagenet100 resources/metadata/imagenet100_idxs.txt] [--incaps-frequency results/data/incaps/frequency.tsv]
"""

import argparse
import json
from pathlib import Path

from cliptail.curate.real_datasets import write_real_dataset
from cliptail.runlog import logged


def main(
    factors: dict,
    base: str,
    out_dir: str,
    *,
    imagenet100: str | None = None,
    incaps_frequency: str | None = None,
    pool: str | None = None,
    in_caps_size: int = 448_896,
    wordnet_dir: str | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        report = write_real_dataset(
            factors,
            base_dir=base,
            out_dir=out_dir,
            imagenet100_file=imagenet100,
            incaps_frequency=incaps_frequency,
            pool=pool,
            in_caps_size=in_caps_size,
            wordnet_dir=wordnet_dir,
        )
        logger.info(
            "dataset %s: %s", out_dir, {k: v for k, v in report.items() if k != "tail_classes"}
        )


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821
    main(
        dict(_smk.params.factors),
        str(Path(_smk.input.manifest).parent),
        str(Path(_smk.output.manifest).parent),
        imagenet100=_smk.input.get("imagenet100"),
        incaps_frequency=_smk.input.get("incaps_frequency"),
        pool=_smk.input.get("pool"),
        in_caps_size=_smk.params.in_caps_size,
        wordnet_dir=_smk.params.wordnet_dir,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="base dataset folder (results/data/<base>)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--factors", required=True, help="JSON object of the data factors")
    parser.add_argument("--imagenet100", help="imagenet100_idxs.txt (classes in100, in100_matched)")
    parser.add_argument("--incaps-frequency", help="IN-Caps frequency.tsv (source laionet_freq)")
    parser.add_argument("--pool", help="retrieval pool parquet (source laionet_freq)")
    parser.add_argument("--in-caps-size", type=int, default=448_896)
    parser.add_argument("--wordnet-dir")
    args = parser.parse_args()
    main(
        json.loads(args.factors),
        args.base,
        args.out,
        imagenet100=args.imagenet100,
        incaps_frequency=args.incaps_frequency,
        pool=args.pool,
        in_caps_size=args.in_caps_size,
        wordnet_dir=args.wordnet_dir,
    )
