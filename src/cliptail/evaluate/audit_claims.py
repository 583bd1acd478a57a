"""The claims the paper makes from released CLIP models (Fig. 1b), judged on the audit.

A pre-training dataset's released checkpoints form one group, as the seeds of a run do in the
controlled study (:mod:`cliptail.evaluate.verdicts`): its value is the mean over its models, and
each of the B replicates averages, over a resample of the models drawn with replacement, the
models' b-th class-bootstrap replicates. The class resamples depend only on the number of
classes, so the replicates of a released model and of a controlled-study run evaluated on the
same ImageNet classes are paired. With one model the interval is over classes only.

Claims:

- ``released_clip_vs_sl``: on each web dataset that has both, SL trained on the dataset's
  class-matched subset (CC-12M-Cls, YFCC-15M-Cls, LAIONet for LAION-400M) follows frequency
  more than the dataset's released CLIP models: rho(f, #pred) and rho(f, acc) of SL > CLIP.
  (The SL side correlates with its own training counts, the CLIP side with the web dataset's
  concept frequencies, as in the paper's figure.)
- ``released_scale_lowers_rho``: the correlations narrow as data scales up: LAION-400M's models
  > LAION-2B's and MetaCLIP-400M's > MetaCLIP-2.5B's, for rho(f, #pred) and rho(f, acc).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from cliptail.evaluate.claims import COLUMNS, SL_DEFAULT, Design, _select
from cliptail.evaluate.verdicts import Outcome, Part, Replicates, absent, combine, compare
from cliptail.factors import PRETRAINING_DATASETS, SL_SOURCE_OF

#: Run-name prefix of a released checkpoint in the claims' replicate keys.
PREFIX = "released/"
METRICS = ("rho_pred", "rho_acc")
#: (smaller, larger) pre-training datasets of the same curation.
SCALE_PAIRS = (("laion400m", "laion2b"), ("metaclip_400m", "metaclip_fullcc"))


def released_rows(audit: pd.DataFrame, evalset: str) -> pd.DataFrame:
    """The audit's rows of ``evalset``, each named ``released/<checkpoint>`` in ``run``."""
    rows = audit[audit["evalset"] == evalset]
    return rows.assign(run=PREFIX + rows["checkpoint"].astype(str))


def released_replicates(
    frames: Mapping[tuple[str, str], pd.DataFrame],
) -> dict[tuple[str, str], pd.DataFrame]:
    """(checkpoint, evalset) -> bootstrap table, keyed as :func:`released_rows` names runs."""
    return {(PREFIX + str(c), e): frame for (c, e), frame in frames.items()}


def _name(dataset: str, rows: pd.DataFrame) -> str:
    return f"CLIP {PRETRAINING_DATASETS.get(dataset, dataset)} ({len(rows)} models)"


def _clip_vs_sl(released: pd.DataFrame, runs: pd.DataFrame, design: Design, boot) -> Outcome:
    parts: list[Part] = []
    for dataset, source in SL_SOURCE_OF.items():
        clip = released[released["dataset"] == dataset]
        sl = _select(runs, **{**design.baseline, "source": source}, **SL_DEFAULT)
        if clip.empty or sl.empty:
            continue
        for metric in METRICS:
            parts.append(
                compare(sl, clip, (f"SL {source}", _name(dataset, clip)), metric, +1, boot)
            )
    if not parts:
        return absent(
            "needs released checkpoints of CC-12M, YFCC-15M or LAION-400M and the default SL "
            "run on the matching subset (cc12m_cls, yfcc15m_cls, laionet)"
        )
    return combine(parts)


def _scale(released: pd.DataFrame, boot) -> Outcome:
    parts: list[Part] = []
    for small, large in SCALE_PAIRS:
        a, b = released[released["dataset"] == small], released[released["dataset"] == large]
        if a.empty or b.empty:
            continue
        for metric in METRICS:
            names = (_name(small, a), _name(large, b))
            parts.append(compare(a, b, names, metric, +1, boot))
    if not parts:
        return absent("needs released checkpoints of LAION-400M and LAION-2B, or of both MetaCLIPs")
    return combine(parts)


CLAIMS = (
    (
        "released_clip_vs_sl",
        "Fig. 1b",
        "Released CLIP models are less biased than SL trained on the same web data: rho(f, "
        "#pred) and rho(f, acc) of SL > CLIP, per web dataset.",
        "YFCC-15M: SL 0.82 / 0.64 vs CLIP 0.14 / 0.41 (#pred / acc)",
    ),
    (
        "released_scale_lowers_rho",
        "Fig. 1b",
        "The correlations narrow as data scales up: rho of LAION-400M's models > LAION-2B's and "
        "of MetaCLIP-400M's > MetaCLIP-2.5B's.",
        "the correlation narrows as data scales up (Fig. 1 caption)",
    ),
)


def audit_claims(
    audit: pd.DataFrame,
    runs: pd.DataFrame,
    evalset: str,
    design: Design | None = None,
    replicates: Replicates | Mapping[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """The claims of :data:`CLAIMS` on ``evalset`` (rows in the claims table's columns).

    ``audit``: the audit table; ``runs``: the controlled study's runs table (its SL runs);
    ``replicates``: bootstrap tables keyed (run, evalset) for runs and ``released/<checkpoint>``
    for released models (:func:`released_replicates`).
    """
    design = design or Design()
    boot = replicates if isinstance(replicates, Replicates) else Replicates(replicates)
    released = released_rows(audit, evalset)
    study = runs[runs["evalset"] == evalset].drop_duplicates(["run", "evalset"])
    outcomes = {
        "released_clip_vs_sl": _clip_vs_sl(released, study, design, boot),
        "released_scale_lowers_rho": _scale(released, boot),
    }
    rows = [
        {
            "claim": claim,
            "figure": figure,
            "statement": statement,
            "paper": paper,
            "evalset": evalset,
            "ours": outcomes[claim].ours,
            "interval": outcomes[claim].interval,
            "seeds": outcomes[claim].seeds if outcomes[claim].verdict != "not tested" else None,
            "verdict": outcomes[claim].verdict,
            "holds": outcomes[claim].holds,
        }
        for claim, figure, statement, paper in CLAIMS
    ]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["seeds"] = df["seeds"].astype("Int64")
    df["holds"] = df["holds"].astype("boolean")
    return df
