"""Prepare one zero-shot evaluation set of Fig. 12 (download, verify, extract, read, map classes).

Writes the dataset folder (manifest.parquet, classes.tsv, source.json, report.json and the test
images) to --out; the downloads are kept under <downloads>/<set>/ and reused by later runs. The
classes follow the order and names of the authors' descriptors_<set>.json. See
cliptail.data.zeroshot_sets for the formats, test splits and the class mapping.

Standalone: python workflow/scripts/prepare_zeroshot_set.py --set cub \
    --downloads resources/zeroshot --out results/data/zeroshot_cub \
    [--url-base URL] [--url FILE=URL ...] [--local DIR ...] [--skip-checksums] \
    [--no-verify-images] [--metadata DIR]

Snakemake: params ``dataset`` and ``downloads`` (and optionally ``url_base``, ``urls``,
``local_dir`` (a folder or a list of folders), ``verify_checksums``, ``verify_images``), output
``manifest`` (the folder is its parent), ``log``.
"""

import argparse
import json
import sys
from pathlib import Path

from cliptail.data.zeroshot_sets import ZEROSHOT_SETS, prepare
from cliptail.runlog import logged


def main(
    dataset: str,
    downloads: str,
    out: str,
    *,
    url_base: str | None = None,
    urls: dict[str, str] | None = None,
    local_dir: str | list[str] | None = None,
    verify_checksums: bool = True,
    verify_images: bool = True,
    metadata_dir: str | None = None,
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
            metadata_dir=metadata_dir,
            progress=log is None,
        )
        logger.info(
            "%s prepared in %s: %d test images of %d classes; %d image(s) skipped %s",
            dataset,
            out,
            report["images"],
            report["classes"],
            report["skipped"],
            json.dumps(report["skipped_files"][:5]) if report["skipped"] else "",
        )
        return report


def _url_pair(text: str) -> tuple[str, str]:
    name, sep, url = text.partition("=")
    if not sep or not name or not url:
        raise argparse.ArgumentTypeError(f"expected FILE=URL, got {text!r}")
    return name, url


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--set", dest="dataset", required=True, choices=sorted(ZEROSHOT_SETS))
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
    parser.add_argument(
        "--local",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder already holding (some of) the files (repeatable; searched in order)",
    )
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
        "--metadata", help="the authors' metadata folder (default: the copy shipped with cliptail)"
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
            local_dir=args.local or None,
            verify_checksums=not args.skip_checksums,
            verify_images=args.verify_images,
            metadata_dir=args.metadata,
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
        local_dir=_smk.params.get("local_dir") or None,
        verify_checksums=bool(_smk.params.get("verify_checksums", True)),
        verify_images=bool(_smk.params.get("verify_images", True)),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    sys.exit(cli())
