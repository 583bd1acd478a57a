"""Run the workflow in a throw-away copy of the repository (tests never touch the real results/)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from tests.cluster.fake_slurm import no_controller_bin

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
SNAKEMAKE = str(VENV_BIN / "snakemake")
SMOKE = ["--configfile", "config/presets/smoke.yaml"]


def project_files(root: Path = ROOT) -> list[str]:
    """Tracked and untracked-but-not-ignored files of the repository."""
    out = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=root,
        check=True,
        capture_output=True,
    ).stdout.decode()
    return [p for p in out.split("\0") if p and (root / p).is_file()]


def copy_project(dest: Path, root: Path = ROOT) -> Path:
    for rel in project_files(root):
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / rel, target)
    return dest


def env_for(workdir: Path, *, slurm: bool = False) -> dict[str, str]:
    """The environment of a Snakemake run in ``workdir``: its ``src`` on PYTHONPATH, the venv
    first on PATH and, unless ``slurm`` (runs on the test cluster), SLURM clients that fail at
    once (tests.cluster.fake_slurm.no_controller_bin)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(workdir / "src")
    local = [] if slurm else [str(no_controller_bin())]
    env["PATH"] = os.pathsep.join([*local, str(VENV_BIN), env.get("PATH", "")])
    env.setdefault("HF_HUB_OFFLINE", "1")
    env.setdefault("TRANSFORMERS_OFFLINE", "1")
    return env


def snakemake(
    workdir: Path, *args: str, check: bool = True, timeout: int = 1800
) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, "--cores", "2", *args]
    proc = subprocess.run(
        cmd, cwd=workdir, env=env_for(workdir), capture_output=True, text=True, timeout=timeout
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}"
        )
    return proc


_STATS = re.compile(
    r"^Job stats:[ \t]*\n(?:.*\n){2}((?:[a-z_0-9]+[ \t]+\d+[ \t]*\n)+)", re.MULTILINE
)


def planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Per-rule job counts from Snakemake's 'Job stats' table ({} when nothing is to be done)."""
    text = proc.stdout + proc.stderr
    if "Nothing to be done" in text:
        return {}
    match = _STATS.search(text)
    if not match:
        raise AssertionError(f"no job stats in Snakemake's output:\n{text[-3000:]}")
    counts = {}
    for line in match.group(1).splitlines():
        rule, count = line.split()
        if rule != "total":
            counts[rule] = int(count)
    return counts
