"""Prepare one of the 12 linear-probe transfer datasets (download, verify, extract, read).

Writes the dataset folder (manifest.parquet, classes.tsv, source.json, report.json and the images)
to --out; the downloads are kept under <downloads>/<dataset>/ and reused by later runs. See
cliptail.data.transfer for the formats, splits and checks.

Standalone: python workflow/scripts/prepare_transfer.py --dataset dtd \
    --downloads resources/transfer --out results/data/transfer_dtd \
    [--url-base URL] [--url FILE=URL ...] [--local DIR] [--skip-checksums] [--no-verify-images]

Stanford Cars has no working official URL: give --url-base (a mirror holding the original files),
--url FILE=URL per file, or --local DIR (a folder holding car_devkit.tgz, cars_train.tgz,
cars_test.tgz and cars_test_annos_withlabels.mat).

Snakemake: params ``dataset`` and ``downloads`` (and optionally ``url_base``, ``urls``,
``local_dir``, ``verify_images``), output ``manifest`` (the folder is its parent), ``log``.
"""

import argparse
import json
import sys
from pathlib import Path

from cliptail.data.transfer import TRANSFER_DATASETS, prepare
from cliptail.runlog import logged


def main(
    dataset: str,
    downloads: str,
    out: str,
    *,
    url_base: str | None = None,
    urls: dict[str, str] | None = None,
    local_dir: str | None = None,
    verify_checksums: bool = True,
    verify_images: bool = True,
    workers: int = 8,
    log: str | None = None,
) -> dict:
    with logged(log) as logger:
        report = prepare(
            dataset,
            downloads,
            out,
            urls,
            url_base=url_base,
            local_dir=local_dir,
            verify_checksums=verify_checksums,
            verify_images=verify_images,
            progress=log is None,
            reader_options={"workers": workers},
        )
        logger.info(
            "%s prepared in %s: %s; %d image(s) skipped %s",
            dataset,
            out,
            json.dumps(report["splits"]),
            report["skipped"],
            json.dumps(report["skipped_reasons"]) if report["skipped"] else "",
        )
        return report


def _url_pair(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f"expected FILE=URL, got {text!r}")
    return name, url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(TRANSFER_DATASETS))
    parser.add_argument(
        "--downloads", required=True, help="folder for the downloaded files (kept, reused)"
    )
    parser.add_argument("--out", required=True, help="the dataset folder to write")
    parser.add_argument(
        "--url-base", help="download every file from <URL>/<file name> instead (a mirror)"
    )
    parser.add_argument(
        "--url",
        action="append",
        type=_url_pair,
        default=[],
        metavar="FILE=URL",
        help="download FILE from URL (repeatable)",
    )
    parser.add_argument("--local", help="a folder already holding (some of) the files")
    parser.add_argument(
        "--skip-checksums",
        action="store_true",
        help="accept files whose md5 differs from the published one (re-packed mirrors)",
    )
    parser.add_argument(
        "--no-verify-images",
        dest="verify_images",
        action="store_false",
        help="only check that the images exist, do not decode them",
    )
    parser.add_argument(
        "--workers", type=int, default=8, help="parallel image downloads (Birdsnap)"
    )
    parser.add_argument("--log", help="write the log to this file instead of the terminal")
    return parser.parse_args(argv)


def cli(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        main(
            args.dataset,
            args.downloads,
            args.out,
            url_base=args.url_base,
            urls=dict(args.url),
            local_dir=args.local,
            verify_checksums=not args.skip_checksums,
            verify_images=args.verify_images,
            workers=args.workers,
            log=args.log,
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821 - set by Snakemake
    main(
        _smk.params.dataset,
        _smk.params.downloads,
        str(Path(_smk.output.manifest).parent),
        url_base=_smk.params.get("url_base"),
        urls=dict(_smk.params.get("urls") or {}),
        local_dir=_smk.params.get("local_dir"),
        verify_checksums=bool(_smk.params.get("verify_checksums", True)),
        verify_images=bool(_smk.params.get("verify_images", True)),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    sys.exit(cli())
