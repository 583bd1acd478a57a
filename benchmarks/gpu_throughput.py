"""RN50 CLIP training throughput on a GPU: cliptail's train_run vs open_clip_train, with AMP.

Run by benchmarks/gpu_check.sh (which checks for a GPU first). Three runs of the same model
(open_clip's ``RN50`` config, 224x224, trainable text tower), global batch, epochs and
data-loader workers:

1. cliptail ``train_run`` (``amp: true``: fp16 autocast + loss scaling on CUDA) on a random
   uint8 world of ``batch x steps`` 224x224 images in its npy array store, captions of 16 words;
2. the same with the epoch's batches built before the epoch is timed and served from memory
   (benchmarks/train_throughput.py ``InMemoryBatches``, no workers): what the GPU alone sustains;
3. ``open_clip_train`` with ``--dataset-type synthetic --precision amp`` (its own synthetic
   dataset: one blank image through its train transform, one caption) and the same
   ``--train-num-samples``, batch, epochs and workers.

Step images/s come from cliptail's ``train.jsonl`` and open_clip_train's per-step log lines
(both include data loading and end in a ``.item()`` sync); the first epoch is left out
(cuDNN autotuning, worker start). Prints a table and the ratio cliptail / open_clip_train
(goal >= 0.9).

``--smoke`` checks the same code on CPU in seconds: batch 4, 1 step per epoch, 2 epochs (2 steps,
1 timed), 1 worker, ``--precision amp_bf16`` for open_clip_train (cliptail's CPU autocast is
bf16 too).

    PYTHONPATH=src python benchmarks/gpu_throughput.py [--batch 256] [--steps 10] [--epochs 3]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_trainer  # noqa: E402  (benchmarks/reference_trainer.py)
from train_throughput import WORDS, InMemoryBatches, clip_spec, steady_rates  # noqa: E402

from cliptail import io  # noqa: E402
from cliptail.train import loop as train_loop  # noqa: E402
from cliptail.train import train_run  # noqa: E402


def make_world(root: Path, rows: int, size: int, classes: int = 1000, seed: int = 0) -> None:
    """Random uint8 images [rows, size, size, 3] in cliptail's npy store, manifest, classes."""
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    images = np.lib.format.open_memmap(
        root / "images" / "train.npy", mode="w+", dtype=np.uint8, shape=(rows, size, size, 3)
    )
    for start in range(0, rows, 256):
        stop = min(rows, start + 256)
        images[start:stop] = rng.integers(0, 256, (stop - start, size, size, 3), dtype=np.uint8)
    images.flush()
    del images
    pd.DataFrame(
        {
            "image": [f"train/{i:07d}" for i in range(rows)],
            "label": rng.integers(0, classes, rows),
            "caption": [" ".join(rng.choice(WORDS, 16)) for _ in range(rows)],
        }
    ).to_parquet(root / "manifest.parquet")
    io.write_classes(
        root / "classes.tsv",
        [f"c{c}" for c in range(classes)],
        [f"concept {c}" for c in range(classes)],
    )


def cliptail_rates(
    root: Path, args: argparse.Namespace, device: str, *, in_memory: bool = False
) -> dict:
    spec = clip_spec("rn50-memory" if in_memory else "rn50", args, threads=1)
    del spec["threads"]  # torch's default on a GPU machine
    spec.update(device=device, amp=True, workers=0 if in_memory else args.workers)
    out = root / "runs" / spec["run"]
    patch = (
        mock.patch.object(train_loop, "EpochBatches", InMemoryBatches)
        if in_memory
        else contextlib.nullcontext()
    )
    with patch:
        train_run(
            spec,
            manifest=root / "manifest.parquet",
            classes=root / "classes.tsv",
            images_root=root,
            out_dir=out,
            progress=False,
        )
    lines = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    return steady_rates(lines)


