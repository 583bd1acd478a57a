"""Download rules (metadata files, ImageNetV2, ImageNet-Captions, LAION-400M parts): one file,
resumable, checked against the sha256 and size the rule passes on from the source registry (each
optional); without a checksum the observed one is logged and recorded beside the file
(``<file>.sha256``) so that it can be pinned.

Standalone: python workflow/scripts/download.py URL DEST [--sha256 HEX] [--size BYTES]
"""

import argparse
import logging

from cliptail.data.download import download, write_sha256_sidecar
from cliptail.runlog import logged


def main(
    url: str,
    dest: str,
    sha256: str | None,
    options: dict,
    log: str | None = None,
    size: int | None = None,
) -> None:
    with logged(log) as logger:
        path = download(url, dest, sha256, size=size, **options)
        if sha256:
            logger.info("%s: sha256 verified", path)
        else:
            logger.warning(
                "%s: no checksum pinned; observed sha256 %s", path, write_sha256_sidecar(path)
            )


if "snakemake" in globals():
    _smk = snakemake
    _size = _smk.params.get("size")
    main(
        _smk.params.url,
        str(_smk.output[0]),
        _smk.params.sha256 or None,
        dict(_smk.params.download),
        _smk.log[0],
        int(_size) if _size is not None else None,
    )
elif __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url", help="what to download")
    parser.add_argument("dest", help="where to write it")
    parser.add_argument("--sha256", help="expected checksum (hex)")
    parser.add_argument("--size", type=int, help="expected length in bytes")
    parser.add_argument("--retries", type=int, default=5, help="attempts after the first")
    args = parser.parse_args()
    main(args.url, args.dest, args.sha256, {"retries": args.retries}, size=args.size)
