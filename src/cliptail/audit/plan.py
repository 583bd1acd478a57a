"""The audit as the workflow runs it: checkpoints x evaluation sets, and the files of each job.

Evaluation sets (``audit.evalsets`` and ``audit.concept_sets``):

- configured evaluation sets of the studies (``imagenet_val``, ``imagenetv2``; in the synthetic
  world ``val`` and ``v2``) in ``results/data/eval_<name>``, concept set ``imagenet`` (``world``
  for the world's sets); class subsets (``imagenet100_val``) are refused, since the paper's audit
  is 1000-way;
- the other concept sets of Fig. 12 (``cub``, ``dtd``, ``eurosat``, ``flowers102``, ``food101``,
  ``pets``, ``places365``): their official test splits, read into ``results/data/zeroshot_<set>``.

Files (``results/audit/<checkpoint>/``): ``<set>.features.npz`` (the cached text classifier and
image embeddings: changing the frequencies reruns only the records), ``<set>.parquet`` (per-class
record), ``<set>.json`` (scalars), ``<set>.bootstrap.parquet`` (class-bootstrap replicates, for the
claims), ``<set>.sample.npz`` (t-SNE inputs); the tidy table
``results/tables/audit.parquet`` has one row per checkpoint and set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cliptail import factors, layout
from cliptail.audit.checkpoints import Checkpoint, checkpoints

AUDIT = "results/audit"
AUDIT_TABLE = "results/tables/audit.parquet"
#: Concept sets with an evaluation dataset of their own (Fig. 12).
ZEROSHOT_SETS = tuple(c for c in factors.CONCEPT_SETS if c != "imagenet")
WORLD_CONCEPTS = "world"


def zeroshot_set_dir(concept_set: str) -> str:
    return f"results/data/zeroshot_{concept_set}"


def encoded_file(checkpoint: str, evalset: str) -> str:
    return f"{AUDIT}/{checkpoint}/{evalset}.features.npz"


def record_file(checkpoint: str, evalset: str) -> str:
    return f"{AUDIT}/{checkpoint}/{evalset}.parquet"


def scalars_file(checkpoint: str, evalset: str) -> str:
    return f"{AUDIT}/{checkpoint}/{evalset}.json"


def sample_file(checkpoint: str, evalset: str) -> str:
    return f"{AUDIT}/{checkpoint}/{evalset}.sample.npz"


def bootstrap_file(checkpoint: str, evalset: str) -> str:
    return f"{AUDIT}/{checkpoint}/{evalset}.bootstrap.parquet"


@dataclass(frozen=True)
class AuditSet:
    """One evaluation set of the audit."""

    name: str
    concept_set: str
    folder: str


@dataclass(frozen=True)
class AuditPlan:
    """The configured audit (empty when ``audit.enabled`` is false)."""

    checkpoints: tuple[Checkpoint, ...] = ()
    sets: tuple[AuditSet, ...] = ()
    frequencies: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    templates: str = "openai"
    zeroshot_names: str = "openclip"
    nc1_pinv: str = "float32"
    batch_size: int = 256
    sample_per_class: int = 10
    table01_checkpoint: str | None = None

    @property
    def enabled(self) -> bool:
        return bool(self.checkpoints and self.sets)

    @property
    def by_checkpoint(self) -> dict[str, Checkpoint]:
        return {c.name: c for c in self.checkpoints}

    @property
    def by_set(self) -> dict[str, AuditSet]:
        return {s.name: s for s in self.sets}

    def downloads(self) -> dict[str, Checkpoint]:
        """Checkpoints whose weights a rule downloads, by name."""
        return {c.name: c for c in self.checkpoints if c.downloads}

    def pairs(self) -> list[tuple[str, str]]:
        return [(c.name, s.name) for c in self.checkpoints for s in self.sets]

    def record_files(self) -> list[str]:
        return [record_file(c, s) for c, s in self.pairs()]

    def scalars_files(self) -> list[str]:
        return [scalars_file(c, s) for c, s in self.pairs()]

    def sample_files(self) -> list[str]:
        return [sample_file(c, s) for c, s in self.pairs()]

    def bootstrap_files(self) -> dict[tuple[str, str], str]:
        """(checkpoint, set) -> its class-bootstrap replicates (for the claims)."""
        return {(c, s): bootstrap_file(c, s) for c, s in self.pairs()}

    def frequency_file(self, checkpoint: str, evalset: str) -> str | None:
        from cliptail.audit.frequencies import frequency_file

        ckpt, aset = self.by_checkpoint[checkpoint], self.by_set[evalset]
        return frequency_file(ckpt.dataset, aset.concept_set, self.frequencies)


def _evalset(name: str) -> AuditSet:
    if name in factors.EVALSET_CLASSES:
        raise ValueError(
            f"audit.evalsets: {name!r} is a class subset; the audit evaluates 1000-way "
            "(use imagenet_val)"
        )
    if name in factors.REAL_EVALSETS:
        return AuditSet(name, "imagenet", layout.evalset_dir(name))
    if name in factors.WORLD_EVALSETS:
        return AuditSet(name, WORLD_CONCEPTS, layout.evalset_dir(name))
    raise ValueError(f"audit.evalsets: unknown evaluation set {name!r}")


def _table01(chosen: str | None, listed: list[Checkpoint]) -> str | None:
    """Table 1's checkpoint: ``chosen`` (which must be listed), else the first YFCC-15M entry
    with an RN50 model (CLIP RN50 trained on YFCC-15M, as the paper), else None."""
    if chosen:
        if chosen not in {c.name for c in listed}:
            raise ValueError(f"audit.table01_checkpoint: {chosen!r} is not an audited checkpoint")
        return chosen
    for ckpt in listed:
        if ckpt.dataset == "yfcc15m" and ckpt.model.split("-")[0] == "RN50":
            return ckpt.name
    return None


def audit_plan(config: Mapping[str, Any]) -> AuditPlan:
    """The audit of ``config`` (section ``audit``; evaluation options from ``evaluation``)."""
    audit = config.get("audit") or {}
    if not audit.get("enabled", False):
        return AuditPlan()
    sets = [_evalset(e) for e in audit.get("evalsets", [])]
    for c in audit.get("concept_sets", []):
        if c not in ZEROSHOT_SETS:
            raise ValueError(f"audit.concept_sets: {c!r} is not one of {list(ZEROSHOT_SETS)}")
        sets.append(AuditSet(c, c, zeroshot_set_dir(c)))
    evaluation = config.get("evaluation", {})
    checkpoint_list = checkpoints(audit.get("checkpoints", "default"))
    return AuditPlan(
        checkpoints=tuple(checkpoint_list),
        sets=tuple(sets),
        frequencies={d: dict(f) for d, f in (audit.get("frequencies") or {}).items()},
        templates=str(evaluation.get("templates", "openai")),
        zeroshot_names=str(evaluation.get("zeroshot_names", "openclip")),
        nc1_pinv=str(evaluation.get("nc1_pinv", "float32")),
        batch_size=int(audit.get("batch_size", 256)),
        sample_per_class=int(audit.get("sample_per_class", 10)),
        table01_checkpoint=_table01(audit.get("table01_checkpoint"), checkpoint_list),
    )
