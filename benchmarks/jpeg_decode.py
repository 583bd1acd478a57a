"""Per-core rate of JPEG decoding + 224 px transforms: torchvision ImageFolder vs cliptail's stores.

Writes ``--images`` photo-like JPEGs (smooth colour fields, a few shapes, sensor-like noise;
PIL quality 90) per ``--image-sizes`` entry, both as an ImageFolder tree
(``folder/<class>/<n>.jpg``, a few class folders) and as webdataset shards as img2dataset writes
them (``shards/<5 digits>.tar`` holding ``<key>.jpg``, ``<key>.txt`` and ``<key>.json``), into a
temporary directory or ``--data DIR`` (kept and reused). Then, on ONE core
(``torch.set_num_threads(1)``, no data-loader workers), it times every transform with:

- ``ImageFolder``: torchvision's ``datasets.ImageFolder`` with ``transforms.Compose([...,
  ToTensor(), Normalize(OpenAI mean / std)])``, indexed image by image (the plain baseline: PIL
  decodes every pixel, then crops and resizes);
- ``cliptail files``: ``FileImageStore`` + ``ImageTransform`` on the same files, in batches of
  ``--batch`` (reduced-size JPEG decoding with ``Image.draft``, see src/cliptail/data/images.py);
- ``cliptail webdataset``: ``WebDatasetImageStore`` + ``ImageTransform`` on the shards.

Transforms: the CLIP train crop (RandomResizedCrop(224, scale=(0.9, 1.0)), bicubic), the SL train
crop (scale=(0.08, 1.0)) and eval (Resize(224) + CenterCrop(224), bicubic). Each pass goes once
over all images; passes are repeated ``--repeat`` times, interleaved, and the best is kept. The
rate per core is images / CPU seconds of the process (``time.process_time``), which stays
meaningful when other processes share the cores; the wall-clock rate is printed beside it.

    PYTHONPATH=src python benchmarks/jpeg_decode.py [--images 512] [--image-sizes 500x375 1024x768]
    PYTHONPATH=src python benchmarks/jpeg_decode.py --quick      # 16 images, one pass
"""

from __future__ import annotations

import argparse
import io
import json
import shutil
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from cliptail.data.images import (
    OPENAI_DATASET_MEAN,
    OPENAI_DATASET_STD,
    FileImageStore,
    ImageTransform,
    WebDatasetImageStore,
)

SIZE = 224
CLASSES = 4
SHARD_SAMPLES = 256
#: (row name, RandomResizedCrop scale or None for eval)
TRANSFORMS = (
    ("CLIP train crop (0.9, 1.0)", (0.9, 1.0)),
    ("SL train crop (0.08, 1.0)", (0.08, 1.0)),
    ("eval Resize + CenterCrop", None),
)
PIPELINES = ("ImageFolder + PIL (baseline)", "cliptail files", "cliptail webdataset")


def photo(rng: np.random.Generator, width: int, height: int) -> Image.Image:
    """A photo-like RGB image: a smooth random colour field, a few filled shapes, mild noise."""
    field = rng.integers(0, 256, (4, 5, 3), dtype=np.uint8)
    img = Image.fromarray(field).resize((width, height), Image.BICUBIC)
    draw = ImageDraw.Draw(img)
    for _ in range(6):
        x0, x1 = sorted(rng.integers(0, width, 2).tolist())
        y0, y1 = sorted(rng.integers(0, height, 2).tolist())
        fill = tuple(rng.integers(0, 256, 3).tolist())
        (draw.ellipse if rng.random() < 0.5 else draw.rectangle)((x0, y0, x1, y1), fill=fill)
    pixels = np.asarray(img, dtype=np.float32) + rng.normal(0, 4, (height, width, 3))
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


def write_data(root: Path, n: int, width: int, height: int, seed: int = 0) -> tuple[Path, Path]:
    """``root/folder/<class>/<n>.jpg`` and ``root/shards/<shard>.tar`` with the same JPEGs;
    reused when ``root/done`` says they are there (same count and seed)."""
    folder, shards = root / "folder", root / "shards"
    if (root / "done").is_file() and (root / "done").read_text() == f"{n} {seed}":
        return folder, shards
    shutil.rmtree(root, ignore_errors=True)  # another count or seed: start afresh
    rng = np.random.default_rng(seed)
    tars: dict[int, tarfile.TarFile] = {}
    shards.mkdir(parents=True, exist_ok=True)
    try:
        for k in range(n):
            buf = io.BytesIO()
            photo(rng, width, height).save(buf, "JPEG", quality=90)
            data = buf.getvalue()
            path = folder / f"class{k % CLASSES}" / f"{k:06d}.jpg"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            shard = k // SHARD_SAMPLES
            if shard not in tars:
                tars[shard] = tarfile.open(shards / f"{shard:05d}.tar", "w")
            key = f"{shard:05d}{k % SHARD_SAMPLES:04d}"
            meta = json.dumps({"key": key, "width": width, "height": height}).encode()
            for suffix, payload in (("jpg", data), ("txt", b"a photo"), ("json", meta)):
                info = tarfile.TarInfo(f"{key}.{suffix}")
                info.size = len(payload)
                tars[shard].addfile(info, io.BytesIO(payload))
    finally:
        for tar in tars.values():
            tar.close()
    (root / "done").write_text(f"{n} {seed}")
    return folder, shards


