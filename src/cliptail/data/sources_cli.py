"""``cliptail sources``: fetch and check the paper's real data sources from the command line.

- ``cliptail sources metadata [--root resources/metadata] [--base-url URL] [--verify]``: download
  the authors' released metadata (pinned, sha256-checked), or only check a local copy;
- ``cliptail sources download URL DEST [--sha256 HEX]``: one resumable, verified download;
- ``cliptail sources locate-imagenet ROOT [--metadata resources/metadata]``: check an ImageNet tree
  (prints what is missing and the expected layout).

The workflow does the same through rules/download.smk; these are for setting things up by hand.
"""

from __future__ import annotations

import argparse
import json

from cliptail.data import metadata
from cliptail.data.download import download
from cliptail.data.imagenet import locate_imagenet


def _metadata(args: argparse.Namespace) -> int:
    if args.verify:
        bad = metadata.verify_metadata(args.root)
        for path in bad:
            print(f"missing or changed: {path}")
        print(
            f"{len(metadata.pinned_files()) - len(bad)} of {len(metadata.pinned_files())} "
            f"metadata files verified in {args.root}"
        )
        return 1 if bad else 0
    files = metadata.fetch_metadata(args.root, base_url=args.base_url, retries=args.retries)
    print(f"{len(files)} metadata files in {args.root}")
    return 0


def _download(args: argparse.Namespace) -> int:
    path = download(args.url, args.dest, args.sha256, retries=args.retries)
    print(path)
    return 0


def _locate(args: argparse.Namespace) -> int:
    summary = locate_imagenet(args.root, metadata.imagenet_wnids(args.metadata))
    print(json.dumps(summary, indent=2))
    return 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sources", help="fetch and check the real data sources", description=__doc__.splitlines()[0]
    )
    sub = parser.add_subparsers(dest="sources_command", required=True, metavar="ACTION")

    p = sub.add_parser("metadata", help="download (or --verify) the authors' metadata")
    p.add_argument("--root", default="resources/metadata", help="cache folder")
    p.add_argument("--base-url", default=metadata.DEFAULT_BASE_URL)
    p.add_argument("--retries", type=int, default=5)
    p.add_argument("--verify", action="store_true", help="only check the files under --root")
    p.set_defaults(func=_metadata)

    p = sub.add_parser("download", help="one resumable, sha256-checked download")
    p.add_argument("url")
    p.add_argument("dest")
    p.add_argument("--sha256", default=None)
    p.add_argument("--retries", type=int, default=5)
    p.set_defaults(func=_download)

    p = sub.add_parser("locate-imagenet", help="check an ImageNet train/val tree")
    p.add_argument("root")
    p.add_argument(
        "--metadata",
        default="resources/metadata",
        help="folder of the authors' metadata (for the class list)",
    )
    p.set_defaults(func=_locate)
