"""Rule image_similarity: the intra-class image similarity of one training set (Fig. 4a).

Draws a seeded sample of at most ``per_class`` distinct images per class of the training set,
encodes them with the image tower of a trained run (the default CLIP run) and writes, per class,
the number of images drawn and the mean cosine similarity of their pairs
(:mod:`cliptail.evaluate.image_similarity`), as a parquet table with columns ``class``,
``images``, ``similarity``.

Standalone: python workflow/scripts/image_similarity.py --model results/runs/R/checkpoint.pt \
    --data results/data/D --out results/similarity/D.parquet
"""

import argparse
from pathlib import Path

import numpy as np

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged


def main(
    model: str,
    data: str,
    out: str,
    *,
    per_class: int,
    seed: int,
    threads: int = 1,
    log: str | None = None,
) -> None:
    import torch

    from cliptail.evaluate.image_similarity import image_similarity

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        folder = DatasetDir(data)
        table = image_similarity(
            model,
            folder.read_manifest(columns=["image", "label"]),
            folder.image_root(),
            per_class=per_class,
            seed=seed,
        )
        io.write_parquet(out, table)
        values = table["similarity"].to_numpy()
        logger.info(
            "%s: %d classes, %d images encoded; intra-class similarity mean %.3f, "
            "median %.3f over %d classes with two or more images",
            folder.name,
            len(table),
            int(table["images"].sum()),
            float(np.nanmean(values)) if np.isfinite(values).any() else float("nan"),
            float(np.nanmedian(values)) if np.isfinite(values).any() else float("nan"),
            int(np.isfinite(values).sum()),
        )


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.input.model,
        str(Path(_smk.input.manifest).parent),
        _smk.output.similarity,
        per_class=_smk.params.per_class,
        seed=_smk.params.seed,
        threads=_smk.threads,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    from cliptail.evaluate.image_similarity import IMAGES_PER_CLASS, SEED

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="checkpoint.pt of the encoder run")
    parser.add_argument("--data", required=True, help="the training set's dataset folder")
    parser.add_argument("--out", required=True, help="output parquet")
    parser.add_argument("--per-class", type=int, default=IMAGES_PER_CLASS)
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    main(args.model, args.data, args.out, per_class=args.per_class, seed=args.seed)
