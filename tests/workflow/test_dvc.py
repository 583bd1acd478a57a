"""DVC shares the smoke study's results: a fresh clone pulls them and never retrains.

An "origin" copy of the repository (tracked + untracked files, in its own git repository) runs
the dvc.yaml stages on the smoke preset (``dvc repro``), makes the figures with Snakemake and
pushes to its local remote. Each test then makes a fresh clone of that working-tree state,
points it at the origin's remote and restores with workflow/scripts/dvc_restore.sh.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.workflow.workspace import VENV_BIN, copy_project, env_for, planned_jobs, snakemake

pytestmark = pytest.mark.slow

SMOKE_CONFIG = "config/presets/smoke.yaml"
SMOKE = ["--configfile", SMOKE_CONFIG]
EXPENSIVE_RULES = {
    "generate_world",
    "curate_world",
    "world_eval_set",
    "embed_captions",
    "embed_class_prototypes",
    "embed_eval_prompts",
    "train_clip",
    "train_sl",
    "evaluate_run",
    "study_table",
    "runs_table",
}


def run(work: Path, *cmd: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = dict(env_for(work), DVC_NO_ANALYTICS="1")
    result = subprocess.run(
        cmd,
        cwd=work,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-6000:]}"
    return result


def dvc(work: Path, *args: str) -> subprocess.CompletedProcess:
    return run(work, str(VENV_BIN / "dvc"), *args)


def version_smoke_study(work: Path) -> None:
    """Point dvc.yaml's `configfile` var at the smoke preset (a user edits the same line)."""
    text = (work / "dvc.yaml").read_text()
    assert "  - configfile: config/config.yaml\n" in text
    (work / "dvc.yaml").write_text(
        text.replace("  - configfile: config/config.yaml\n", f"  - configfile: {SMOKE_CONFIG}\n")
    )


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checkpoints(work: Path) -> dict[str, tuple[str, int]]:
    """{run: (sha256, mtime_ns)} of every checkpoint."""
    return {
        p.parent.name: (digest(p), p.stat().st_mtime_ns)
        for p in sorted((work / "results" / "runs").glob("*/checkpoint.pt"))
    }


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    work = copy_project(tmp_path_factory.mktemp("dvc") / "origin")
    version_smoke_study(work)
    run(work, "git", "init", "-q")
    dvc(work, "repro")
    made = planned_jobs(snakemake(work, *SMOKE))  # figures and report from the stages' tables
    assert not made.keys() & EXPENSIVE_RULES, f"dvc repro left Snakemake wanting to rerun: {made}"
    dvc(work, "push")
    return work


def fresh_clone(origin: Path, dest: Path) -> Path:
    """The origin's working tree as a collaborator's clone would have it, restored from DVC."""
    clone = copy_project(dest, root=origin)  # no results/, resources/, .dvc/cache, dvc-remote/
    assert not (clone / "results" / "runs").exists() and (clone / "dvc.lock").exists()
    run(clone, "git", "init", "-q")
    dvc(clone, "remote", "modify", "--local", "local", "url", str(origin / "dvc-remote"))
    run(clone, "bash", "workflow/scripts/dvc_restore.sh")
    return clone


def test_pulled_results_regenerate_identical_figures_without_training(origin, tmp_path):
    clone = fresh_clone(origin, tmp_path / "clone")
    restored = checkpoints(clone)
    assert restored and {run: sha for run, (sha, _) in restored.items()} == {
        run: sha for run, (sha, _) in checkpoints(origin).items()
    }

    planned = planned_jobs(snakemake(clone, "-n", *SMOKE))
    assert planned and not planned.keys() & EXPENSIVE_RULES, planned
    assert "figure" in planned
    ran = snakemake(clone, *SMOKE)
    assert not planned_jobs(ran).keys() & EXPENSIVE_RULES

    assert checkpoints(clone) == restored, "checkpoints were neither rewritten nor retrained"
    figures = sorted(p.name for p in (origin / "results" / "figures").glob("*.png"))
    assert figures
    for name in figures:
        assert digest(clone / "results" / "figures" / name) == digest(
            origin / "results" / "figures" / name
        ), name


