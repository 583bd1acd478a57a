"""Turn the configured studies into the concrete datasets and training runs of the workflow.

A *study* is a list of run groups; each group fixes some factors and spans a grid over others.
Every grid point is a *run*: a complete assignment of the factors in :data:`RUN_FACTORS`
(missing ones come from ``defaults``). The factors that shape the training data form the run's
*dataset*; runs of different studies that agree on every factor are the same run and train once.

Names are readable slugs of the factors, but the specs (not the names) are the truth: the workflow
passes them to jobs through ``params:``, so changing a factor reruns exactly the affected jobs.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cliptail.config import deep_merge

#: Factors that define a run, in slug order. Data factors first.
DATA_FACTORS = ("source", "caption", "scale", "classes", "trim_k", "trim_ceil")
MODEL_FACTORS = ("method", "text_tower", "head", "vocab_size", "vocab_weight", "seed")
RUN_FACTORS = DATA_FACTORS + MODEL_FACTORS

METHODS = ("clip", "sl")
#: SL ignores captions: its datasets use this caption type (the frequencies are identical).
SL_CAPTION = "full"


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    factors: dict[str, Any]

    @property
    def base(self) -> str:
        return self.factors["source"]


@dataclass(frozen=True)
class RunSpec:
    name: str
    dataset: str
    factors: dict[str, Any]
    recipe: dict[str, Any]
    studies: tuple[str, ...] = field(default=())

    @property
    def method(self) -> str:
        return self.factors["method"]


@dataclass
class Plan:
    datasets: dict[str, DatasetSpec]
    runs: dict[str, RunSpec]
    studies: dict[str, list[str]]

    def runs_of(self, study: str) -> list[RunSpec]:
        return [self.runs[name] for name in self.studies[study]]

    def caption_donor(self, dataset: str, embedded: Collection[str]) -> str | None:
        """A dataset among ``embedded`` (those whose captions get embedded anyway) that holds the
        captions of ``dataset``: the same source and caption type at scale 1, untrimmed, with all
        classes, else with the evaluation classes. None if ``dataset`` is that dataset or none
        is planned. Subsets, matched-size and trimmed variants then reuse its embeddings.
        """
        f = self.datasets[dataset].factors
        for classes in ("all", "eval"):
            donor = dataset_name(dict(f, scale=1.0, classes=classes, trim_k=0, trim_ceil=0))
            if donor == dataset:
                return None
            if donor in embedded and donor in self.datasets:
                return donor
        return None


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def dataset_name(f: Mapping[str, Any]) -> str:
    """Readable slug of the data factors, e.g. ``curated_full_s0.5_eval`` or ``..._trim20c0``."""
    parts = [f["source"], f["caption"], f"s{_fmt(f['scale'])}", f["classes"]]
    if f["trim_k"]:
        parts.append(f"trim{f['trim_k']}c{f['trim_ceil']}")
    return "_".join(parts)


def run_name(f: Mapping[str, Any]) -> str:
    """Readable slug of all factors, e.g. ``clip_curated_full_s1_eval_tt-rand_seed0``."""
    parts = [f["method"], dataset_name(f)]
    if f["method"] == "clip":
        parts.append(f"tt-{f['text_tower']}")
    else:
        parts.append(f"head-{f['head']}")
        parts.append(
            f"vocab-{f['vocab_size']}-{f['vocab_weight']}"
            if f["vocab_size"] != "full"
            else "vocab-full"
        )
    parts.append(f"seed{f['seed']}")
    return "_".join(parts)


def normalise_factors(factors: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the factors a method ignores, so equivalent runs get one name and one spec."""
    f = dict(factors)
    if f["method"] not in METHODS:
        raise ValueError(f"unknown method {f['method']!r}; expected one of {METHODS}")
    if f["method"] == "clip":
        f["head"] = None
        f["vocab_size"] = None
        f["vocab_weight"] = None
    else:
        f["caption"] = SL_CAPTION
        f["text_tower"] = None
        if f["vocab_size"] == "full":
            f["vocab_weight"] = None
    if not f["trim_k"]:
        f["trim_k"], f["trim_ceil"] = 0, 0
    return f


def expand_group(group: Mapping[str, Any], defaults: Mapping[str, Any]) -> list[dict[str, Any]]:
    """All factor assignments of one run group (``fixed`` factors + the product of ``grid``)."""
    fixed = {k: v for k, v in group.items() if k not in ("grid",)}
    grid = group.get("grid", {}) or {}
    unknown = sorted(set(fixed) | set(grid) - set(RUN_FACTORS))
    unknown = [k for k in unknown if k not in RUN_FACTORS]
    if unknown:
        raise ValueError(f"unknown factor(s) {unknown}; known factors: {list(RUN_FACTORS)}")
    keys = list(grid)
    out = []
    for values in itertools.product(*(grid[k] for k in keys)):
        f = {**defaults, **fixed, **dict(zip(keys, values, strict=True))}
        out.append(normalise_factors(f))
    return out


def recipe_for(method: str, train_config: Mapping[str, Any]) -> dict[str, Any]:
    """The training recipe of a method: the shared settings merged with the method's own."""
    shared = {k: v for k, v in train_config.items() if k not in METHODS}
    return deep_merge(shared, train_config.get(method, {}))


def build_plan(config: Mapping[str, Any]) -> Plan:
    """Expand ``config['studies']`` into datasets, runs and per-study run lists."""
    defaults = config["defaults"]
    datasets: dict[str, DatasetSpec] = {}
    runs: dict[str, RunSpec] = {}
    studies: dict[str, list[str]] = {}
    membership: dict[str, list[str]] = {}
    for study, body in config.get("studies", {}).items():
        if not body.get("enabled", True):
            continue
        names: list[str] = []
        for group in body["runs"]:
            for f in expand_group(group, defaults):
                dfac = {k: f[k] for k in DATA_FACTORS}
                dname = dataset_name(dfac)
                datasets.setdefault(dname, DatasetSpec(dname, dfac))
                rname = run_name(f)
                if rname not in runs:
                    runs[rname] = RunSpec(rname, dname, f, recipe_for(f["method"], config["train"]))
                membership.setdefault(rname, [])
                if study not in membership[rname]:
                    membership[rname].append(study)
                if rname not in names:
                    names.append(rname)
        studies[study] = names
    runs = {
        n: RunSpec(r.name, r.dataset, r.factors, r.recipe, tuple(membership[n]))
        for n, r in runs.items()
    }
    return Plan(datasets, runs, studies)


def train_spec(run: RunSpec) -> dict[str, Any]:
    """The plain-dict spec handed to :func:`cliptail.train.train_run`."""
    f = run.factors
    spec = {"run": run.name, "method": f["method"], "seed": f["seed"], **run.recipe}
    if f["method"] == "clip":
        spec["text_tower"] = f["text_tower"]
    else:
        spec["head"] = f["head"]
        vocab = dict(spec.get("vocab", {}))
        vocab["size"] = None if f["vocab_size"] == "full" else int(f["vocab_size"])
        if f["vocab_weight"] is not None:
            vocab["weight"] = f["vocab_weight"]
        spec["vocab"] = vocab
    return spec
