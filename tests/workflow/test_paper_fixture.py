"""The paper preset's whole DAG, download to HTML report, on fixtures in the real formats.

``config/presets/paper.yaml`` + ``config/presets/paper-fixture.yaml`` (sizes and fewer values per
factor only) + the fixture locations (tests/fixtures/paper_fixture.py): the authors' metadata,
ImageNet as a JPEG tree, the ImageNetV2 tarball and the IN-Caps zip served from 127.0.0.1, LAIONet
built from two LAION-400M parts (lemma matching, CLIP scoring, thresholds, img2dataset shards),
YFCC-15M and CC-12M caption lists, CLIP and SL training, evaluation, every figure, the claims and
the report. The run must execute every rule the real paper preset plans.
"""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
import yaml

from cliptail import io
from cliptail.factors import CONCEPT_SETS
from cliptail.figures.catalogue import CATALOGUE
from tests.fixtures.paper_fixture import build_paper_fixture
from tests.fixtures.rules_harness import REPO, run_snakemake
from tests.httpserver import FileServer

PRESETS = ("paper", "paper-fixture")
#: Rules that run only to stop the workflow with instructions when user data is missing (tested
#: in tests/workflow/test_real_sources.py); with the data in place they have nothing to do.
GUARD_RULES = {"user_provided_file"}


def _workdir(path, overlay: dict):
    (path / "config").mkdir(parents=True)
    shutil.copy(REPO / "config" / "config.yaml", path / "config" / "config.yaml")
    (path / "config.yaml").write_text(yaml.safe_dump(overlay))
    return path


def planned_rules(proc) -> dict[str, int]:
    """Rule -> job count from ``snakemake -n --quiet rules`` output."""
    counts = {}
    for line in (proc.stdout + proc.stderr).splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            counts[parts[0]] = int(parts[1])
    return counts


def executed_rules(proc) -> set[str]:
    return set(re.findall(r"^(?:local)?rule (\w+):$", proc.stdout + proc.stderr, re.MULTILINE))


@pytest.fixture(scope="module")
def paper_run(tmp_path_factory):
    base = tmp_path_factory.mktemp("paper_fixture")
    server = FileServer(base / "srv")
    overlay = build_paper_fixture(base, server)
    work = _workdir(base / "work", overlay)
    proc = run_snakemake(
        work,
        "all",
        "--report-after-run",
        "--report",
        "results/report/report.html",
        presets=PRESETS,
        timeout=1800,
    )
    yield work, proc
    server.close()


@pytest.mark.slow
def test_every_rule_of_the_paper_dag_runs(paper_run, tmp_path):
    work, proc = paper_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-10000:]
    # the rules the real paper preset plans (no data anywhere: the dry run plans everything)
    plan = run_snakemake(
        _workdir(tmp_path / "plan", {}), "-n", "--quiet", "rules", presets=("paper",)
    )
    assert plan.returncode == 0, plan.stderr[-4000:]
    paper_rules = set(planned_rules(plan))
    assert {"train_clip", "train_sl", "laionet_score_part", "figure"} <= paper_rules
    missing = paper_rules - executed_rules(proc) - GUARD_RULES
    assert not missing, f"rules of the paper DAG that the fixture run never executed: {missing}"


