"""Rule extract_incaps: imagenet_captions.json out of the zip (atomic write).

Standalone: python workflow/scripts/extract_incaps.py --zip resources/incaps/imagenet_captions.zip \
    --out resources/incaps/imagenet_captions.json
"""

import argparse

from cliptail.data.incaps import extract_captions_json
from cliptail.runlog import logged


def main(zip_path: str, out: str, log: str | None = None) -> None:
    with logged(log) as logger:
        logger.info("extracted %s", extract_captions_json(zip_path, out))


if "snakemake" in globals():
    main(snakemake.input.zip, snakemake.output.json, snakemake.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zip", default="resources/incaps/imagenet_captions.zip")
    parser.add_argument("--out", default="resources/incaps/imagenet_captions.json")
    args = parser.parse_args()
    main(args.zip, args.out)
