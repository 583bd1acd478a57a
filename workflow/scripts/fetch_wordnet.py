"""Rule fetch_wordnet: the WordNet 3.0 database files (index.noun, noun.exc, data.noun), no root.

Fills the output folder from, in order: the configured folder (``sources.wordnet.dir``), the
database found on this machine (``$CLIPTAIL_WORDNET_DIR``, /usr/share/wordnet, NLTK data), or a
sha256-checked download of Princeton's WordNet 3.0 release.

Standalone: python workflow/scripts/fetch_wordnet.py --out resources/wordnet [--dir DIR] \
    [--url URL] [--sha256 HEX|none]
"""

import argparse

from cliptail.data.wordnet import REQUIRED_FILES, WORDNET_SHA256, WORDNET_URL, ensure_wordnet
from cliptail.runlog import logged


def main(
    folder: str,
    configured_dir: str | None = None,
    url: str | None = None,
    sha256: str | None = None,
    download: dict | None = None,
    log: str | None = None,
) -> None:
    """``url``/``sha256`` None: Princeton's release and its pinned hash; ``sha256="none"``: the
    archive is not verified (a warning is logged)."""
    if sha256 is None or sha256 == "":
        sha256 = WORDNET_SHA256
    elif sha256.lower() == "none":
        sha256 = None
    with logged(log) as logger:
        dest = ensure_wordnet(
            folder, configured_dir or None, url or WORDNET_URL, sha256, **(download or {})
        )
        logger.info("WordNet 3.0 database (%s) in %s", ", ".join(REQUIRED_FILES), dest)


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.output.folder,
        _smk.params.dir,
        _smk.params.url,
        _smk.params.sha256,
        dict(getattr(_smk.params, "download", None) or {}),
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        default="resources/wordnet",
        help="folder to fill with index.noun, noun.exc and data.noun (default: %(default)s)",
    )
    parser.add_argument(
        "--dir",
        default=None,
        help="use this WordNet 3.0 folder (it must hold the three files) instead of searching "
        "the machine or downloading",
    )
    parser.add_argument(
        "--url",
        default=WORDNET_URL,
        help="WordNet 3.0 release tarball, downloaded when no database is found "
        "(default: %(default)s)",
    )
    parser.add_argument(
        "--sha256",
        default=WORDNET_SHA256,
        help="expected sha256 of the tarball, or 'none' to skip the check "
        "(default: the pinned hash of the default URL)",
    )
    parser.add_argument("--no-progress", action="store_true", help="no download progress bar")
    args = parser.parse_args()
    main(
        args.out,
        args.dir,
        args.url,
        args.sha256,
        {"progress": not args.no_progress},
    )
