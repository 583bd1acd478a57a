"""Rule download_imagenetv2: the ImageNetV2 matched-frequency archive (resumable, sha256-checked).

Standalone: python workflow/scripts/download_imagenetv2.py --out resources/imagenetv2/imagenetv2-matched-frequency.tar.gz
"""

import argparse

from cliptail.data.imagenetv2 import SHA256, URL, download_imagenetv2
from cliptail.runlog import logged


def main(url: str, sha256: str | None, out: str, download: dict, log: str | None = None) -> None:
    with logged(log) as logger:
        path = download_imagenetv2(out, url, sha256, **download)
        logger.info("ImageNetV2 archive at %s", path)


if "snakemake" in globals():
    main(
        snakemake.params.url,
        snakemake.params.sha256,
        snakemake.output.archive,  # noqa: F821
        dict(snakemake.params.download),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=URL)
    parser.add_argument("--sha256", default=SHA256)
    parser.add_argument("--out", default="resources/imagenetv2/imagenetv2-matched-frequency.tar.gz")
    args = parser.parse_args()
    main(args.url, args.sha256 or None, args.out, {})
