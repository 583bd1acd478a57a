"""Rule locate_imagenet: check the user's ImageNet tree and record where it is.

Standalone: python workflow/scripts/locate_imagenet.py --root /data/imagenet --metadata resources/metadata \
    --out resources/imagenet/imagenet.json
"""

import argparse
from pathlib import Path

from cliptail import io
from cliptail.data.imagenet import locate_imagenet
from cliptail.data.metadata import imagenet_wnids
from cliptail.runlog import logged


def main(root: str | None, metadata: str, out: str, log: str | None = None) -> None:
    with logged(log) as logger:
        summary = locate_imagenet(root, imagenet_wnids(metadata))
        io.write_json(out, summary)
        logger.info("ImageNet at %s: %s", summary["root"], summary["splits"])


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    main(
        snakemake.params.root,
        _metadata,
        snakemake.output.located,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True)
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="resources/imagenet/imagenet.json")
    args = parser.parse_args()
    main(args.root, args.metadata, args.out)
