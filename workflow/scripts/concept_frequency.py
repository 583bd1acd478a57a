"""Rule concept_frequency: per-class concept frequency of one caption set for one concept set.

Standalone: python workflow/scripts/concept_frequency.py --concepts imagenet \
    --captions part-0.parquet part-1.parquet --column TEXT --out results/frequency/x_imagenet.tsv
"""

import argparse
from pathlib import Path

from cliptail.curate.concept_frequency import (
    DEFAULT_BATCH_SIZE,
    CaptionSource,
    ConceptMatcher,
    estimate_frequency,
    write_frequency_files,
)
from cliptail.curate.concept_sets import load_concept_set
from cliptail.data.wordnet import NounLemmatizer
from cliptail.runlog import logged


def main(
    captions: list[str],
    concepts: str,
    out: str,
    *,
    metadata: str = "resources/metadata",
    column: str | None = None,
    fmt: str | None = None,
    workers: int = 1,
    batch_size: int = DEFAULT_BATCH_SIZE,
    nltk_morphy: str = "3.8",
    wordnet_dir: str | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        lemmatizer = NounLemmatizer.from_wordnet(wordnet_dir, repeat_rules=nltk_morphy == "3.8")
        concept_set = load_concept_set(concepts, metadata, lemmatizer)
        sources = [CaptionSource(Path(p), fmt, column) for p in captions]
        result = estimate_frequency(
            sources, ConceptMatcher(concept_set, lemmatizer), workers=workers, batch_size=batch_size
        )
        paths = write_frequency_files(out, result)
        logger.info(
            "%d captions from %d file(s), %d of %d classes seen, %.0f captions/s -> %s",
            result.captions,
            len(sources),
            int((result.counts > 0).sum()),
            len(concept_set),
            result.captions / max(result.seconds, 1e-9),
            ", ".join(map(str, paths)),
        )


if "snakemake" in globals():
    _smk = snakemake
    main(
        list(_smk.input.captions),
        _smk.params.job["concepts"],
        _smk.output.frequency,
        metadata=_smk.params.metadata,
        column=_smk.params.job["column"],
        fmt=_smk.params.job["format"],
        workers=_smk.threads,
        batch_size=_smk.params.batch_size,
        nltk_morphy=_smk.params.nltk_morphy,
        wordnet_dir=_smk.input.wordnet,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concepts", required=True)
    parser.add_argument("--captions", required=True, nargs="+")
    parser.add_argument("--out", required=True)
    parser.add_argument("--metadata", default="resources/metadata")
    parser.add_argument("--column")
    parser.add_argument("--format")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--nltk-morphy", choices=("3.8", "3.9"), default="3.8")
    args = parser.parse_args()
    main(
        args.captions,
        args.concepts,
        args.out,
        metadata=args.metadata,
        column=args.column,
        fmt=args.format,
        workers=args.workers,
        batch_size=args.batch_size,
        nltk_morphy=args.nltk_morphy,
    )
