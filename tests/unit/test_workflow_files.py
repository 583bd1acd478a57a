"""Static checks of the workflow's files: rules only wire, settings live where they belong."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_rule_files_define_no_functions_outside_common():
    for path in sorted((ROOT / "rules").glob("*.smk")):
        defs = re.findall(r"^\s*def (\w+)", path.read_text(), flags=re.M)
        if path.name == "common.smk":
            assert len(defs) <= 6, defs  # small helpers only
        else:
            assert not defs, f"{path.name} defines {defs}; put logic in src/cliptail"


def test_every_rule_names_its_environment_and_log():
    text = "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))
    rules = re.split(r"^rule ", text, flags=re.M)[1:]
    for body in rules:
        name = body.split(":", 1)[0]
        if "script:" in body:
            assert "conda:" in body and "log:" in body, name


def test_conda_environment_matches_the_pinned_dependencies():
    env = yaml.safe_load((ROOT / "envs/cliptail.yaml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert pip == project["dependencies"]
    assert not any(p.startswith(("-e", ".")) for p in pip)  # installs from anywhere


def test_local_profile_does_not_cap_the_cluster_profile():
    """profiles/default/ is loaded as the workflow profile under --profile profiles/slurm too, and
    its keys win: it must not set cores, jobs, threads or resources."""
    local = yaml.safe_load((ROOT / "profiles/default/config.yaml").read_text())
    assert not {
        "cores",
        "jobs",
        "set-threads",
        "set-resources",
        "default-resources",
        "keep-going",
        "latency-wait",
        "executor",
    } & set(local)
    slurm = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert (
        slurm["set-threads"]["train_clip"] == slurm["set-resources"]["train_clip"]["cpus_per_gpu"]
    )
    assert slurm["set-resources"]["evaluate_run"]["gpu"] == 1


def test_dvc_tracks_every_output_shaping_key_and_verifies_the_remote():
    dvc = yaml.safe_load((ROOT / "dvc.yaml").read_text())
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for name, stage in dvc["stages"].items():
        files = [next(iter(p)) for p in stage["params"]]
        assert "${configfile}" in files, name  # the whole preset file
        keys = next(p["config/config.yaml"] for p in stage["params"] if "config/config.yaml" in p)
        assert set(keys) <= set(config), name  # DVC fails on keys the file lacks
    tracked = {
        k
        for s in dvc["stages"].values()
        for p in s["params"]
        for k in (p.get("config/config.yaml") or [])
    }
    assert {
        "world",
        "evalsets",
        "defaults",
        "studies",
        "text_encoder",
        "train",
        "preset",
    } <= tracked
    remote = (ROOT / ".dvc/config").read_text()
    assert re.search(r"^\s*verify\s*=\s*true\s*$", remote, flags=re.M)
    assert [next(iter(p)) for p in dvc["plots"]] == [
        "results/tables/plots/per_class_accuracy.csv",
        "results/tables/plots/training_loss.csv",
    ]


def test_nothing_points_at_documents_the_repository_does_not_contain():
    pattern = re.compile(r"PAPER\.md|DESIGN\.md|NOTES\.md")
    offenders = []
    for path in ROOT.rglob("*"):
        if any(
            part
            in {
                ".git",
                ".venv",
                "results",
                "resources",
                ".snakemake",
                "__pycache__",
                ".pytest_cache",
                "build",
            }
            or part.endswith(".egg-info")
            for part in path.relative_to(ROOT).parts
        ):
            continue
        if path.is_file() and path.suffix in {
            ".py",
            ".smk",
            ".md",
            ".yaml",
            ".yml",
            ".rst",
            ".sh",
            ".toml",
            ".cfg",
            ".txt",
            "",
        }:
            if path.name == "test_workflow_files.py":
                continue
            try:
                text = path.read_text()
            except UnicodeDecodeError:
                continue
            if pattern.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert not offenders, offenders


def test_workflow_scripts_have_no_future_imports():
    """Snakemake prepends its own preamble to a `script:`, so a `from __future__` import there
    is a SyntaxError when the job runs."""
    for path in sorted((ROOT / "workflow" / "scripts").glob("*.py")):
        assert "from __future__" not in path.read_text(), path.name
