"""Rule audit_encode: a released checkpoint's text classifier and image embeddings of one set.

Writes results/audit/<checkpoint>/<set>.features.npz (classifier [C, D], image embeddings
[N, D] float16, labels [N]).

Standalone: python workflow/scripts/audit_encode.py --model RN50-quickgelu \
    --weights resources/openclip/RN50-quickgelu_yfcc15m.bin --quick-gelu \
    --evalset results/data/eval_imagenet_val --concept-set imagenet --out /tmp/in_val.features.npz
"""

import argparse

from cliptail.data.dataset_dir import DatasetDir
from cliptail.runlog import logged


def main(
    *,
    model: str,
    weights: str,
    quick_gelu: bool,
    evalset: str,
    concept_set: str,
    out: str,
    templates: str = "openai",
    zeroshot_names: str = "openclip",
    batch_size: int = 256,
    threads: int = 1,
    log: str | None = None,
) -> None:
    import torch

    from cliptail.audit.encode import encode_set, load_released
    from cliptail.audit.prompts import class_prompt_names, templates_for
    from cliptail.audit.records import write_encoded

    with logged(log) as logger:
        torch.set_num_threads(max(1, threads))
        device = "cuda" if torch.cuda.is_available() else "cpu"
        folder = DatasetDir(evalset)
        classes = folder.read_classes()
        manifest = folder.read_manifest()
        net, transform, tokenizer = load_released(
            model, weights, quick_gelu=quick_gelu, device=device
        )
        logger.info(
            "%s (%s) on %s: %d classes, %d images, %s",
            model,
            weights,
            evalset,
            len(classes),
            len(manifest),
            device,
        )
        encoded = encode_set(
            net,
            transform,
            tokenizer,
            manifest=manifest,
            images_root=folder.image_root(),
            class_names=class_prompt_names(classes, concept_set, zeroshot_names),
            templates=templates_for(concept_set, templates),
            batch_size=batch_size,
        )
        write_encoded(out, encoded)
        logger.info("wrote %s (%d x %d)", out, *encoded.features.shape)


if "snakemake" in globals():
    from cliptail.audit.checkpoints import Checkpoint

    _smk = snakemake
    _entry = Checkpoint(**_smk.params.entry)
    main(
        model=_entry.model,
        weights=_smk.input.weights,
        quick_gelu=_entry.resolve_quick_gelu(),
        evalset=_smk.params.evalset,
        concept_set=_smk.params.concept_set,
        out=_smk.output.encoded,
        templates=_smk.params.templates,
        zeroshot_names=_smk.params.zeroshot_names,
        batch_size=_smk.params.batch_size,
        threads=_smk.threads,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--quick-gelu", action="store_true")
    parser.add_argument("--evalset", required=True, help="evaluation dataset folder")
    parser.add_argument("--concept-set", default="imagenet")
    parser.add_argument("--templates", default="openai")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    main(
        model=args.model,
        weights=args.weights,
        quick_gelu=args.quick_gelu,
        evalset=args.evalset,
        concept_set=args.concept_set,
        out=args.out,
        templates=args.templates,
        batch_size=args.batch_size,
    )
