"""``cliptail subset`` and ``cliptail trim-tail``: subsets of a manifest from the command line.

Both read a manifest and the ``classes.tsv`` beside it, and write the new manifest to ``--out`` and
its frequency file (authors' format, every class of ``classes.tsv`` in class order, zeros
included) beside it: ``x.parquet`` -> ``x.freq.tsv``. Everything is checked before anything is
written; the two files are written as a pair (:func:`cliptail.io.atomic_paths`): both appear,
manifest last, or, on any failure, neither changes.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from cliptail import io
from cliptail.curate import subsets
from cliptail.data import manifest

MANIFEST_HELP = "input manifest.parquet (its classes.tsv beside it)"
OUT_HELP = "output manifest.parquet; its frequency file OUT.freq.tsv is written beside it"

SUBSET_DESCRIPTION = """\
Sample rows of a manifest (pandas DataFrame.sample with random_state=SEED), or
keep the rows of a list of classes. Writes OUT and its frequency file beside it
(x.parquet -> x.freq.tsv: name<TAB>count over every class of classes.tsv).
Everything is checked before anything is written."""

TRIM_TAIL_DESCRIPTION = """\
The K classes with the lowest counts (stable argsort) keep at most CEIL random
images each; the other classes are unchanged. Writes OUT and its frequency file
beside it (x.parquet -> x.freq.tsv). Everything is checked before anything is
written."""


def frequency_path(out: str | Path) -> Path:
    """The frequency file written beside a manifest: ``x.parquet`` -> ``x.freq.tsv``."""
    out = Path(out)
    return out.with_name(out.stem + ".freq.tsv")


def _load(manifest_path: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    path = Path(manifest_path)
    if not path.is_file():
        raise FileNotFoundError(
            f"manifest {path} does not exist; pass an existing manifest.parquet"
        )
    classes_path = path.parent / "classes.tsv"
    if not classes_path.is_file():
        raise FileNotFoundError(
            f"{classes_path} does not exist; a manifest needs its classes.tsv "
            "(index, id, name) in the same directory"
        )
    classes = io.read_classes(classes_path)
    df = manifest.validate(
        manifest.read(path), len(classes), where=str(path), allow_empty_captions=True
    )
    return df, classes


def _write(df: pd.DataFrame, classes: pd.DataFrame, out: str) -> None:
    """Write the manifest ``out`` and its frequency file as a pair (both or neither)."""
    df = manifest.validate(df, len(classes), where=out, allow_empty_captions=True)
    with io.atomic_paths(frequency_path(out), out) as (frequency_tmp, manifest_tmp):
        manifest.write_frequency_for(df, classes, frequency_tmp)
        manifest.write(
            manifest_tmp, df, num_classes=len(classes), allow_empty_captions=True, where=out
        )


def run_subset(args: argparse.Namespace) -> int:
    df, classes = _load(args.manifest)
    if args.classes is not None:
        indices = subsets.read_class_indices(args.classes)
        if len(indices) and (indices.min() < 0 or indices.max() >= len(classes)):
            raise ValueError(
                f"{args.classes}: class indices must lie in 0..{len(classes) - 1} "
                f"(the classes of {args.manifest})"
            )
        out = subsets.class_subset(df, indices)
    else:
        out = subsets.sample_subset(
            df,
            n=args.n,
            frac=args.frac,
            seed=args.seed,
            sort_by=args.sort_by,
            keep_classes=args.keep_classes,
        )
    _write(out, classes, args.out)
    counts = manifest.class_counts(out["label"], len(classes))
    print(
        f"{len(out)} of {len(df)} rows, {int((counts > 0).sum())} non-empty classes -> {args.out}"
    )
    return 0


def run_trim_tail(args: argparse.Namespace) -> int:
    df, classes = _load(args.manifest)
    counts = manifest.class_counts(df["label"], len(classes))
    if not 1 <= args.lastk <= len(classes):
        raise ValueError(
            f"--lastk must be between 1 and the number of classes ({len(classes)}), "
            f"got {args.lastk}"
        )
    out, tail = subsets.trim_tail(df, counts, args.lastk, args.ceil, seed=args.seed)
    _write(out, classes, args.out)
    print(
        f"trimmed the {len(tail)} rarest classes (largest original count "
        f"{int(np.max(counts[tail]))}) to at most {args.ceil} image(s): {len(out)} of {len(df)} "
        f"rows -> {args.out}"
    )
    return 0


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {value}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {value}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "subset",
        help="pandas-style sample or class subset of a manifest",
        description=SUBSET_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--manifest", required=True, help=MANIFEST_HELP)
    how = p.add_mutually_exclusive_group(required=True)
    how.add_argument("--n", type=_positive_int, metavar="N", help="number of rows to sample")
    how.add_argument(
        "--frac", type=_fraction, metavar="F", help="fraction of rows to sample, in (0, 1]"
    )
    how.add_argument(
        "--classes",
        metavar="IDXFILE",
        help="text file of class indices to keep (e.g. imagenet100_idxs.txt); "
        "labels keep the input's class space",
    )
    p.add_argument(
        "--seed",
        type=int,
        default=subsets.SAMPLE_SEED,
        metavar="SEED",
        help=f"random_state of the sample (default {subsets.SAMPLE_SEED})",
    )
    p.add_argument(
        "--sort-by",
        metavar="COLUMN",
        help="sort rows by COLUMN before sampling (IN-Caps (10%%): --sort-by image)",
    )
    p.add_argument(
        "--keep-classes",
        action="store_true",
        help="re-add one row of every class the sample lost; with --n, remove the "
        "excess from the 10 largest classes",
    )
    p.add_argument("--out", required=True, help=OUT_HELP)
    p.set_defaults(func=run_subset)

    t = subparsers.add_parser(
        "trim-tail",
        help="cut the k rarest classes down to at most C images",
        description=TRIM_TAIL_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument("--manifest", required=True, help=MANIFEST_HELP)
    t.add_argument(
        "--lastk",
        type=int,
        required=True,
        metavar="K",
        help="number of tail classes K (1 to the number of classes)",
    )
    t.add_argument(
        "--ceil",
        type=_non_negative_int,
        required=True,
        metavar="CEIL",
        help="images kept per tail class (0 or 1 in the study)",
    )
    t.add_argument(
        "--seed",
        type=int,
        default=0,
        metavar="SEED",
        help="seed of the random images kept (default 0)",
    )
    t.add_argument("--out", required=True, help=OUT_HELP)
    t.set_defaults(func=run_trim_tail)
