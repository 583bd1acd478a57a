"""Benchmark: cliptail's concept-frequency estimator against a straightforward baseline.

Generates (seeded) web-caption-like text, writes it to a parquet file (column ``TEXT``, as
LAION's metadata), then

1. runs the baseline on the first ``--baseline-captions`` captions: per caption, tokenise,
   lemmatise every token with WordNet morphy (no cache, as NLTK does), loop over all classes,
   their negatives and synonyms;
2. runs ``cliptail concept-freq --workers N`` on the whole file (read from disk) in a
   subprocess, recording the rate it reports and the peak RSS of its processes;
3. counts the whole file again in this process with one worker (CPU time per caption);
4. checks identical per-class counts: baseline == cliptail on the baseline's captions, and
   the CLI's N workers == one process on all captions; prints captions/s and the ratios (the
   baseline's rate extrapolates to the whole set).

    PYTHONPATH=src python benchmarks/concept_frequency.py --captions 1000000 --workers 2

Captions: lengths ~ lognormal (median 9 words, 1-60); words drawn Zipf-like from common English
words and WordNet nouns, with noise (capitalisation, digits, punctuation, URL-like tokens,
plurals); about 25% of captions mention an ImageNet class synonym (LAION-400M's ImageNet
counts add up to ~23% of its captions), classes drawn Zipf-like, sometimes pluralised.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from cliptail import io
from cliptail.curate.concept_frequency import CaptionSource, ConceptMatcher, estimate_frequency
from cliptail.curate.concept_sets import ConceptSet, concept_phrases, load_concept_set, tokenize
from cliptail.data.wordnet import NounLemmatizer, locate_wordnet, read_noun_lemmas

SRC = Path(__file__).resolve().parents[1] / "src"

COMMON_WORDS = """the a an of and in on with for to at by from is are this that my our your new
best free top great old vintage beautiful small large big white black red blue green yellow
pink brown gray grey dark light cute happy modern classic custom home design photo picture image
view set sale online shop buy stock style art print wall day night summer winter spring autumn
year years time people man woman men women girl boy child children family friends love life
world city street house room kitchen garden park beach sea water tree trees flower flowers sky
sun snow rain mountain road car cars bike book books food cake coffee tea wine party wedding
christmas birthday gift card cards shirt dress shoes bag logo icon vector illustration
background texture pattern set collection size color colors quality high resolution hd png
jpg wallpaper poster cover video music live show game games team sport sports football
""".split()
NOISE = [
    "2019",
    "2020",
    "1080p",
    "4k",
    "|",
    "-",
    "&",
    "#1",
    "x2",
    "www.example.com",
    "(new)",
    "!!!",
    "10%",
    "3d",
    "ii",
    "...",
    "'s",
    "n't",
    "u.s.",
    "e-mail",
]


def vocabulary(rng: np.random.Generator, size: int = 20_000) -> list[str]:
    """Common words first, then WordNet noun lemmas (letters only), in Zipf rank order."""
    nouns = sorted(w for w in read_noun_lemmas(locate_wordnet()) if w.isalpha())
    picked = rng.choice(len(nouns), size=size, replace=False)
    return COMMON_WORDS + [nouns[i] for i in picked]


def generate(n: int, concept_set: ConceptSet, phrases: list[list[str]], seed: int) -> list[str]:
    """``n`` captions (see the module docstring)."""
    rng = np.random.default_rng(seed)
    words = np.array(vocabulary(rng), dtype=object)
    word_p = 1.0 / np.arange(1, len(words) + 1) ** 1.05
    word_p /= word_p.sum()
    class_rank = rng.permutation(len(concept_set))
    class_p = 1.0 / (np.arange(1, len(concept_set) + 1) ** 1.1)
    class_p = class_p[np.argsort(class_rank)] / class_p.sum()
    lengths = np.clip(rng.lognormal(np.log(9), 0.6, size=n).astype(int), 1, 60)
    flat = rng.choice(words, size=int(lengths.sum()), p=word_p)
    mention = rng.random(n) < 0.25
    classes = rng.choice(len(concept_set), size=n, p=class_p)
    noise = rng.random(int(lengths.sum())) < 0.05
    noise_words = rng.choice(np.array(NOISE, dtype=object), size=int(lengths.sum()))
    flat = np.where(noise, noise_words, flat)
    styles = rng.random((n, 3))
    captions, start = [], 0
    for i, length in enumerate(lengths):
        tokens = list(flat[start : start + length])
        start += length
        if mention[i]:
            options = phrases[classes[i]]
            phrase = options[int(styles[i, 0] * len(options))]
            if styles[i, 1] < 0.25:
                phrase += "s"
            tokens.insert(int(styles[i, 2] * (len(tokens) + 1)), phrase)
        caption = " ".join(tokens)
        if styles[i, 1] > 0.8:
            caption = caption.title()
        elif styles[i, 1] > 0.7:
            caption = caption.upper()
        captions.append(caption)
    return captions


def baseline_counts(
    captions: list[str], concept_set: ConceptSet, lemmatizer: NounLemmatizer
) -> list[int]:
    """The straightforward algorithm: no index, no cache."""

    def lemmatize(token: str) -> str:
        found = lemmatizer.candidates(token)
        return min(found, key=len) if found else token

    counts = [0] * len(concept_set)
    for caption in captions:
        tokens = {lemmatize(t) for t in tokenize(caption)}
        for i, concept in enumerate(concept_set.concepts):
            if any(w in tokens for w in concept.negatives):
                continue
            for synonym in concept.synonyms:
                if all(w in tokens for w in synonym):
                    counts[i] += 1
                    break
    return counts


def _peak_rss_mib(pid: int) -> int | None:
    """Peak resident memory (VmHWM) of a running process, MiB; None once it has gone."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next(int(line.split()[1]) // 1024 for line in fh if line.startswith("VmHWM"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return None


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children", encoding="ascii") as fh:
            return [int(p) for p in fh.read().split()]
    except FileNotFoundError:
        return []


