"""Nothing stale: a killed, deleted, changed or broken run is trained and evaluated again.

Snakemake rebuilds a missing intermediate file only when a target needs it, so the default target
names every checkpoint and evaluation record besides the tables and figures that summarise them
(cliptail.layout.JobFiles.run_outputs / eval_records). Each test works in its own copy of the
finished smoke study.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import psutil
import pytest
import torch

from tests.workflow.workspace import SMOKE, SNAKEMAKE, env_for, planned_jobs, snakemake

pytestmark = pytest.mark.slow

RUN = "clip_curated_full_s1_eval_tt-rand_seed0"
CHECKPOINT = f"results/runs/{RUN}/checkpoint.pt"
SUMMARY_RULES = {"study_table", "runs_table", "claims", "all"}


def dry_run(work: Path) -> dict[str, int]:
    return planned_jobs(snakemake(work, "-n", *SMOKE))


def training_processes(work: Path) -> list[psutil.Process]:
    """The Python processes running the training script of a Snakemake job in ``work``."""
    found = []
    for proc in psutil.process_iter(["cmdline", "cwd"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if proc.info["cwd"] == str(work) and "train.py" in cmdline and "python" in cmdline:
            found.append(proc)
    return found


def test_killed_training_is_trained_and_evaluated_again(workspace):
    """Fault: `kill -9` of a training job whose run was finished before; the next plain
    `snakemake` used to say "Nothing to be done" and keep the old evaluation and table rows."""
    work = workspace
    table = work / "results/tables/runs.parquet"
    before = table.stat().st_mtime
    cmd = [SNAKEMAKE, "--cores", "2", "--force", CHECKPOINT, *SMOKE]
    proc = subprocess.Popen(
        cmd, cwd=work, env=env_for(work), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    deadline = time.time() + 120
    while not (victims := training_processes(work)):
        assert proc.poll() is None and time.time() < deadline, "training never started"
        time.sleep(0.2)
    for victim in victims:
        victim.kill()
    out = proc.communicate(timeout=120)[0].decode()
    assert proc.returncode != 0, out[-3000:]
    assert not (work / CHECKPOINT).exists()  # Snakemake removes a failed job's outputs

    planned = dry_run(work)
    assert planned.get("train_clip") == 1 and planned.get("evaluate_run") == 1, planned
    assert SUMMARY_RULES <= set(planned), planned
    assert "train_sl" not in planned and "curate_world" not in planned, planned

    snakemake(work, *SMOKE)
    assert (work / CHECKPOINT).is_file()
    assert table.stat().st_mtime > before
    assert dry_run(work) == {}


def test_deleted_run_is_trained_and_evaluated_again(workspace):
    """Fault: `rm -r results/runs/<run>`; `snakemake -n` used to plan nothing."""
    for path in (workspace / f"results/runs/{RUN}").iterdir():
        path.unlink()
    planned = dry_run(workspace)
    assert planned.get("train_clip") == 1 and planned.get("evaluate_run") == 1, planned
    assert SUMMARY_RULES <= set(planned)


@pytest.mark.parametrize("record", ["val.parquet", "val.json"])
def test_deleted_evaluation_record_is_evaluated_again(workspace, record):
    """Fault: one evaluation record deleted; its run is evaluated again (not retrained)."""
    (workspace / f"results/eval/{RUN}/{record}").unlink()
    planned = dry_run(workspace)
    assert planned.get("evaluate_run") == 1 and "train_clip" not in planned, planned


def test_changed_checkpoint_is_evaluated_again(workspace):
    """Fault: a checkpoint replaced by different weights (e.g. copied in by hand): its evaluation
    and everything after it rerun; no training."""
    path = workspace / CHECKPOINT
    ckpt = torch.load(path, map_location="cpu", weights_only=False)
    name = next(k for k, v in ckpt["state_dict"].items() if v.is_floating_point())
    ckpt["state_dict"][name] = ckpt["state_dict"][name] + 0.01
    torch.save(ckpt, path)
    planned = dry_run(workspace)
    assert planned.get("evaluate_run") == 1 and "train_clip" not in planned, planned
    assert SUMMARY_RULES <= set(planned)


def test_broken_checkpoint_fails_its_evaluation_and_keeps_upstream(workspace):
    """Fault: a truncated checkpoint. Its evaluation fails naming the file and what to do, the
    failed job removes only its own outputs (the embeddings and other runs stay), and deleting
    the checkpoint as told retrains that run alone."""
    work = workspace
    path = work / CHECKPOINT
    path.write_bytes(path.read_bytes()[:1000])
    embeddings = sorted((work / "results/data").glob("*/text_embeddings.npy"))
    assert embeddings
    proc = snakemake(work, *SMOKE, check=False)
    assert proc.returncode != 0
    text = proc.stdout + proc.stderr
    assert f"checkpoint {CHECKPOINT} is unreadable" in text
    assert "delete it and rerun Snakemake" in text
    assert path.exists() and all(p.exists() for p in embeddings)
    assert not (work / f"results/eval/{RUN}/val.json").exists()

    path.unlink()
    planned = dry_run(work)
    assert planned.get("train_clip") == 1 and planned.get("evaluate_run") == 1, planned
    assert "embed_captions" not in planned and "train_sl" not in planned, planned
