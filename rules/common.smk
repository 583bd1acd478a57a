# Helpers shared by all rule files: config validation, the study plan, path helpers.
# No logic beyond wiring: everything substantive is in src/cliptail.

import re
import sys

sys.path.insert(0, str(Path(workflow.basedir) / "src"))

from cliptail import config as cliptail_config
from cliptail.curate import real_datasets as REAL
from cliptail.study import build_plan, train_spec

cliptail_config.validate(config, Path(workflow.basedir) / "config/schema/config.schema.yaml")
PLAN = build_plan(config)

WORLD = "resources/world"
WORLD_SPLITS = ["train", "web", "val", "v2"]
SRC = Path(workflow.basedir) / "src" / "cliptail"


def one_of(names):
    """A wildcard constraint matching exactly the given names (none: matches nothing)."""
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) or "(?!)"


def _real_family(name, factors):
    try:
        return REAL.family(factors)
    except ValueError as exc:
        raise ValueError(f"configuration: dataset {name}: {exc}") from None


# Planned datasets of real sources (paper preset) -> their curation family (rules/curate_real.smk);
# the others are variants of the synthetic world (rule curate_dataset).
REAL_DATASETS = {name: _real_family(name, d.factors) for name, d in PLAN.datasets.items()
                 if REAL.is_real(d.factors)}
PLANNED_DATASETS = one_of([n for n in PLAN.datasets if n not in REAL_DATASETS])


wildcard_constraints:
    dataset=r"[A-Za-z0-9_.\-]+",
    run=r"(clip|sl)_[A-Za-z0-9_.\-]+",
    evalset=r"val|v2|imagenet_val|imagenetv2",
    study=r"[A-Za-z0-9_]+",


def _workdir_path(path):
    """``path`` relative to the working directory when inside it (a moved or copied project
    then does not rerun), else absolute (a workflow run with ``--snakefile`` from elsewhere)."""
    path = Path(path).resolve()
    try:
        return str(path.relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def code(*modules):
    """Library source files a rule depends on: editing one reruns the rule (mtime trigger)."""
    files = []
    for module in modules:
        path = SRC.joinpath(*module.split("."))
        found = sorted(path.rglob("*.py")) if path.is_dir() else [Path(f"{path}.py")]
        files.extend(_workdir_path(f) for f in found)
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


def _user_source(source, key):
    value = (config.get("sources") or {}).get(source) or {}
    return value.get(key) if isinstance(value, dict) else None


def images_root(source):
    """Where the images of a dataset source or evaluation set live (the image store's root)."""
    if source in ("incaps", "imagenet_val"):
        return str(_user_source("imagenet", "root") or "<set sources.imagenet.root>")
    if source == "imagenetv2":
        return "resources/imagenetv2"
    if source.startswith("laionet"):
        return "resources/laionet/shards"
    if source in ("yfcc15m_cls", "cc12m_cls"):
        web = source.removesuffix("_cls")
        return str(_user_source(web, "image_root") or f"<set sources.{web}.image_root>")
    return WORLD


def images_inputs(source):
    """Files whose presence the images of a source need (produced or checked by a rule)."""
    if source in ("incaps", "imagenet_val"):
        return ["resources/imagenet/imagenet.json"]
    if source == "imagenetv2":
        return ["resources/imagenetv2/imagenetv2-matched-frequency-format-val"]
    if source.startswith("laionet"):
        return ["resources/laionet/shards"]
    if source in ("yfcc15m_cls", "cc12m_cls"):
        return []  # user-provided image folder (sources.<source>.image_root)
    return None  # the synthetic world


def run_images_root(wildcards):
    return images_root(PLAN.datasets[PLAN.runs[wildcards.run].dataset].base)
