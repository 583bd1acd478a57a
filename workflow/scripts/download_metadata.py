"""Rule download_metadata_file: one file of the authors' released metadata, sha256-checked.

Standalone: python workflow/scripts/download_metadata.py --path freqs/class_frequency_incaps_imagenet_ori.txt \
    --root resources/metadata [--base-url URL] [--all]
"""

import argparse

from cliptail.data.metadata import DEFAULT_BASE_URL, fetch_metadata, fetch_metadata_file
from cliptail.runlog import logged


def main(
    path: str | None, root: str, base_url: str, download: dict, log: str | None = None
) -> None:
    with logged(log) as logger:
        if path is None:
            files = fetch_metadata(root, base_url=base_url, **download)
            logger.info("%d metadata files in %s", len(files), root)
        else:
            local = fetch_metadata_file(path, root, base_url, **download)
            logger.info("metadata file %s", local)


if "snakemake" in globals():
    _path = snakemake.wildcards.metadata_path  # noqa: F821
    main(
        _path,
        str(snakemake.output[0])[: -len(_path)],
        snakemake.params.base_url,  # noqa: F821
        dict(snakemake.params.download),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--path", help="released file, e.g. imagenet100_idxs.txt")
    group.add_argument("--all", action="store_true", help="every released file")
    parser.add_argument("--root", default="resources/metadata")
    parser.add_argument("--base-url", default=DEFAULT_BASE_URL)
    args = parser.parse_args()
    main(None if args.all else args.path, args.root, args.base_url, {})
