"""The real-data curation rules (rules/curate.smk) end to end through the full workflow, on
fixtures in the real formats served from 127.0.0.1, with a tiny paper-like configuration.

IN-Caps and LAIONet fixtures take their per-class counts from the authors' released frequency
files (scaled down), so the curated variants can be compared with what those files imply.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import yaml

from cliptail import io
from tests.fixtures.real_sources import (
    authors_counts,
    authors_laionet_table,
    incaps_records,
    incaps_zip,
    scaled,
    write_caption_list,
)
from tests.fixtures.rules_harness import REPO, fixture_sources, imagenet_wnids, run_snakemake
from tests.httpserver import FileServer

INCAPS_DIVISOR = 50
LAIONET_DIVISOR = 10_000
IN_CAPS_SIZE = 1080
MINI_STUDIES = (
    "descriptiveness",
    "vocabulary",
    "text_tower",
    "scale",
    "distribution",
    "open_world",
    "trim_tail",
)


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("paper")
    server = FileServer(base / "srv")
    sources = fixture_sources(base, base / "srv", server)
    wnids = imagenet_wnids()
    incaps_counts = scaled(authors_counts("incaps_imagenet_ori"), INCAPS_DIVISOR)
    incaps_zip(
        base / "srv" / "incaps_scaled" / "imagenet_captions.zip",
        incaps_records(wnids, incaps_counts),
    )
    laionet_counts = scaled(authors_counts("laionet_thresh0.7_ori"), LAIONET_DIVISOR)
    authors_laionet_table(
        base / "laionet_scaled.parquet",
        wnids,
        laionet_counts,
        lambda i: server.url(f"img/{i % 16}.jpg"),
    )
    sources["incaps"] = {
        "url": server.url("incaps_scaled/imagenet_captions.zip"),
        "check_images": False,
    }
    sources["laionet"] = {
        **sources["laionet"],
        "metadata": str(base / "laionet_scaled.parquet"),
        "in_caps_size": IN_CAPS_SIZE,
        # =freq without a top-up pool (the pool rules run in tests/workflow/test_paper_fixture.py)
        "retrieval": {"build": False},
    }
    # YFCC-15M (and CC-12M): one caption per case of the whole-list reader (E5b): one class,
    # several classes (overlapping phrases, one lemma of two synsets), no class at all
    web_list = write_caption_list(
        base / "web_captions.jsonl",
        ["a.jpg", "b.jpg", "c.jpg", "d.jpg"],
        ["a goldfish", "sea lion and lion", "a crane", "a sunny afternoon"],
    )
    for web in ("yfcc15m", "cc12m"):
        sources[web] = {**sources[web], "captions": str(web_list)}
    work = base / "work"
    (work / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "config.yaml", work / "config" / "config.yaml")
    config = {
        "preset": "paper-fixture",
        "evalsets": ["imagenet_val", "imagenetv2", "imagenet100_val"],
        "figures": {"evalset": "imagenet_val"},
        "defaults": {"source": "incaps", "classes": "eval"},
        "studies": {
            **{s: {"enabled": False, "runs": [{"method": "clip"}]} for s in MINI_STUDIES},
            "real": {
                "runs": [
                    {"method": "clip", "grid": {"caption": ["title", "synset_templates"]}},
                    {"method": "clip", "grid": {"classes": ["in100", "in100_matched"]}},
                    {"method": "clip", "grid": {"trim_k": [5], "trim_ceil": [0, 1]}},
                    {
                        "method": "clip",
                        "grid": {
                            "source": [
                                "laionet_t0.7",
                                "laionet_freq",
                                "yfcc15m_cls",
                                "cc12m_cls",
                                "yfcc15m",
                            ]
                        },
                    },
                    {"method": "clip", "source": "laionet", "grid": {"scale": [1.0, 0.5]}},
                ]
            },
        },
        "sources": sources,
    }
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    yield work, np.array(incaps_counts), np.array(laionet_counts)
    server.close()


def smk(work, *args):
    return run_snakemake(work, *args)


def counts(work, dataset):
    return io.read_frequency(work / "results" / "data" / dataset / "frequency.tsv")[
        "count"
    ].to_numpy()


@pytest.mark.slow
def test_real_curation_rules_end_to_end(workspace):
    work, incaps, laionet = workspace
    plan = smk(work, "data", "-n", "--quiet", "rules")
    assert plan.returncode == 0, (plan.stdout + plan.stderr)[-5000:]
    lines = [line.split() for line in (plan.stdout + plan.stderr).splitlines()]
    for rule, n in (
        ("curate_incaps_captions", 2),
        ("curate_incaps_subsets", 2),
        ("curate_incaps_trim_tail", 2),
        ("curate_laionet_variants", 3),
        ("curate_laionet_freq", 1),
        ("curate_web_cls", 3),
        ("real_eval_set", 3),
    ):
        assert [rule, str(n)] in lines, rule
    assert not any(line[:1] in (["generate_world"], ["curate_world"]) for line in lines)

    proc = smk(work, "data")
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-8000:]

    # IN-Caps caption variants keep every row, per class as released (scaled)
    for caption in ("title", "synset_templates"):
        assert counts(work, f"incaps_{caption}_s1_eval").tolist() == incaps.tolist()
    df = pd.read_parquet(work / "results/data/incaps_synset_templates_s1_eval/manifest.parquet")
    assert df["caption"].str.len().min() > 0
    # IN-Caps-100: the released IN-100 counts (scaled) on the 100 classes, nothing elsewhere
    in100 = np.loadtxt(work / "resources/metadata/imagenet100_idxs.txt", dtype=np.int64)
    released_100 = scaled(authors_counts("incaps_imagenet100_ori"), INCAPS_DIVISOR)
    got = counts(work, "incaps_full_s1_in100")
    assert got[np.sort(in100)].tolist() == released_100 and got.sum() == sum(released_100)
    assert counts(work, "incaps_full_s1_in100_matched").sum() == sum(released_100)
    # trim-tail: the 5 rarest classes keep 0 / 1 image, the rest are untouched
    tail = np.argsort(incaps, kind="stable")[:5]
    for ceil in (0, 1):
        got = counts(work, f"incaps_full_s1_eval_trim5c{ceil}")
        assert (got[tail] == np.minimum(incaps[tail], ceil)).all()
        assert np.delete(got, tail).tolist() == np.delete(incaps, tail).tolist()
        report = io.read_json(work / f"results/data/incaps_full_s1_eval_trim5c{ceil}/report.json")
        assert sorted(report["tail_classes"]) == sorted(tail.tolist())
    # LAIONet: t=0.7 keeps the released (scaled) counts; fractions and IN-Caps size lose no class
    assert counts(work, "laionet_full_s1_eval").tolist() == laionet.tolist()
    half = counts(work, "laionet_full_s0.5_eval")
    assert (half > 0).sum() == 943 and half.sum() >= round(0.5 * laionet.sum())
    sized = counts(work, "laionet_t0.7_full_s1_eval")
    assert sized.sum() == IN_CAPS_SIZE and (sized > 0).sum() == 943
    # =freq without a retrieval pool: min(IN-Caps count, LAIONet count) per class
    assert (
        counts(work, "laionet_freq_full_s1_eval").tolist() == np.minimum(incaps, laionet).tolist()
    )
    # -Cls subsets as read
    for web in ("yfcc15m_cls", "cc12m_cls"):
        assert counts(work, f"{web}_full_s1_eval").tolist() == counts(work, web).tolist()
    # evaluation sets
    assert len(io.read_classes(work / "results/data/eval_imagenet_val/classes.tsv")) == 1000
    val = pd.read_parquet(work / "results/data/eval_imagenet_val/manifest.parquet")
    v2 = pd.read_parquet(work / "results/data/eval_imagenetv2/manifest.parquet")
    assert len(val) == 50_000 and len(v2) == 9_999
    # IN-100: ImageNet val on the 100 IN-Caps-100 classes, 50 images each, common class space
    eval100 = work / "results/data/eval_imagenet100_val"
    m100 = pd.read_parquet(eval100 / "manifest.parquet")
    assert len(m100) == 100 * 50 and len(io.read_classes(eval100 / "classes.tsv")) == 1000
    assert sorted(m100["label"].unique().tolist()) == sorted(in100.tolist())
    assert (m100.groupby("label").size() == 50).all()
    assert set(m100["image"]) <= set(val["image"])
    assert io.read_json(eval100 / "source.json")["class_subset"] == sorted(in100.tolist())
    # IN-Caps-100 records its classes (an SL run on it trains 100-way)
    in100_source = io.read_json(work / "results/data/incaps_full_s1_in100/source.json")
    assert in100_source["class_subset"] == sorted(in100.tolist())
    assert "class_subset" not in io.read_json(work / "results/data/eval_imagenet_val/source.json")
    # the whole YFCC-15M: every caption once; frequency = every match (the -Cls matching with
    # ambiguous captions counted for each class, as CC-12M-Cls counts them), then no-class count
    yfcc = pd.read_parquet(work / "results/data/yfcc15m/manifest.parquet")
    assert yfcc["caption"].tolist() == [
        "a goldfish",
        "sea lion and lion",
        "a crane",
        "a sunny afternoon",
    ]
    full = counts(work, "yfcc15m")
    assert len(full) == 1001 and full[:1000].tolist() == counts(work, "cc12m_cls").tolist()
    assert full[1000] == 1 and full[:1000].sum() > counts(work, "yfcc15m_cls").sum() == 1
    assert yfcc["label"].iloc[3] == 1000 and [len(m) for m in yfcc["matched"]][:1] == [1]
    assert counts(work, "yfcc15m_full_s1_eval").tolist() == full.tolist()
    frequency_lines = (work / "results/data/incaps_full_s1_in100/frequency.tsv").read_text()
    assert len(frequency_lines.splitlines()) == 1000  # authors' format: every class, zeros too
    assert frequency_lines.splitlines()[0].split("\t") == ["tench", "0"]

    # training on real data reads its images where the source keeps them
    plan = smk(
        work,
        "-n",
        "--printshellcmds",
        "results/runs/clip_laionet_full_s0.5_eval_tt-rand_seed0/checkpoint.pt",
    )
    assert plan.returncode == 0, plan.stderr[-4000:]
    assert "resources/laionet/shards" in plan.stdout + plan.stderr


@pytest.mark.slow
def test_bad_real_factor_fails_at_planning(workspace, tmp_path):
    work, _, _ = workspace
    config = yaml.safe_load((work / "config.yaml").read_text())
    config["studies"]["real"] = {
        "runs": [{"method": "clip", "source": "laionet", "caption": "title"}]
    }
    bad = tmp_path / "bad"
    shutil.copytree(work / "config", bad / "config")
    (bad / "config.yaml").write_text(yaml.safe_dump(config))
    proc = run_snakemake(bad, "-n", "data")
    assert proc.returncode != 0
    out = proc.stdout + proc.stderr
    assert "studies.real.runs[0]: source 'laionet': caption 'title' needs IN-Caps metadata" in out
    assert "web sources keep their own captions" in out
