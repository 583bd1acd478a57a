"""The paper's claims that a controlled study can test, with the paper's numbers and ours.

Each claim compares runs that differ in one factor, every other data factor at the study design's
baseline, which is read from the configuration (:class:`Design`: the ``defaults`` factors, plus
the counterparts the claims need: the shifted web source at the curated source's size and the
open-world concept sets). The synthetic world (source ``curated``) and the paper preset (source
``incaps``) are judged by the same functions: only the factor values differ. Runs with several
seeds enter as their mean. A claim *holds* when our numbers go in the direction the paper
states; it is NA when the runs it needs are absent or a needed value is undefined (NaN). The
functions only compute: nothing here assumes the paper's direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.evaluate.metrics import spearman

#: Legacy alias: the world's baseline data factors (the claims now read :class:`Design`).
BASELINE: dict[str, Any] = {
    "source": "curated",
    "caption": "full",
    "scale": 1.0,
    "classes": "eval",
    "trim_k": 0,
}
CLIP_DEFAULT = {"method": "clip", "text_tower": "rand"}
SL_DEFAULT = {"method": "sl", "head": "rand", "vocab_size": "full"}
#: The nine caption types, least to most descriptive.
CAPTION_ORDER = factors.CAPTION_TYPES

COLUMNS = ["claim", "figure", "statement", "paper", "evalset", "ours", "holds"]
_FACTORS = ("method",) + tuple(f for f in factors.RUN_FACTORS if f not in ("method", "seed"))

#: Curated source -> the shifted web source of the same size (Sec. 3.4): the world's web pool;
#: LAIONet at t = 0.7 sampled to IN-Caps' size.
SHIFTED_SOURCE = {"curated": "web", "incaps": "laionet_t0.7"}
#: Curated source -> (evaluation concepts only, with open-world concepts at the same size).
OPEN_WORLD_CLASSES = {"curated": ("eval", "all_matched"), "incaps": ("in100", "in100_matched")}
#: Curated source -> the evaluation set of the open-world claims (the paper evaluates E5 on
#: the IN-100 classes; the world on its usual evaluation set).
OPEN_WORLD_EVALSET = {"incaps": "imagenet100_val"}
#: Source with LAIONet's caption-definition thresholds, lowest first (diversity, Sec. 3.4).
THRESHOLD_SOURCES = tuple(f"laionet_t{t:g}" for t in factors.LAIONET_THRESHOLDS)


@dataclass(frozen=True)
class Design:
    """The study design's reference point, from the configuration.

    ``defaults``: every run factor's default (config ``defaults`` over
    :data:`cliptail.factors.DEFAULT_FACTORS`). The data factors of the baseline are its
    ``source``, ``caption``, ``scale``, ``classes`` and ``trim_k``.
    """

    defaults: Mapping[str, Any] = field(default_factory=lambda: dict(factors.DEFAULT_FACTORS))

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> Design:
        return cls({**factors.DEFAULT_FACTORS, **dict(config.get("defaults") or {})})

    @property
    def baseline(self) -> dict[str, Any]:
        return {k: self.defaults[k] for k in ("source", "caption", "scale", "classes", "trim_k")}

    @property
    def source(self) -> str:
        return self.defaults["source"]

    @property
    def shifted_source(self) -> str | None:
        return SHIFTED_SOURCE.get(self.source)

    @property
    def open_world_classes(self) -> tuple[str, str] | None:
        return OPEN_WORLD_CLASSES.get(self.source)

    def without(self, *names: str) -> dict[str, Any]:
        """The baseline's data factors except ``names``."""
        return {k: v for k, v in self.baseline.items() if k not in names}


@dataclass(frozen=True)
class Outcome:
    """Our side of a claim: a readable summary of the numbers and whether the claim holds
    (None = cannot be tested here)."""

    ours: str
    holds: bool | None


@dataclass(frozen=True)
class Claim:
    id: str
    figure: str
    statement: str
    paper: str
    test: Callable[[pd.DataFrame, Design], Outcome]
    #: Evaluation set of this claim for a design (None = the table's main one).
    evalset: Callable[[Design], str | None] = field(default=lambda design: None)


# --- selection helpers ------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.isna(value))


