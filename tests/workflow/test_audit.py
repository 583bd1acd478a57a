"""The open-source CLIP audit end to end in a copy of the project: the smoke world's ``val`` with
three tiny released-format checkpoints (two local files of LAION-400M, one downloaded from a
local HTTP server for YFCC-15M under a release name carrying its digest), web frequencies from a
file of the configuration; then a change of that file reruns the records, never the encoding."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from cliptail import io
from tests.fixtures.tiny_models import tiny_openclip_checkpoint
from tests.workflow.workspace import copy_project, planned_jobs, snakemake

pytestmark = pytest.mark.slow

OVERLAY = "config/audit_test.yaml"
CONFIG = ["--configfile", "config/presets/smoke.yaml", OVERLAY]
FIGURES = (
    "fig01b_openclip_robustness",
    "fig07a_openclip_nc_correlations",
    "fig07b_tsne_text_centres",
    "fig17_frequency_accuracy_examples",
    "fig18_openclip_imagenet",
    "fig20_tsne_features",
)


def test_audit_of_three_checkpoints_and_a_frequency_change(tmp_path, http_server):
    work = copy_project(tmp_path / "cliptail")
    tiny_openclip_checkpoint(work / "weights/tiny_a.pt", seed=1)
    tiny_openclip_checkpoint(work / "weights/tiny_b.pt", seed=2)
    served = tmp_path / "srv"
    release = tiny_openclip_checkpoint(served / "tiny.pt", seed=3)
    digest = hashlib.sha256(release.read_bytes()).hexdigest()
    name = f"tiny-rn-yfcc15m-{digest[:8]}.pt"
    release.rename(served / name)
    server = http_server(served)
    tiny = "cliptail-tiny-rn"
    overlay = {
        "audit": {
            "enabled": True,
            "evalsets": ["val"],
            "checkpoints": [
                {"dataset": "laion400m", "model": tiny, "path": "weights/tiny_a.pt", "name": "a"},
                {"dataset": "laion400m", "model": tiny, "path": "weights/tiny_b.pt", "name": "b"},
                {"dataset": "yfcc15m", "model": tiny, "url": server.url(name), "name": "yfcc"},
            ],
            "frequencies": {"laion400m": {"world": "freq.tsv"}, "yfcc15m": {"world": "freq.tsv"}},
        }
    }
    (work / OVERLAY).write_text(yaml.safe_dump(overlay, sort_keys=False))

    snakemake(work, "results/data/eval_val/classes.tsv", *CONFIG)
    classes = io.read_classes(work / "results/data/eval_val/classes.tsv")
    counts = 10 * np.arange(len(classes))[::-1]  # class 0 the most frequent
    io.write_frequency(work / "freq.tsv", classes["name"].tolist(), counts.tolist())

    snakemake(work, "audit", *CONFIG)
    table = pd.read_parquet(work / "results/tables/audit.parquet")
    assert sorted(table["checkpoint"]) == ["a", "b", "yfcc"]
    assert set(table["evalset"]) == {"val"} and set(table["concept_set"]) == {"world"}
    assert table.set_index("checkpoint")["dataset"].to_dict() == {
        "a": "laion400m",
        "b": "laion400m",
        "yfcc": "yfcc15m",
    }
    assert table["top1"].between(0, 1).all() and table["rho_acc"].notna().all()
    record = pd.read_parquet(work / "results/audit/yfcc/val.parquet")
    assert record["freq"].tolist() == counts.tolist() and len(record) == len(classes)
    for part in ("json", "sample.npz", "bootstrap.parquet", "features.npz"):
        assert (work / f"results/audit/a/val.{part}").is_file(), part
    weights = work / "resources/openclip/yfcc.bin"
    assert weights.read_bytes() == (served / name).read_bytes()
    assert (work / "resources/openclip/yfcc.bin.sha256").read_text().startswith(digest)
    assert server.requests_for(name) == [None]
    assert not (work / "resources/openclip/a.bin").exists()  # local files are not copied
    for stem in FIGURES:
        assert (work / f"results/figures/{stem}.png").stat().st_size > 1000, stem
    assert not (work / "results/figures/fig12_openclip_concept_sets.png").exists()

    io.write_frequency(work / "freq.tsv", classes["name"].tolist(), counts[::-1].tolist())
    jobs = planned_jobs(snakemake(work, "-n", "audit", *CONFIG))
    assert jobs.get("audit_records") == 3
    assert jobs.get("audit_table") == 1
    assert "audit_encode" not in jobs and "fetch_openclip_checkpoint" not in jobs
    assert set(jobs) <= {"audit_records", "audit_table", "figure", "table", "audit"}
