"""Rule linear_probe: the L-BFGS logistic-regression probes of one run on every probe set.

For each set: searches the L2 penalty over 45 values in [1e-6, 1e5] on the set's val split,
refits on train + val and scores the test split (cliptail.evaluate.linear_probe); writes the
record (JSON: score in percent, chosen penalty, validation curve).

Standalone: python workflow/scripts/linear_probe.py --run R --probe-set shape \
    --folder results/data/probe_shape --features results/probe/R/shape.features.npy \
    --out results/probe/R/shape.json
"""

import argparse

import numpy as np

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged


def main(
    run: str,
    probe_sets: dict[str, str],
    features: list[str],
    outs: list[str],
    threads: int = 1,
    log: str | None = None,
) -> None:
    """``probe_sets``: name -> dataset folder, in the order of ``features`` and ``outs``."""
    import torch

    from cliptail.evaluate.transfer import probe_record

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        for (name, folder), feature_file, out in zip(
            probe_sets.items(), features, outs, strict=True
        ):
            data = DatasetDir(folder)
            manifest = data.read_manifest()

            def progress(i: int, l2: float, score: float, name=name) -> None:
                if i % 11 == 0 or i == 44:
                    logger.info(
                        "%s: penalty %d/45, lambda %.3g, val score %.2f %%",
                        name,
                        i + 1,
                        l2,
                        100 * score,
                    )

            record = probe_record(
                run,
                name,
                np.load(feature_file),
                manifest,
                len(data.read_classes()),
                progress=progress,
            )
            io.write_json(out, record)
            logger.info(
                "%s on %s: %s %.2f %% (lambda %.3g)",
                run,
                name,
                record["metric"],
                record["score"],
                record["l2"],
            )


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.wildcards.run,
        dict(_smk.params.probe_sets),
        list(_smk.input.features),
        list(_smk.output.records),
        _smk.threads,
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True)
    parser.add_argument("--probe-set", required=True)
    parser.add_argument("--folder", required=True, help="the probe set's dataset folder")
    parser.add_argument("--features", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    main(args.run, {args.probe_set: args.folder}, [args.features], [args.out], args.threads)
