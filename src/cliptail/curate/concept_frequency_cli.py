"""``cliptail concept-freq``: concept frequency of caption files.

    cliptail concept-freq --concepts imagenet --captions part-*.parquet --column TEXT \\
        --out laion400m_imagenet.tsv --workers 8

writes ``laion400m_imagenet.tsv`` (``name<TAB>count`` in class order, like the authors' ``_ori``
files) and ``laion400m_imagenet.sorted.tsv`` (by count, descending, like their other files).
The built-in concept sets read the authors' descriptor files from ``--metadata`` or, by default
(and for any file that folder lacks), from the copy shipped with cliptail.
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
from cliptail.data.wordnet import NounLemmatizer

DESCRIPTION = """\
Concept frequency of caption files: per class, the number of captions whose
lemmatised tokens hold all tokens of one of the class's synonyms and none of its
negative words (the authors' caption matching).

The built-in concept sets come from the authors' released descriptor files, which
ship with cliptail; --metadata points at another copy of their metadata folder."""

EPILOG = """\
example:
  cliptail concept-freq --concepts imagenet --captions part-*.parquet --column TEXT \\
      --out laion400m_imagenet.tsv --workers 8
writes laion400m_imagenet.tsv (name<TAB>count, class order) and
laion400m_imagenet.sorted.tsv (by count, descending)."""


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "concept-freq",
        help="count how many captions mention each concept (class)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=DESCRIPTION,
        epilog=EPILOG,
    )
    parser.add_argument(
        "--concepts",
        required=True,
        metavar="SET_OR_JSON",
        help=f"a concept set ({', '.join(CONCEPT_SETS)}) or a JSON file "
        "{class: [synonyms]} or {class: {synonyms: [...], negatives: [...]}}",
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
        "--format", choices=FORMATS, help="caption format (default: from the file suffix)"
    )
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        help="output frequency file (.tsv); the sorted copy is written beside it",
    )
    parser.add_argument(
        "--metadata",
        type=Path,
        metavar="DIR",
        help="a copy of the authors' metadata folder (with descriptors/ inside); files it lacks "
        "come from the copy shipped with cliptail (default: the shipped copy)",
    )
    parser.add_argument(
        "--wordnet",
        type=Path,
        metavar="DIR",
        help="folder with WordNet's index.noun, noun.exc and data.noun (default: "
        "$CLIPTAIL_WORDNET_DIR, ./resources/wordnet, /usr/share/wordnet, or an NLTK data "
        "folder)",
    )
    parser.add_argument(
        "--nltk-morphy",
        choices=("3.8", "3.9"),
        default="3.8",
        help="WordNet morphy of NLTK <= 3.8 (the authors' released files; default) "
        "or >= 3.9 (no repeated suffix rules)",
    )
    parser.add_argument(
        "--workers", type=_positive_int, default=1, help="worker processes (default 1)"
    )
    parser.add_argument(
        "--batch-size",
        type=_positive_int,
        default=DEFAULT_BATCH_SIZE,
        help=f"captions per batch (default {DEFAULT_BATCH_SIZE})",
    )
    parser.add_argument(
        "--no-progress", action="store_true", help="hide the progress bar (as does -q)"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    # inputs first: a wrong path fails at once, before WordNet and the concept set are loaded
    missing = [str(path) for path in args.captions if not path.is_file()]
    if missing:
        raise FileNotFoundError(f"caption file(s) not found: {', '.join(missing)}")
    lemmatizer = NounLemmatizer.from_wordnet(args.wordnet, repeat_rules=args.nltk_morphy == "3.8")
    concept_set = load_concept_set(args.concepts, args.metadata, lemmatizer)
    sources = [CaptionSource(path, args.format, args.column) for path in args.captions]
    result = estimate_frequency(
        sources,
        ConceptMatcher(concept_set, lemmatizer),
        workers=args.workers,
        batch_size=args.batch_size,
        progress=not (args.no_progress or getattr(args, "quiet", False)),
    )
    out, sorted_out = write_frequency_files(args.out, result)
    rate = result.captions / result.seconds if result.seconds else float("nan")
    print(
        f"{result.captions:,} captions, {len(concept_set)} classes of {concept_set.name}, "
        f"{int((result.counts > 0).sum())} seen; {rate:,.0f} captions/s -> {out}, {sorted_out}"
    )
    return 0
