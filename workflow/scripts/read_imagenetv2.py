"""Rule read_imagenetv2: the ImageNetV2 matched-frequency manifest (10 images per class).

Standalone: python workflow/scripts/read_imagenetv2.py --folder resources/imagenetv2/imagenetv2-matched-frequency-format-val \
    --metadata resources/metadata --out results/data/imagenetv2 [--no-verify-images]
"""

import argparse
from pathlib import Path

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.imagenetv2 import read_imagenetv2
from cliptail.data.metadata import imagenet_classes
from cliptail.runlog import logged


def main(
    folder: str,
    metadata: str,
    out_dir: str,
    verify_images: bool,
    source: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        classes = imagenet_classes(metadata)
        df, report = read_imagenetv2(folder, classes, verify_images=verify_images)
        DatasetDir(out_dir).write(
            df,
            classes,
            report=report,
            source=source or {"image_root": str(Path(folder).parent), "image_format": "files"},
        )
        logger.info("ImageNetV2: %d images, %d corrupt left out", len(df), report["corrupt"])


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    _out_dir = str(Path(snakemake.output.manifest).parent)
    main(
        snakemake.input.folder,
        _metadata,
        _out_dir,
        snakemake.params.verify_images,
        snakemake.params.source,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--folder", default="resources/imagenetv2/imagenetv2-matched-frequency-format-val"
    )
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="results/data/imagenetv2")
    parser.add_argument("--no-verify-images", dest="verify_images", action="store_false")
    args = parser.parse_args()
    main(args.folder, args.metadata, args.out, args.verify_images)
