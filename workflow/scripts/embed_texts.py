"""Rules embed_captions / embed_class_prototypes / embed_eval_prompts: pre-trained text embeddings.

Embeds, with a frozen pre-trained encoder (config ``text_encoder``; ``roberta_encoder`` for the
``*_roberta`` rules), either a dataset's
captions (row-aligned with its manifest), "a {name}" for each class of a classes.tsv, or the
zero-shot prompts (80 templates x class names, config ``evaluation.zeroshot_names``) of an
evaluation set. Given another input of the
same mode and its embeddings (``--reuse INPUT EMBEDDINGS``: a dataset this one is a subset of, or
another evaluation set), texts found there are copied, and only the rest are encoded.

Standalone: python workflow/scripts/embed_texts.py {captions|prototypes|prompts} INPUT OUTPUT.npy
"""

import argparse

import numpy as np

from cliptail import io
from cliptail.data import manifest
from cliptail.runlog import logged

MODES = {
    "embed_captions": "captions",
    "embed_class_prototypes": "prototypes",
    "embed_eval_prompts": "prompts",
    "embed_captions_roberta": "captions",
    "embed_eval_prompts_roberta": "prompts",
}


def texts_for(
    mode: str, path: str, zeroshot_names: str = "openclip", templates: str = "openai"
) -> list[str]:
    """The texts to embed; ``zeroshot_names`` and ``templates`` choose the class names and the
    template set of the prompts."""
    if mode == "captions":
        return manifest.read(path, columns=["caption"])["caption"].tolist()
    classes = io.read_classes(path)
    if mode == "prototypes":
        return [f"a {name}" for name in classes["name"]]
    from cliptail.evaluate.zeroshot import prompt_texts, zeroshot_class_names, zeroshot_templates

    return prompt_texts(
        zeroshot_class_names(classes, zeroshot_names), zeroshot_templates(templates)
    )


def main(
    mode: str,
    source: str,
    out: str,
    threads: int = 1,
    log: str | None = None,
    encoder: str = "minilm",
    reuse: tuple[str, str] | None = None,
    zeroshot_names: str = "openclip",
    templates: str = "openai",
) -> None:
    import torch

    from cliptail.models.text_encoder import embed_reusing, embed_texts

    with logged(log) as logger:
        torch.set_num_threads(threads)
        texts = texts_for(mode, source, zeroshot_names, templates)
        logger.info("embedding %d texts (%d unique) with %s", len(texts), len(set(texts)), encoder)
        if reuse:
            known_source, known_embeddings = reuse
            emb, encoded = embed_reusing(
                texts,
                texts_for(mode, known_source, zeroshot_names, templates),
                np.load(known_embeddings, mmap_mode="r"),
                progress=True,
                encoder=encoder,
            )
            logger.info(
                "%d distinct texts encoded, the rest copied from %s", encoded, known_embeddings
            )
        else:
            emb = embed_texts(texts, progress=True, encoder=encoder)
        with io.atomic_path(out) as tmp:
            with open(tmp, "wb") as fh:
                np.save(fh, emb.astype(np.float32))


if "snakemake" in globals():
    _smk = snakemake
    _mode = MODES[_smk.rule]
    _source = _smk.input.manifest if _mode == "captions" else _smk.input.classes
    _reuse = (
        (_smk.input.reuse_source, _smk.input.reuse_embeddings)
        if "reuse_embeddings" in _smk.input.keys()
        else None
    )
    main(
        _mode,
        _source,
        _smk.output.embeddings,
        _smk.threads,
        _smk.log[0],
        _smk.params.encoder,
        _reuse,
        _smk.params.get("zeroshot_names", "openclip"),
        _smk.params.get("templates", "openai"),
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["captions", "prototypes", "prompts"])
    parser.add_argument("source", help="manifest.parquet (captions) or classes.tsv")
    parser.add_argument("out")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--encoder",
        default="minilm",
        help="minilm (default), openclip:<model>@<pretrained tag> or roberta:<name or directory>",
    )
    parser.add_argument(
        "--reuse",
        nargs=2,
        metavar=("INPUT", "EMBEDDINGS"),
        help="another input of the same mode and its embeddings (same encoder)",
    )
    parser.add_argument(
        "--zeroshot-names",
        choices=["openclip", "descriptors"],
        default="openclip",
        help="class names of the prompts of ImageNet classes (open_clip's or the descriptors')",
    )
    parser.add_argument(
        "--templates",
        choices=["openai", "simple", "world"],
        default="openai",
        help="prompt templates: OpenAI's 80 (default), open_clip's 7 or the synthetic world's 8 name titles",
    )
    args = parser.parse_args()
    main(
        args.mode,
        args.source,
        args.out,
        args.threads,
        encoder=args.encoder,
        reuse=tuple(args.reuse) if args.reuse else None,
        zeroshot_names=args.zeroshot_names,
        templates=args.templates,
    )
