"""Rule download_laion_part: one LAION-400M metadata parquet part (resumable; sha256 if pinned).

Standalone: python workflow/scripts/download_laion_part.py --part 0 --dest resources/laion400m/parts [--base-url URL]
"""

import argparse
from pathlib import Path

from cliptail.data.laion import DEFAULT_PARTS_URL, download_part
from cliptail.runlog import logged


def main(
    part: int,
    dest_dir: str,
    base_url: str,
    sha256: str | None,
    download: dict,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        logger.info(
            "LAION-400M part %d at %s",
            part,
            download_part(part, dest_dir, base_url, sha256, **download),
        )


if "snakemake" in globals():
    main(
        int(snakemake.wildcards.part),
        str(Path(snakemake.output.part).parent),  # noqa: F821
        snakemake.params.base_url,  # noqa: F821
        snakemake.params.sha256,
        dict(snakemake.params.download),
        snakemake.log[0],
    )  # noqa: F821
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, required=True)
    parser.add_argument("--dest", default="resources/laion400m/parts")
    parser.add_argument("--base-url", default=DEFAULT_PARTS_URL)
    parser.add_argument("--sha256", default=None)
    args = parser.parse_args()
    main(args.part, args.dest, args.base_url, args.sha256, {})
