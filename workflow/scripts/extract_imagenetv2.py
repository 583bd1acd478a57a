"""Rule extract_imagenetv2: unpack the archive (checked layout; the folder is complete or absent).

Standalone: python workflow/scripts/extract_imagenetv2.py --archive resources/imagenetv2/imagenetv2-matched-frequency.tar.gz \
    --dest resources/imagenetv2
"""

import argparse
from pathlib import Path

from cliptail.data.imagenetv2 import extract_imagenetv2
from cliptail.runlog import logged


def main(archive: str, dest_dir: str, log: str | None = None) -> None:
    with logged(log) as logger:
        folder = extract_imagenetv2(archive, dest_dir)
        logger.info("ImageNetV2 extracted to %s", folder)


if "snakemake" in globals():
    main(
        snakemake.input.archive,
        str(Path(snakemake.output.folder).parent),
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--archive", default="resources/imagenetv2/imagenetv2-matched-frequency.tar.gz"
    )
    parser.add_argument("--dest", default="resources/imagenetv2")
    args = parser.parse_args()
    main(args.archive, args.dest)
