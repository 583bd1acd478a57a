"""Rule fetch_openclip_checkpoint: download the weights of one released open_clip checkpoint.

Resumable, retried download (cliptail.data.download) into resources/openclip/<name>.bin; the
sha256 the entry pins is checked, and so is the digest prefix open_clip's release file names
carry. The file's sha256 is recorded next to it (<name>.bin.sha256) for pinning.

Standalone: python workflow/scripts/fetch_openclip_checkpoint.py URL DEST [--sha256 HEX]
"""

import argparse

from cliptail.audit.checkpoints import Checkpoint, verify_download
from cliptail.data.download import download
from cliptail.runlog import logged


def main(url: str, dest: str, sha256: str | None = None, log: str | None = None) -> None:
    with logged(log) as logger:
        logger.info("downloading %s -> %s", url, dest)
        download(url, dest, sha256=sha256)
        digest = verify_download(url, dest)
        logger.info("%s: sha256 %s", dest, digest)


if "snakemake" in globals():
    _smk = snakemake
    _entry = Checkpoint(**_smk.params.entry)
    main(_entry.download_url(), _smk.output.weights, _entry.sha256, _smk.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("url")
    parser.add_argument("dest")
    parser.add_argument("--sha256")
    args = parser.parse_args()
    main(args.url, args.dest, args.sha256)
