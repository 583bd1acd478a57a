"""Turn the configured studies into the concrete datasets and training runs of the workflow.

A *study* is a list of run groups; each group fixes some factors and spans a grid over others.
Every grid point is a *run*: a complete assignment of the factors in
:data:`cliptail.factors.RUN_FACTORS` (missing ones come from ``defaults``). The factors that shape
the training data form the run's *dataset*; runs of different studies that agree on every factor
are the same run and train once.

Every value is checked while the plan is built (:func:`build_plan`), with the configuration key
named: ``studies.scale.runs[0].grid.scale: 2.0 is not a fraction in (0, 1]``. So is every run's
training spec (:class:`cliptail.train.spec.TrainSpec`), so a bad recipe fails before any job.

A run's training recipe is its method's (``train`` and ``train.<method>``), with the override set
``train.recipes.<name>`` merged over it when its ``recipe`` factor names one (:func:`recipe_for`).

Names are readable slugs of the factors, but the specs (not the names) are the truth: the workflow
passes them to jobs through ``params:``, so changing a factor reruns exactly the affected jobs.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cliptail import factors as F
from cliptail.config import ConfigError, deep_merge
from cliptail.train.spec import JOB_SETTINGS, SpecError, TrainSpec

#: Keys of a run group besides the factors.
GROUP_KEYS = ("grid",)


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    factors: dict[str, Any]

    @property
    def base(self) -> str:
        return self.factors["source"]

    @property
    def is_real(self) -> bool:
        return F.is_real_source(self.factors["source"])


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

    @property
    def frozen_text(self) -> bool:
        """CLIP with a frozen pre-trained text tower (trains on embedded captions): the
        ``text_encoder``'s (``frozen``) or RoBERTa's (``roberta``)."""
        return self.embedded_text is not None

    @property
    def embedded_text(self) -> str | None:
        """The text tower whose embeddings the run reads (keys the embedding files,
        :data:`cliptail.factors.EMBEDDED_TOWERS`), or None."""
        tower = self.factors["text_tower"] if self.method == "clip" else None
        return tower if tower in F.EMBEDDED_TOWERS else None

    @property
    def frozen_head(self) -> bool:
        """SL with frozen prototypes (embedded class names)."""
        return self.method == "sl" and self.factors["head"] == "frozen"


@dataclass
class Plan:
    datasets: dict[str, DatasetSpec]
    runs: dict[str, RunSpec]
    studies: dict[str, list[str]]
    defaults: dict[str, Any] = field(default_factory=dict)

    def runs_of(self, study: str) -> list[RunSpec]:
        return [self.runs[name] for name in self.studies[study]]

    def is_probe_study(self, study: str) -> bool:
        """Whether ``study``'s runs are evaluated by linear probes (self-supervised methods,
        :data:`cliptail.factors.PROBED_METHODS`) rather than zero-shot."""
        return any(self.runs[r].method in F.PROBED_METHODS for r in self.studies[study])

    def probe_studies(self) -> list[str]:
        return [s for s in self.studies if self.is_probe_study(s)]

    def zeroshot_studies(self) -> list[str]:
        return [s for s in self.studies if not self.is_probe_study(s)]

    def zeroshot_runs(self) -> list[str]:
        """The runs evaluated zero-shot on the evaluation sets (CLIP and SL)."""
        return [n for n, r in self.runs.items() if r.method in F.ZEROSHOT_METHODS]

    def probed_runs(self) -> list[str]:
        return [n for n, r in self.runs.items() if r.method in F.PROBED_METHODS]

    def default_run(self, method: str) -> str | None:
        """The planned run with every factor at its configured default for ``method``, or None."""
        name = run_name(normalise_factors({**self.defaults, "method": method}))
        return name if name in self.runs else None

    def baselines(self) -> dict[str, str]:
        """Legend label (``CLIP``, ``SL``) -> the default run of each planned method."""
        runs = {label: self.default_run(m) for label, m in (("CLIP", "clip"), ("SL", "sl"))}
        return {label: run for label, run in runs.items() if run}

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
    """Readable slug of all factors, e.g. ``clip_curated_full_s1_eval_tt-rand_seed0``; a run
    with a named recipe (factor ``recipe`` other than ``default``) ends in ``_recipe-<name>``."""
    parts = [f["method"], dataset_name(f)]
    if f["method"] == "clip":
        parts.append(f"tt-{f['text_tower']}")
    elif f["method"] == "sl":
        parts.append(f"head-{f['head']}")
        parts.append(
            f"vocab-{f['vocab_size']}-{f['vocab_weight']}"
            if f["vocab_size"] != "full"
            else "vocab-full"
        )
    parts.append(f"seed{f['seed']}")
    recipe = f.get("recipe", F.DEFAULT_RECIPE)
    if recipe != F.DEFAULT_RECIPE:
        parts.append(f"recipe-{recipe}")
    return "_".join(parts)


def normalise_factors(factors: Mapping[str, Any]) -> dict[str, Any]:
    """Drop the factors a method ignores, so equivalent runs get one name and one spec."""
    f = dict(factors)
    F.check_factor("method", f["method"])
    if f["method"] == "clip":
        f["head"] = None
        f["vocab_size"] = None
        f["vocab_weight"] = None
    elif f["method"] in F.PROBED_METHODS:  # self-supervised: no text, no head, no labels
        f["caption"] = F.SL_CAPTION
        f["text_tower"] = None
        f["head"] = None
        f["vocab_size"] = None
        f["vocab_weight"] = None
    else:
        f["caption"] = F.SL_CAPTION
        f["text_tower"] = None
        if f["vocab_size"] == "full":
            f["vocab_weight"] = None
    if not f["trim_k"]:
        f["trim_k"], f["trim_ceil"] = 0, 0
    return f


def training_classes(data: Mapping[str, Any], world_classes: tuple[int, int]) -> int:
    """Number of classes in a dataset's training data (bounds ``vocab_size`` and ``trim_k``).

    ``world_classes``: the synthetic world's (evaluation concepts, open-world concepts).
    """
    if F.is_real_source(data["source"]):
        return F.IMAGENET100_CLASSES if data["classes"] == "in100" else F.IMAGENET_CLASSES
    num_eval, num_open = world_classes
    return num_eval if data["classes"] == "eval" else num_eval + num_open


def _check_values(group: Mapping[str, Any], where: str) -> None:
    for key, value in group.items():
        if key == "grid":
            for factor, values in (value or {}).items():
                for i, v in enumerate(values):
                    F.check_factor(factor, v, f"{where}.grid.{factor}[{i}] ")
        elif key not in F.RUN_FACTORS:
            raise ConfigError(
                f"{where}.{key}: unknown factor; known factors: {list(F.RUN_FACTORS)}"
            )
        else:
            F.check_factor(key, value, f"{where}.")


def expand_group(
    group: Mapping[str, Any], defaults: Mapping[str, Any], where: str = "run group"
) -> list[dict[str, Any]]:
    """All factor assignments of one run group (fixed factors + the product of ``grid``)."""
    _check_values(group, where)
    fixed = {k: v for k, v in group.items() if k not in GROUP_KEYS}
    grid = group.get("grid", {}) or {}
    keys = list(grid)
    return [
        {**defaults, **fixed, **dict(zip(keys, values, strict=True))}
        for values in itertools.product(*(grid[k] for k in keys))
    ]


def _check_seeds(value: Any, where: str) -> list[int]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    ):
        raise ConfigError(
            f"{where}: must be a non-empty list of non-negative integers, got {value!r}"
        )
    if len(set(value)) != len(value):
        raise ConfigError(f"{where}: lists a seed twice: {value!r}")
    return list(value)


def study_seeds(config: Mapping[str, Any], body: Mapping[str, Any], study: str) -> list[int] | None:
    """The training seeds every run of ``study`` is repeated over: the study's ``seeds``, else the
    top-level ``seeds``; None (each run once, with ``defaults.seed``) when neither is set."""
    if body.get("seeds") is not None:
        return _check_seeds(body["seeds"], f"studies.{study}.seeds")
    if config.get("seeds") is not None:
        return _check_seeds(config["seeds"], "seeds")
    return None


def with_seeds(
    runs: list[dict[str, Any]], group: Mapping[str, Any], seeds: list[int] | None
) -> list[dict[str, Any]]:
    """Each run of a group once per seed of ``seeds``; a group that sets ``seed`` itself (fixed
    or in its grid) keeps its own seeds."""
    if seeds is None or "seed" in group or "seed" in (group.get("grid") or {}):
        return runs
    return [{**run, "seed": seed} for run in runs for seed in seeds]


#: Key of ``train`` holding the named recipes (override sets of the ``recipe`` factor).
RECIPES_KEY = "recipes"


def recipe_for(
    method: str, train_config: Mapping[str, Any], recipe: str = F.DEFAULT_RECIPE
) -> dict[str, Any]:
    """The training recipe of a method: the shared settings merged with the method's own, then,
    for a named ``recipe``, the override set ``train.recipes.<recipe>`` (same shape: shared keys
    and ``clip:``/``sl:`` sub-keys) merged over that."""
    skip = (*F.METHODS, RECIPES_KEY)
    shared = {k: v for k, v in train_config.items() if k not in skip}
    base = deep_merge(shared, train_config.get(method) or {})
    if recipe == F.DEFAULT_RECIPE:
        return base
    overrides = (train_config.get(RECIPES_KEY) or {})[recipe] or {}
    return deep_merge(base, recipe_for(method, overrides))


def _world_classes(world: Mapping[str, Any]) -> tuple[int, int]:
    from cliptail.data.synthetic.params import WorldParams

    try:
        params = WorldParams.from_config(dict(world))
    except ValueError as exc:
        raise ConfigError(f"world: {exc}") from None
    return params.num_classes, params.num_open_world


def _check_runtime(train_config: Mapping[str, Any], where: str) -> None:
    runtime = [k for k in JOB_SETTINGS if k in train_config]
    for method in F.METHODS:
        runtime += [f"{method}.{k}" for k in JOB_SETTINGS if k in (train_config.get(method) or {})]
    if runtime:
        raise ConfigError(
            f"{where}: {runtime} are runtime settings, not part of a recipe: threads come from "
            "Snakemake (`threads`, `--set-threads`), the device from the `gpu` resource and "
            "data-loader workers from the `loader_workers` resource (profiles/)"
        )


def _check_recipes(train_config: Mapping[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every (method, recipe name) -> its validated recipe; names: ``default`` and the keys of
    ``train.recipes``."""
    _check_runtime(train_config, "train")
    named = train_config.get(RECIPES_KEY) or {}
    if not isinstance(named, Mapping):
        raise ConfigError(f"train.{RECIPES_KEY}: must be a mapping name -> overrides")
    for name, overrides in named.items():
        where = f"train.{RECIPES_KEY}.{name}"
        if name == F.DEFAULT_RECIPE:
            raise ConfigError(
                f"{where}: {F.DEFAULT_RECIPE!r} is reserved for the methods' own recipes "
                "(`train`, `train.clip`, `train.sl`); choose another name"
            )
        F.check_factor("recipe", name, f"train.{RECIPES_KEY}.{name}: ")
        if not isinstance(overrides, Mapping):
            raise ConfigError(f"{where}: must be a mapping of `train` keys (and clip:/sl:)")
        if RECIPES_KEY in overrides:
            raise ConfigError(f"{where}.{RECIPES_KEY}: recipes do not nest")
        _check_runtime(overrides, where)
    recipes = {}
    for name in (F.DEFAULT_RECIPE, *named):
        for method in F.METHODS:
            recipe = recipe_for(method, train_config, name)
            where = "train" if name == F.DEFAULT_RECIPE else f"train.{RECIPES_KEY}.{name}"
            try:
                TrainSpec.from_dict({"method": method, **recipe})
            except SpecError as exc:
                raise ConfigError(f"{where} ({method}): {exc}") from None
            recipes[method, name] = recipe
    return recipes