def test_changed_training_value_reports_the_training_stage_and_reruns_only_sl_runs(
    origin, tmp_path
):
    clone = fresh_clone(origin, tmp_path / "clone")
    before = checkpoints(clone)
    config = clone / SMOKE_CONFIG
    data = yaml.safe_load(config.read_text())
    data["train"]["sl"]["optim"]["lr"] = 0.05
    config.write_text(yaml.safe_dump(data, sort_keys=False))

    status = json.loads(dvc(clone, "status", "--json").stdout)
    assert "training" in status and SMOKE_CONFIG in json.dumps(status["training"]), status

    planned = planned_jobs(snakemake(clone, "-n", *SMOKE))
    sl_runs = {run for run in before if run.startswith("sl_")}
    assert sl_runs and planned.get("train_sl") == len(sl_runs)
    assert not planned.keys() & {"generate_world", "curate_world", "train_clip"}

    dvc(clone, "repro")
    after = checkpoints(clone)
    for run_name, (sha, mtime) in before.items():
        if run_name in sl_runs:
            assert after[run_name][1] != mtime, f"{run_name} was retrained"
        else:
            assert after[run_name] == (sha, mtime), f"{run_name} was left alone"
    assert json.loads(dvc(clone, "status", "--json").stdout) == {}


@pytest.mark.parametrize(
    "key, value",
    [
        ("defaults", {"seed": 1}),
        ("text_encoder", "openclip:RN50"),
        ("sources", {"imagenet": {"root": "/data/imagenet"}}),
        ("figures", {"evalset": "val"}),
    ],
)
def test_every_key_of_the_versioned_preset_is_tracked(origin, tmp_path, key, value):
    """A preset may set any key; DVC sees a change of any of them (here on a copy of the
    origin's working tree, whose stages are up to date)."""
    work = copy_project(tmp_path / "work", root=origin)
    for folder in ("results", "resources", ".dvc/cache"):
        if (origin / folder).exists():
            shutil.copytree(origin / folder, work / folder, symlinks=True, dirs_exist_ok=True)
    run(work, "git", "init", "-q")
    assert json.loads(dvc(work, "status", "--json").stdout) == {}
    config = work / SMOKE_CONFIG
    data = yaml.safe_load(config.read_text())
    data[key] = value
    config.write_text(yaml.safe_dump(data, sort_keys=False))
    status = json.loads(dvc(work, "status", "--json").stdout)
    assert {"datasets", "training", "evaluation"} <= set(status), status
    assert key in json.dumps(status["datasets"])


def test_a_corrupted_remote_object_fails_the_pull(origin, tmp_path):
    """The remote has `verify = true`: a pulled object whose content does not match its hash is
    refused, and the restore script stops instead of marking results up to date."""
    remote = tmp_path / "remote"
    subprocess.run(["cp", "-a", str(origin / "dvc-remote"), str(remote)], check=True)
    objects = sorted(p for p in (remote / "files").rglob("*") if p.is_file() and p.stat().st_size)
    victim = max(objects, key=lambda p: p.stat().st_size)  # a checkpoint-sized object
    victim.write_bytes(b"corrupted" + victim.read_bytes()[9:])
    clone = copy_project(tmp_path / "clone", root=origin)
    run(clone, "git", "init", "-q")
    dvc(clone, "remote", "modify", "--local", "local", "url", str(remote))
    env = dict(env_for(clone), DVC_NO_ANALYTICS="1")
    result = subprocess.run(
        ["bash", "workflow/scripts/dvc_restore.sh"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=900,
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert not (clone / ".snakemake" / "metadata").exists() or not any(
        (clone / ".snakemake" / "metadata").iterdir()
    ), "nothing may be marked up to date after a failed pull"
