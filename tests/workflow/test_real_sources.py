"""rules/download.smk end to end (ImageNet, ImageNetV2, IN-Caps) on fixtures served from 127.0.0.1."""

from __future__ import annotations

import numpy as np
import pytest

from cliptail import io
from tests.fixtures.rules_harness import fixture_sources, run_snakemake, write_workflow
from tests.httpserver import FileServer


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("sources")
    server = FileServer(base / "srv")
    yield fixture_sources(base, base / "srv", server)
    server.close()


@pytest.mark.slow
def test_imagenet_v2_and_incaps_rules(tmp_path, sources):
    write_workflow(tmp_path, sources)
    targets = [f"results/data/{d}/frequency.tsv" for d in ("imagenet_val", "imagenetv2", "incaps")]
    proc = run_snakemake(tmp_path, *targets)
    assert proc.returncode == 0, proc.stderr[-6000:]
    data = tmp_path / "results" / "data"

    def counts(name):
        return np.array(io.read_frequency(data / name / "frequency.tsv")["count"])

    assert counts("imagenet_val").tolist() == [50] * 1000
    v2 = counts("imagenetv2")
    assert v2[3] == 9 and v2.sum() == 9_999
    assert io.read_json(data / "imagenetv2" / "report.json")["corrupt"] == 1
    assert counts("incaps")[:4].tolist() == [3, 0, 2, 1] and counts("incaps").sum() == 6
    report = io.read_json(data / "incaps" / "report.json")
    assert report["skipped"]["unknown_wnid"] == 1 and report["skipped"]["missing_image"] == 1
    assert (
        io.read_json(data / "incaps" / "source.json")["image_root"] == sources["imagenet"]["root"]
    )
    v2_source = io.read_json(data / "imagenetv2" / "source.json")
    assert (v2_source["source"], v2_source["image_root"]) == ("imagenetv2", "resources/imagenetv2")
    assert (
        io.read_json(data / "imagenet_val" / "source.json")["image_root"]
        == sources["imagenet"]["root"]
    )
    assert (tmp_path / "resources/metadata/descriptors/descriptors_imagenet.json").is_file()
    for log in ("results/logs/data/read_incaps.log", "results/logs/download/imagenetv2.log"):
        assert "done in" in (tmp_path / log).read_text()
    again = run_snakemake(tmp_path, *targets)
    assert "Nothing to be done" in again.stdout + again.stderr


def test_recreating_laionet_plans_every_step(tmp_path, sources):
    write_workflow(tmp_path, {**sources, "laionet": {}, "laion400m": {"parts": [0, 1]}})
    proc = run_snakemake(tmp_path, "-n", "results/data/laionet/manifest.parquet")
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = [line.split()[:2] for line in (proc.stdout + proc.stderr).splitlines()]
    for rule, n in (
        ("download_laion_part", 2),
        ("laionet_match_part", 2),
        ("laionet_score_part", 2),
        ("laionet_candidates", 1),
        ("download_laionet_images", 1),
        ("read_laionet", 1),
    ):
        assert [rule, str(n)] in lines, rule


def test_missing_user_data_fails_with_one_clear_message(tmp_path, sources):
    write_workflow(tmp_path, {k: v for k, v in sources.items() if k not in ("imagenet", "yfcc15m")})
    proc = run_snakemake(tmp_path, "resources/imagenet/imagenet.json")
    assert proc.returncode != 0
    log = (tmp_path / "results/logs/download/locate_imagenet.log").read_text()
    assert "ImageNet is not configured: set sources.imagenet.root" in log
    assert "train/<wnid>/*.JPEG" in log
    proc = run_snakemake(tmp_path, "-n", "results/data/yfcc15m_cls/manifest.parquet")
    assert proc.returncode != 0
    assert "sources.yfcc15m.captions is not set" in proc.stdout + proc.stderr
