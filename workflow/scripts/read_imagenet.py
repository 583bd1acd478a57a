"""Rule read_imagenet_val: the ImageNet validation manifest (50 images per class).

Standalone: python workflow/scripts/read_imagenet.py --located resources/imagenet/imagenet.json \
    --metadata resources/metadata --out results/data/imagenet_val [--split val] [--verify-images]
"""

import argparse
from pathlib import Path

from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.imagenet import read_imagenet_split
from cliptail.data.metadata import imagenet_classes
from cliptail.runlog import logged


def main(
    located: str,
    split: str,
    metadata: str,
    out_dir: str,
    verify_images: bool,
    source: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        root = io.read_json(located)["root"]
        classes = imagenet_classes(metadata)
        df, report = read_imagenet_split(root, split, classes, verify_images=verify_images)
        DatasetDir(out_dir).write(
            df,
            classes,
            report=report,
            source=source or {"image_root": root, "image_format": "files"},
        )
        logger.info(
            "ImageNet %s: %d images, %d corrupt left out", split, len(df), report["corrupt"]
        )


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    _out_dir = str(Path(snakemake.output.manifest).parent)
    main(
        snakemake.input.located,
        snakemake.params.split,
        _metadata,
        _out_dir,
        snakemake.params.verify_images,
        snakemake.params.source,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--located", default="resources/imagenet/imagenet.json")
    parser.add_argument("--split", default="val", choices=["train", "val"])
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="results/data/imagenet_val")
    parser.add_argument("--verify-images", action="store_true")
    args = parser.parse_args()
    main(args.located, args.split, args.metadata, args.out, args.verify_images)
