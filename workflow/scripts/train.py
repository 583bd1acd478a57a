"""Rules train_clip / train_sl: train one run, resuming from its last epoch if interrupted.

The rule's ``gpu`` resource decides how: 0 trains on CPU, 1 on the job's GPU in this process,
N > 1 starts ``torchrun --nproc-per-node N`` (DDP, one process per GPU). A job with GPUs first
checks that it sees exactly N of them (SLURM's ``--gpus`` sets CUDA_VISIBLE_DEVICES).

Standalone: python workflow/scripts/train.py --spec run.json --data results/data/X --out results/runs/Y
"""

import argparse
import json
import sys
from pathlib import Path

from cliptail.runlog import logged
from cliptail.train.launch import check_visible_gpus, train_distributed, training_processes


def main(
    spec: dict,
    *,
    manifest: str,
    classes: str,
    images_root: str,
    out_dir: str,
    text_embeddings: str | None,
    class_embeddings: str | None,
    resume_dir: str | None,
    threads: int = 1,
    gpus: int = 0,
    log: str | None = None,
) -> None:
    import torch

    from cliptail.train import train_run

    with logged(log) as logger:
        check_visible_gpus(gpus)
        processes = training_processes(gpus)
        spec = dict(spec, device="cuda" if gpus > 0 else "cpu")
        paths = dict(
            manifest=manifest,
            classes=classes,
            images_root=images_root,
            out_dir=out_dir,
            text_embeddings=text_embeddings,
            class_embeddings=class_embeddings,
            resume_dir=resume_dir,
        )
        if processes > 1:
            # the job's threads are shared by its processes (one per GPU)
            if spec.get("threads") is None:
                spec["threads"] = max(1, threads // processes)
            logger.info("training %s on %d GPUs with torchrun (DDP)", spec["run"], processes)
            summary = train_distributed(
                spec,
                processes,
                progress=True,
                **paths,
                output=sys.stdout if log is not None else None,
            )
        else:
            torch.set_num_threads(max(1, threads))
            summary = train_run(spec, progress=True, **paths)
        logger.info("trained %s: %s", spec["run"], summary)


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821
    main(
        dict(_smk.params.spec),
        manifest=_smk.input.manifest,
        classes=_smk.input.classes,
        images_root=_smk.params.images_root,
        out_dir=str(Path(_smk.output.model).parent),
        text_embeddings=_smk.input.get("text_embeddings"),
        class_embeddings=_smk.input.get("class_embeddings"),
        resume_dir=_smk.params.resume_dir,
        threads=_smk.threads,
        gpus=int(_smk.resources.get("gpu", 0)),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spec", required=True, help="JSON file with the run spec (e.g. a run.json)"
    )
    parser.add_argument(
        "--data", required=True, help="dataset directory (manifest.parquet, classes.tsv)"
    )
    parser.add_argument("--images-root", default="resources/world")
    parser.add_argument("--out", required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--gpus", type=int, default=0)
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    spec = spec.get("spec", spec)
    data = Path(args.data)
    emb = data / "text_embeddings.npy"
    protos = data / "class_embeddings.npy"
    main(
        spec,
        manifest=str(data / "manifest.parquet"),
        classes=str(data / "classes.tsv"),
        images_root=args.images_root,
        out_dir=args.out,
        text_embeddings=str(emb) if emb.exists() else None,
        class_embeddings=str(protos) if protos.exists() else None,
        resume_dir=str(Path(args.out) / "resume"),
        threads=args.threads,
        gpus=args.gpus,
    )
