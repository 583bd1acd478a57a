"""Run open_clip's own trainer (``open_clip_train.main``) in this process, and read its log.

The benchmarks compare cliptail's ``train_run`` with open_clip's reference trainer on the same
model config. This module is the open_clip side: run as a script it sets torch's thread count,
registers cliptail's model configs (``src/cliptail/models/model_configs``) with
``open_clip.add_model_config`` and calls ``open_clip_train.main.main(argv)`` with the remaining
arguments. open_clip is imported through :func:`cliptail.openclip.load_open_clip` (without its
Hugging Face and timm towers, which neither side builds); nothing else of cliptail takes part.

    python benchmarks/reference_trainer.py --threads 2 -- --model cliptail-tiny-rn \\
        --train-data data.tsv --dataset-type csv --batch-size 256 --epochs 3 ...

:func:`step_rates` reads the per-step images/s that open_clip_train logs with
``--log-every-n-steps 1`` (samples/s of the last step, data loading included, as cliptail's
``train.jsonl`` counts it).
"""

from __future__ import annotations

import argparse
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

#: open_clip_train's per-step line: "Train Epoch: 0 [...] ... Batch (t): 0.123, 2075.31/s, ..."
STEP_LINE = re.compile(r"Train Epoch: (\d+) .*?Batch \(t\): [\d.]+, ([\d.eE+-]+)/s,")


def cliptail_config_dir() -> Path:
    """cliptail's open_clip JSON configs (found without importing cliptail)."""
    spec = importlib.util.find_spec("cliptail")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("cliptail is not importable: run with PYTHONPATH=src")
    return Path(list(spec.submodule_search_locations)[0]) / "models" / "model_configs"


def step_rates(log: Path) -> list[tuple[int, float]]:
    """(epoch, images/s) of every step line in open_clip_train's ``out.log``."""
    return [
        (int(m.group(1)), float(m.group(2)))
        for m in map(STEP_LINE.search, log.read_text().splitlines())
        if m
    ]


def run(argv: list[str], *, threads: int | None, log_dir: Path, name: str, env=None) -> Path:
    """Run open_clip_train with ``argv`` in a fresh process (this module as a script), logging
    under ``log_dir/name``; returns the path of its ``out.log``. Raises on failure."""
    cmd = [sys.executable, __file__]
    if threads is not None:
        cmd += ["--threads", str(threads)]
    cmd += ["--", *argv, "--logs", str(log_dir), "--name", name]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    log = log_dir / name / "out.log"
    if proc.returncode != 0 or not log.is_file():
        raise RuntimeError(
            f"open_clip_train failed ({proc.returncode}): {' '.join(cmd)}\n"
            f"{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
        )
    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="torch.set_num_threads")
    parser.add_argument("argv", nargs=argparse.REMAINDER, help="-- then open_clip_train's args")
    args = parser.parse_args()
    argv = args.argv[1:] if args.argv[:1] == ["--"] else args.argv

    import torch

    from cliptail.openclip import load_open_clip

    open_clip = load_open_clip()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    open_clip.add_model_config(cliptail_config_dir())
    from open_clip_train.main import main as train_main

    result = train_main(argv)
    sys.exit(1 if result == -1 else 0)


if __name__ == "__main__":
    main()
