"""Rule read_laionet: the LAIONet base manifest from the downloaded webdataset shards.

Standalone: python workflow/scripts/read_laionet.py --shards resources/laionet/shards \
    --metadata resources/metadata --out results/data/laionet
"""

import argparse
from pathlib import Path

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.laion import read_laionet_shards
from cliptail.data.metadata import imagenet_classes
from cliptail.runlog import logged


def main(
    shards: str, metadata: str, out_dir: str, source: dict | None = None, log: str | None = None
) -> None:
    with logged(log) as logger:
        classes = imagenet_classes(metadata)
        df, report = read_laionet_shards(shards, classes)
        DatasetDir(out_dir).write(
            df,
            classes,
            report=report,
            source=source or {"image_root": shards, "image_format": "webdataset"},
        )
        logger.info("LAIONet: %d images (%d URLs failed)", len(df), report["failed"])


if "snakemake" in globals():
    _metadata = str(Path(snakemake.input.synsets).parents[1])
    _out_dir = str(Path(snakemake.output.manifest).parent)
    main(
        snakemake.input.shards,
        _metadata,
        _out_dir,
        snakemake.params.source,
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shards", default="resources/laionet/shards")
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--out", default="results/data/laionet")
    args = parser.parse_args()
    main(args.shards, args.metadata, args.out)
