"""Rule probe_features: a trained run's frozen image features of every probe set.

Writes, per probe set, float32 [N, D] (``.npy``), one row per row of the set's manifest. For
DINO the features are the teacher backbone's output, as the paper's linear probes use. Probe
sets over the same images (the world's tasks share the evaluation images) are encoded once.

Standalone: python workflow/scripts/probe_features.py --model results/runs/R/checkpoint.pt \
    --probe-set results/data/probe_shape --out results/probe/R/shape.features.npy
"""

import argparse

import numpy as np

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged


def main(
    model: str, probe_sets: list[str], outs: list[str], threads: int = 1, log: str | None = None
) -> None:
    import torch

    from cliptail.evaluate.probe_features import encode_dataset
    from cliptail.models.build import read_checkpoint

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        checkpoint = read_checkpoint(model)
        encoded: dict[tuple, np.ndarray] = {}
        for folder_path, out in zip(probe_sets, outs, strict=True):
            folder = DatasetDir(folder_path)
            manifest = folder.read_manifest()
            key = (folder.image_root(), tuple(manifest["image"]))
            if key not in encoded:
                encoded[key] = encode_dataset(checkpoint, manifest, folder.image_root())
            features = encoded[key]
            with io.atomic_path(out) as tmp, open(tmp, "wb") as fh:
                np.save(fh, features)
            logger.info("%s: %d images, %d features each", folder.name, *features.shape)


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.input.model,
        list(_smk.params.probe_sets.values()),
        list(_smk.output.features),
        _smk.threads,
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument(
        "--probe-set", action="append", required=True, help="a probe set's dataset folder"
    )
    parser.add_argument("--out", action="append", required=True, help="one per --probe-set")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    main(args.model, args.probe_set, args.out, args.threads)
