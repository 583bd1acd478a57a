"""Training throughput (images/s) of CLIP and SL with the tiny default model, through train_run.

Generates a small random 32x32 world (arrays + manifest + captions of realistic length) in a
temporary directory, trains each configuration for a few epochs with ``log_every: 1`` and reads
the per-step images/s from ``train.jsonl``. Prints, per configuration, the median and the best
step rate, the rate of whole epochs, and a CPU-time rate (see :func:`measure`) that stays
meaningful when other processes share the cores. Also measures the frozen sentence encoder
(MiniLM) in texts/s with ``--minilm``.

``--vs-open-clip`` adds a side-by-side run of open_clip's own trainer (``open_clip_train``, see
benchmarks/reference_trainer.py) on the same model config: the world's images are also written
as PNG files with a TSV of file paths and captions (what open_clip_train's ``csv`` dataset
reads) and a cliptail manifest of the same files (read by cliptail's ``FileImageStore``), so that
both trainers decode the same files, at the same batch size, threads, data-loader workers,
epochs, optimiser (AdamW, lr 1e-3, weight decay 0.2, 1 warm-up step, cosine) and fp32 on CPU.
cliptail is also run from its npy array store (its synthetic world's format).

``--loader`` compares cliptail's step time with its data loader (``--workers`` worker processes)
against the same steps with the batches already in memory: the epoch's batches are built (by the
same ``EpochBatches``) when the epoch starts, before ``train_run`` starts timing it, and served
from a list in the training process.

    PYTHONPATH=src python benchmarks/train_throughput.py --threads 1 2 --minilm
    PYTHONPATH=src python benchmarks/train_throughput.py --threads 2 --methods --vs-open-clip --loader
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

import numpy as np
import pandas as pd
import torch

from cliptail import io
from cliptail.train import loop as train_loop
from cliptail.train import train_run
from cliptail.train.data import EpochBatches

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_trainer  # noqa: E402  (benchmarks/reference_trainer.py)

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


def make_files(root: Path) -> None:
    """The world's images as PNG files under ``root/files/png/``, with a cliptail manifest of
    them (``files_manifest.parquet``, keys relative to ``root/files``) and open_clip_train's
    TSV (``files.tsv``: absolute ``filepath``, ``title`` = the caption), rows in the same order."""
    from PIL import Image

    images = np.load(root / "images" / "train.npy")
    folder = root / "files" / "png"
    folder.mkdir(parents=True)
    keys = []
    for i, pixels in enumerate(images):
        keys.append(f"png/{i:07d}.png")
        Image.fromarray(pixels).save(folder / f"{i:07d}.png")
    df = pd.read_parquet(root / "manifest.parquet")
    df.assign(image=keys).to_parquet(root / "files_manifest.parquet")
    pd.DataFrame(
        {"filepath": [str(root / "files" / k) for k in keys], "title": df["caption"]}
    ).to_csv(root / "files.tsv", sep="\t", index=False)


def _train(
    root: Path, spec: dict, epochs: int, *, files: bool = False, tag: str = ""
) -> tuple[float, list[dict]]:
    """Process CPU seconds of one train_run and its train.jsonl lines (from the npy store, or
    from the PNG files with ``files``)."""
    spec = {**spec, "optim": {**spec["optim"], "epochs": epochs}}
    out = root / "runs" / f"{spec['run']}-{epochs}{tag}"
    extra = (
        {"text_embeddings": root / "text_embeddings.npy"}
        if spec.get("text_tower") == "frozen"
        else {}
    )
    cpu = time.process_time()
    train_run(
        spec,
        manifest=root / ("files_manifest.parquet" if files else "manifest.parquet"),
        classes=root / "classes.tsv",
        images_root=root / "files" if files else root,
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


def clip_spec(name: str, args: argparse.Namespace, threads: int) -> dict:
    """The CLIP run (trainable text tower) that the comparisons time."""
    return {
        "run": name,
        "method": "clip",
        "threads": threads,
        "workers": args.workers,
        "device": "cpu",
        "log_every": 1,
        "model": {"name": args.model},
        "optim": {
            "epochs": args.epochs,
            "batch_size": args.batch,
            "lr": 1e-3,
            "weight_decay": 0.2,
            "warmup_steps": 1,
        },
    }


def steady_rates(lines: list[dict]) -> dict:
    """Median and best step images/s and mean epoch images/s, leaving out the first epoch
    (warm-up: allocator, page cache, first calls)."""
    steps = [x["images_per_s"] for x in lines if x["event"] == "step" and x["epoch"] > 1]
    epochs = [x["images_per_s"] for x in lines if x["event"] == "epoch"][1:]
    return {
        "median": statistics.median(steps),
        "best": max(steps),
        "epoch": statistics.fmean(epochs),
        "steps": len(steps),
    }


def open_clip_rates(root: Path, args: argparse.Namespace, threads: int) -> dict:
    """open_clip_train on the PNG files, with the settings of :func:`clip_spec`; the same
    summary as :func:`steady_rates` from its per-step log lines."""
    argv = [
        "--train-data", str(root / "files.tsv"), "--dataset-type", "csv",
        "--csv-separator", "\t", "--csv-img-key", "filepath", "--csv-caption-key", "title",
        "--model", args.model, "--device", "cpu", "--precision", "fp32",
        "--batch-size", str(args.batch), "--epochs", str(args.epochs),
        "--workers", str(args.workers), "--seed", "0",
        "--lr", "1e-3", "--beta1", "0.9", "--beta2", "0.999", "--eps", "1e-8", "--wd", "0.2",
        "--warmup", "1", "--lr-scheduler", "cosine", "--log-every-n-steps", "1",
    ]  # fmt: skip
    log = reference_trainer.run(
        argv, threads=threads, log_dir=root / "open_clip_logs", name=f"threads{threads}"
    )
    rates = reference_trainer.step_rates(log)
    per_epoch: dict[int, list[float]] = {}
    for epoch, rate in rates:
        per_epoch.setdefault(epoch, []).append(rate)
    if len(per_epoch) != args.epochs or any(len(r) != args.steps for r in per_epoch.values()):
        raise RuntimeError(f"{log}: expected {args.epochs} x {args.steps} step lines")
    later = [r for epoch, rs in sorted(per_epoch.items())[1:] for r in rs]
    # an epoch's time is the sum of its step times (batch / rate), as open_clip_train times them
    epoch_rates = [
        len(rs) * args.batch / sum(args.batch / r for r in rs)
        for _, rs in sorted(per_epoch.items())[1:]
    ]
    return {
        "median": statistics.median(later),
        "best": max(later),
        "epoch": statistics.fmean(epoch_rates),
        "steps": len(later),
    }


def compare_open_clip(root: Path, args: argparse.Namespace) -> None:
    print(
        f"\n## cliptail train_run vs open_clip_train ({args.model}, CLIP with trainable text "
        f"tower, {args.batch * args.steps} images, batch {args.batch}, {args.epochs} epochs, "
        f"{args.workers} data-loader workers, fp32, CPU; rates leave out epoch 1)\n"
    )
    print("| trainer | data | threads | median step img/s | best step img/s | epoch img/s |")
    print("|---|---|---|---:|---:|---:|")
    verdicts = []
    for threads in args.threads:
        results = {}
        for label, files in (("npy array store", False), ("PNG files", True)):
            spec = clip_spec(f"vs-{threads}", args, threads)
            tag = "-files" if files else "-npy"
            _, lines = _train(root, spec, args.epochs, files=files, tag=tag)
            results[("cliptail", label)] = steady_rates(lines)
        results[("open_clip_train", "PNG files")] = open_clip_rates(root, args, threads)
        for (trainer, data), r in results.items():
            print(
                f"| {trainer} | {data} | {threads} | {r['median']:.0f} | {r['best']:.0f} | "
                f"{r['epoch']:.0f} |",
                flush=True,
            )
        ref = results[("open_clip_train", "PNG files")]
        for data in ("PNG files", "npy array store"):
            ours = results[("cliptail", data)]
            verdicts.append(
                f"{threads} thread(s), cliptail from {data} / open_clip_train from PNG files: "
                f"median step x{ours['median'] / ref['median']:.2f}, "
                f"epoch x{ours['epoch'] / ref['epoch']:.2f}"
            )
    print()
    for line in verdicts:
        print(line)
    print("(goal for CLIP: cliptail / open_clip_train >= 1.0)")


class InMemoryBatches(EpochBatches):
    """``EpochBatches`` whose batches are all built when the epoch's dataset is created (before
    ``train_run`` starts timing the epoch) and then served from a list. ``build_s`` collects the
    seconds each batch took to build."""

    build_s: list[float] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cache = []
        for step in range(len(self)):
            start = time.perf_counter()
            self.cache.append(super().__getitem__(step))
            InMemoryBatches.build_s.append(time.perf_counter() - start)

    def __getitem__(self, step: int):
        if not 0 <= step < len(self):
            raise IndexError(step)
        return self.cache[step]


def compare_loader(root: Path, args: argparse.Namespace) -> None:
    threads = max(args.threads)
    print(
        f"\n## cliptail: data loader vs batches in memory ({args.model}, CLIP, batch "
        f"{args.batch}, {threads} threads, {args.workers} data-loader workers, {args.epochs} "
        f"epochs; rates leave out epoch 1)\n"
    )
    print(
        "| data | loader: median step img/s | in memory: median step img/s | "
        "loader / in-memory step time | batch build ms |"
    )
    print("|---|---:|---:|---:|---:|")
    for label, files in (("npy array store", False), ("PNG files", True)):
        spec = clip_spec(f"loader-{threads}", args, threads)
        tag = "-files" if files else "-npy"
        _, lines = _train(root, spec, args.epochs, files=files, tag=f"{tag}-loader")
        loader = steady_rates(lines)
        InMemoryBatches.build_s = []
        with mock.patch.object(train_loop, "EpochBatches", InMemoryBatches):
            # served from the training process's memory: no worker processes
            _, lines = _train(
                root, {**spec, "workers": 0}, args.epochs, files=files, tag=f"{tag}-memory"
            )
        memory = steady_rates(lines)
        build_ms = 1000 * statistics.median(InMemoryBatches.build_s[args.steps :])
        print(
            f"| {label} | {loader['median']:.0f} | {memory['median']:.0f} | "
            f"{memory['median'] / loader['median']:.3f} | {build_ms:.1f} |",
            flush=True,
        )
    print("(goal: loader / in-memory step time <= 1.1)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=6, help="steps per epoch")
    parser.add_argument("--caption-words", type=int, default=16)
    parser.add_argument("--model", default="cliptail-tiny-rn")
    parser.add_argument(
        "--methods",
        nargs="*",
        default=["clip", "clip-frozen", "sl", "sl-vocab"],
        help="configurations of the main table (none: skip it)",
    )
    parser.add_argument("--minilm", action="store_true", help="also time the MiniLM text encoder")
    parser.add_argument(
        "--vs-open-clip",
        action="store_true",
        help="also run open_clip_train side by side (CLIP, same model, data and settings)",
    )
    parser.add_argument(
        "--loader",
        action="store_true",
        help="also compare cliptail's steps with its data loader and with batches in memory",
    )
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs of the --vs-open-clip / --loader runs"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=0,
        help="data-loader workers of the --vs-open-clip and --loader runs",
    )
    args = parser.parse_args()
    if (args.vs_open_clip or args.loader) and args.epochs < 2:
        parser.error("--epochs must be >= 2 (the first epoch is left out of the rates)")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        make_world(root, args.batch * args.steps, 200, args.caption_words)
        if args.vs_open_clip or args.loader:
            make_files(root)
        if args.methods:
            print(
                "| method | threads | batch | median step img/s | best step img/s | epoch img/s "
                "| CPU-time img/s |"
            )
            print("|---|---|---|---|---|---|---|")
        for threads in args.threads if args.methods else []:
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
        if args.vs_open_clip:
            compare_open_clip(root, args)
        if args.loader:
            compare_loader(root, args)
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
