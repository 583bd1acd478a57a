"""Start-up cost of the workflow's jobs: the imports a job pays before it does any work.

Every Snakemake job is a fresh Python process, so what its script imports is paid once per job
(a paper-fixture run starts about a hundred torch processes). Each row imports one job's modules
in a fresh interpreter, ``--repeat`` times, and reports the median wall time; the baseline
rows import open_clip the plain way (with transformers and timm, as ``import open_clip`` does when
they are installed), so the ratio column reads baseline / cliptail.

    PYTHONPATH=src .venv/bin/python benchmarks/job_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

#: (job, cliptail's imports for it, the baseline with plain open_clip, or None)
CASES: list[tuple[str, str, str | None]] = [
    ("torch", "import torch", None),
    (
        "open_clip package",
        "from cliptail.openclip import load_open_clip; load_open_clip()",
        "import open_clip",
    ),
    (
        "train_clip / train_sl",
        "import cliptail.train.loop",
        "import open_clip, cliptail.train.loop",
    ),
    (
        "evaluate_run",
        "import cliptail.evaluate.zeroshot",
        "import open_clip, cliptail.evaluate.zeroshot",
    ),
    (
        "embed_captions (text encoder)",
        "import cliptail.models.text_encoder, cliptail.models.configs",
        "import open_clip, cliptail.models.text_encoder, cliptail.models.configs",
    ),
    (
        "curate (caption templates)",
        "import cliptail.curate.captions",
        "import open_clip.zero_shot_metadata, cliptail.curate.captions",
    ),
]


def wall(statement: str, repeat: int) -> float:
    """Median wall seconds of ``python -c statement`` in a fresh interpreter."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", statement], check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="interpreters per row (median)")
    args = parser.parse_args(argv)
    empty = wall("pass", args.repeat)
    print(f"empty interpreter: {empty:.2f} s (median of {args.repeat})")
    print(f"{'job':32} {'cliptail_s':>10} {'baseline_s':>10} {'ratio':>6}")
    for name, ours, baseline in CASES:
        t_ours = wall(ours, args.repeat)
        if baseline is None:
            print(f"{name:32} {t_ours:10.2f} {'':>10} {'':>6}")
            continue
        t_base = wall(baseline, args.repeat)
        print(f"{name:32} {t_ours:10.2f} {t_base:10.2f} {t_base / t_ours:6.2f}")


if __name__ == "__main__":
    main()
