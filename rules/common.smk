# Common to all of rules/*.smk. The validated configuration, the study plan, the files each job
# reads (cliptail.layout.JobFiles), the figure jobs, and small input helpers. Logic lives in
# src/cliptail; rule files only wire.

import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from cliptail import config as cliptail_config
from cliptail import factors, layout
from cliptail.audit.plan import AUDIT_TABLE, audit_plan
from cliptail.curate import real_datasets
from cliptail.data import metadata, sources
from cliptail.data.dataset_dir import EVALUATION_PARTS, DatasetDir
from cliptail.evaluate import image_similarity
from cliptail.figures.catalogue import plan_figures
from cliptail.study import build_plan, train_spec

cliptail_config.validate(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")
PLAN = build_plan(config)
FILES = layout.JobFiles(PLAN, config)
SOURCES = FILES.sources  # config["sources"] with the pinned URLs and checksums filled in
EVALSETS = FILES.evalsets
RUN_OUTPUTS = FILES.run_outputs()  # with EVAL_RECORDS, named by the default target
EVAL_RECORDS = FILES.eval_records()
PROBE_RECORDS = FILES.all_probe_results()  # linear probes of the self-supervised runs
AUDIT = audit_plan(config)  # the open-source CLIP audit (rules/audit.smk)
FIGURES = plan_figures(PLAN, config["figures"]["evalset"], EVALSETS, audit=AUDIT)
REAL_FAMILY = {d: real_datasets.family(PLAN.datasets[d].factors) for d in FILES.real_datasets()}
ENV = "../envs/cliptail.yaml"
SRC = Path(workflow.basedir) / "src" / "cliptail"


def one_of(names):
    """A wildcard constraint matching exactly the given names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


def family_datasets(family):
    """Wildcard constraint: the planned real datasets of one curation family."""
    return one_of(d for d, f in REAL_FAMILY.items() if f == family)


def _workdir_path(path):
    """``path`` relative to the working directory when inside it (a moved or copied project
    then does not rerun), else absolute (a workflow run with ``--snakefile`` from elsewhere)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def code(*modules):
    """Library source files a job reads: editing one reruns the job (mtime trigger)."""
    files = []
    for module in modules:
        path = SRC.joinpath(*module.split("."))
        found = sorted(path.rglob("*.py")) if path.is_dir() else [Path(f"{path}.py")]
        files.extend(_workdir_path(f) for f in found)
    return files


wildcard_constraints:
    dataset=r"[A-Za-z0-9_.\-]+",
    run=r"(clip|sl|dino)_[A-Za-z0-9_.\-]+",
    evalset=one_of(factors.EVALSETS),
    study=r"[A-Za-z0-9_]+",


def audit_frequency(w):
    """The frequency file of an audit_records job, if its dataset and concept set have one."""
    path = AUDIT.frequency_file(w.checkpoint, w.aset)
    return {"frequency": path} if path else {}


def audit_claims_evalset():
    """The audit set the claims compare released models on: the figures' evaluation set when
    audited, else the audit's first ImageNet-like set (None without an audit)."""
    from cliptail.figures.catalogue import audit_imagenet_sets

    sets = audit_imagenet_sets(AUDIT)
    evalset = config["figures"]["evalset"]
    return evalset if evalset in sets else (sets[0] if sets else None)
