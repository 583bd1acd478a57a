"""The prepared GPU check runs end to end (its CPU smoke mode), so it works when a GPU is lent."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_gpu_check_runs_all_three_trainers_in_its_cpu_smoke_mode():
    env = {**os.environ, "GPU_CHECK_CPU_SMOKE": "1", "GPU_CHECK_TIMEOUT": "300"}
    proc = subprocess.run(
        ["bash", "benchmarks/gpu_check.sh"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=360,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    for trainer in (
        "cliptail train_run (npy store, loader)",
        "cliptail train_run (batches in memory)",
        "open_clip_train (synthetic)",
    ):
        row = next(line for line in out.splitlines() if line.startswith(f"| {trainer} |"))
        rates = [float(v.replace(",", "")) for v in re.findall(r"\|\s*([\d.,]+)\s*(?=\|)", row)]
        assert rates and all(r > 0 for r in rates[:3]), row
    assert re.search(r"cliptail / open_clip_train: median step x[\d.]+", out)


def test_jpeg_decode_benchmark_prints_every_row():
    proc = subprocess.run(
        [sys.executable, "benchmarks/jpeg_decode.py", "--quick"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-3000:]
    assert "16 JPEGs per size" in out
    for transform in (
        "CLIP train crop (0.9, 1.0)",
        "SL train crop (0.08, 1.0)",
        "eval Resize + CenterCrop",
    ):
        for pipeline in ("ImageFolder + PIL (baseline)", "cliptail files", "cliptail webdataset"):
            row = next(
                line
                for line in out.splitlines()
                if line.startswith(f"| 500x375 | {transform} | {pipeline} |")
            )
            rate, ratio, wall = (float(v.replace(",", "")) for v in row.split("|")[4:7])
            assert rate > 0 and wall > 0 and ratio > 0, row
            if pipeline.startswith("ImageFolder"):
                assert ratio == 1.0, row
    assert re.search(
        r"CLIP train crop at 500x375: cliptail files x[\d.]+, webdataset x[\d.]+ the ImageFolder "
        r"baseline per core \(goal >= 1.5: (met|missed)\)",
        out,
    )
