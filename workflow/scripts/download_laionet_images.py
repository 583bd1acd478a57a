"""Rule download_laionet_images: LAIONet step 4, img2dataset -> webdataset shards.

Standalone: python workflow/scripts/download_laionet_images.py --candidates resources/laionet/candidates.parquet \
    --out resources/laionet/shards [--processes 16 --threads 64]
"""

import argparse

from cliptail import io
from cliptail.data.laion import download_images
from cliptail.runlog import logged


def main(
    candidates: str, out_dir: str, stats_path: str, options: dict, log: str | None = None
) -> None:
    with logged(log) as logger:
        stats = download_images(candidates, out_dir, options, log_file=log)
        io.write_json(stats_path, stats)
        logger.info("img2dataset: %s", stats)


if "snakemake" in globals():
    main(
        snakemake.input.candidates,
        snakemake.output.shards,
        snakemake.output.stats,
        # one img2dataset process per thread of the job, unless configured
        {"processes_count": snakemake.threads, **snakemake.params.img2dataset},
        snakemake.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--candidates",
        default="resources/laionet/candidates.parquet",
        help="img2dataset input (laionet_candidates)",
    )
    parser.add_argument("--out", default="resources/laionet/shards", help="shard folder")
    parser.add_argument(
        "--stats",
        default="resources/laionet/download_stats.json",
        help="download statistics (json)",
    )
    parser.add_argument("--processes", type=int, default=16, help="img2dataset processes")
    parser.add_argument("--threads", type=int, default=64, help="threads per process")
    args = parser.parse_args()
    main(
        args.candidates,
        args.out,
        args.stats,
        {"processes_count": args.processes, "thread_count": args.threads},
    )
