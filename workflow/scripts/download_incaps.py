"""Rule download_incaps: imagenet_captions.zip from the ImageNet-Captions repository.

Standalone: python workflow/scripts/download_incaps.py --out resources/incaps/imagenet_captions.zip [--sha256 HEX]
"""

import argparse

from cliptail.data.incaps import ZIP_URL, download_incaps
from cliptail.runlog import logged


def main(url: str, sha256: str | None, out: str, download: dict, log: str | None = None) -> None:
    with logged(log) as logger:
        path = download_incaps(out, url, sha256, **download)
        logger.info("ImageNet-Captions zip at %s", path)


if "snakemake" in globals():
    main(
        snakemake.params.url,
        snakemake.params.sha256,
        snakemake.output.zip,  # noqa: F821
        dict(snakemake.params.download),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=ZIP_URL)
    parser.add_argument("--sha256", default=None)
    parser.add_argument("--out", default="resources/incaps/imagenet_captions.zip")
    args = parser.parse_args()
    main(args.url, args.sha256, args.out, {})