def run_cli(path: Path, out: Path, metadata: str, workers: int) -> dict:
    """``cliptail concept-freq`` in a subprocess: its counting rate (as it reports it), CPU time
    and the peak RSS of its main process and of its largest worker (sampled from /proc)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "cliptail.cli",
            "concept-freq",
            "--concepts",
            "imagenet",
            "--captions",
            str(path),
            "--column",
            "TEXT",
            "--metadata",
            metadata,
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
    )
    peak_main = peak_worker = 0
    while proc.poll() is None:
        peak_main = max(peak_main, _peak_rss_mib(proc.pid) or 0)
        for child in _children(proc.pid):
            peak_worker = max(peak_worker, _peak_rss_mib(child) or 0)
        time.sleep(0.1)
    stdout, stderr = proc.communicate()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"cliptail concept-freq failed:\n{stderr}")
    rate = float(re.search(r"([\d,]+) captions/s", stdout).group(1).replace(",", ""))
    return {
        "rate": rate,
        "stdout": stdout.strip(),
        "cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime),
        "rss_main_mb": peak_main,
        "rss_worker_mb": peak_worker,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--captions", type=int, default=1_000_000)
    parser.add_argument(
        "--baseline-captions",
        type=int,
        default=20_000,
        help="captions the baseline runs on (its rate is extrapolated)",
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    shared = Path(__file__).resolve().parents[1] / ".." / "shared" / "metadata"
    parser.add_argument(
        "--metadata",
        default=os.environ.get("CLIPTAIL_SHARED_METADATA", str(shared)),
        help="the authors' metadata folder (descriptors/)",
    )
    parser.add_argument("--keep", help="write the generated parquet here instead of a temp dir")
    args = parser.parse_args()

    lemmatizer = NounLemmatizer.from_wordnet()
    concept_set = load_concept_set("imagenet", args.metadata, lemmatizer)
    phrases = [list(p.synonyms) for p in concept_phrases("imagenet", args.metadata)]

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(args.keep or Path(tmp) / "captions.parquet")
        t0 = time.perf_counter()
        chunk = 100_000
        with pq.ParquetWriter(path, pa.schema([("TEXT", pa.string())])) as writer:
            for k, first in enumerate(range(0, args.captions, chunk)):
                size = min(chunk, args.captions - first)
                part = generate(size, concept_set, phrases, args.seed + k)
                writer.write_table(pa.table({"TEXT": part}), row_group_size=chunk)
        print(
            f"generated {args.captions:,} captions in {time.perf_counter() - t0:.1f} s -> {path} "
            f"({path.stat().st_size / 2**20:.0f} MiB)"
        )

        n_base = min(args.baseline_captions, args.captions)
        head = pq.read_table(path, columns=["TEXT"]).slice(0, n_base).column(0).to_pylist()
        t0, c0 = time.perf_counter(), time.process_time()
        expected = baseline_counts(head, concept_set, lemmatizer)
        base_s, base_cpu = time.perf_counter() - t0, time.process_time() - c0
        base_rate = n_base / base_s
        del head

        cli = run_cli(path, Path(tmp) / "freq.tsv", args.metadata, args.workers)
        cli_counts = io.read_frequency(Path(tmp) / "freq.tsv")["count"].tolist()
        c0 = time.process_time()
        single = estimate_frequency(
            [CaptionSource(path, column="TEXT")],
            ConceptMatcher(concept_set, lemmatizer),
            progress=False,
        )
        single_cpu = time.process_time() - c0
        head = next(pq.ParquetFile(path).iter_batches(batch_size=n_base, columns=["TEXT"]))
        subset = ConceptMatcher(concept_set, lemmatizer).count(head.column(0).to_pylist())

    if subset != expected or single.counts.tolist() != cli_counts:
        diff = [
            (concept_set.names[i], a, b)
            for i, (a, b) in enumerate(zip(expected, subset, strict=True))
            if a != b
        ]
        print(
            f"MISMATCH (name, baseline, cliptail): {diff[:10]}; "
            f"CLI with {args.workers} workers == 1 process: "
            f"{single.counts.tolist() == cli_counts}"
        )
        return 1
    n = single.captions
    print(
        f"identical per-class counts: baseline == cliptail on the first {n_base:,} captions "
        f"({sum(expected):,} class mentions); CLI with {args.workers} workers == one process "
        f"on all {n:,} ({sum(cli_counts):,} class mentions)"
    )
    print(
        f"machine load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
        "(wall-clock rates drop when other work shares the cores; CPU rates do not)"
    )
    print(
        f"baseline: {base_rate:,.0f} captions/s wall, {n_base / base_cpu:,.0f} per CPU-second "
        f"(1 process, {n_base:,} captions in {base_s:.1f} s; {n:,} would take "
        f"~{n / base_rate / 60:.1f} min)"
    )
    print(
        f"cliptail: {cli['rate']:,.0f} captions/s wall (CLI, {args.workers} workers, parquet "
        f"read from disk; whole CLI run {cli['cpu']:.1f} CPU-s incl. start-up); one process: "
        f"{n / single_cpu:,.0f} captions per CPU-second"
    )
    print(
        f"ratio:    {cli['rate'] / base_rate:,.0f}x wall; "
        f"{(n / single_cpu) / (n_base / base_cpu):,.0f}x per CPU-second (one process each)"
    )
    print(
        f"peak RSS: {cli['rss_main_mb']} MiB CLI main process, {cli['rss_worker_mb']} MiB "
        "largest worker (sampled every 0.1 s)"
    )
    print(f"CLI said: {cli['stdout']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