def _select(t: pd.DataFrame, **factors: Any) -> pd.DataFrame:
    """Rows whose factors equal ``factors`` (None matches a missing value)."""
    mask = np.ones(len(t), dtype=bool)
    for name, value in factors.items():
        column = t[name]
        if value is None:
            mask &= column.isna().to_numpy()
        elif name == "scale":
            mask &= np.isclose(column.to_numpy(dtype=np.float64), float(value))
        else:
            mask &= column.isin([value]).to_numpy()
    return t[mask]


def _mean(rows: pd.DataFrame, metric: str) -> float:
    """Mean of ``metric`` over ``rows`` (seeds), NaN values skipped; NaN without a value."""
    values = rows[metric].to_numpy(dtype=np.float64)
    values = values[np.isfinite(values)]
    return float(values.mean()) if values.size else float("nan")


def _family(record: Mapping[str, Any]) -> str:
    """Model family of a run from the factors its method uses, e.g. ``CLIP rand text`` or
    ``SL rand head K=64`` (the factors a method ignores are not read)."""
    if record["method"] == "clip":
        return f"CLIP {record['text_tower']} text"
    name = f"SL {record['head']} head"
    vocab, weight = record["vocab_size"], record["vocab_weight"]
    if not _missing(vocab) and str(vocab) != "full":
        name += f" K={vocab}" + ("" if _missing(weight) or weight == "linear" else f" {weight}")
    return name


def _fmt(value: float, metric: str) -> str:
    if not np.isfinite(value):
        return "NaN"
    return f"{100 * value:.1f}%" if metric in ("top1", "tail_acc", "head_acc") else f"{value:.2f}"


def _absent(what: str) -> Outcome:
    return Outcome(f"not tested: {what}", None)


def _undefined(ours: str) -> Outcome:
    return Outcome(f"{ours} (undefined value)", None)


# --- claim tests ------------------------------------------------------------------------------


def _sl_vs_clip(metric: str, other_sources: bool = False) -> Callable:
    """SL vs CLIP default runs on the design's source, or (``other_sources``) on every other
    source that has both (the world's web pool; LAIONet, YFCC-15M-Cls, CC-12M-Cls)."""

    def test(t: pd.DataFrame, design: Design) -> Outcome:
        if other_sources:
            sources = sorted(set(t["source"].dropna()) - {design.source})
        else:
            sources = [design.source]
        parts, verdicts = [], []
        for source in sources:
            base = {**design.baseline, "source": source}
            clip, sl = _select(t, **base, **CLIP_DEFAULT), _select(t, **base, **SL_DEFAULT)
            if clip.empty or sl.empty:
                continue
            a, b = _mean(sl, metric), _mean(clip, metric)
            label = f"{source}: " if other_sources else ""
            parts.append(f"{label}SL {_fmt(a, metric)} vs CLIP {_fmt(b, metric)}")
            verdicts.append(bool(a > b) if np.isfinite(a + b) else None)
        if not parts:
            where = "another source" if other_sources else f"the {design.source} source"
            return _absent(f"needs the default CLIP and SL runs on {where}")
        return _verdict(parts, verdicts)

    return test


def _descriptiveness(metric: str, sign: int) -> Callable:
    def test(t: pd.DataFrame, design: Design) -> Outcome:
        rows = _select(t, **design.without("caption"), **CLIP_DEFAULT)
        rows = rows[rows["caption"].isin(CAPTION_ORDER)]
        means = rows.groupby("caption")[metric].mean()
        means = means[np.isfinite(means.to_numpy(dtype=np.float64))]
        if len(means) < 3:
            return _absent("needs at least 3 caption types with a value (rand text tower)")
        rank = [CAPTION_ORDER.index(c) for c in means.index]
        rho = spearman(rank, means.to_numpy(dtype=np.float64))
        ours = f"Spearman(descriptiveness, {metric}) = {rho:.2f} over {len(means)} caption types"
        return _undefined(ours) if not np.isfinite(rho) else Outcome(ours, bool(sign * rho > 0))

    return test


