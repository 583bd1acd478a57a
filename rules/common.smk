# Helpers shared by all rule files: config validation, the study plan, path helpers.
# No logic beyond wiring: everything substantive is in src/cliptail.

import re
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from cliptail import config as cliptail_config
from cliptail.study import build_plan, train_spec

cliptail_config.validate(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")
PLAN = build_plan(config)

WORLD = "resources/world"
WORLD_SPLITS = ["train", "web", "val", "v2"]
SRC = Path(workflow.basedir) / "src" / "cliptail"


def one_of(names):
    """A wildcard constraint matching exactly the given names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


PLANNED_DATASETS = one_of(PLAN.datasets)


wildcard_constraints:
    dataset=r"[A-Za-z0-9_.\-]+",
    run=r"(clip|sl)_[A-Za-z0-9_.\-]+",
    evalset=r"val|v2",
    study=r"[A-Za-z0-9_]+",


def code(*modules):
    """Library source files a rule depends on: editing one reruns the rule (mtime trigger)."""
    files = []
    for module in modules:
        path = SRC.joinpath(*module.split("."))
        files.extend(sorted(map(str, path.rglob("*.py"))) if path.is_dir() else [f"{path}.py"])
    return files


def run_spec(wildcards):
    return PLAN.runs[wildcards.run]


def run_dataset(wildcards):
    return f"results/data/{PLAN.runs[wildcards.run].dataset}"


def uses_frozen_text(run):
    return run.method == "clip" and run.factors["text_tower"] == "frozen"


def uses_frozen_head(run):
    return run.method == "sl" and run.factors["head"] == "frozen"


def study_evals(wildcards):
    return expand(
        "results/eval/{run}/{evalset}.json",
        run=PLAN.studies[wildcards.study],
        evalset=config["evalsets"],
    )


def runs_of_study_present(*studies):
    """Study tables of the named studies that the configuration enables."""
    return [f"results/tables/studies/{s}.parquet" for s in studies if s in PLAN.studies]
