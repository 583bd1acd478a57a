"""Rules train_clip / train_sl: train one run, resuming from its last epoch if interrupted.

The job's runtime settings come from Snakemake, not from the recipe: ``threads`` (torch threads,
shared by the processes), the ``gpu`` resource (0 trains on CPU, 1 on the job's GPU in this
process, N > 1 starts ``torchrun --nproc-per-node N``, DDP with one process per GPU; a job with
GPUs first checks that it sees exactly N of them) and ``loader_workers`` (data-loader processes).
The images are where the dataset's ``source.json`` says; an SL run on a dataset whose
``source.json`` names a ``class_subset`` (IN-Caps-100) trains over those classes only.

The job stops (exit status 1, resume state kept) when the Snakemake process that started it is
gone, e.g. after a ``kill -9`` (:mod:`cliptail.train.watchdog`); on a SLURM node, ``scancel``.

Standalone: python workflow/scripts/train.py --spec run.json --data results/data/X --out results/runs/Y
"""

import argparse
import json
import sys
from pathlib import Path

from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged
from cliptail.train import watchdog
from cliptail.train.launch import check_visible_gpus, train_distributed, training_processes


def main(
    spec: dict,
    *,
    data: DatasetDir,
    out_dir: str,
    text_embeddings: str | None,
    class_embeddings: str | None,
    resume_dir: str | None,
    threads: int = 1,
    gpus: int = 0,
    loader_workers: int = 0,
    torchrun: bool = False,
    log: str | None = None,
    watch: watchdog.Watchdog | None = None,
) -> None:
    import torch

    from cliptail.train import train_run

    with logged(log) as logger:
        if watch is not None:
            logger.info(
                "watching the Snakemake process %d that started this job: the job stops if it "
                "is gone",
                watch.target.pid,
            )
        check_visible_gpus(gpus)
        processes = training_processes(gpus)
        spec = dict(spec, device="cuda" if gpus > 0 else "cpu", workers=loader_workers)
        # SL on a class-restricted dataset (IN-Caps-100) trains over its classes only (K-way)
        subset = data.class_subset() if spec["method"] == "sl" else None
        if subset is not None:
            logger.info("%s: %d-way over the dataset's class subset", spec["run"], len(subset))
        paths = dict(
            class_subset=subset,
            manifest=str(data.manifest),
            classes=str(data.classes),
            images_root=data.image_root(),
            out_dir=out_dir,
            text_embeddings=text_embeddings,
            class_embeddings=class_embeddings,
            resume_dir=resume_dir,
        )
        if processes > 1 or torchrun:
            spec["threads"] = max(1, threads // processes)  # the job's threads, shared
            logger.info("training %s in %d process(es) with torchrun (DDP)", spec["run"], processes)
            summary = train_distributed(
                spec,
                processes,
                progress=True,
                **paths,
                output=sys.stdout if log is not None else None,
            )
        else:
            spec["threads"] = max(1, threads)
            torch.set_num_threads(spec["threads"])
            summary = train_run(spec, progress=True, **paths)
        logger.info("trained %s: %s", spec["run"], summary)


if "snakemake" in globals():
    # first thing: a kill -9 of Snakemake must not leave this job training
    _watch = watchdog.watch(started_by_snakemake=True)
    _smk = snakemake
    main(
        dict(_smk.params.spec),
        data=DatasetDir(Path(_smk.input.manifest).parent),
        out_dir=str(Path(_smk.output.model).parent),
        text_embeddings=_smk.input.get("text_embeddings"),
        class_embeddings=_smk.input.get("class_embeddings"),
        resume_dir=_smk.params.resume_dir,
        threads=_smk.threads,
        gpus=int(_smk.resources.get("gpu", 0)),
        loader_workers=int(_smk.resources.get("loader_workers", 0)),
        torchrun=bool(int(_smk.resources.get("torchrun", 0))),
        log=_smk.log[0],
        watch=_watch,
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--spec", required=True, help="JSON file with the run spec (e.g. a run.json)"
    )
    parser.add_argument("--data", required=True, help="dataset folder (manifest, classes, source)")
    parser.add_argument("--out", required=True, help="run folder to write")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--gpus", type=int, default=0, help="GPUs (N > 1: torchrun DDP)")
    parser.add_argument("--loader-workers", type=int, default=0, help="data-loader processes")
    args = parser.parse_args()
    spec = json.loads(Path(args.spec).read_text())
    spec = spec.get("spec", spec)
    for key in ("threads", "workers", "device"):
        spec.pop(key, None)
    data = DatasetDir(args.data)
    suffix = "_roberta" if spec.get("text_tower") == "roberta" else ""
    emb = data.root / f"text_embeddings{suffix}.npy"
    protos = data.root / "class_embeddings.npy"
    main(
        spec,
        data=data,
        out_dir=args.out,
        text_embeddings=str(emb) if emb.exists() else None,
        class_embeddings=str(protos) if protos.exists() else None,
        resume_dir=str(Path(args.out) / "resume"),
        threads=args.threads,
        gpus=args.gpus,
        loader_workers=args.loader_workers,
    )
