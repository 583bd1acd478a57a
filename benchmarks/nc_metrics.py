"""Time and peak memory of cliptail's neural-collapse metrics against the naive formulation.

``cliptail.evaluate.metrics.nc_metrics`` computes ``NC1_c = (1/N) sum_{i in c} z_i^T Sigma_B^+ z_i``
through one whitening projection, never forming a D x D matrix per class. The naive
formulation stores every ``Sigma_W^c`` (a C x D x D array, 8 GB in float64 at C=1000, D=1024)
and takes ``tr(Sigma_W^c Sigma_B^+)`` per class. Each measurement runs in a fresh Python
process; peak memory is the process's peak resident set size (VmHWM) while the metric runs,
after the peak was reset once the synthetic data existed, so it counts the input features
too. ``added`` is that peak minus the resident size just before the call.

    PYTHONPATH=src .venv/bin/python benchmarks/nc_metrics.py
    PYTHONPATH=src .venv/bin/python benchmarks/nc_metrics.py --classes 200 --samples 10000
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np


def synthetic(num_classes: int, num_samples: int, dim: int, seed: int):
    """Float32 class clusters (balanced labels) and a random float32 classifier."""
    rng = np.random.default_rng(seed)
    targets = np.arange(num_samples) % num_classes
    features = rng.standard_normal((num_samples, dim), dtype=np.float32)
    features += 0.5 * rng.standard_normal((num_classes, dim), dtype=np.float32)[targets]
    classifier = rng.standard_normal((num_classes, dim), dtype=np.float32)
    return features, targets, classifier


def naive_nc1(features: np.ndarray, targets: np.ndarray, num_classes: int) -> np.ndarray:
    """Per-class NC1 through the stacked C x D x D within-class scatter matrices."""
    h = features.astype(np.float64)
    n, dim = h.shape
    means = np.stack([h[targets == c].mean(axis=0) for c in range(num_classes)])
    centred = means - means.mean(axis=0)
    sigma_b_pinv = np.linalg.pinv(centred.T @ centred / num_classes, hermitian=True)
    sigma_w = np.zeros((num_classes, dim, dim))
    for c in range(num_classes):
        z = h[targets == c] - means[c]
        sigma_w[c] = z.T @ z / n
    return np.einsum("cij,ji->c", sigma_w, sigma_b_pinv)


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{key} not found in /proc/self/status")


def worker(method: str, num_classes: int, num_samples: int, dim: int, seed: int) -> dict:
    """Run one method once in this process and return time, memory and the per-class NC1."""
    from cliptail.evaluate.metrics import nc_metrics

    features, targets, classifier = synthetic(num_classes, num_samples, dim, seed)
    with open("/proc/self/clear_refs", "w", encoding="ascii") as fh:
        fh.write("5")  # reset the peak resident set size
    before = _status_kb("VmRSS")
    start = time.perf_counter()
    if method == "fast":
        table, _ = nc_metrics(features, targets, classifier)
        nc1 = table["nc1"].to_numpy()
    else:
        nc1 = naive_nc1(features, targets, num_classes)
    seconds = time.perf_counter() - start
    peak = _status_kb("VmHWM")
    return {
        "time_s": seconds,
        "peak_mb": peak / 1024,
        "added_mb": (peak - before) / 1024,
        "nc1": nc1.tolist(),
    }


def measure(method: str, num_classes: int, num_samples: int, dim: int, seed: int) -> dict:
    cmd = [
        sys.executable,
        __file__,
        "--worker",
        method,
        "--classes",
        str(num_classes),
        "--samples",
        str(num_samples),
        "--dim",
        str(dim),
        "--seed",
        str(seed),
    ]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=1000, help="C at full scale")
    parser.add_argument("--samples", type=int, default=50_000, help="N at full scale")
    parser.add_argument("--dim", type=int, default=1024, help="D (both comparisons)")
    parser.add_argument(
        "--naive-classes",
        type=int,
        default=100,
        help="C for the side-by-side comparison with the naive formulation",
    )
    parser.add_argument(
        "--naive-samples", type=int, default=5_000, help="N for the side-by-side comparison"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", choices=["fast", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(args.worker, args.classes, args.samples, args.dim, args.seed)))
        return 0

    input_mb = args.samples * args.dim * 4 / 2**20
    print(f"{'size':<28}{'method':<8}{'time_s':>9}{'peak_mb':>10}{'added_mb':>10}")
    full = measure("fast", args.classes, args.samples, args.dim, args.seed)
    label = f"C={args.classes} N={args.samples} D={args.dim}"
    print(
        f"{label:<28}{'fast':<8}{full['time_s']:>9.2f}{full['peak_mb']:>10.0f}"
        f"{full['added_mb']:>10.0f}"
    )
    print(
        f"  (input features alone: {input_mb:.0f} MB; naive C x D x D scatter would need "
        f"{args.classes * args.dim**2 * 8 / 2**30:.1f} GB in float64)"
    )

    label = f"C={args.naive_classes} N={args.naive_samples} D={args.dim}"
    results = {}
    for method in ("fast", "naive"):
        results[method] = measure(
            method, args.naive_classes, args.naive_samples, args.dim, args.seed
        )
        r = results[method]
        print(
            f"{label:<28}{method:<8}{r['time_s']:>9.2f}{r['peak_mb']:>10.0f}{r['added_mb']:>10.0f}"
        )
    fast, naive = results["fast"], results["naive"]
    diff = np.max(np.abs(np.array(fast["nc1"]) - naive["nc1"]) / np.abs(naive["nc1"]))
    print(
        f"naive / fast: time x{naive['time_s'] / fast['time_s']:.1f}, "
        f"added memory x{naive['added_mb'] / max(fast['added_mb'], 1.0):.1f}, "
        f"peak memory x{naive['peak_mb'] / fast['peak_mb']:.1f}; "
        f"max relative difference of per-class NC1 {diff:.1e}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
