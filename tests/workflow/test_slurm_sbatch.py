"""The sbatch calls that profiles/slurm makes the pinned SLURM executor plugin build.

Snakemake runs with ``--profile profiles/slurm`` and the real plugin, but with stand-in SLURM
client commands first on PATH (tests/cluster/fake_slurm.py): ``sbatch`` records its argv and
prints a job id, ``sacct`` reports the job as completed. The assertions read the recorded argv,
so they hold for whatever the plugin really passes to sbatch. A real cluster runs in
test_slurm_cluster.py.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.cluster import fake_slurm

REPO = Path(__file__).resolve().parents[2]
PROFILE = REPO / "profiles" / "slurm"
CLUSTER_DIR = REPO / "tests" / "cluster"
PROBE_SNAKEFILE = CLUSTER_DIR / "workflows" / "sbatch" / "Snakefile"
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


def profile_settings() -> dict:
    return yaml.safe_load((PROFILE / "config.yaml").read_text())


def submit_probe_jobs(tmp_path: Path, profile: Path = PROFILE) -> tuple[Path, dict[str, dict]]:
    """Run the probe workflow through ``profile`` against the stand-in SLURM.

    Returns the working directory and the sbatch options of each job, by rule name.
    """
    workdir = tmp_path / "work"
    workdir.mkdir()
    shutil.copy(PROBE_SNAKEFILE, workdir / "Snakefile")
    # as in the repository: profiles/default beside the Snakefile is loaded as the workflow profile
    shutil.copytree(REPO / "profiles" / "default", workdir / "profiles" / "default")
    record = tmp_path / "sbatch.jsonl"
    fake_slurm.install(tmp_path / "bin", record)
    env = dict(os.environ, PATH=f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run(
        [
            *SNAKEMAKE,
            "--profile",
            str(profile),
            "--slurm-init-seconds-before-status-checks",
            "1",
            "train_clip",
            "train_sl",
            "curate_world",
            "summarize",
            "read_web_cls",
        ],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    calls = fake_slurm.recorded_calls(record)
    assert len(calls) == 5, "one sbatch call per job"
    return workdir, fake_slurm.by_rule(calls)


@pytest.fixture(scope="module")
def probe_run(tmp_path_factory) -> tuple[Path, dict[str, dict]]:
    return submit_probe_jobs(tmp_path_factory.mktemp("sbatch"))


@pytest.fixture(scope="module")
def submitted(probe_run) -> dict[str, dict]:
    return probe_run[1]


@pytest.mark.parametrize("rule", ["train_clip", "train_sl"])
def test_training_job_asks_for_gpu_cpus_memory_and_time_from_the_profile(submitted, rule):
    wanted = profile_settings()["set-resources"][rule]
    call = submitted[rule]
    assert call["--gpus"] == str(wanted["gpu"])
    assert call["--cpus-per-gpu"] == str(wanted["cpus_per_gpu"])
    assert call["--mem"] == str(wanted["mem_mb"])
    assert call["-t"] == str(wanted["runtime"])
    # all GPUs of a job on one node: a job with gpu > 1 starts torchrun there (train.py)
    assert wanted["nodes"] == 1 and call["--nodes"] == "1"
    # The rule's own laptop values (gpu=0, cpus_per_gpu=4, 4000 MB, 120 min) are overridden.
    assert (call["--gpus"], call["--mem"], call["-t"]) != ("0", "4000", "120")
    # A GPU job is sized per GPU: no task count and no per-task CPUs.
    assert "--ntasks" not in call and "--cpus-per-task" not in call


def test_cpu_job_keeps_its_rule_resources(submitted):
    call = submitted["curate_world"]
    assert (call["--mem"], call["-t"]) == ("2000", "10")
    assert call["--ntasks"] == "1" and call["--cpus-per-task"] == "1"
    assert "--gpus" not in call and "--cpus-per-gpu" not in call


def test_threads_come_from_the_cluster_profile_not_the_login_node(submitted):
    """set-threads of profiles/slurm reaches sbatch uncapped by the submitting machine's cores
    (the workflow profile profiles/default sets no `cores`), and each job re-runs Snakemake with
    the same thread settings."""
    wanted = profile_settings()["set-threads"]
    assert wanted["read_web_cls"] > (os.cpu_count() or 1)
    call = submitted["read_web_cls"]
    assert call["--cpus-per-task"] == str(wanted["read_web_cls"])
    command = fake_slurm.wrapped_command(submitted["train_clip"])
    assert command[command.index("--cores") + 1] == "all"


def test_job_without_resources_gets_the_profile_defaults(submitted):
    defaults = profile_settings()["default-resources"]
    call = submitted["summarize"]
    assert (call["--mem"], call["-t"]) == (str(defaults["mem_mb"]), str(defaults["runtime"]))


def test_each_job_reruns_snakemake_with_the_same_interpreter_in_the_same_directory(probe_run):
    workdir, submitted = probe_run
    for rule, call in submitted.items():
        command = fake_slurm.wrapped_command(call)
        assert Path(command[0]).is_absolute(), "compute nodes need the absolute venv path"
        assert Path(command[0]).resolve() == Path(sys.executable).resolve()
        assert command[1:3] == ["-m", "snakemake"]
        assert command[command.index("--executor") + 1] == "slurm-jobstep"
        assert command[command.index("--target-jobs") + 1] == f"{rule}:"
        assert call["-D"] == str(workdir)
        assert call["--export"] == "ALL", "the job inherits PATH and the venv from the submitter"


def test_without_partition_and_account_the_cluster_defaults_apply(submitted):
    for call in submitted.values():
        assert call["-p"] == fake_slurm.FAKE_DEFAULT_PARTITION  # the one marked * by sinfo
        assert "-A" not in call


def test_uncommented_partition_and_account_lines_reach_sbatch(tmp_path):
    """The commented slurm_partition / slurm_account lines work as documented once uncommented."""
    text = (PROFILE / "config.yaml").read_text()
    text, count = re.subn(r"# (slurm_(?:partition|account): )", r"\1", text)
    assert count == 4, (
        "profile documents slurm_partition/slurm_account in default- and set-resources"
    )
    profile = tmp_path / "profile"
    profile.mkdir()
    (profile / "config.yaml").write_text(text)
    _, submitted = submit_probe_jobs(tmp_path, profile)
    assert submitted["curate_world"]["-p"] == "compute"
    assert submitted["train_clip"]["-p"] == "gpu" and submitted["train_sl"]["-p"] == "gpu"
    assert {call["-A"] for call in submitted.values()} == {fake_slurm.FAKE_ACCOUNT}


def test_profile_sizes_rules_that_exist_in_the_workflow():
    declared = set()
    for smk in (REPO / "rules").glob("*.smk"):
        text = smk.read_text()
        declared |= set(re.findall(r"^rule (\w+):", text, flags=re.MULTILINE))
        declared |= set(re.findall(r"^use rule \w+ as (\w+)", text, flags=re.MULTILINE))
    settings = profile_settings()
    sized = set(settings["set-resources"]) | set(settings["set-threads"])
    assert sized <= declared, f"profile names rules that the workflow lacks: {sized - declared}"


def test_local_profile_does_not_override_the_cluster_profile():
    """From the repository root Snakemake also loads profiles/default, as the *workflow* profile,
    which wins over ``--profile profiles/slurm`` key by key: a key both set must agree."""
    local = yaml.safe_load((REPO / "profiles" / "default" / "config.yaml").read_text()) or {}
    cluster = profile_settings()
    clashes = {
        key: {"profiles/default": local[key], "profiles/slurm": cluster[key]}
        for key in local.keys() & cluster.keys()
        if local[key] != cluster[key]
    }
    assert not clashes, f"profiles/default overrides the cluster settings: {clashes}"