def _recipe_key(group: Mapping[str, Any], where: str, recipe: str) -> str:
    """The configuration key a run group's ``recipe`` value comes from."""
    grid = (group.get("grid") or {}).get("recipe")
    if grid is not None:
        return f"{where}.grid.recipe[{list(grid).index(recipe)}]"
    return f"{where}.recipe" if "recipe" in group else "defaults.recipe"


def _tower_recipe(
    f: Mapping[str, Any], recipe: dict[str, Any], config: Mapping[str, Any], where: str
) -> dict[str, Any]:
    """The recipe of a CLIP run whose text tower comes from a pre-trained encoder: ``clip_init``
    gets ``text_encoder`` (the open_clip model it starts from), ``roberta`` the RoBERTa encoder
    and a trainable projection. Changing either key then retrains exactly those runs."""
    tower = f.get("text_tower") if f["method"] == "clip" else None
    if tower == "clip_init":
        encoder = config.get("text_encoder", "minilm")
        if not str(encoder).startswith("openclip:"):
            raise ConfigError(
                f"{where}: text_tower 'clip_init' initialises the text tower from text_encoder, "
                f"which must name an open_clip model ('openclip:<model>@<tag or checkpoint "
                f"path>', e.g. openclip:RN50@openai), got text_encoder: {encoder!r}"
            )
        return {**recipe, "text_encoder": encoder}
    if tower == "roberta":
        encoder = config.get("roberta_encoder", F.DEFAULT_ROBERTA)
        return {**recipe, "text_encoder": f"roberta:{encoder}", "text_projection": "linear"}
    return recipe