def baseline_pass(scale: tuple[float, float] | None, folder: Path):
    """One pass of torchvision's ImageFolder pipeline, image by image."""
    from torchvision import datasets
    from torchvision import transforms as T

    bicubic = T.InterpolationMode.BICUBIC
    crop = (
        [T.Resize(SIZE, interpolation=bicubic), T.CenterCrop(SIZE)]
        if scale is None
        else [T.RandomResizedCrop(SIZE, scale=scale, interpolation=bicubic)]
    )
    tail = [T.ToTensor(), T.Normalize(OPENAI_DATASET_MEAN, OPENAI_DATASET_STD)]
    dataset = datasets.ImageFolder(str(folder), transform=T.Compose(crop + tail))

    def run(limit: int | None = None) -> int:
        n = len(dataset) if limit is None else limit
        for k in range(n):
            x, _ = dataset[k]
        return n

    return run


def cliptail_pass(scale: tuple[float, float] | None, store, keys: list[str], batch: int):
    """One pass of a cliptail store + ImageTransform, in batches."""
    train = scale is not None
    transform = ImageTransform(SIZE, train=train, **({"scale": scale} if train else {}))
    handles = store.locate(keys)
    rng = np.random.default_rng(0)

    def run(limit: int | None = None) -> int:
        sel = handles if limit is None else handles[:limit]
        for start in range(0, len(sel), batch):
            part = sel[start : start + batch]
            transform(store.load(part), transform.noise(len(part), rng))
        return len(sel)

    return run


def measure(runs: dict, repeat: int) -> dict:
    """Best images per CPU second and per wall second of each pass over ``repeat`` rounds."""
    for run in runs.values():
        run(limit=4)  # warm up imports and caches
    best = {name: (0.0, 0.0) for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            cpu, wall = time.process_time(), time.perf_counter()
            n = run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            rates = (n / max(cpu, 1e-9), n / max(wall, 1e-9))
            best[name] = max(best[name], rates)
    return best


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=512, help="JPEGs per image size")
    parser.add_argument("--image-sizes", nargs="+", default=["500x375"], help="WIDTHxHEIGHT")
    parser.add_argument("--batch", type=int, default=64, help="cliptail batch size")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved passes; best kept")
    parser.add_argument("--data", type=Path, help="folder for the JPEGs (kept; default: temp)")
    parser.add_argument("--quick", action="store_true", help="16 images, one pass (smoke test)")
    args = parser.parse_args(argv)
    if args.quick:
        args.images, args.repeat = 16, 1
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        base = args.data or Path(tmp)
        results = []
        for spec in args.image_sizes:
            width, height = (int(v) for v in spec.lower().split("x"))
            folder, shards = write_data(base / spec, args.images, width, height)
            files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.jpg"))
            samples = []
            for path in sorted(shards.glob("*.tar")):
                with tarfile.open(path) as tar:
                    samples += [
                        f"{path.name}/{m.name[:-4]}" for m in tar if m.name.endswith(".jpg")
                    ]
            runs = {}
            for name, scale in TRANSFORMS:
                runs[(name, PIPELINES[0])] = baseline_pass(scale, folder)
                runs[(name, PIPELINES[1])] = cliptail_pass(
                    scale, FileImageStore(folder), files, args.batch
                )
                runs[(name, PIPELINES[2])] = cliptail_pass(
                    scale, WebDatasetImageStore(shards), samples, args.batch
                )
            results.append((spec, measure(runs, args.repeat)))

    print(
        f"\n{args.images} JPEGs per size (quality 90), output {SIZE} px, one core "
        f"(torch threads 1, no workers), best of {args.repeat} passes\n"
    )
    print("| image size | transform | pipeline | img/s per core | x baseline | wall img/s |")
    print("|---|---|---|---:|---:|---:|")
    for spec, best in results:
        for name, _ in TRANSFORMS:
            base_rate = best[(name, PIPELINES[0])][0]
            for pipeline in PIPELINES:
                cpu, wall = best[(name, pipeline)]
                print(
                    f"| {spec} | {name} | {pipeline} | {cpu:,.0f} | {cpu / base_rate:.2f} "
                    f"| {wall:,.0f} |"
                )
    print()
    clip = TRANSFORMS[0][0]
    for spec, best in results:
        base_rate = best[(clip, PIPELINES[0])][0]
        files, wds = (best[(clip, p)][0] / base_rate for p in PIPELINES[1:])
        verdict = "met" if min(files, wds) >= 1.5 else "missed"
        print(
            f"CLIP train crop at {spec}: cliptail files x{files:.2f}, webdataset x{wds:.2f} "
            f"the ImageFolder baseline per core (goal >= 1.5: {verdict})"
        )


if __name__ == "__main__":
    main()
