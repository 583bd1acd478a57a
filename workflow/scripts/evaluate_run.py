"""Rule evaluate_run: evaluate one trained run on each evaluation set.

Writes, per evaluation set, the per-class record (parquet) and the scalars (json) of DESIGN.md's
data flow. The checkpoint is read once for all sets.

Standalone: python workflow/scripts/evaluate_run.py --run results/runs/R --data results/data/D \
    --evalset results/data/eval_val [--evalset results/data/eval_v2 ...] --out results/eval/R
"""

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from cliptail import io
from cliptail.runlog import logged


@dataclass(frozen=True)
class EvalSet:
    name: str
    manifest: str
    classes: str
    images_root: str
    prompt_embeddings: str | None
    out_parquet: str
    out_json: str


def main(
    *,
    checkpoint: str,
    frequency: str,
    curation: str,
    run: str,
    dataset: str,
    evalsets: list[EvalSet],
    log: str | None = None,
) -> None:
    import torch

    from cliptail.evaluate.records import evaluation_records
    from cliptail.evaluate.zeroshot import evaluate_checkpoint

    with logged(log) as logger:
        ckpt = torch.load(checkpoint, map_location="cpu", weights_only=False)
        train_freq = io.read_frequency(frequency)
        tail = io.read_json(curation).get("tail_classes") or None
        for ev in evalsets:
            class_names = io.read_classes(ev.classes)["name"].tolist()
            if train_freq["name"].tolist()[: len(class_names)] != class_names:
                raise ValueError(
                    f"{frequency}: its first {len(class_names)} classes are not the "
                    f"evaluation classes of {ev.classes}"
                )
            out = evaluate_checkpoint(
                ckpt,
                manifest=ev.manifest,
                images_root=ev.images_root,
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
                    "dataset": dataset,
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
    _smk = snakemake  # noqa: F821
    _names = _smk.params.evalsets
    _prompts = _smk.input.get("prompt_embeddings") or [None] * len(_names)
    main(
        checkpoint=_smk.input.model,
        frequency=_smk.input.frequency,
        curation=_smk.input.curation,
        run=_smk.wildcards.run,
        dataset=_smk.params.dataset,
        evalsets=[
            EvalSet(name, manifest, classes, root, prompts, parquet, json)
            for name, manifest, classes, root, prompts, parquet, json in zip(
                _names,
                _smk.input.manifests,
                _smk.input.classes,
                _smk.params.images_roots,
                _prompts,
                _smk.output.per_class,
                _smk.output.scalars,
                strict=True,
            )
        ],
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run directory with checkpoint.pt")
    parser.add_argument("--data", required=True, help="the run's training dataset directory")
    parser.add_argument(
        "--evalset",
        required=True,
        action="append",
        help="evaluation dataset directory (repeat for several)",
    )
    parser.add_argument("--images-root", default="resources/world")
    parser.add_argument(
        "--out", required=True, help="output folder (writes <evalset>.parquet and <evalset>.json)"
    )
    args = parser.parse_args()
    run, data, out = Path(args.run), Path(args.data), Path(args.out)
    sets = []
    for folder in map(Path, args.evalset):
        name = folder.name.removeprefix("eval_")
        prompts = folder / "prompt_embeddings.npy"
        sets.append(
            EvalSet(
                name,
                str(folder / "manifest.parquet"),
                str(folder / "classes.tsv"),
                args.images_root,
                str(prompts) if prompts.exists() else None,
                str(out / f"{name}.parquet"),
                str(out / f"{name}.json"),
            )
        )
    main(
        checkpoint=str(run / "checkpoint.pt"),
        frequency=str(data / "frequency.tsv"),
        curation=str(data / "curation.json"),
        run=run.name,
        dataset=data.name,
        evalsets=sets,
    )