def build_plan(config: Mapping[str, Any]) -> Plan:
    """Expand ``config['studies']`` into datasets, runs and per-study run lists.

    Raises :class:`cliptail.config.ConfigError` (or :class:`cliptail.factors.FactorError`)
    naming the configuration key of the first bad value.
    """
    defaults = {**F.DEFAULT_FACTORS, **config.get("defaults", {})}
    for name, value in defaults.items():
        F.check_factor(name, value, "defaults.")
    recipes = _check_recipes(config.get("train", {}))
    world_classes = _world_classes(config.get("world", {}))
    datasets: dict[str, DatasetSpec] = {}
    runs: dict[str, RunSpec] = {}
    studies: dict[str, list[str]] = {}
    membership: dict[str, list[str]] = {}
    for study, body in config.get("studies", {}).items():
        if not body.get("enabled", True):
            continue
        names: list[str] = []
        seeds = study_seeds(config, body, study)
        for i, group in enumerate(body["runs"]):
            where = f"studies.{study}.runs[{i}]"
            for raw in with_seeds(expand_group(group, defaults, where), group, seeds):
                dfac = {k: raw[k] for k in F.DATA_FACTORS}
                F.check_run(raw, training_classes(dfac, world_classes), f"{where}: ")
                if (raw["method"], raw["recipe"]) not in recipes:
                    raise ConfigError(
                        f"{_recipe_key(group, where, raw['recipe'])}: recipe {raw['recipe']!r} is not defined; "
                        f"define it under train.{RECIPES_KEY} (defined: "
                        f"{sorted({r for _, r in recipes} - {F.DEFAULT_RECIPE})}) or use "
                        f"{F.DEFAULT_RECIPE!r}"
                    )
                f = normalise_factors(raw)
                dfac = {k: f[k] for k in F.DATA_FACTORS}
                F.check_real_data(dfac, f"{where}: ")
                dname = dataset_name(dfac)
                datasets.setdefault(dname, DatasetSpec(dname, dfac))
                rname = run_name(f)
                if rname not in runs:
                    recipe = _tower_recipe(f, recipes[f["method"], f["recipe"]], config, where)
                    runs[rname] = RunSpec(rname, dname, f, recipe)
                membership.setdefault(rname, [])
                if study not in membership[rname]:
                    membership[rname].append(study)
                if rname not in names:
                    names.append(rname)
        methods = {runs[n].method in F.PROBED_METHODS for n in names}
        if len(methods) > 1:
            raise ConfigError(
                f"studies.{study}: mixes {list(F.PROBED_METHODS)} runs (evaluated by linear "
                f"probes) with {list(F.ZEROSHOT_METHODS)} runs (evaluated zero-shot); put them "
                "in separate studies"
            )
        studies[study] = names
    runs = {
        n: RunSpec(r.name, r.dataset, r.factors, r.recipe, tuple(membership[n]))
        for n, r in runs.items()
    }
    return Plan(datasets, runs, studies, defaults)


def train_spec(run: RunSpec) -> dict[str, Any]:
    """The plain-dict spec handed to :func:`cliptail.train.train_run` (no runtime keys)."""
    f = run.factors
    spec = {"run": run.name, "method": f["method"], "seed": f["seed"], **run.recipe}
    if f["method"] == "clip":
        spec["text_tower"] = f["text_tower"]
    elif f["method"] == "sl":
        spec["head"] = f["head"]
        vocab = dict(spec.get("vocab", {}))
        vocab["size"] = None if f["vocab_size"] == "full" else int(f["vocab_size"])
        if f["vocab_weight"] is not None:
            vocab["weight"] = f["vocab_weight"]
        spec["vocab"] = vocab
    return spec