def open_clip_rates(root: Path, args: argparse.Namespace, device: str) -> dict:
    argv = [
        "--dataset-type", "synthetic", "--train-num-samples", str(args.batch * args.steps),
        "--model", args.model, "--device", device, "--precision", args.open_clip_precision,
        "--batch-size", str(args.batch), "--epochs", str(args.epochs),
        "--workers", str(args.workers), "--seed", "0",
        "--lr", "1e-3", "--beta1", "0.9", "--beta2", "0.999", "--eps", "1e-8", "--wd", "0.2",
        "--warmup", "1", "--lr-scheduler", "cosine", "--log-every-n-steps", "1",
    ]  # fmt: skip
    log = reference_trainer.run(argv, threads=None, log_dir=root / "open_clip_logs", name="rn50")
    per_epoch: dict[int, list[float]] = {}
    for epoch, rate in reference_trainer.step_rates(log):
        per_epoch.setdefault(epoch, []).append(rate)
    if len(per_epoch) != args.epochs or any(len(r) != args.steps for r in per_epoch.values()):
        raise RuntimeError(f"{log}: expected {args.epochs} x {args.steps} step lines")
    later = sorted(per_epoch.items())[1:]
    rates = [r for _, rs in later for r in rs]
    return {
        "median": statistics.median(rates),
        "best": max(rates),
        "epoch": statistics.fmean(
            len(rs) * args.batch / sum(args.batch / r for r in rs) for _, rs in later
        ),
        "steps": len(rates),
    }


def _rate(value: float) -> str:
    return f"{value:.0f}" if value >= 100 else f"{value:.3g}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="RN50")
    parser.add_argument("--image-size", type=int, default=224)
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=min(12, max(1, (os.cpu_count() or 2) - 2)))
    parser.add_argument("--open-clip-precision", default="amp")
    parser.add_argument("--smoke", action="store_true", help="CPU check: batch 4, 2 steps")
    parser.add_argument("--goal", type=float, default=0.9)
    args = parser.parse_args()
    if args.smoke:
        args.batch, args.steps, args.epochs, args.workers = 4, 1, 2, 1
        args.open_clip_precision = "amp_bf16"
        device = "cpu"
    else:
        if not torch.cuda.is_available():
            sys.exit("gpu_throughput: no CUDA device (torch.cuda.is_available() is False)")
        device = "cuda"
    name = torch.cuda.get_device_name(0) if device == "cuda" else "CPU (smoke check)"
    print(
        f"{args.model} CLIP, {args.image_size}x{args.image_size}, batch {args.batch}, "
        f"{args.steps} steps x {args.epochs} epochs (epoch 1 left out), {args.workers} "
        f"data-loader workers, AMP, on {name}; torch {torch.__version__}\n",
        flush=True,
    )
    start = time.time()
    with tempfile.TemporaryDirectory(prefix="cliptail-gpu-") as tmp:
        root = Path(tmp)
        make_world(root, args.batch * args.steps, args.image_size)
        print(f"data: {args.batch * args.steps} images written in {time.time() - start:.0f} s")
        results = {}
        for label, fn in (
            ("cliptail train_run (npy store, loader)", lambda: cliptail_rates(root, args, device)),
            (
                "cliptail train_run (batches in memory)",
                lambda: cliptail_rates(root, args, device, in_memory=True),
            ),
            ("open_clip_train (synthetic)", lambda: open_clip_rates(root, args, device)),
        ):
            t0 = time.time()
            results[label] = fn()
            print(f"{label}: done in {time.time() - t0:.0f} s", flush=True)
    print("\n| trainer | median step img/s | best step img/s | epoch img/s | timed steps |")
    print("|---|---:|---:|---:|---:|")
    for label, r in results.items():
        rates = " | ".join(_rate(r[k]) for k in ("median", "best", "epoch"))
        print(f"| {label} | {rates} | {r['steps']} |")
    ours = results["cliptail train_run (npy store, loader)"]
    ref = results["open_clip_train (synthetic)"]
    ratio = ours["median"] / ref["median"]
    print(
        f"\ncliptail / open_clip_train: median step x{ratio:.2f}, epoch "
        f"x{ours['epoch'] / ref['epoch']:.2f} "
        f"({'meets' if ratio >= args.goal else 'misses'} the goal of >= {args.goal:g})"
    )
    memory = results["cliptail train_run (batches in memory)"]
    print(
        f"cliptail loader / in-memory step time: x{memory['median'] / ours['median']:.2f}; "
        f"total {time.time() - start:.0f} s"
    )
    if args.smoke:
        print("(smoke check on CPU: these numbers say nothing about GPU throughput)")


if __name__ == "__main__":
    main()