def _vocabulary_runs(t: pd.DataFrame, design: Design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """SL runs (learned head, default recipe) with the full and with subsampled (linear)
    vocabularies on the baseline data."""
    rows = _select(t, **design.baseline, method="sl", head="rand")
    if "recipe" in rows:
        rows = rows[rows["recipe"].isin([design.defaults.get("recipe", "default")])]
    full = rows[rows["vocab_size"].isin(["full"])]
    sub = rows[~rows["vocab_size"].isin(["full"]) & rows["vocab_weight"].isin(["linear"])]
    return full, sub


def _vocabulary(metric: str) -> Callable:
    def test(t: pd.DataFrame, design: Design) -> Outcome:
        full, sub = _vocabulary_runs(t, design)
        if full.empty or sub.empty:
            return _absent("needs SL runs (rand head) with the full and a subsampled vocabulary")
        k = min(int(v) for v in sub["vocab_size"])
        a, b = _mean(sub[sub["vocab_size"].isin([str(k)])], metric), _mean(full, metric)
        ours = f"K={k} {_fmt(a, metric)} vs full {_fmt(b, metric)}"
        return _undefined(ours) if not np.isfinite(a + b) else Outcome(ours, bool(a < b))

    return test


def _best_vocabulary(t: pd.DataFrame, design: Design) -> Outcome:
    """The subsampled vocabulary size with the best top-1 lies at 5-20 % of the classes
    (K = 50-200 of ImageNet's 1000; the paper: about 100)."""
    _, sub = _vocabulary_runs(t, design)
    sizes = sorted({int(v) for v in sub["vocab_size"]})
    if len(sizes) < 2:
        return _absent("needs SL runs (rand head, linear weights) at two or more vocabulary sizes")
    top1 = {k: _mean(sub[sub["vocab_size"].isin([str(k)])], "top1") for k in sizes}
    if not all(np.isfinite(v) for v in top1.values()):
        return _undefined(", ".join(f"K={k} {_fmt(v, 'top1')}" for k, v in top1.items()))
    best = max(sizes, key=lambda k: (top1[k], -k))
    classes = _classes(sub)
    ours = (
        ", ".join(f"K={k} {_fmt(v, 'top1')}" for k, v in top1.items())
        + f"; best K={best}"
        + (f" = {100 * best / classes:.0f}% of {classes} classes" if classes else "")
    )
    if not classes:
        return _undefined(ours)
    return Outcome(ours, bool(0.05 <= best / classes <= 0.2))


def _classes(rows: pd.DataFrame) -> int:
    """Number of training classes of ``rows`` (the ``num_classes`` column), 0 when unknown."""
    if "num_classes" not in rows or rows.empty:
        return 0
    values = rows["num_classes"].dropna()
    return int(values.max()) if len(values) else 0


def _verdict(parts: list[str], verdicts: list[bool | None]) -> Outcome:
    """All comparisons must hold; any undefined comparison makes the claim untestable."""
    ours = "; ".join(parts)
    if any(v is None for v in verdicts):
        return _undefined(ours)
    return Outcome(ours, all(verdicts))


def _per_family(
    rows: pd.DataFrame,
    factor: str,
    lo: Any,
    hi: Any,
    metric: str,
    sign: int,
    label: Callable[[Mapping[str, Any]], str] | None = None,
) -> Outcome | None:
    """Compare ``metric`` at ``factor = lo`` and ``hi`` within each model family of ``rows``.

    ``lo``/``hi`` None take the smallest/largest value present in the family. Holds when
    ``sign * (value(hi) - value(lo)) > 0`` for every family that has runs at both; None when no
    family has. ``label``: the family of a row (default :func:`_family`).
    """
    parts, verdicts = [], []
    names = [(label or _family)(r) for r in rows.to_dict("records")]
    for name, family in rows.groupby(pd.Series(names, index=rows.index), sort=True):
        values = sorted(family[factor].dropna().unique().tolist())
        low = (values[0] if values else None) if lo is None else lo
        high = (values[-1] if values else None) if hi is None else hi
        at_low, at_high = _select(family, **{factor: low}), _select(family, **{factor: high})
        if low is None or high is None or low == high or at_low.empty or at_high.empty:
            continue
        a, b = _mean(at_low, metric), _mean(at_high, metric)
        parts.append(f"{name}: {_fmt(a, metric)} -> {_fmt(b, metric)}")
        verdicts.append(bool(sign * (b - a) > 0) if np.isfinite(a + b) else None)
    return _verdict(parts, verdicts) if parts else None


def _scale(metric: str, sign: int) -> Callable:
    """Smallest vs largest scale per (source, CLIP family): the world scales its curated pool,
    the paper LAIONet."""

    def test(t: pd.DataFrame, design: Design) -> Outcome:
        rows = _select(t, **design.without("scale", "source"), method="clip")
        out = _per_family(
            rows,
            "scale",
            None,
            None,
            metric,
            sign,
            label=lambda r: f"{r['source']} {_family(r)}",
        )
        return out or _absent("needs CLIP runs at two or more scales")

    return test


def _contrast(
    factor: str,
    lo: Callable[[Design], Any],
    hi: Callable[[Design], Any],
    metric: str,
    sign: int,
    method: str | None = None,
) -> Callable:
    """``metric`` at ``factor = lo(design)`` vs ``hi(design)`` per family, the other data
    factors at the baseline."""

    def test(t: pd.DataFrame, design: Design) -> Outcome:
        low, high = lo(design), hi(design)
        if low is None or high is None:
            return _absent(f"no {factor} counterpart defined for source {design.source!r}")
        rows = _select(t, **design.without(factor))
        if method is not None:
            rows = rows[rows["method"].isin([method])]
        out = _per_family(rows, factor, low, high, metric, sign)
        return out or _absent(f"needs runs with {factor} = {low} and {high}")

    return test


def _open_world(metric: str) -> Callable:
    def test(t: pd.DataFrame, design: Design) -> Outcome:
        pair = design.open_world_classes
        if pair is None:
            return _absent(f"no open-world concept sets defined for source {design.source!r}")
        return _contrast("classes", lambda d: pair[0], lambda d: pair[1], metric, -1)(t, design)

    return test


def _tower_pairs(
    t: pd.DataFrame, a: str, b: str, metric: str
) -> tuple[pd.DataFrame, int] | Outcome:
    """Mean ``metric`` of CLIP runs with text towers ``a`` and ``b`` in every setting (data
    factors) where both were trained: a frame with columns ``a`` and ``b``."""
    clip = t[t["method"].isin(["clip"]) & t["text_tower"].isin([a, b])]
    keys = ["source", "caption", "scale", "classes", "trim_k", "trim_ceil"]
    grouped = clip.groupby([*keys, "text_tower"], dropna=False)[metric]
    counts = grouped.size().unstack("text_tower", fill_value=0)
    if not {a, b} <= set(counts.columns):
        return _absent(f"needs CLIP runs with {a} and {b} text towers on the same data")
    both = (counts[a] > 0) & (counts[b] > 0)
    if not both.any():
        return _absent(f"needs CLIP runs with {a} and {b} text towers on the same data")
    return grouped.mean().unstack("text_tower").loc[both[both].index, [a, b]]


def _tower_vs(tower: str, reference: str, metric: str, sign: int) -> Callable:
    """CLIP with text tower ``tower`` vs ``reference`` in every setting where both were trained:
    holds when ``sign * (tower - reference) > 0`` in all of them."""

    def test(t: pd.DataFrame, design: Design) -> Outcome:
        means = _tower_pairs(t, tower, reference, metric)
        if isinstance(means, Outcome):
            return means
        n_pairs = len(means)
        if means.isna().to_numpy().any():
            return _undefined(f"{n_pairs} matched settings")
        diff = (means[tower] - means[reference]).to_numpy(dtype=np.float64)
        better = int((sign * diff > 0).sum())
        unit, factor = (" points", 100.0) if metric == "top1" else ("", 1.0)
        ours = (
            f"{tower} {'higher' if sign > 0 else 'lower'} than {reference} in {better} of "
            f"{n_pairs} matched settings (mean difference {factor * diff.mean():+.2f}{unit})"
        )
        return Outcome(ours, better == n_pairs)

    return test


def _init_like_scratch(t: pd.DataFrame, design: Design) -> Outcome:
    """CLIP-init's top-1 is closer to the scratch tower's than the frozen tower's is, in every
    setting where all three were trained ("about as good as scratch")."""
    init = _tower_pairs(t, "clip_init", "rand", "top1")
    frozen = _tower_pairs(t, "frozen", "rand", "top1")
    for got in (init, frozen):
        if isinstance(got, Outcome):
            return got
    common = init.index.intersection(frozen.index)
    if not len(common):
        return _absent("needs CLIP runs with rand, frozen and clip_init towers on the same data")
    gap_init = (init.loc[common, "clip_init"] - init.loc[common, "rand"]).to_numpy(np.float64)
    gap_frozen = (frozen.loc[common, "frozen"] - frozen.loc[common, "rand"]).to_numpy(np.float64)
    ours = (
        f"top-1 vs scratch: CLIP-init {100 * gap_init.mean():+.2f} points, frozen "
        f"{100 * gap_frozen.mean():+.2f} points (mean over {len(common)} settings)"
    )
    if not np.isfinite(gap_init.sum() + gap_frozen.sum()):
        return _undefined(ours)
    return Outcome(ours, bool((np.abs(gap_init) < np.abs(gap_frozen)).all()))


def _thresholds(metric: str, sign: int) -> Callable:
    """Lowest vs highest LAIONet caption-definition threshold (less diverse classes), per CLIP
    family."""

    def test(t: pd.DataFrame, design: Design) -> Outcome:
        rows = _select(t, **design.without("source"), method="clip")
        rows = rows[rows["source"].isin(THRESHOLD_SOURCES)]
        rows = rows.assign(threshold=[float(s.rsplit("_t", 1)[1]) for s in rows["source"]])
        out = _per_family(rows, "threshold", None, None, metric, sign)
        return out or _absent("needs CLIP runs on two or more LAIONet thresholds (laionet_t<t>)")

    return test


def _tail_comparison(
    first: pd.DataFrame, second: pd.DataFrame, names: tuple[str, str], prefix: str = ""
) -> tuple[list[str], list[bool | None]]:
    """Tail accuracy of ``first`` vs ``second`` at every trimmed (k, shots) both have: one
    summary and one verdict (first > second; None when undefined) per setting."""
    settings = sorted(
        set(zip(first["trim_k"], first["trim_ceil"], strict=True))
        & set(zip(second["trim_k"], second["trim_ceil"], strict=True))
    )
    parts, verdicts = [], []
    for k, ceil in settings:
        a = _mean(_select(first, trim_k=k, trim_ceil=ceil), "tail_acc")
        b = _mean(_select(second, trim_k=k, trim_ceil=ceil), "tail_acc")
        parts.append(
            f"{prefix}k={k} {ceil}-shot: {names[0]} {_fmt(a, 'tail_acc')} vs "
            f"{names[1]} {_fmt(b, 'tail_acc')}"
        )
        verdicts.append(bool(a > b) if np.isfinite(a + b) else None)
    return parts, verdicts


def _trim_tail(t: pd.DataFrame, design: Design) -> Outcome:
    """CLIP vs SL tail accuracy at each (k, shots) with matching tower/head kind."""
    trimmed = t[t["trim_k"] > 0]
    parts, verdicts = [], []
    for kind in ("rand", "frozen"):
        clip = trimmed[trimmed["method"].isin(["clip"]) & trimmed["text_tower"].isin([kind])]
        sl = trimmed[
            trimmed["method"].isin(["sl"])
            & trimmed["head"].isin([kind])
            & trimmed["vocab_size"].isin(["full"])
        ]
        more = _tail_comparison(clip, sl, ("CLIP", "SL"), prefix=f"{kind}, ")
        parts += more[0]
        verdicts += more[1]
    if not parts:
        return _absent("needs trimmed CLIP and SL runs (same k, shots and tower/head kind)")
    return _verdict(parts, verdicts)


def _subvocabulary_tail(t: pd.DataFrame, design: Design) -> Outcome:
    """SL with a frozen head: a subsampled vocabulary keeps a higher tail accuracy than the full
    softmax at each trimmed (k, shots)."""
    trimmed = t[(t["trim_k"] > 0) & t["method"].isin(["sl"]) & t["head"].isin(["frozen"])]
    full = trimmed[trimmed["vocab_size"].isin(["full"])]
    sub = trimmed[~trimmed["vocab_size"].isin(["full"]) & trimmed["vocab_size"].notna()]
    parts, verdicts = _tail_comparison(sub, full, ("subsampled", "full"))
    if not parts:
        return _absent(
            "needs trimmed SL frozen-head runs with the full and a subsampled vocabulary"
        )
    return _verdict(parts, verdicts)


def _shifted(design: Design) -> str | None:
    return design.shifted_source


def _open_world_evalset(design: Design) -> str | None:
    return OPEN_WORLD_EVALSET.get(design.source)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "sl_vs_clip_rho_pred",
        "Fig. 1b, Sec. 7",
        "SL's prediction counts follow training frequency more than CLIP's on the same data: "
        "rho(f, #pred) of SL > CLIP.",
        "IN-Caps 0.57 vs 0.08",
        _sl_vs_clip("rho_pred"),
    ),
    Claim(
        "sl_vs_clip_rho_acc",
        "Fig. 1b, Sec. 7",
        "SL's per-class accuracy follows training frequency more than CLIP's on the same data: "
        "rho(f, acc) of SL > CLIP.",
        "IN-Caps 0.52 vs 0.28",
        _sl_vs_clip("rho_acc"),
    ),
    Claim(
        "sl_vs_clip_web",
        "Fig. 1b, Sec. 7",
        "On every other (web) source too, rho(f, #pred) of SL > CLIP.",
        "LAIONet 0.76 vs 0.32; YFCC-15M 0.82 vs 0.14",
        _sl_vs_clip("rho_pred", other_sources=True),
    ),
    Claim(
        "descriptive_lowers_rho",
        "Fig. 3, Sec. 3.2",
        "More descriptive captions make CLIP less biased: rho(f, acc) falls with the "
        "descriptiveness rank of the nine caption types (rand text tower).",
        "rho decreases from class templates to full captions (Fig. 3)",
        _descriptiveness("rho_acc", -1),
    ),
    Claim(
        "descriptive_raises_top1",
        "Fig. 3, Sec. 3.2",
        "More descriptive captions raise CLIP's top-1 accuracy (rand text tower).",
        "top-1 increases from class templates to full captions (Fig. 3)",
        _descriptiveness("top1", +1),
    ),
    Claim(
        "vocabulary_lowers_rho_pred",
        "Fig. 3, Sec. 3.3",
        "A subsampled SL vocabulary lowers rho(f, #pred): smallest K vs full vocabulary.",
        "falls with K (full 0.57 on IN-Caps)",
        _vocabulary("rho_pred"),
    ),
    Claim(
        "vocabulary_lowers_rho_acc",
        "Fig. 3, Sec. 3.3",
        "A subsampled SL vocabulary lowers rho(f, acc): smallest K vs full vocabulary.",
        "falls with K (full 0.52 on IN-Caps)",
        _vocabulary("rho_acc"),
    ),
    Claim(
        "vocabulary_best_k",
        "Fig. 3, Sec. 3.3",
        "The best subsampled SL vocabulary (highest top-1) keeps about a tenth of the classes "
        "(5-20 %).",
        "best K about 100 of 1000 classes on IN-Caps",
        _best_vocabulary,
    ),
    Claim(
        "scale_raises_top1",
        "Fig. 5, Sec. 3.5",
        "More training data raises CLIP's top-1 for every text tower (smallest vs largest scale).",
        "top-1 rises with scale (Fig. 5)",
        _scale("top1", +1),
    ),
    Claim(
        "scale_lowers_rho",
        "Fig. 5, Sec. 3.5",
        "More training data lowers CLIP's rho(f, acc) for every text tower (smallest vs largest "
        "scale).",
        "rho(f, acc) falls with scale (Fig. 5)",
        _scale("rho_acc", -1),
    ),
    Claim(
        "scale_lowers_nc1",
        "Fig. 5, Sec. 3.5",
        "More training data makes CLIP's image features collapse more onto their class means: "
        "NC1 falls with scale for every text tower.",
        "NC1 panel of Fig. 5 falls with scale",
        _scale("nc1", -1),
    ),
    Claim(
        "scale_lowers_nc2_m",
        "Fig. 5, Sec. 3.5",
        "More training data brings CLIP's class means closer to an equiangular frame: NC2_M "
        "falls with scale for every text tower.",
        "NC2_M panel of Fig. 5 falls with scale",
        _scale("nc2_m", -1),
    ),
    Claim(
        "frozen_text_raises_top1",
        "Fig. 5, Fig. 19, Sec. 7",
        "A frozen pre-trained text tower gives CLIP higher top-1 than a randomly initialised one, "
        "in every setting where both were trained.",
        "better accuracy at every scale (Fig. 5)",
        _tower_vs("frozen", "rand", "top1", +1),
    ),
    Claim(
        "frozen_text_lowers_rho",
        "Fig. 5, Fig. 19, Sec. 7",
        "A frozen pre-trained text tower gives CLIP lower rho(f, acc) than a randomly initialised "
        "one, in every setting where both were trained.",
        "lower rho(f, acc) at every scale (Fig. 5)",
        _tower_vs("frozen", "rand", "rho_acc", -1),
    ),
    Claim(
        "clip_init_like_scratch",
        "Fig. 5, Sec. 3.5",
        "Initialising CLIP's text tower from pre-trained CLIP and fine-tuning it is about as good "
        "as training it from scratch: its top-1 gap to scratch is smaller than the frozen "
        "tower's, in every setting where all three were trained.",
        "CLIP init ~ scratch (Fig. 5)",
        _init_like_scratch,
    ),
    Claim(
        "roberta_worse",
        "Fig. 5, Sec. 3.5",
        "A frozen RoBERTa text tower gives CLIP lower top-1 than the frozen CLIP text tower, in "
        "every setting where both were trained.",
        "frozen RoBERTa worse (Fig. 5)",
        _tower_vs("roberta", "frozen", "top1", -1),
    ),
    Claim(
        "open_world_lowers_rho_acc",
        "Fig. 6a, Sec. 3.6",
        "Open-world concepts at equal data size lower rho(f, acc) on the evaluation concepts "
        "(eval-only vs all concepts, size-matched), for every model trained on both.",
        "lower on IN-100 with IN-Caps (10%) than with IN-Caps-100 (Fig. 6a)",
        _open_world("rho_acc"),
        evalset=_open_world_evalset,
    ),
    Claim(
        "open_world_lowers_rho_pred",
        "Fig. 6a, Sec. 3.6",
        "Open-world concepts at equal data size lower rho(f, #pred) on the evaluation concepts.",
        "lower on IN-100 with IN-Caps (10%) than with IN-Caps-100 (Fig. 6a)",
        _open_world("rho_pred"),
        evalset=_open_world_evalset,
    ),
    Claim(
        "open_world_yfcc",
        "Fig. 6b, Sec. 3.6",
        "CLIP on all of YFCC-15M (open-world captions kept) is less biased than on YFCC-15M-Cls: "
        "rho(f, acc) lower.",
        "lower rho on YFCC-15M than on YFCC-15M-Cls (Fig. 6b)",
        _contrast(
            "source",
            lambda d: "yfcc15m_cls",
            lambda d: "yfcc15m",
            "rho_acc",
            -1,
            method="clip",
        ),
    ),
    Claim(
        "web_raises_rho",
        "Fig. 4, Sec. 3.4",
        "At equal size, CLIP trained on the shifted web source is more biased than on the "
        "curated source: rho(f, acc) web > curated.",
        "CLIP LAIONet 0.52 vs IN-Caps 0.28",
        _contrast("source", lambda d: d.source, _shifted, "rho_acc", +1, method="clip"),
    ),
    Claim(
        "diversity_threshold_raises_rho",
        "Fig. 4b, Sec. 3.4",
        "Less diverse classes (a higher LAIONet caption-definition threshold) make CLIP more "
        "biased: rho(f, acc) rises from the lowest to the highest threshold, per text tower.",
        "rho(f, acc) rises with the threshold (Fig. 4b)",
        _thresholds("rho_acc", +1),
    ),
    Claim(
        "equal_freq_not_enough",
        "Fig. 4b, Sec. 3.4",
        "Giving LAIONet IN-Caps' class frequencies (=freq) does not remove its bias: CLIP's "
        "rho(f, acc) on LAIONet =freq stays above IN-Caps', per text tower.",
        "=freq stays more biased than IN-Caps (Fig. 4b)",
        _contrast(
            "source", lambda d: d.source, lambda d: "laionet_freq", "rho_acc", +1, method="clip"
        ),
    ),
    Claim(
        "trim_clip_keeps_tail",
        "Fig. 8, Sec. 4.1",
        "With the rarest classes trimmed to 1 or 0 images, CLIP keeps a higher tail accuracy "
        "than SL (same tower/head kind, same k and shots).",
        "CLIP's tail accuracy stays well above SL's at 0 and 1 shots (Fig. 8)",
        _trim_tail,
    ),
    Claim(
        "subvocabulary_keeps_tail",
        "Fig. 8, Sec. 4.1",
        "SL with a frozen head and a subsampled vocabulary keeps a higher tail accuracy than "
        "with the full softmax (same k and shots).",
        "frozen head + subsampled vocabulary closes much of the gap to CLIP (Fig. 8)",
        _subvocabulary_tail,
    ),
)


