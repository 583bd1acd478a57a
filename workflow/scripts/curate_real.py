"""Rules curate_incaps_* / curate_laionet_* / curate_web_cls and real_eval_set: a training-set
variant or an evaluation set of the real data, written as a dataset folder.

Standalone:
    python workflow/scripts/curate_real.py --base results/data/incaps --out results/data/X \
        --factors '{"source": "incaps", "caption": "title", "scale": 1.0, "classes": "eval",
                    "trim_k": 0, "trim_ceil": 0}' [--imagenet100 resources/metadata/imagenet100_idxs.txt]
    python workflow/scripts/curate_real.py --base results/data/imagenetv2 \
        --out results/data/eval_imagenetv2 --evalset
    python workflow/scripts/curate_real.py --base results/data/imagenet_val \
        --out results/data/eval_imagenet100_val --evalset \
        --imagenet100 resources/metadata/imagenet100_idxs.txt
"""

import argparse
import json
from pathlib import Path

from cliptail.curate.real_datasets import write_real_dataset, write_real_evalset
from cliptail.curate.subsets import read_class_indices
from cliptail.runlog import logged


def main(
    base: str,
    out_dir: str,
    *,
    factors: dict | None = None,
    imagenet100: str | None = None,
    incaps_frequency: str | None = None,
    pool: str | None = None,
    in_caps_size: int = 448_896,
    wordnet_dir: str | None = None,
    max_per_class: int | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        if factors is None:
            subset = read_class_indices(imagenet100) if imagenet100 else None
            n = write_real_evalset(
                base_dir=base, out_dir=out_dir, class_subset=subset, max_per_class=max_per_class
            )
            logger.info("evaluation set %s: %d images", out_dir, n)
            return
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
    _smk = snakemake
    _real = "factors" in _smk.params.keys()
    main(
        str(Path(_smk.input.manifest).parent),
        str(Path(_smk.output.manifest).parent),
        factors=dict(_smk.params.factors) if _real else None,
        imagenet100=_smk.input.get("imagenet100"),
        incaps_frequency=_smk.input.get("incaps_frequency"),
        pool=_smk.input.get("pool"),
        in_caps_size=_smk.params.get("in_caps_size") or 448_896,
        wordnet_dir=_smk.input.get("wordnet"),
        max_per_class=_smk.params.get("max_per_class"),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="base dataset folder (results/data/<base>)")
    parser.add_argument("--out", required=True, help="dataset folder to write")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--factors", help="JSON object of the data factors (a training set)")
    what.add_argument("--evalset", action="store_true", help="write an evaluation set")
    parser.add_argument(
        "--imagenet100",
        help="imagenet100_idxs.txt (classes in100, in100_matched; with --evalset: IN-100)",
    )
    parser.add_argument("--incaps-frequency", help="IN-Caps frequency.tsv (source laionet_freq)")
    parser.add_argument("--pool", help="retrieval pool parquet (source laionet_freq)")
    parser.add_argument(
        "--in-caps-size", type=int, default=448_896, help="size of the laionet_t<t> variants"
    )
    parser.add_argument("--wordnet-dir", help="WordNet 3.0 folder (synset templates)")
    parser.add_argument(
        "--max-per-class", type=int, help="with --evalset: at most this many images per class"
    )
    args = parser.parse_args()
    main(
        args.base,
        args.out,
        factors=json.loads(args.factors) if args.factors else None,
        imagenet100=args.imagenet100,
        incaps_frequency=args.incaps_frequency,
        pool=args.pool,
        in_caps_size=args.in_caps_size,
        wordnet_dir=args.wordnet_dir,
        max_per_class=args.max_per_class,
    )
