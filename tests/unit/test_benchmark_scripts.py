"""The prepared GPU check runs end to end (its CPU smoke mode), so it works when a GPU is lent."""

from __future__ import annotations

import os
import re
import subprocess
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
