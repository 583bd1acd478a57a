"""Download rules (metadata files, ImageNetV2, ImageNet-Captions, LAION-400M parts): one file,
resumable, sha256-checked when a checksum is pinned; otherwise the observed checksum is logged
and recorded beside the file (``<file>.sha256``) so that it can be pinned.

Standalone: python workflow/scripts/download.py URL DEST [--sha256 HEX]
"""

import argparse
import logging

from cliptail.data.download import download, write_sha256_sidecar
from cliptail.runlog import logged


def main(url: str, dest: str, sha256: str | None, options: dict, log: str | None = None) -> None:
    with logged(log) as logger:
        path = download(url, dest, sha256, **options)
        if sha256:
            logger.info("%s: sha256 verified", path)
        else:
            logger.warning(
                "%s: no checksum pinned; observed sha256 %s", path, write_sha256_sidecar(path)
            )


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.params.url,
        str(_smk.output[0]),
        _smk.params.sha256,
        dict(_smk.params.download),
        _smk.log[0],
    )
elif __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="what to download")
    parser.add_argument("dest", help="where to write it")
    parser.add_argument("--sha256", help="expected checksum (hex)")
    parser.add_argument("--retries", type=int, default=5, help="attempts after the first")
    args = parser.parse_args()
    main(args.url, args.dest, args.sha256, {"retries": args.retries})
