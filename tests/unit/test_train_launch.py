"""How a training job starts, decided by its ``gpu`` resource (no GPU needed).

gpu=0 trains in-process on CPU, gpu=1 in-process on the job's GPU, gpu=N>1 under
``torchrun --nproc-per-node N``; a job with GPUs first checks that it sees exactly N. The
GPU count torch reports and the torchrun process itself are replaced, so the decision and the
exact command are checked on any machine.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import cliptail.train
from cliptail import io
from cliptail.data.dataset_dir import DatasetDir
from cliptail.train import launch
from cliptail.train.launch import check_visible_gpus, training_processes

TRAIN_SCRIPT = Path(__file__).resolve().parents[2] / "workflow" / "scripts" / "train.py"
SPEC = {"run": "sl_probe", "method": "sl", "optim": {"epochs": 1}}


def load_train_script():
    """workflow/scripts/train.py as a module (outside Snakemake it only defines ``main``)."""
    spec = importlib.util.spec_from_file_location("cliptail_train_script", TRAIN_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("gpus, processes", [(0, 1), (1, 1), (2, 2), (8, 8)])
def test_one_process_per_gpu_and_one_on_cpu(gpus, processes):
    assert training_processes(gpus) == processes


def test_negative_gpu_count_is_refused():
    with pytest.raises(ValueError, match=">= 0"):
        training_processes(-1)
    with pytest.raises(ValueError, match=">= 0"):
        check_visible_gpus(-1, visible=0)


@pytest.mark.parametrize("gpus", [0, 1, 4])
def test_job_seeing_exactly_its_gpus_passes(gpus):
    check_visible_gpus(gpus, visible=gpus)


def test_cpu_job_is_not_checked():
    check_visible_gpus(0, visible=3)


@pytest.mark.parametrize(
    "gpus, visible, hint",
    [
        (2, 1, "CUDA_VISIBLE_DEVICES"),  # fewer than asked for
        (1, 4, "CUDA_VISIBLE_DEVICES"),  # more: the job could collide with others on its node
        (2, 0, "no CUDA device is visible"),
    ],
)
def test_job_seeing_other_gpu_count_fails_clearly(gpus, visible, hint):
    with pytest.raises(RuntimeError, match=rf"asked for {gpus} GPU\(s\).*sees {visible}") as err:
        check_visible_gpus(gpus, visible=visible)
    assert hint in str(err.value)


def test_visible_count_comes_from_torch(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    check_visible_gpus(2)
    with pytest.raises(RuntimeError, match="sees 2"):
        check_visible_gpus(4)


@pytest.fixture
def job(tmp_path, monkeypatch):
    """Run train.py's ``main`` as a Snakemake job would; torchrun and train_run only record calls."""
    calls = {"torchrun": [], "train_run": []}

    def fake_run(cmd, check=False, stdout=None, stderr=None):
        spec_file = Path(cmd[cmd.index("--spec") + 1])
        out_dir = Path(cmd[cmd.index("--out-dir") + 1])
        calls["torchrun"].append(
            {
                "cmd": cmd,
                "spec": json.loads(spec_file.read_text()),
                "stdout": stdout,
                "stderr": stderr,
            }
        )
        io.write_json(out_dir / "run.json", {"run": SPEC["run"], "world_size": 2})
        return subprocess.CompletedProcess(cmd, 0)

    def fake_train_run(spec, **kwargs):
        calls["train_run"].append({"spec": spec, **kwargs})
        return {"run": spec["run"], "world_size": 1}

    monkeypatch.setattr(launch.subprocess, "run", fake_run)
    monkeypatch.setattr(cliptail.train, "train_run", fake_train_run)
    script = load_train_script()
    log = tmp_path / "train.log"

    data = DatasetDir(tmp_path / "d")
    io.write_json(data.source, {"image_root": "resources/world", "image_format": "world"})

    def start(
        gpus: int, visible: int, threads: int = 8, loader_workers: int = 0, torchrun: bool = False
    ) -> dict:
        monkeypatch.setattr(torch.cuda, "is_available", lambda: visible > 0)
        monkeypatch.setattr(torch.cuda, "device_count", lambda: visible)
        script.main(
            dict(SPEC),
            data=data,
            out_dir=str(tmp_path / "run"),
            text_embeddings=None,
            class_embeddings="d/class_embeddings.npy",
            resume_dir="results/resume/sl_probe",
            threads=threads,
            gpus=gpus,
            loader_workers=loader_workers,
            torchrun=torchrun,
            log=str(log),
        )
        return calls

    start.log = log
    return start


def test_several_gpus_start_torchrun_with_one_process_per_gpu(job):
    calls = job(gpus=2, visible=2, threads=8)
    assert not calls["train_run"]
    [call] = calls["torchrun"]
    cmd = call["cmd"]
    assert cmd[:3] == [sys.executable, "-m", "torch.distributed.run"]
    assert "--standalone" in cmd and cmd[cmd.index("--nproc-per-node") + 1] == "2"
    assert cmd[cmd.index("-m", 3) + 1] == "cliptail.train.launch"
    assert cmd[cmd.index("--resume-dir") + 1] == "results/resume/sl_probe"
    assert cmd[cmd.index("--class-embeddings") + 1] == "d/class_embeddings.npy"
    assert "--text-embeddings" not in cmd
    # 8 job threads / 2 processes; device and workers from the job's resources
    assert call["spec"] == {**SPEC, "device": "cuda", "threads": 4, "workers": 0}
    assert cmd[cmd.index("--images-root") + 1] == "resources/world"  # from source.json
    # the processes write into the job's log
    assert call["stdout"] is not None and Path(call["stdout"].name) == job.log
    assert call["stderr"] == subprocess.STDOUT
    assert "in 2 process(es) with torchrun (DDP)" in job.log.read_text()


def test_torchrun_resource_starts_one_ddp_process_on_cpu(job):
    calls = job(gpus=0, visible=0, threads=3, torchrun=True)
    assert not calls["train_run"]
    [call] = calls["torchrun"]
    cmd = call["cmd"]
    assert cmd[cmd.index("--nproc-per-node") + 1] == "1"
    assert call["spec"]["device"] == "cpu" and call["spec"]["threads"] == 3
    assert "in 1 process(es) with torchrun (DDP)" in job.log.read_text()


@pytest.mark.parametrize("gpus, device", [(0, "cpu"), (1, "cuda")])
def test_cpu_or_one_gpu_trains_in_the_job_process(job, gpus, device):
    calls = job(gpus=gpus, visible=gpus, threads=3, loader_workers=2)
    assert not calls["torchrun"]
    [call] = calls["train_run"]
    assert call["spec"]["device"] == device
    assert call["spec"]["threads"] == 3 and call["spec"]["workers"] == 2
    assert call["resume_dir"] == "results/resume/sl_probe"
    assert call["images_root"] == "resources/world"


def test_job_with_wrong_gpu_count_fails_before_training_and_says_why(job):
    with pytest.raises(RuntimeError, match="asked for 2 GPU"):
        job(gpus=2, visible=1)
    assert "asked for 2 GPU(s) (gpu resource) but sees 1" in job.log.read_text()


def test_failing_torchrun_fails_the_job(job, monkeypatch):
    monkeypatch.setattr(
        launch.subprocess, "run", lambda cmd, **kwargs: subprocess.CompletedProcess(cmd, 1)
    )
    with pytest.raises(RuntimeError, match="distributed training failed"):
        job(gpus=2, visible=2)
