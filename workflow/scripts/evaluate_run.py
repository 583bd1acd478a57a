"""Rule evaluate_run: evaluate one trained run on each evaluation set.

Writes, per evaluation set, the per-class record (parquet) and the scalars (json); the checkpoint
is read once for all sets. Each evaluation set's images are where its ``source.json`` says.

Standalone: python workflow/scripts/evaluate_run.py --run results/runs/R --data results/data/D \
    --evalset results/data/eval_val [--evalset results/data/eval_v2 ...] --out results/eval/R
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged


@dataclass(frozen=True)
class EvalSet:
    name: str
    folder: DatasetDir
    prompt_embeddings: str | None
    out_parquet: str
    out_json: str


def main(
    *,
    checkpoint: str,
    data: DatasetDir,
    run: str,
    evalsets: list[EvalSet],
    threads: int = 1,
    log: str | None = None,
) -> None:
    import torch

    from cliptail.evaluate.records import evaluation_records
    from cliptail.evaluate.zeroshot import evaluate_checkpoint

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        train_freq = io.read_frequency(data.frequency)
        tail = data.read_report().get("tail_classes") or None
        for ev in evalsets:
            class_names = ev.folder.read_classes()["name"].tolist()
            if train_freq["name"].tolist()[: len(class_names)] != class_names:
                raise ValueError(
                    f"{data.frequency}: its first {len(class_names)} classes are not the "
                    f"evaluation classes of {ev.folder.classes}"
                )
            out = evaluate_checkpoint(
                ckpt,
                manifest=ev.folder.manifest,
                images_root=ev.folder.image_root(),
                class_names=class_names,
                prompt_embeddings=np.load(ev.prompt_embeddings) if ev.prompt_embeddings else None,
                progress=True,
            )
            per_class, scalars = evaluation_records(
                features=out.features,
                targets=out.targets,
                preds=out.preds,
                top5=out.top5,
                classifier=out.classifier,
                freq=train_freq["count"].to_numpy()[: len(class_names)],
                class_names=class_names,
                tail_classes=tail,
            )
            io.write_parquet(ev.out_parquet, per_class)
            io.write_json(
                ev.out_json,
                {
                    "run": run,
                    "evalset": ev.name,
                    "dataset": data.name,
                    "n_train": int(train_freq["count"].sum()),
                    "scalars": scalars,
                },
            )
            logger.info(
                "%s on %s: top1 %.4f rho_acc %.3f rho_pred %.3f",
                run,
                ev.name,
                scalars["top1"],
                scalars["rho_acc"],
                scalars["rho_pred"],
            )


if "snakemake" in globals():
    _smk = snakemake
    _names = _smk.params.evalsets
    _prompts = _smk.input.get("prompt_embeddings") or [None] * len(_names)
    main(
        checkpoint=_smk.input.model,
        data=DatasetDir(Path(_smk.input.frequency).parent),
        run=_smk.wildcards.run,
        evalsets=[
            EvalSet(name, DatasetDir(Path(manifest).parent), prompts, parquet, json)
            for name, manifest, prompts, parquet, json in zip(
                _names,
                _smk.input.manifests,
                _prompts,
                _smk.output.per_class,
                _smk.output.scalars,
                strict=True,
            )
        ],
        threads=_smk.threads,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run folder with checkpoint.pt")
    parser.add_argument("--data", required=True, help="the run's training dataset folder")
    parser.add_argument(
        "--evalset",
        required=True,
        action="append",
        help="evaluation dataset folder (repeat for several)",
    )
    parser.add_argument(
        "--out", required=True, help="output folder (writes <evalset>.parquet and <evalset>.json)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    out = Path(args.out)
    sets = []
    for folder in map(Path, args.evalset):
        name = folder.name.removeprefix("eval_")
        prompts = folder / "prompt_embeddings.npy"
        sets.append(
            EvalSet(
                name,
                DatasetDir(folder),
                str(prompts) if prompts.exists() else None,
                str(out / f"{name}.parquet"),
                str(out / f"{name}.json"),
            )
        )
    main(
        checkpoint=str(Path(args.run) / "checkpoint.pt"),
        data=DatasetDir(args.data),
        run=Path(args.run).name,
        evalsets=sets,
        threads=args.threads,
    )
