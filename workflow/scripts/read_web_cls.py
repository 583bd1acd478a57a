"""Rule read_web_cls: YFCC-15M-Cls / CC-12M-Cls from a caption list (WordNet lemma matching), or
the whole list (``yfcc15m``: every caption, its ImageNet-concept frequency counting every match).

Standalone: python workflow/scripts/read_web_cls.py --captions yfcc15m.jsonl --dataset yfcc15m_cls \
    --metadata resources/metadata --out results/data/yfcc15m_cls [--ambiguous drop] [--processes 4]
(``--dataset yfcc15m`` writes the whole list.)
"""

import argparse
from pathlib import Path

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.metadata import imagenet_classes
from cliptail.data.web_captions import class_phrases, read_web_cls, read_web_full
from cliptail.runlog import logged


def main(
    dataset: str,
    captions: str,
    metadata: str,
    out_dir: str,
    options: dict,
    threads: int = 1,
    wordnet_dir: str | None = None,
    source: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        classes = imagenet_classes(metadata)
        phrases = class_phrases(
            classes["id"].tolist(),
            options.get("phrase_source", "wordnet"),
            metadata_root=metadata,
            wordnet_dir=wordnet_dir,
        )
        columns = dict(
            image_column=options.get("image_column", "filepath"),
            caption_column=options.get("caption_column", "caption"),
            source=dataset.removesuffix("_cls"),
            processes=max(1, threads),
        )
        if dataset.endswith("_cls"):
            df, report = read_web_cls(
                captions, classes, phrases, ambiguous=options.get("ambiguous", "all"), **columns
            )
        else:  # the whole list
            df, classes, report = read_web_full(captions, classes, phrases, **columns)
        DatasetDir(out_dir).write(
            df,
            classes,
            report=report,
            source=source or {"image_root": options.get("image_root"), "image_format": "files"},
        )
        logger.info(
            "%s: %d rows from %d matched captions", dataset, len(df), report["captions_matched"]
        )


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    _out_dir = str(Path(snakemake.output.manifest).parent)
    main(
        snakemake.wildcards.web_cls,
        snakemake.input.captions,
        _metadata,
        _out_dir,
        dict(snakemake.params.options),
        snakemake.threads,
        wordnet_dir=snakemake.input.wordnet,
        source=snakemake.params.source,
        log=snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", required=True)
    parser.add_argument(
        "--dataset", required=True, help="yfcc15m_cls, cc12m_cls, or yfcc15m (the whole list)"
    )
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", required=True)
    parser.add_argument("--ambiguous", choices=["all", "drop"], default="all")
    parser.add_argument("--phrase-source", choices=["wordnet", "descriptors"], default="wordnet")
    parser.add_argument("--image-column", default="filepath")
    parser.add_argument("--caption-column", default="caption")
    parser.add_argument("--image-root", default=None)
    parser.add_argument("--processes", type=int, default=1, help="matching processes")
    parser.add_argument("--wordnet-dir", help="WordNet 3.0 folder (default: located)")
    args = parser.parse_args()
    main(
        args.dataset,
        args.captions,
        args.metadata,
        args.out,
        {
            "ambiguous": args.ambiguous,
            "phrase_source": args.phrase_source,
            "image_column": args.image_column,
            "caption_column": args.caption_column,
            "image_root": args.image_root,
        },
        args.processes,
        wordnet_dir=args.wordnet_dir,
    )
