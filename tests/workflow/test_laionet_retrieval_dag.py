"""The paper preset plans the =freq retrieval pool rules when no pool file is configured."""

from __future__ import annotations

import shutil

import yaml

from tests.fixtures.rules_harness import REPO, run_snakemake
from tests.workflow.test_paper_fixture import planned_rules

RETRIEVAL_RULES = {
    "laionet_retrieval_queries": 1,
    "laionet_retrieve_part": 32,
    "laionet_retrieval_candidates": 1,
    "download_laionet_retrieval_images": 1,
    "read_laionet_retrieval_pool": 1,
}


def _plan(tmp_path, overlay: dict) -> dict[str, int]:
    (tmp_path / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "config.yaml", tmp_path / "config" / "config.yaml")
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(overlay))
    proc = run_snakemake(tmp_path, "-n", "--quiet", "rules", presets=("paper",))
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return planned_rules(proc)


def test_paper_dag_builds_the_pool_that_feeds_laionet_freq(tmp_path):
    counts = _plan(tmp_path / "built", {})
    assert {r: counts.get(r) for r in RETRIEVAL_RULES} == RETRIEVAL_RULES, counts
    assert counts.get("curate_laionet_freq", 0) >= 1
    # (tests/unit/test_sources_layout.py: the pool is an input of every =freq dataset)


def test_a_user_pool_file_overrides_the_rules(tmp_path):
    work = tmp_path / "user"
    (work / "pool").mkdir(parents=True)
    (work / "pool" / "pool.parquet").write_bytes(b"")
    counts = _plan(work, {"sources": {"laionet": {"retrieval_pool": "pool/pool.parquet"}}})
    assert not set(RETRIEVAL_RULES) & set(counts), counts
    assert counts.get("curate_laionet_freq", 0) >= 1
    off = _plan(tmp_path / "off", {"sources": {"laionet": {"retrieval": {"build": False}}}})
    assert not set(RETRIEVAL_RULES) & set(off), off
