"""Rule evaluate_run: evaluate one trained run on each evaluation set.

Writes, per evaluation set, the per-class record (parquet), the scalars (json, with 95 % bootstrap
intervals over classes), the bootstrap replicates (``.bootstrap.parquet``: one row per class
resample, read by the claims) and the classifier (``.classifier.npy``: the L2-normalised class
embeddings, float32 [C, D], one row per row of the per-class record); the checkpoint is read once
for all sets. An evaluation set restricted to a class subset (``source.json``
``class_subset``: IN-100) is evaluated over those classes only; its records keep the common class
indices and the run's training counts of those classes. Each evaluation set's images are where its ``source.json`` says.

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
    out_classifier: str
    out_bootstrap: str


def main(
    *,
    checkpoint: str,
    data: DatasetDir,
    run: str,
    evalsets: list[EvalSet],
    threads: int = 1,
    log: str | None = None,
    zeroshot_names: str = "openclip",
    nc1_pinv: str = "float32",
    templates: str = "openai",
) -> None:
    import torch

    from cliptail.evaluate.records import evaluation_records, write_classifier
    from cliptail.evaluate.zeroshot import (
        evaluate_checkpoint,
        zeroshot_class_names,
        zeroshot_templates,
    )
    from cliptail.models.build import read_checkpoint

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        ckpt = read_checkpoint(checkpoint)
        train_freq = io.read_frequency(data.frequency)
        tail = data.read_report().get("tail_classes") or None
        text_heads = {}  # a trainable text tower's classifier per prompt set, shared by sets
        for ev in evalsets:
            classes = ev.folder.read_classes()
            class_names = classes["name"].tolist()
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
                prompt_names=zeroshot_class_names(classes, zeroshot_names),
                templates=zeroshot_templates(templates),
                prompt_embeddings=np.load(ev.prompt_embeddings) if ev.prompt_embeddings else None,
                class_subset=ev.folder.class_subset(),
                progress=True,
                text_head_cache=text_heads,
            )
            # the evaluated classes (a class subset: IN-100; an SL model trained on a subset),
            # as indices of the common class space: their training counts, names and records
            evaluated = out.classes if out.classes is not None else np.arange(len(class_names))
            per_class, scalars, bootstrap = evaluation_records(
                features=out.features,
                targets=out.targets,
                preds=out.preds,
                top5=out.top5,
                classifier=out.classifier,
                freq=train_freq["count"].to_numpy()[evaluated],
                class_names=[class_names[c] for c in evaluated],
                class_ids=evaluated,
                tail_classes=tail,
                nc1_pinv=nc1_pinv,
            )
            io.write_parquet(ev.out_parquet, per_class)
            io.write_parquet(ev.out_bootstrap, bootstrap)
            write_classifier(ev.out_classifier, out.classifier)
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
                "%s on %s: top1 %.4f [%.4f, %.4f] rho_acc %.3f [%.3f, %.3f] "
                "rho_pred %.3f [%.3f, %.3f] (95%% bootstrap over classes)",
                run,
                ev.name,
                *(
                    scalars[f"{name}{end}"]
                    for name in ("top1", "rho_acc", "rho_pred")
                    for end in ("", "_lo", "_hi")
                ),
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
            EvalSet(
                name, DatasetDir(Path(manifest).parent), prompts, parquet, json, classifier, boot
            )
            for name, manifest, prompts, parquet, json, classifier, boot in zip(
                _names,
                _smk.input.manifests,
                _prompts,
                _smk.output.per_class,
                _smk.output.scalars,
                _smk.output.classifier,
                _smk.output.bootstrap,
                strict=True,
            )
        ],
        threads=_smk.threads,
        log=_smk.log[0],
        zeroshot_names=_smk.params.zeroshot_names,
        templates=_smk.params.get("templates", "openai"),
        nc1_pinv=_smk.params.nc1_pinv,
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
        "--out",
        required=True,
        help="output folder (writes <evalset>.parquet, .json, .bootstrap.parquet and "
        ".classifier.npy)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument(
        "--zeroshot-names",
        choices=["openclip", "descriptors"],
        default="openclip",
        help="class names in the prompts of ImageNet classes (must match the prompt embeddings)",
    )
    parser.add_argument(
        "--nc1-pinv",
        choices=["float32", "float64"],
        default="float32",
        help="pseudo-inverse cut-off of NC1 (D x eps of that type)",
    )
    parser.add_argument(
        "--templates",
        choices=["openai", "simple", "world"],
        default="openai",
        help="prompt templates of a trained text tower (must match the prompt embeddings)",
    )
    args = parser.parse_args()
    out = Path(args.out)
    from cliptail.models.build import read_checkpoint

    _ckpt = read_checkpoint(Path(args.run) / "checkpoint.pt")
    _suffix = "_roberta" if _ckpt.get("text_tower") == "roberta" else ""
    del _ckpt
    sets = []
    for folder in map(Path, args.evalset):
        name = folder.name.removeprefix("eval_")
        prompts = folder / f"prompt_embeddings{_suffix}.npy"
        sets.append(
            EvalSet(
                name,
                DatasetDir(folder),
                str(prompts) if prompts.exists() else None,
                str(out / f"{name}.parquet"),
                str(out / f"{name}.json"),
                str(out / f"{name}.classifier.npy"),
                str(out / f"{name}.bootstrap.parquet"),
            )
        )
    main(
        checkpoint=str(Path(args.run) / "checkpoint.pt"),
        data=DatasetDir(args.data),
        run=Path(args.run).name,
        evalsets=sets,
        threads=args.threads,
        zeroshot_names=args.zeroshot_names,
        nc1_pinv=args.nc1_pinv,
        templates=args.templates,
    )
