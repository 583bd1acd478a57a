"""profiles/slurm on a real one-node SLURM cluster started by tests/cluster/setup_cluster.sh.

The smoke study runs through ``--profile profiles/slurm`` and every job must show up in SLURM's
accounting as its own sbatch job; a small probe workflow (tests/cluster/workflows/probe) checks
GPU scheduling on the fake GPUs, a retry after one failure, and a permanent failure. Skipped only
without root or without SLURM and apt-get (never when CI=true). The daemons are stopped again
(by PID) when this module started them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster import slurm_cluster
from tests.workflow.workspace import copy_project, env_for

pytestmark = [pytest.mark.cluster, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PROBE = REPO / "tests" / "cluster" / "workflows" / "probe" / "Snakefile"
SMOKE = ["--configfile", "config/presets/smoke.yaml"]
# The profile sizes training for a GPU node (8 CPUs, 48 GB per GPU); the test node is a laptop-sized
# container with fake GPUs, where a CUDA training script cannot run: train on its CPUs.
TRAINING_ON_TEST_NODE = [
    "--set-resources",
    *(
        f"{rule}:{key}={value}"
        for rule in ("train_clip", "train_sl")
        for key, value in (("gpu", 0), ("mem_mb", 4000), ("runtime", 30))
    ),
    "--set-threads",
    "train_clip=1",
    "train_sl=1",
]
FAST_POLLING = ["--slurm-init-seconds-before-status-checks", "2"]


@pytest.fixture(scope="module")
def cluster():
    reason = slurm_cluster.skip_reason()
    if reason:
        pytest.skip(reason)
    started_here = slurm_cluster.start()
    yield
    if started_here:
        slurm_cluster.stop()


def run_with_profile(workdir: Path, *args: str, timeout: int = 900) -> subprocess.CompletedProcess:
    """``snakemake --profile profiles/slurm ARGS`` in ``workdir`` (stdout and stderr merged)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "--profile",
            str(REPO / "profiles" / "slurm"),
            *FAST_POLLING,
            *args,
        ],
        cwd=workdir,
        env=env_for(workdir, slurm=True),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )


@pytest.fixture(scope="module")
def probe_run(cluster, tmp_path_factory):
    """One run of the probe workflow: a GPU job, a job failing once, a job failing always."""
    workdir = tmp_path_factory.mktemp("probe")
    shutil.copy(PROBE, workdir / "Snakefile")
    result = run_with_profile(workdir, "gpu_probe.txt", "flaky.txt", "broken.txt", timeout=300)
    jobs = slurm_cluster.sacct_jobs(slurm_cluster.run_uuid(result.stdout))
    return workdir, result, jobs


def test_gpu_job_gets_a_gpu_of_the_node(probe_run):
    workdir, _, jobs = probe_run
    [gpu_job] = [job for job in jobs if job.rule == "gpu_probe"]
    assert gpu_job.state == "COMPLETED"
    assert "gres/gpu=1" in gpu_job.tres
    seen = dict(item.split("=", 1) for item in (workdir / "gpu_probe.txt").read_text().split())
    assert seen["SLURM_JOB_ID"] == gpu_job.jobid
    assert seen["CUDA_VISIBLE_DEVICES"] in {"0", "1"}


def test_job_failing_once_is_retried_and_completes(probe_run):
    workdir, _, jobs = probe_run
    assert [job.state for job in jobs if job.rule == "flaky"] == ["FAILED", "COMPLETED"]
    assert (workdir / "flaky.txt").read_text().strip() == "succeeded on attempt 2"


def test_permanent_failure_fails_the_run_and_shows_the_log(probe_run):
    workdir, result, jobs = probe_run
    assert result.returncode != 0
    assert [job.state for job in jobs if job.rule == "broken"] == ["FAILED", "FAILED"]
    assert "probe failure: this rule always fails" in result.stdout  # the rule's log, printed
    assert ".snakemake/slurm_logs/rule_broken/" in result.stdout  # where sbatch's log is
    assert not (workdir / "broken.txt").exists()


@pytest.fixture(scope="module")
def smoke_run(cluster, tmp_path_factory):
    workdir = copy_project(tmp_path_factory.mktemp("slurm_smoke") / "cliptail")
    result = run_with_profile(workdir, *SMOKE, *TRAINING_ON_TEST_NODE)
    assert result.returncode == 0, result.stdout[-8000:]
    return workdir, result


def test_smoke_study_completes_on_the_cluster(smoke_run):
    workdir, _ = smoke_run
    assert (workdir / "results" / "tables" / "runs.parquet").stat().st_size > 0
    assert any((workdir / "results" / "figures").glob("*.png"))


def test_every_smoke_job_went_through_sbatch(smoke_run):
    _, result = smoke_run
    scheduled = slurm_cluster.scheduled_jobs(result.stdout)
    remote = {jobid: rule for jobid, (rule, local) in scheduled.items() if not local}
    submitted = slurm_cluster.submissions(result.stdout)
    assert {jobid for jobid, _ in submitted} == set(remote), "each job that runs code was submitted"
    assert len(submitted) == len(remote), "no job was submitted twice"
    jobs = slurm_cluster.sacct_jobs(slurm_cluster.run_uuid(result.stdout))
    assert {job.jobid for job in jobs} == {slurm_id for _, slurm_id in submitted}
    assert {job.state for job in jobs} == {"COMPLETED"}
    assert slurm_cluster.rule_counts(jobs) == slurm_cluster.Counter(remote.values())
    assert {"train_clip", "train_sl", "evaluate_run"} <= set(remote.values())
