"""Resume: a training process killed (SIGKILL) after its first epoch restarts from its last saved
epoch, finishes, and ends bit-identical to an uninterrupted run (SL, and DINO with its EMA teacher,
prototype subsets and multi-crop)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from cliptail import io
from cliptail.train import TrainSpec, train_run
from cliptail.train.data import load_train_data
from tests.fixtures.toy_data import tiny_sl_spec, toy_run_paths, write_toy_split

SRC = Path(__file__).resolve().parents[2] / "src"
SPEC = tiny_sl_spec("resume", epochs=5)
DINO_SPEC = {
    "run": "resume-dino",
    "method": "dino",
    "threads": 1,
    "log_every": 4,
    "model": {"vision_width": 8, "embed_dim": 32},
    "dino": {
        "prototypes": 64,
        "subsample": 32,
        "head_hidden": 32,
        "bottleneck": 16,
        "local_crops": 2,
        "local_size": 16,
    },
    "optim": {"epochs": 5, "batch_size": 64},
}


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    root = tmp_path_factory.mktemp("resume")
    write_toy_split(root, "train", 640, 8, alpha=1.0)
    return root


def start_killable(toy, out, resume, spec) -> subprocess.Popen:
    io.write_json(out.parent / "spec.json", spec)
    args = [
        sys.executable,
        "-m",
        "cliptail.train.launch",
        "--spec",
        str(out.parent / "spec.json"),
        "--no-progress",
    ]
    for key, value in toy_run_paths(toy, out, resume).items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    env = {**os.environ, "PYTHONPATH": f"{SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def kill_after_first_epoch(proc: subprocess.Popen, resume: Path, timeout: float = 120) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        states = list(resume.glob("*/state.pt"))
        if states and torch.load(states[0], weights_only=False)["epoch"] >= 1:
            proc.send_signal(signal.SIGKILL)
            return proc.wait()
        if proc.poll() is not None:
            pytest.fail(f"training ended before it could be killed:\n{proc.stdout.read().decode()}")
        time.sleep(0.02)
    proc.kill()
    pytest.fail("no resume state appeared")


@pytest.mark.parametrize("spec", [SPEC, DINO_SPEC], ids=["sl", "dino"])
def test_killed_run_resumes_and_matches_an_uninterrupted_run(toy, tmp_path, spec):
    train_run(spec, progress=False, **toy_run_paths(toy, tmp_path / "ref", None))
    reference = torch.load(tmp_path / "ref" / "checkpoint.pt", weights_only=False)

    out, resume = tmp_path / "run", tmp_path / "resume"
    out.mkdir()
    proc = start_killable(toy, out, resume, spec)
    assert kill_after_first_epoch(proc, resume) == -signal.SIGKILL
    assert not (out / "checkpoint.pt").exists()
    saved = torch.load(next(resume.glob("*/state.pt")), weights_only=False)["epoch"]
    assert 1 <= saved < spec["optim"]["epochs"]
    shutil.rmtree(out)  # Snakemake removes a failed job's outputs before running it again

    # a changed spec never picks up that state
    changed = {**spec, "optim": {**spec["optim"], "lr": 0.05, "epochs": 1}}
    other = train_run(changed, progress=False, **toy_run_paths(toy, tmp_path / "other", resume))
    assert other["resumed_from"] == []

    summary = train_run(spec, progress=False, **toy_run_paths(toy, out, resume))
    assert summary["resumed_from"] == [saved]
    lines = [json.loads(x) for x in (out / "train.jsonl").read_text().splitlines()]
    assert {"event": "resume", "epoch": saved, "step": saved * 10} in lines
    assert [x["epoch"] for x in lines if x["event"] == "epoch"] == [1, 2, 3, 4, 5]
    assert io.read_json(out / "run.json")["resumed_from"] == [saved]

    resumed = torch.load(out / "checkpoint.pt", weights_only=False)
    assert resumed["state_dict"].keys() == reference["state_dict"].keys()
    for key, value in reference["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key
    ref_lines = [json.loads(x) for x in (tmp_path / "ref" / "train.jsonl").read_text().splitlines()]
    assert [x["loss"] for x in lines if x["event"] == "epoch"] == [
        x["loss"] for x in ref_lines if x["event"] == "epoch"
    ]

    # finished: its resume state is gone
    data = load_train_data(toy / "train.parquet", toy / "classes.tsv", toy)
    key = TrainSpec.from_dict(spec).resume_key(data.fingerprint())
    assert not (resume / key).exists()
