"""The smoke study end to end, and partial reruns: Snakemake reruns exactly what a change affects.

One session-scoped run of the smoke preset in a copy of the repository (``finished_smoke``,
tests/conftest.py); each rerun test works in its own copy of that finished workspace
(``workspace``) and asks Snakemake (dry run) what it would run.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from tests.workflow.workspace import SMOKE, planned_jobs, snakemake

pytestmark = pytest.mark.slow


def dry_run(work: Path, *extra: str) -> dict[str, int]:
    return planned_jobs(snakemake(work, "-n", *SMOKE, *extra))


def edit_yaml(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_smoke_outputs(finished_smoke):
    work = finished_smoke
    table = pd.read_parquet(work / "results/tables/runs.parquet")
    assert set(table["method"]) == {"clip", "sl"}
    assert {"rho_acc", "rho_pred", "top1", "nc1", "nc2_m"} <= set(table.columns)
    assert table["top1"].between(0, 1).all()
    per_class = next((work / "results/eval").glob("*/val.parquet"))
    assert {"class", "freq", "acc", "npred", "nc1"} <= set(pd.read_parquet(per_class).columns)
    classifier = np.load(per_class.with_name("val.classifier.npy"))
    assert classifier.dtype == np.float32 and len(classifier) == len(pd.read_parquet(per_class))
    for stem in (
        "fig03_descriptiveness_vocabulary",
        "fig09a_classifier_affinity",
        "fig11_pearson_spearman",
    ):
        for ext in ("png", "pdf"):
            assert (work / f"results/figures/{stem}.{ext}").stat().st_size > 1000
    assert (work / "results/report/claims.md").read_text().strip()


def test_nothing_reruns_when_nothing_changed(workspace):
    assert dry_run(workspace) == {}


def test_changing_one_study_reruns_only_its_runs(workspace):
    edit_yaml(
        workspace / "config/presets/smoke.yaml",
        lambda c: c["studies"]["vocabulary"]["runs"][0]["grid"].update(vocab_size=["full", 6]),
    )
    jobs = dry_run(workspace)
    assert jobs.get("train_sl") == 1  # only the new vocabulary size trains
    assert "train_clip" not in jobs
    assert "generate_world" not in jobs and "curate_world" not in jobs
    assert jobs.get("evaluate_run") == 1
    assert jobs.get("study_table") == 1  # the vocabulary study's table only
    assert jobs.get("figure", 0) >= 1


def test_changing_the_sl_recipe_reruns_sl_runs_only(workspace):
    edit_yaml(
        workspace / "config/presets/smoke.yaml", lambda c: c["train"]["sl"]["optim"].update(lr=0.05)
    )
    jobs = dry_run(workspace)
    plan_sl = sum(1 for p in (workspace / "results/runs").iterdir() if p.name.startswith("sl_"))
    assert jobs.get("train_sl") == plan_sl
    assert "train_clip" not in jobs
    assert "curate_world" not in jobs


def test_editing_a_figure_module_reruns_only_figures(workspace):
    module = workspace / "src/cliptail/figures/style.py"
    module.write_text(module.read_text() + "\n# edited\n")
    jobs = dry_run(workspace)
    assert set(jobs) <= {"figure", "table", "figures", "report", "all"}
    assert jobs["figure"] >= 1
    assert not {"train_clip", "train_sl", "evaluate_run", "curate_world", "study_table"} & set(jobs)


def test_runtime_settings_rerun_nothing_and_reach_the_job(workspace):
    """Threads and data-loader workers come from Snakemake, not from the recipe: changing them
    plans nothing; a training job forced to run records the threads Snakemake gave it."""
    runtime = [
        "--set-threads",
        "train_clip=2",
        "train_sl=2",
        "evaluate_run=2",
        "--set-resources",
        "train_clip:loader_workers=1",
        "train_sl:loader_workers=1",
    ]
    assert dry_run(workspace, *runtime) == {}
    run = next(p.name for p in (workspace / "results/runs").iterdir() if p.name.startswith("sl_"))
    target = f"results/runs/{run}/checkpoint.pt"
    snakemake(
        workspace,
        target,
        *SMOKE,
        "--force",
        "--set-threads",
        "train_sl=2",
        "--set-resources",
        "train_sl:loader_workers=1",
    )
    spec = yaml.safe_load((workspace / f"results/runs/{run}/run.json").read_text())["spec"]
    assert spec["threads"] == 2 and spec["workers"] == 1 and spec["device"] == "cpu"


def test_report_shows_the_claims_inline(finished_smoke, tmp_path):
    work = finished_smoke
    html = (work / "results/report/claims.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "testable claims hold" in html
    report = tmp_path / "report.html"
    snakemake(work, *SMOKE, "--report", str(report))
    text = report.read_text(errors="replace")
    assert "claims.html" in text  # the claims table is a report item
    assert "reproduces the controlled study" in text  # the workflow description
