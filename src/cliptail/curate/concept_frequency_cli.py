"""``cliptail concept-freq``: concept frequency of caption files (PAPER.md section 4).

    cliptail concept-freq --concepts imagenet --captions part-*.parquet --column TEXT \\
        --out laion400m_imagenet.tsv --workers 8

writes ``laion400m_imagenet.tsv`` (``name<TAB>count`` in class order, like the authors' ``_ori``
files) and ``laion400m_imagenet.sorted.tsv`` (by count, descending, like their other files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from cliptail.curate.concept_frequency import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_COLUMNS,
    FORMATS,
    CaptionSource,
    ConceptMatcher,
    estimate_frequency,
    write_frequency_files,
)
from cliptail.curate.concept_sets import CONCEPT_SETS, load_concept_set
from cliptail.curate.wordnet import NounLemmatizer

DEFAULT_METADATA = "resources/metadata"


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "concept-freq",
        help="count how many captions mention each concept (class)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Concept frequency of caption files (PAPER.md section 4): per class, the "
        "number of captions\nwhose lemmatised tokens hold all tokens of one of its "
        "synonyms and none of its negative words.",
        epilog="example:\n  cliptail concept-freq --concepts imagenet --captions part-*.parquet "
        "--column TEXT \\\n      --out laion400m_imagenet.tsv --workers 8\n"
        "writes laion400m_imagenet.tsv (name<TAB>count, class order) and "
        "laion400m_imagenet.sorted.tsv (by count).",
    )
    parser.add_argument(
        "--concepts",
        required=True,
        metavar="SET_OR_JSON",
        help=f"a concept set ({', '.join(CONCEPT_SETS)}) or a JSON file "
        "{class: [synonyms]} / {class: {synonyms: [...], negatives: [...]}}",
    )
    parser.add_argument(
        "--captions",
        required=True,
        nargs="+",
        type=Path,
        metavar="FILE",
        help="caption files: .parquet, .tsv, .csv, .jsonl, .txt (optionally .gz), "
        "or a MetaCLIP datacard .json (entry -> count)",
    )
    parser.add_argument(
        "--column",
        help=f"caption column/key (default: the first of {', '.join(DEFAULT_COLUMNS)} present)",
    )
    parser.add_argument(
        "--format", choices=FORMATS, help="caption format (default: from the suffix)"
    )
    parser.add_argument("--out", required=True, type=Path, help="output frequency file (.tsv)")
    parser.add_argument(
        "--metadata",
        default=DEFAULT_METADATA,
        type=Path,
        help=f"the authors' metadata folder holding descriptors/ (default: {DEFAULT_METADATA})",
    )
    parser.add_argument(
        "--wordnet",
        type=Path,
        help="folder with WordNet's index.noun and noun.exc (default: "
        "$CLIPTAIL_WORDNET_DIR, /usr/share/wordnet, or an NLTK data folder)",
    )
    parser.add_argument(
        "--nltk-morphy",
        choices=("3.8", "3.9"),
        default="3.8",
        help="WordNet morphy of NLTK <= 3.8 (the authors' released files; default) "
        "or >= 3.9 (no repeated suffix rules)",
    )
    parser.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    parser.add_argument(
        "--batch-size",
        type=int,
        default=DEFAULT_BATCH_SIZE,
        help=f"captions per batch (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.workers < 1 or args.batch_size < 1:
        raise ValueError("--workers and --batch-size must be at least 1")
    lemmatizer = NounLemmatizer.from_wordnet(args.wordnet, repeat_rules=args.nltk_morphy == "3.8")
    concept_set = load_concept_set(args.concepts, args.metadata, lemmatizer)
    sources = [CaptionSource(path, args.format, args.column) for path in args.captions]
    result = estimate_frequency(
        sources,
        ConceptMatcher(concept_set, lemmatizer),
        workers=args.workers,
        batch_size=args.batch_size,
        progress=not args.no_progress,
    )
    out, sorted_out = write_frequency_files(args.out, result)
    rate = result.captions / result.seconds if result.seconds else float("nan")
    print(
        f"{result.captions:,} captions, {len(concept_set)} classes of {concept_set.name}, "
        f"{int((result.counts > 0).sum())} seen; {rate:,.0f} captions/s -> {out}, {sorted_out}"
    )
    return 0
