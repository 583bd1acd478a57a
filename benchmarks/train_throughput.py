"""Training throughput (images/s) of CLIP and SL with the tiny default model, through train_run.

Generates a small random 32x32 world (arrays + manifest + captions of realistic length) in a
temporary directory, trains each configuration for a few epochs with ``log_every: 1`` and reads
the per-step images/s from ``train.jsonl``. Prints, per configuration, the median and the best
step rate, the rate of whole epochs, and a CPU-time rate (see :func:`measure`) that stays
meaningful when other processes share the cores. Also measures the frozen sentence encoder (MiniLM) in texts/s with
``--minilm``.

    PYTHONPATH=src python benchmarks/train_throughput.py --threads 1 2 --minilm
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from cliptail import io
from cliptail.train import train_run

WORDS = (
    "red blue green small large striped dotted circle square star ring cross on a the "
    "slate beige grey background photo picture with near two three bright dark"
).split()


def make_world(root: Path, rows: int, classes: int, caption_words: int, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    (root / "images").mkdir(parents=True)
    np.save(root / "images" / "train.npy", rng.integers(0, 256, (rows, 32, 32, 3), dtype=np.uint8))
    labels = rng.integers(0, classes, rows)
    captions = [" ".join(rng.choice(WORDS, caption_words)) for _ in range(rows)]
    pd.DataFrame(
        {"image": [f"train/{i:07d}" for i in range(rows)], "label": labels, "caption": captions}
    ).to_parquet(root / "manifest.parquet")
    io.write_classes(
        root / "classes.tsv",
        [f"c{c}" for c in range(classes)],
        [f"concept {c}" for c in range(classes)],
    )
    np.save(root / "text_embeddings.npy", rng.standard_normal((rows, 384)).astype(np.float32))


def _train(root: Path, spec: dict, epochs: int) -> tuple[float, list[dict]]:
    """Process CPU seconds of one train_run and its train.jsonl lines."""
    spec = {**spec, "optim": {**spec["optim"], "epochs": epochs}}
    out = root / "runs" / f"{spec['run']}-{epochs}"
    extra = (
        {"text_embeddings": root / "text_embeddings.npy"}
        if spec.get("text_tower") == "frozen"
        else {}
    )
    cpu = time.process_time()
    train_run(
        spec,
        manifest=root / "manifest.parquet",
        classes=root / "classes.tsv",
        images_root=root,
        out_dir=out,
        progress=False,
        **extra,
    )
    cpu = time.process_time() - cpu
    return cpu, [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]


def measure(root: Path, spec: dict, rows: int) -> dict:
    """Wall-clock rates of a 3-epoch run, and the CPU-time rate of its last 2 epochs.

    The CPU-time rate is ``2 * rows / (CPU seconds of epochs 2-3 / threads)``: the speed on an
    idle machine if the threads scale perfectly (exact for one thread, an upper bound for more).
    The CPU seconds of epochs 2-3 are those of a 3-epoch run minus those of a 1-epoch run.
    """
    cpu1, _ = _train(root, spec, 1)
    cpu3, lines = _train(root, spec, 3)
    steps = [x["images_per_s"] for x in lines if x["event"] == "step"][1:]  # first step warms up
    epochs = [x["images_per_s"] for x in lines if x["event"] == "epoch"]
    return {
        "median": float(np.median(steps)),
        "best": float(np.max(steps)),
        "epoch": float(np.mean(epochs[1:])),
        "cpu": 2 * rows / max((cpu3 - cpu1) / spec["threads"], 1e-9),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6, help="steps per epoch")
    parser.add_argument("--caption-words", type=int, default=16)
    parser.add_argument("--model", default="cliptail-tiny-rn")
    parser.add_argument("--methods", nargs="+", default=["clip", "clip-frozen", "sl", "sl-vocab"])
    parser.add_argument("--minilm", action="store_true", help="also time the MiniLM text encoder")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_world(root, args.batch * args.steps, 200, args.caption_words)
        print(
            "| method | threads | batch | median step img/s | best step img/s | epoch img/s "
            "| CPU-time img/s |"
        )
        print("|---|---|---|---|---|---|---|")
        for threads in args.threads:
            for method in args.methods:
                spec = {
                    "run": f"{method}-{threads}",
                    "method": method.split("-")[0],
                    "threads": threads,
                    "log_every": 1,
                    "model": {"name": args.model},
                    "optim": {"epochs": 2, "batch_size": args.batch, "warmup_steps": 1},
                }
                if method == "clip-frozen":
                    spec["text_tower"] = "frozen"
                if method == "sl-vocab":
                    spec["vocab"] = {"size": 64, "shard": 64}
                r = measure(root, spec, args.batch * args.steps)
                print(
                    f"| {method} | {threads} | {args.batch} | {r['median']:.0f} | "
                    f"{r['best']:.0f} | {r['epoch']:.0f} | {r['cpu']:.0f} |",
                    flush=True,
                )
    if args.minilm:
        from cliptail.models.text_encoder import embed_texts, get_encoder

        torch.set_num_threads(max(args.threads))
        get_encoder()
        rng = np.random.default_rng(1)
        texts = [" ".join(rng.choice(WORDS, args.caption_words)) + f" {i}" for i in range(2000)]
        start = time.time()
        embed_texts(texts, progress=False)
        rate = len(texts) / (time.time() - start)
        print(
            f"\nMiniLM ({max(args.threads)} threads): {rate:.0f} texts/s "
            f"({args.caption_words}-word captions, all distinct)"
        )


if __name__ == "__main__":
    main()
