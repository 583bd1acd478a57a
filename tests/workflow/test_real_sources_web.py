"""rules/download.smk end to end (LAIONet from the authors' table, YFCC-15M-Cls, CC-12M-Cls)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from tests.fixtures.real_sources import (
    authors_laionet_table,
    image_server_root,
    shared_metadata,
    write_caption_list,
)
from tests.fixtures.rules_harness import imagenet_wnids, run_snakemake, write_workflow
from tests.httpserver import FileServer


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    base = tmp_path_factory.mktemp("web")
    server_root = image_server_root(base / "srv")
    (server_root / "metadata").symlink_to(shared_metadata(), target_is_directory=True)
    server = FileServer(server_root)
    wnids = imagenet_wnids()
    captions = write_caption_list(
        base / "captions.jsonl",
        ["a.jpg", "b.jpg", "c.jpg"],
        ["a goldfish", "sea lion and lion", "a crane"],
    )
    authors_laionet_table(
        base / "laionet.parquet", wnids[:3], [2, 1, 0], lambda i: server.url(f"img/{i}.jpg")
    )
    yield {
        "download": {"backoff": 0, "retries": 1},
        "metadata": {"base_url": server.url("metadata/")},
        "laionet": {
            "metadata": str(base / "laionet.parquet"),
            "img2dataset": {"processes_count": 1, "thread_count": 8, "retries": 0},
        },
        "yfcc15m": {"captions": str(captions)},
        "cc12m": {"captions": str(captions)},
    }
    server.close()


@pytest.mark.slow
def test_laionet_and_web_cls_rules(tmp_path, sources):
    write_workflow(tmp_path, sources)
    targets = [f"results/data/{d}/frequency.tsv" for d in ("laionet", "yfcc15m_cls", "cc12m_cls")]
    proc = run_snakemake(tmp_path, *targets)
    assert proc.returncode == 0, proc.stderr[-6000:]
    data = tmp_path / "results" / "data"

    def counts(name):
        return np.array(io.read_frequency(data / name / "frequency.tsv")["count"])

    assert counts("laionet")[:3].tolist() == [2, 1, 0] and counts("laionet").sum() == 3
    assert io.read_json(data / "laionet" / "source.json") == {
        "source": "laionet",
        "image_root": "resources/laionet/shards",  # the registry's, under the working dir
        "image_format": "webdataset",
        "dataset": "laionet",
        "manifest_rows": 3,
    }
    assert io.read_json(tmp_path / "resources/laionet/download_stats.json")["successes"] == 3
    # YFCC-15M-Cls drops captions matching several classes; CC-12M-Cls keeps one row per class
    assert np.flatnonzero(counts("yfcc15m_cls")).tolist() == [1]
    assert np.flatnonzero(counts("cc12m_cls")).tolist() == [1, 134, 150, 291, 517]
    report = io.read_json(data / "yfcc15m_cls" / "report.json")
    assert report["ambiguous"] == "drop" and report["captions_dropped_ambiguous"] == 2


@pytest.mark.slow
def test_released_frequency_figures_through_the_catalogue(tmp_path, sources):
    """Fig. 1a, 13, 21 and Table 1 from the released frequencies that ship with cliptail, drawn
    by the one figure script without downloading anything."""
    write_workflow(tmp_path, sources)
    proc = run_snakemake(tmp_path, "web_frequency_figures")
    assert proc.returncode == 0, proc.stderr[-6000:]
    figures = tmp_path / "results" / "figures"
    for stem in (
        "fig01a_web_frequency",
        "fig13_web_frequency_spearman",
        "fig21_web_frequency_bands",
    ):
        assert (figures / f"{stem}.png").stat().st_size > 10_000
        assert (figures / f"{stem}.pdf").read_bytes().startswith(b"%PDF")
        assert "LAION-400M" in (figures / f"{stem}.caption.txt").read_text() or stem.startswith(
            "fig13"
        )
    table = pd.read_csv(tmp_path / "results" / "tables" / "table01_yfcc_rare_classes.csv")
    assert len(table) == 29 and table.iloc[0].tolist() == [194, "Dandie Dinmont Terrier", 0]
    assert not (tmp_path / "resources" / "metadata" / "freqs").exists()  # the packaged copy