@pytest.mark.slow
def test_paper_outputs(paper_run):
    work, proc = paper_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-10000:]
    results = work / "results"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    config = yaml.safe_load((REPO / "config" / "presets" / "paper.yaml").read_text())
    assert set(runs["evalset"]) == set(config["evalsets"])
    assert set(runs["source"]) >= {"incaps", "laionet", "laionet_t0.7", "laionet_freq"}
    assert set(runs["classes"]) == {"eval", "in100", "in100_matched"}
    assert runs["top1"].notna().all()
    # trained in the modified-ResNet family on the frozen OpenAI-style text tower route
    frozen = runs[(runs["method"] == "clip") & (runs["text_tower"] == "frozen")]["run"].iloc[0]
    spec = io.read_json(results / "runs" / frozen / "run.json")
    assert spec["spec"]["text_projection"] == "none"
    # every figure the plan draws, the claims in three formats and the HTML report
    drawn = {p.stem for p in (results / "figures").glob("*.pdf")}
    assert drawn, "no figure drawn"
    stems = {entry.stem for entry in CATALOGUE}
    assert drawn <= stems
    # every claim is tested on the paper preset's factor values (tiny models may leave a value
    # undefined, e.g. rho over classes of equal frequency, but no claim lacks its runs)
    claims = pd.read_csv(results / "report" / "claims.csv")
    untested = claims[claims["ours"].str.startswith("not tested")]
    assert untested.empty, untested[["claim", "ours"]].to_string()
    probes = claims["evalset"].str.startswith("probes:")
    assert set(claims.loc[~probes, "evalset"]) == {"imagenet_val", "imagenet100_val"}
    assert set(claims.loc[probes, "claim"]) == {
        "dino_web_transfers_worse",
        "prototype_subsampling_helps",
        "sampling_beats_fewer_prototypes",
    }
    # DINO: probed on the 12 transfer datasets, Fig. 10 and Table 2 drawn
    transfer = pd.read_parquet(results / "tables" / "studies" / "dino.parquet")
    assert transfer["probe_set"].nunique() == 12 and transfer["score"].notna().all()
    assert {"fig10_dino_transfer"} <= drawn
    assert (results / "tables" / "table02_dino_transfer.csv").stat().st_size > 0
    assert (results / "report" / "report.html").stat().st_size > 100_000
    # the open-source CLIP audit: three stand-in checkpoints (one downloaded) on ImageNet val,
    # ImageNetV2 and the seven concept sets, its figures, and Table 1's accuracy column
    audit = pd.read_parquet(results / "tables" / "audit.parquet")
    assert len(audit) == 3 * 9 and audit["top1"].notna().all()
    assert set(audit["concept_set"]) == set(CONCEPT_SETS)
    # web frequencies reach the records (on the tiny concept-set fixtures, with test images for
    # a few classes only, a correlation can be undefined; on ImageNet every class has images)
    imagenet = audit[audit["concept_set"] == "imagenet"]
    assert imagenet.loc[imagenet["dataset"] != "openai", "rho_acc"].notna().all()
    assert (work / "resources" / "openclip" / "tiny_yfcc15m.bin.sha256").is_file()
    assert {
        "fig01b_openclip_robustness",
        "fig07a_openclip_nc_correlations",
        "fig07b_tsne_text_centres",
        "fig12_openclip_concept_sets",
        "fig17_frequency_accuracy_examples",
        "fig18_openclip_imagenet",
        "fig20_tsne_features",
    } <= drawn
    table01 = pd.read_csv(results / "tables" / "table01_yfcc_rare_classes.csv")
    record = pd.read_parquet(results / "audit" / "tiny_yfcc15m" / "imagenet_val.parquet")
    own = 100 * record.set_index("class")["acc"].reindex(table01["class_index"]).to_numpy()
    assert table01["accuracy"].to_numpy() == pytest.approx(own, nan_ok=True)
    # nothing left to do
    again = run_snakemake(work, "all", "-n", presets=PRESETS)
    assert "Nothing to be done" in again.stdout + again.stderr, again.stdout[-3000:]
    # a changed setting reruns only what reads it: the IN-Caps size of LAIONet's t<t> variants
    overlay = work / "config.yaml"
    original = overlay.read_text()
    changed = yaml.safe_load(original)
    changed["sources"]["laionet"]["in_caps_size"] -= 1
    overlay.write_text(yaml.safe_dump(changed))
    try:
        plan = run_snakemake(work, "all", "-n", "--quiet", "rules", presets=PRESETS)
    finally:
        overlay.write_text(original)
    counts = planned_rules(plan)
    # laionet_t0.7 and laionet_t0.82, each with its one CLIP run (rand text tower)
    assert counts.get("curate_laionet_variants") == 2, counts
    assert counts.get("train_clip") == 2 and "train_sl" not in counts, counts
    for rule in ("curate_incaps_captions", "curate_laionet_freq", "read_laionet", "embed_captions"):
        assert rule not in counts, counts


@pytest.mark.slow
def test_training_through_torchrun_with_one_process(paper_run):
    """The DDP code path (torchrun, gloo on CPU) trains a paper-preset CLIP and SL run too."""
    work, proc = paper_run
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-10000:]
    results = work / "results"
    runs = pd.read_parquet(results / "tables" / "runs.parquet")
    names = [
        runs[(runs.method == "clip") & (runs.text_tower == "frozen")]["run"].iloc[0],
        runs[(runs.method == "sl") & (runs.classes == "in100")]["run"].iloc[0],
    ]
    for name in names:
        shutil.rmtree(results / "resume" / name, ignore_errors=True)
    targets = [f"results/runs/{name}/checkpoint.pt" for name in names]
    again = run_snakemake(
        work,
        *targets,
        "--forcerun",
        "train_clip",
        "train_sl",
        "--set-resources",
        "train_clip:torchrun=1",
        "train_sl:torchrun=1",
        presets=PRESETS,
    )
    assert again.returncode == 0, (again.stdout + again.stderr)[-6000:]
    for name in names:
        log = (results / "logs" / "train" / f"{name}.log").read_text()
        assert "in 1 process(es) with torchrun (DDP)" in log
        meta = io.read_json(results / "runs" / name / "run.json")
        assert meta["world_size"] == 1 and meta["steps"] > 0
