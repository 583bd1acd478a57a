"""Rule read_incaps: the ImageNet-Captions base manifest (title, tags, description per image).

Standalone: python workflow/scripts/read_incaps.py --json resources/incaps/imagenet_captions.json \
    --metadata resources/metadata --out results/data/incaps [--imagenet-root /data/imagenet] \
    [--drop-empty-text]

Records whose title, tags and description are all empty are kept by default (the curation gives
them the class prompt; the released IN-Caps counts include them); ``--drop-empty-text`` (config
``sources.incaps.keep_empty_text: false``) leaves them out.
"""

import argparse
from pathlib import Path

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.incaps import read_imagenet_captions
from cliptail.data.metadata import imagenet_classes
from cliptail.runlog import logged


def main(
    json_path: str,
    metadata: str,
    out_dir: str,
    imagenet_root: str | None,
    check_images: bool,
    keep_empty_text: bool,
    source: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        classes = imagenet_classes(metadata)
        df, report = read_imagenet_captions(
            json_path,
            classes,
            image_root=imagenet_root if check_images else None,
            keep_empty_text=keep_empty_text,
        )
        DatasetDir(out_dir).write(
            df,
            classes,
            report=report,
            source=source or {"image_root": imagenet_root, "image_format": "files"},
            allow_empty_captions=keep_empty_text,
        )
        logger.info(
            "IN-Caps: %d of %d records kept; skipped %s",
            report["kept"],
            report["records"],
            {k: v for k, v in report["skipped"].items() if v},
        )
        if report["kept"] != report["expected_records"]:
            logger.warning(
                "IN-Caps has %d records here, the released dataset %d",
                report["kept"],
                report["expected_records"],
            )


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    _out_dir = str(Path(snakemake.output.manifest).parent)
    main(
        snakemake.input.json,
        _metadata,
        _out_dir,
        snakemake.params.imagenet_root,
        snakemake.params.check_images,
        snakemake.params.keep_empty_text,
        snakemake.params.source,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="resources/incaps/imagenet_captions.json")
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="results/data/incaps")
    parser.add_argument(
        "--imagenet-root",
        default=None,
        help="check that train/<wnid>/<file> exists under this ImageNet root",
    )
    parser.add_argument(
        "--drop-empty-text",
        action="store_true",
        help="leave out records whose title, tags and description are all empty",
    )
    args = parser.parse_args()
    main(
        args.json,
        args.metadata,
        args.out,
        args.imagenet_root,
        args.imagenet_root is not None,
        not args.drop_empty_text,
    )
