"""Rule evaluate_run: evaluate one trained run on one evaluation set.

Writes the per-class record (parquet) and the scalars (json) of DESIGN.md's data flow.

Standalone: python workflow/scripts/evaluate_run.py --run results/runs/R --data results/data/D \
    --evalset results/data/eval_val --out results/eval/R/val
"""

import argparse
from pathlib import Path

import numpy as np

from cliptail import io
from cliptail.runlog import logged


def main(*, checkpoint: str, frequency: str, curation: str, manifest: str, classes: str,
         images_root: str, prompt_embeddings: str | None, run: str, evalset: str, dataset: str,
         out_parquet: str, out_json: str, log: str | None = None) -> None:
    from cliptail.evaluate.records import evaluation_records
    from cliptail.evaluate.zeroshot import evaluate_checkpoint

    with logged(log) as logger:
        class_names = io.read_classes(classes)["name"].tolist()
        train_freq = io.read_frequency(frequency)
        if train_freq["name"].tolist()[: len(class_names)] != class_names:
            raise ValueError(f"{frequency}: its first {len(class_names)} classes are not the "
                             f"evaluation classes of {classes}")
        out = evaluate_checkpoint(
            checkpoint, manifest=manifest, images_root=images_root, class_names=class_names,
            prompt_embeddings=np.load(prompt_embeddings) if prompt_embeddings else None,
            progress=True)
        tail = io.read_json(curation).get("tail_classes") or None
        per_class, scalars = evaluation_records(
            features=out.features, targets=out.targets, preds=out.preds, top5=out.top5,
            classifier=out.classifier, freq=train_freq["count"].to_numpy()[: len(class_names)],
            class_names=class_names, tail_classes=tail)
        io.write_parquet(out_parquet, per_class)
        io.write_json(out_json, {"run": run, "evalset": evalset, "dataset": dataset,
                                 "n_train": int(train_freq["count"].sum()), "scalars": scalars})
        logger.info("%s on %s: top1 %.4f rho_acc %.3f rho_pred %.3f", run, evalset,
                    scalars["top1"], scalars["rho_acc"], scalars["rho_pred"])


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821
    main(checkpoint=_smk.input.model, frequency=_smk.input.frequency,
         curation=_smk.input.curation, manifest=_smk.input.manifest, classes=_smk.input.classes,
         images_root=_smk.params.images_root,
         prompt_embeddings=_smk.input.get("prompt_embeddings"), run=_smk.wildcards.run,
         evalset=_smk.wildcards.evalset, dataset=_smk.params.dataset,
         out_parquet=_smk.output.per_class, out_json=_smk.output.scalars, log=_smk.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", required=True, help="run directory with checkpoint.pt")
    parser.add_argument("--data", required=True, help="the run's training dataset directory")
    parser.add_argument("--evalset", required=True, help="evaluation dataset directory")
    parser.add_argument("--images-root", default="resources/world")
    parser.add_argument("--out", required=True, help="output stem (writes STEM.parquet, STEM.json)")
    args = parser.parse_args()
    run, data, ev = Path(args.run), Path(args.data), Path(args.evalset)
    prompts = ev / "prompt_embeddings.npy"
    main(checkpoint=str(run / "checkpoint.pt"), frequency=str(data / "frequency.tsv"),
         curation=str(data / "curation.json"), manifest=str(ev / "manifest.parquet"),
         classes=str(ev / "classes.tsv"), images_root=args.images_root,
         prompt_embeddings=str(prompts) if prompts.exists() else None, run=run.name,
         evalset=ev.name.removeprefix("eval_"), dataset=data.name,
         out_parquet=f"{args.out}.parquet", out_json=f"{args.out}.json")
