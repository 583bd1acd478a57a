"""Time to curate every LAIONet variant from a LAIONet-sized metadata table.

The table has the downloaded LAIONet's 3,256,561 rows with manifest columns (``image``, ``label``,
``caption`` strings of typical length, ``similarity``). Per-class counts follow the authors'
released ``class_frequency_laionet_thresh0.7_ori.txt`` when it is available (else a Zipf curve
over 943 classes); similarities are drawn per class so that the threshold sets have about the
released sizes. Each variant is timed on its own (thresholding, sampling, re-adding lost classes,
removing the excess, taking the rows); the frequency vector is counted too.

    PYTHONPATH=src .venv/bin/python benchmarks/curate_laionet.py
    PYTHONPATH=src .venv/bin/python benchmarks/curate_laionet.py --rows 500000
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from cliptail import io
from cliptail.curate import laionet_variants as lv
from cliptail.data import manifest

RELEASED = (
    Path(
        os.environ.get(
            "CLIPTAIL_SHARED_METADATA",
            Path(__file__).resolve().parents[1] / ".." / "shared" / "metadata",
        )
    )
    / "freqs"
    / "class_frequency_laionet_thresh0.7_ori.txt"
)
NUM_CLASSES = 1000


def class_counts(num_rows: int, rng: np.random.Generator) -> np.ndarray:
    if RELEASED.is_file():
        counts = io.read_frequency(RELEASED)["count"].to_numpy().astype(float)
    else:
        counts = np.zeros(NUM_CLASSES)
        counts[:943] = 1.0 / np.arange(1, 944) ** 1.2
        counts = counts[rng.permutation(NUM_CLASSES)]
    counts = np.floor(counts / counts.sum() * num_rows).astype(np.int64)
    counts[np.argmax(counts)] += num_rows - counts.sum()
    return counts


def metadata_table(num_rows: int, seed: int = 0) -> pd.DataFrame:
    """A LAIONet-like table: labels in random order, similarities in [0.7, 1)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.repeat(np.arange(NUM_CLASSES), class_counts(num_rows, rng)))
    # roughly the released shares pass 0.75 / 0.8 / 0.82 (59% / 27% / 18%)
    similarity = 0.7 + 0.3 * rng.beta(1.0, 3.2, num_rows)
    image = pd.Series(np.arange(num_rows)).map("{:09d}.jpg".format)
    caption = pd.Series(rng.integers(0, 10**12, num_rows)).map(
        "a photo of item {} on a white background, high quality".format
    )
    return pd.DataFrame(
        {"image": image, "label": labels, "caption": caption, "similarity": similarity}
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_256_561)
    args = parser.parse_args()

    started = time.perf_counter()
    df = metadata_table(args.rows)
    print(f"table: {len(df):,} rows, built in {time.perf_counter() - started:.1f} s")
    size = min(lv.IN_CAPS_SIZE, int((df["similarity"] >= max(lv.THRESHOLDS)).sum()))
    total = 0.0
    print(f"{'variant':<24}{'rows':>12}{'classes':>9}{'seconds':>9}")
    for name, kwargs in lv.variant_specs(size=size).items():
        t0 = time.perf_counter()
        variant = lv.laionet_subset(df, **kwargs)
        counts = manifest.class_counts(variant["label"], NUM_CLASSES)
        seconds = time.perf_counter() - t0
        total += seconds
        print(f"{name:<24}{len(variant):>12,}{int((counts > 0).sum()):>9}{seconds:>9.2f}")
    print(f"{'total':<24}{'':>21}{total:>9.2f}")


if __name__ == "__main__":
    main()
