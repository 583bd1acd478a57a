"""``cliptail sources``: fetch and check the paper's real data sources from the command line.

- ``cliptail sources metadata [--root resources/metadata] [--base-url URL] [--verify]``: download
  the authors' released metadata (pinned, sha256-checked), or only check a local copy;
- ``cliptail sources download URL DEST [--sha256 HEX]``: one resumable, verified download;
- ``cliptail sources locate-imagenet ROOT [--metadata DIR]``: check an ImageNet tree (prints what
  is missing and the expected layout); the class list comes from the copy of the authors' metadata
  shipped with cliptail unless ``--metadata`` names another.

The workflow does the same through rules/download.smk; these are for setting things up by hand.
"""

from __future__ import annotations

import argparse
import json

from cliptail.data import metadata
from cliptail.data.download import download
from cliptail.data.imagenet import locate_imagenet

DESCRIPTION = """\
Fetch and check the study's real data sources by hand (the workflow does the same
through its download rules):
  metadata         download the authors' released metadata (pinned commit,
                   sha256-checked), or only --verify a local copy
  download         one resumable, sha256-checked download
  locate-imagenet  check an ImageNet train/val tree (prints what is missing and
                   the expected layout)"""

DEFAULT_ROOT = "resources/metadata"


def _selected_paths(only: list[str] | None) -> list[str]:
    """The released files whose path starts with one of ``only`` (default: all of them)."""
    paths = list(metadata.pinned_files())
    if not only:
        return paths
    unknown = [prefix for prefix in only if not any(p.startswith(prefix) for p in paths)]
    if unknown:
        raise ValueError(
            f"--only {' '.join(unknown)}: no released metadata file starts with this "
            "(the files lie under descriptors/, freqs/, heads/, and imagenet100_idxs.txt)"
        )
    return [p for p in paths if p.startswith(tuple(only))]


def _metadata(args: argparse.Namespace) -> int:
    paths = _selected_paths(args.only)
    if args.verify:
        bad = metadata.verify_metadata(args.root, paths)
        for path in bad:
            print(f"missing or changed: {path}")
        print(f"{len(paths) - len(bad)} of {len(paths)} metadata files verified in {args.root}")
        return 1 if bad else 0
    files = metadata.fetch_metadata(
        args.root, paths, base_url=args.base_url, retries=args.retries, progress=not args.quiet
    )
    print(f"{len(files)} metadata files in {args.root}")
    return 0


def _download(args: argparse.Namespace) -> int:
    path = download(args.url, args.dest, args.sha256, retries=args.retries, progress=not args.quiet)
    print(path)
    return 0


def _locate(args: argparse.Namespace) -> int:
    summary = locate_imagenet(
        args.root, metadata.imagenet_wnids(args.metadata), progress=not args.quiet
    )
    print(json.dumps(summary, indent=2))
    return 0


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "sources",
        help="fetch and check the real data sources",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(
        dest="sources_command", required=True, metavar="ACTION", help="what to do"
    )

    p = sub.add_parser(
        "metadata",
        help="download (or --verify) the authors' metadata",
        description="Download the authors' released metadata (descriptors, frequencies, "
        "ImageNet-100 classes and frozen heads; 118 files) from the pinned commit, each "
        "checked against its sha256; files already there with the right hash are kept. "
        "The small files (all but heads/) also ship with cliptail, which reads them from its "
        "own copy when this folder lacks them.",
    )
    p.add_argument(
        "--root",
        default=DEFAULT_ROOT,
        metavar="DIR",
        help=f"folder the files are cached in (default: {DEFAULT_ROOT})",
    )
    p.add_argument(
        "--base-url",
        default=metadata.DEFAULT_BASE_URL,
        metavar="URL",
        help="URL of the metadata folder, ending with a slash "
        "(default: the GitHub raw URL of the pinned commit)",
    )
    p.add_argument(
        "--retries",
        type=_retries,
        default=5,
        metavar="N",
        help="attempts per file after the first (default 5)",
    )
    p.add_argument(
        "--verify",
        action="store_true",
        help="download nothing; only check the files under --root against their sha256 "
        "(exit status 1 if one is missing or changed)",
    )
    p.add_argument(
        "--only",
        nargs="+",
        metavar="PREFIX",
        help="only the files whose path starts with one of these, e.g. heads/ or "
        "descriptors/ freqs/ imagenet100_idxs.txt (default: all 118)",
    )
    p.set_defaults(func=_metadata)

    p = sub.add_parser(
        "download",
        help="one resumable, sha256-checked download",
        description="Download URL to DEST: an interrupted download resumes from DEST.part; "
        "with --sha256 the file is checked before it is moved into place.",
    )
    p.add_argument("url", metavar="URL", help="what to download (an http or https URL)")
    p.add_argument("dest", metavar="DEST", help="where to write it (folders are created)")
    p.add_argument(
        "--sha256",
        default=None,
        metavar="HEX",
        help="expected sha256 of the file (default: not checked)",
    )
    p.add_argument(
        "--retries",
        type=_retries,
        default=5,
        metavar="N",
        help="attempts after the first (default 5)",
    )
    p.set_defaults(func=_download)

    p = sub.add_parser(
        "locate-imagenet",
        help="check an ImageNet train/val tree",
        description="Check that ROOT holds ImageNet (ILSVRC-2012) as train/<wnid>/ and "
        "val/<wnid>/ folders of the 1000 classes; prints a summary, or what is missing and "
        "the expected layout.",
    )
    p.add_argument("root", metavar="ROOT", help="the ImageNet folder (with train/ and val/)")
    p.add_argument(
        "--metadata",
        default=None,
        metavar="DIR",
        help="a copy of the authors' metadata folder, for the class list "
        "(default: the copy shipped with cliptail)",
    )
    p.set_defaults(func=_locate)