#: Claims that need factor values only the real data has (LAIONet thresholds and =freq, the whole
#: YFCC-15M, the CLIP-init and RoBERTa text towers): "not tested" in the synthetic world.
PAPER_ONLY: frozenset[str] = frozenset(
    {
        "diversity_threshold_raises_rho",
        "equal_freq_not_enough",
        "open_world_yfcc",
        "clip_init_like_scratch",
        "roberta_worse",
    }
)


def claims(
    table: pd.DataFrame, evalset: str, design: Design | Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS` tested on the rows of ``evalset`` (or of the claim's
    own evaluation set when the table has it, e.g. IN-100 for the open-world claims).

    ``design``: the study design (a :class:`Design` or the configuration mapping; default: the
    synthetic world's defaults). Columns: ``claim`` (id), ``figure`` (where the paper makes
    it), ``statement``, ``paper`` (the paper's numbers), ``evalset``, ``ours`` (our numbers, or
    what is missing) and ``holds`` (pandas nullable boolean: True/False, NA when the needed runs
    are absent or a value is undefined). Duplicate rows of a run (one per study in
    ``runs.parquet``) count once.
    """
    if design is None:
        design = Design()
    elif not isinstance(design, Design):
        design = Design.from_config(design)
    missing = [
        c
        for c in ("run", "evalset", *_FACTORS, "rho_acc", "rho_pred", "top1", "tail_acc")
        if c not in table.columns
    ]
    if missing:
        raise ValueError(
            f"claims: the table lacks column(s) {missing}; pass results/tables/runs.parquet"
        )
    table = table.drop_duplicates(["run", "evalset"])
    present = set(table["evalset"])
    out = []
    for claim in CLAIMS:
        own = claim.evalset(design)
        where = own if own in present else evalset
        rows = table[table["evalset"] == where]
        outcome = claim.test(rows, design) if len(rows) else _absent(f"no runs on {where!r}")
        out.append(
            {
                "claim": claim.id,
                "figure": claim.figure,
                "statement": claim.statement,
                "paper": claim.paper,
                "evalset": where,
                "ours": outcome.ours,
                "holds": outcome.holds,
            }
        )
    df = pd.DataFrame(out, columns=COLUMNS)
    df["holds"] = df["holds"].astype("boolean")
    return df


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def claims_markdown(df: pd.DataFrame) -> str:
    """The claims table as Markdown: a summary line and one table row per claim."""
    tested = df["holds"].notna()
    evalsets = sorted(df["evalset"].unique().tolist()) if "evalset" in df else []
    lines = [
        f"**{int(df.loc[tested, 'holds'].astype(bool).sum())} of {int(tested.sum())} testable "
        f"claims hold** ({len(df) - int(tested.sum())} not testable with these runs"
        + (f"; evaluation set {', '.join(evalsets)}" if evalsets else "")
        + ").",
        "",
        "| Claim | Where | Statement | Paper | Ours | Holds |",
        "|---|---|---|---|---|---|",
    ]
    for row in df.itertuples(index=False):
        verdict = "n/a" if pd.isna(row.holds) else ("yes" if row.holds else "no")
        lines.append(
            "| "
            + " | ".join(
                _cell(v)
                for v in (f"`{row.claim}`", row.figure, row.statement, row.paper, row.ours, verdict)
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def claims_html(df: pd.DataFrame) -> str:
    """The claims table as a self-contained HTML page (shown inline in the workflow report)."""
    import html

    tested = df["holds"].notna()
    held = int(df.loc[tested, "holds"].astype(bool).sum())
    rows = []
    for row in df.itertuples(index=False):
        verdict, colour = (
            ("not tested", "#777")
            if pd.isna(row.holds)
            else (("holds", "#1a7f37") if row.holds else ("does not hold", "#b42318"))
        )
        cells = [row.claim, row.figure, row.statement, row.paper, row.ours]
        rows.append(
            "<tr>"
            + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells)
            + f'<td style="color:{colour};font-weight:600">{verdict}</td></tr>'
        )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>cliptail claims</title>"
        "<style>body{font-family:sans-serif;font-size:14px}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;vertical-align:top;text-align:left}"
        "th{background:#f3f3f3}</style></head><body>"
        f"<p><b>{held} of {int(tested.sum())} testable claims hold</b> "
        f"({len(df) - int(tested.sum())} not testable with these runs).</p>"
        "<table><tr><th>Claim</th><th>Where</th><th>Statement</th><th>Paper</th><th>Ours</th>"
        "<th>Verdict</th></tr>" + "".join(rows) + "</table></body></html>\n"
    )
