"""Start/stop the one-node test cluster and read what Snakemake and SLURM say about a run.

The cluster itself is set up by setup_cluster.sh (packages, munge, MariaDB, slurmdbd, slurmctld,
slurmd, fake GPUs) and stopped by teardown_cluster.sh, both by PID; this module only calls them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
SETUP = HERE / "setup_cluster.sh"
TEARDOWN = HERE / "teardown_cluster.sh"
CONTROLLER_PIDFILE = Path("/run/cliptail-slurm/slurm/slurmctld.pid")


def skip_reason() -> str | None:
    """Why the cluster cannot be started here, or None when it can (never skipped when CI=true)."""
    if os.environ.get("CI", "").lower() == "true":
        return None
    if os.geteuid() != 0:
        return "starting a SLURM cluster needs root (run as root, or set CI=true to insist)"
    if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
        return "SLURM is not installed and apt-get is unavailable to install it"
    return None


def controller_running() -> bool:
    """Whether setup_cluster.sh's slurmctld is alive (judged by its PID file)."""
    try:
        os.kill(int(CONTROLLER_PIDFILE.read_text()), 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return False
    return True


def start() -> bool:
    """Run the (idempotent) setup script; True when this call started the cluster."""
    was_running = controller_running()
    result = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True, timeout=600)
    if result.returncode != 0:
        raise RuntimeError(f"{SETUP} failed:\n{result.stdout}\n{result.stderr}")
    return not was_running


def stop() -> None:
    """Stop the daemons started by the setup script (by their PID files)."""
    subprocess.run(["bash", str(TEARDOWN)], check=True, capture_output=True, timeout=120)


@dataclass(frozen=True)
class SlurmJob:
    """One SLURM job of a Snakemake run, as the accounting database has it."""

    jobid: str
    state: str
    rule: str  # from the --comment rule_<name>[_wildcards_<values>] the plugin sets
    comment: str
    tres: str  # allocated trackable resources, e.g. cpu=1,gres/gpu=1,mem=500M,node=1


def run_uuid(output: str) -> str:
    """The SLURM job name the plugin gave every job of this Snakemake run."""
    match = re.search(r"^SLURM run ID: (\S+)$", output, flags=re.MULTILINE)
    if match is None:
        raise AssertionError(f"no 'SLURM run ID' in Snakemake's output:\n{output[-3000:]}")
    return match.group(1)


def sacct_jobs(uuid: str) -> list[SlurmJob]:
    """All jobs named ``uuid`` (one Snakemake run) from sacct, in submission order."""
    since = f"{datetime.now() - timedelta(days=1):%Y-%m-%dT%H:%M}"
    out = subprocess.run(
        [
            "sacct",
            "-X",
            "--parsable2",
            "--noheader",
            "--name",
            uuid,
            "--starttime",
            since,
            "--format=JobIDRaw,State,Comment,AllocTRES",
        ],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    jobs = []
    for line in out.splitlines():
        jobid, state, comment, tres = line.split("|")
        rule = comment.removeprefix("rule_").split("_wildcards_")[0]
        jobs.append(SlurmJob(jobid, state.split()[0], rule, comment, tres))
    return sorted(jobs, key=lambda job: int(job.jobid))


def submissions(output: str) -> list[tuple[int, str]]:
    """(Snakemake job id, SLURM job id) of every sbatch submission the plugin reported."""
    found = re.findall(r"Job (\d+) has been submitted with SLURM jobid (\d+)", output)
    return [(int(snakemake_id), slurm_id) for snakemake_id, slurm_id in found]


def scheduled_jobs(output: str) -> dict[int, tuple[str, bool]]:
    """Jobs the main Snakemake process scheduled: {job id: (rule, ran locally)}.

    Reads the ``rule NAME:`` / ``localrule NAME:`` blocks and their ``jobid:`` line; use it on
    output that does not include job logs (``show-failed-logs`` prints the inner runs' blocks).
    """
    jobs: dict[int, tuple[str, bool]] = {}
    lines = output.splitlines()
    for index, line in enumerate(lines):
        header = re.fullmatch(r"(localrule|rule) (\w+):", line)
        if header is None:
            continue
        for following in lines[index + 1 : index + 12]:
            jobid = re.fullmatch(r"\s+jobid: (\d+)", following)
            if jobid:
                jobs[int(jobid.group(1))] = (header.group(2), header.group(1) == "localrule")
                break
    return jobs


def rule_counts(jobs: list[SlurmJob]) -> Counter:
    return Counter(job.rule for job in jobs)
