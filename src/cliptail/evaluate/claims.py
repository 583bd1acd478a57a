"""The paper's claims that a controlled study can test, with the paper's numbers and ours.

Each claim compares runs that differ in one factor, every other data factor at the study design's
baseline, which is read from the configuration (:class:`Design`: the ``defaults`` factors, plus
the counterparts the claims need: the shifted web source at the curated source's size and the
open-world concept sets). The synthetic world (source ``curated``) and the paper preset (source
``incaps``) are judged by the same functions: only the factor values differ. The functions only
compute: nothing here assumes the paper's direction.

Uncertainty and verdicts: every number a claim compares comes with bootstrap replicates over the
evaluated classes (paired between runs) and over seeds; a claim holds when the 95 % interval of
its compared quantity excludes the opposite direction. :mod:`cliptail.evaluate.verdicts`
explains the method and implements it (replicates, intervals, verdicts, the text of our side);
:mod:`cliptail.evaluate.claims_report` renders the table as Markdown and HTML.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from cliptail import factors
from cliptail.evaluate.metrics import spearman
from cliptail.evaluate.verdicts import (
    NO_INTERVAL,
    PERCENT,
    SHARE,
    Outcome,
    Part,
    Replicates,
    absent,
    combine,
    compare,
    factor_label,
    fmt_diff,
    fmt_est,
    group,
    is_missing,
    judge,
)

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

COLUMNS = [
    "claim",
    "figure",
    "statement",
    "paper",
    "evalset",
    "ours",
    "interval",
    "seeds",
    "verdict",
    "holds",
]
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
class Claim:
    id: str
    figure: str
    statement: str
    paper: str
    test: Callable[[pd.DataFrame, Design, Replicates], Outcome]
    #: Evaluation set of this claim for a design (None = the table's main one).
    evalset: Callable[[Design], str | None] = field(default=lambda design: None)


# --- selection helpers ------------------------------------------------------------------------


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
    if not is_missing(vocab) and str(vocab) != "full":
        name += f" K={vocab}" + ("" if is_missing(weight) or weight == "linear" else f" {weight}")
    return name


def _classes(rows: pd.DataFrame) -> int:
    """Number of training classes of ``rows`` (the ``num_classes`` column), 0 when unknown."""
    if "num_classes" not in rows or rows.empty:
        return 0
    values = rows["num_classes"].dropna()
    return int(values.max()) if len(values) else 0


# --- claim tests ------------------------------------------------------------------------------


def _sl_vs_clip(metric: str, other_sources: bool = False) -> Callable:
    """SL vs CLIP default runs on the design's source, or (``other_sources``) on every other
    source that has both (the world's web pool; LAIONet, YFCC-15M-Cls, CC-12M-Cls)."""

    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        if other_sources:
            sources = sorted(set(t["source"].dropna()) - {design.source})
        else:
            sources = [design.source]
        parts = []
        for source in sources:
            base = {**design.baseline, "source": source}
            clip, sl = _select(t, **base, **CLIP_DEFAULT), _select(t, **base, **SL_DEFAULT)
            if clip.empty or sl.empty:
                continue
            label = f"{source}: " if other_sources else ""
            parts.append(compare(sl, clip, ("SL", "CLIP"), metric, +1, boot, prefix=label))
        if not parts:
            where = "another source" if other_sources else f"the {design.source} source"
            return absent(f"needs the default CLIP and SL runs on {where}")
        return combine(parts)

    return test


def _spearman_replicates(rank: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Spearman rho of ``rank`` [k] with each column of ``values`` [k, B]; a column with a NaN
    uses its finite entries (:func:`spearman`)."""
    out = np.full(values.shape[1], np.nan)
    whole = np.isfinite(values).all(axis=0)
    if whole.any():
        rx = rankdata(rank)
        ry = rankdata(values[:, whole], axis=0)
        dx = rx - rx.mean()
        dy = ry - ry.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            rho = (dx @ dy) / np.sqrt((dx @ dx) * (dy * dy).sum(axis=0))
        out[whole] = np.clip(np.where((dy * dy).sum(axis=0) > 0, rho, np.nan), -1.0, 1.0)
    for b in np.flatnonzero(~whole):
        out[b] = spearman(rank, values[:, b])
    return out


def _descriptiveness(metric: str, sign: int) -> Callable:
    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        rows = _select(t, **design.without("caption"), **CLIP_DEFAULT)
        rows = rows[rows["caption"].isin(CAPTION_ORDER)]
        groups = {c: group(g, metric, boot) for c, g in rows.groupby("caption")}
        groups = {c: e for c, e in groups.items() if np.isfinite(e.point)}
        if len(groups) < 3:
            return absent("needs at least 3 caption types with a value (rand text tower)")
        order = sorted(groups, key=CAPTION_ORDER.index)
        rank = np.array([CAPTION_ORDER.index(c) for c in order], dtype=np.float64)
        rho = spearman(rank, [groups[c].point for c in order])
        seeds = min(e.seeds for e in groups.values())
        notes = [e.note for e in groups.values() if e.note]
        reps = (
            None
            if any(groups[c].reps is None for c in order)
            else _spearman_replicates(rank, np.stack([groups[c].reps for c in order]))
        )
        verdict, lo, hi = judge(rho, reps, sign)
        name = f"Spearman(descriptiveness, {metric})"
        if np.isfinite(lo) and np.isfinite(hi):
            ours = f"{name} = {rho:.2f} [{lo:.2f}, {hi:.2f}] over {len(order)} caption types"
        else:
            ours = f"{name} = {rho:.2f} over {len(order)} caption types"
        interval = f"{name} {fmt_diff(rho, lo, hi, 'rho', notes[0] if notes else None)}"
        return combine([Part(ours, interval, verdict, seeds)])

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
    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        full, sub = _vocabulary_runs(t, design)
        if full.empty or sub.empty:
            return absent("needs SL runs (rand head) with the full and a subsampled vocabulary")
        k = min(int(v) for v in sub["vocab_size"])
        smallest = sub[sub["vocab_size"].isin([str(k)])]
        return combine([compare(smallest, full, (f"K={k}", "full"), metric, -1, boot)])

    return test


def _best_vocabulary(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
    """The subsampled vocabulary size with the best top-1 lies at 5-20 % of the classes
    (K = 50-200 of ImageNet's 1000; the paper: about 100). With replicates: the share of
    replicates whose best K lies in the band (holds at >= :data:`SHARE`, does not hold at
    <= 1 - :data:`SHARE`)."""
    _, sub = _vocabulary_runs(t, design)
    sizes = sorted({int(v) for v in sub["vocab_size"]})
    if len(sizes) < 2:
        return absent("needs SL runs (rand head, linear weights) at two or more vocabulary sizes")
    est = {k: group(sub[sub["vocab_size"].isin([str(k)])], "top1", boot) for k in sizes}
    seeds = min(e.seeds for e in est.values())
    listed = ", ".join(f"K={k} {fmt_est(e, 'top1')}" for k, e in est.items())
    classes = _classes(sub)
    if not all(np.isfinite(e.point) for e in est.values()) or not classes:
        return Outcome(f"{listed} (undefined value)", "not tested", "", seeds)
    best = max(sizes, key=lambda k: (est[k].point, -k))
    ours = f"{listed}; best K={best} = {100 * best / classes:.0f}% of {classes} classes"
    in_band = np.array([0.05 <= k / classes <= 0.2 for k in sizes])
    if any(e.reps is None for e in est.values()):
        note = next(e.note for e in est.values() if e.reps is None)
        return Outcome(ours, "inconclusive", f"best K in 5-20 % of the classes ({note})", seeds)
    values = np.stack([est[k].reps for k in sizes])  # [K sizes, B], sizes ascending
    valid = np.isfinite(values).any(axis=0)
    winners = np.argmax(np.where(np.isfinite(values), values, -np.inf), axis=0)[valid]
    if not winners.size:
        return Outcome(ours, "inconclusive", f"best K in 5-20 % of the classes ({NO_INTERVAL})")
    share = float(in_band[winners].mean())
    counts = np.bincount(winners, minlength=len(sizes)) / winners.size
    spread = ", ".join(f"K={k} {100 * c:.0f}%" for k, c in zip(sizes, counts, strict=True) if c)
    interval = (
        f"best K in 5-20 % of the classes in {100 * share:.0f}% of replicates (best K: {spread})"
    )
    if share >= SHARE:
        verdict = "holds"
    elif share <= 1.0 - SHARE:
        verdict = "does not hold"
    else:
        verdict = "inconclusive"
    return Outcome(ours, verdict, interval, seeds)


def _per_family(
    rows: pd.DataFrame,
    factor: str,
    lo: Any,
    hi: Any,
    metric: str,
    sign: int,
    boot: Replicates,
    label: Callable[[Mapping[str, Any]], str] | None = None,
) -> Outcome | None:
    """Compare ``metric`` at ``factor = lo`` and ``hi`` within each model family of ``rows``.

    ``lo``/``hi`` None take the smallest/largest value present in the family. The claim says
    ``sign * (value(hi) - value(lo)) > 0`` for every family that has runs at both; None when no
    family has. ``label``: the family of a row (default :func:`_family`).
    """
    parts = []
    names = [(label or _family)(r) for r in rows.to_dict("records")]
    for name, family in rows.groupby(pd.Series(names, index=rows.index), sort=True):
        values = sorted(family[factor].dropna().unique().tolist())
        low = (values[0] if values else None) if lo is None else lo
        high = (values[-1] if values else None) if hi is None else hi
        at_low, at_high = _select(family, **{factor: low}), _select(family, **{factor: high})
        if low is None or high is None or low == high or at_low.empty or at_high.empty:
            continue
        names_ = (f"{factor}={factor_label(high)}", f"{factor}={factor_label(low)}")
        parts.append(
            compare(at_high, at_low, names_, metric, sign, boot, prefix=f"{name}: ", arrow=True)
        )
    return combine(parts) if parts else None


def _scale(metric: str, sign: int) -> Callable:
    """Smallest vs largest scale per (source, CLIP family): the world scales its curated pool,
    the paper LAIONet."""

    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        rows = _select(t, **design.without("scale", "source"), method="clip")
        out = _per_family(
            rows,
            "scale",
            None,
            None,
            metric,
            sign,
            boot,
            label=lambda r: f"{r['source']} {_family(r)}",
        )
        return out or absent("needs CLIP runs at two or more scales")

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

    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        low, high = lo(design), hi(design)
        if low is None or high is None:
            return absent(f"no {factor} counterpart defined for source {design.source!r}")
        rows = _select(t, **design.without(factor))
        if method is not None:
            rows = rows[rows["method"].isin([method])]
        out = _per_family(rows, factor, low, high, metric, sign, boot)
        return out or absent(f"needs runs with {factor} = {low} and {high}")

    return test


def _open_world(metric: str) -> Callable:
    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        pair = design.open_world_classes
        if pair is None:
            return absent(f"no open-world concept sets defined for source {design.source!r}")
        contrast = _contrast("classes", lambda d: pair[0], lambda d: pair[1], metric, -1)
        return contrast(t, design, boot)

    return test


_SETTING = ("source", "caption", "scale", "classes", "trim_k", "trim_ceil")


def _settings(
    t: pd.DataFrame, towers: Sequence[str], design: Design
) -> list[tuple[str, dict[str, pd.DataFrame]]] | Outcome:
    """CLIP runs per setting (data factors) in which every text tower of ``towers`` was
    trained: ``(label, tower -> rows)`` per setting, or an :class:`Outcome` when none."""
    clip = t[t["method"].isin(["clip"]) & t["text_tower"].isin(list(towers))]
    out = []
    for key, rows in clip.groupby(list(_SETTING), dropna=False, sort=True):
        by_tower = {w: rows[rows["text_tower"].isin([w])] for w in towers}
        if all(len(r) for r in by_tower.values()):
            out.append((_setting_label(dict(zip(_SETTING, key, strict=True)), design), by_tower))
    if not out:
        return absent(
            f"needs CLIP runs with {', '.join(towers[:-1])} and {towers[-1]} text towers on "
            "the same data"
        )
    return out


def _setting_label(setting: Mapping[str, Any], design: Design) -> str:
    """A setting named by its source and scale, plus the data factors off the baseline."""
    parts = [str(setting["source"]), f"scale {factor_label(float(setting['scale']))}"]
    for name in ("caption", "classes"):
        if setting[name] != design.baseline[name]:
            parts.append(f"{name} {setting[name]}")
    if not is_missing(setting["trim_k"]) and int(setting["trim_k"]) > 0:
        parts.append(f"k={setting['trim_k']} {setting['trim_ceil']}-shot")
    return " ".join(parts)


def _tower_vs(tower: str, reference: str, metric: str, sign: int) -> Callable:
    """CLIP with text tower ``tower`` vs ``reference`` in every setting where both were trained:
    the claim says ``sign * (tower - reference) > 0`` in all of them."""

    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        settings = _settings(t, (tower, reference), design)
        if isinstance(settings, Outcome):
            return settings
        parts = [
            compare(rows[tower], rows[reference], (tower, reference), metric, sign, boot, f"{s}: ")
            for s, rows in settings
        ]
        diff = np.array(
            [_mean(rows[tower], metric) - _mean(rows[reference], metric) for _, rows in settings]
        )
        n = len(settings)
        if not np.isfinite(diff).all():
            return combine(parts, f"{n} matched settings")
        better = int((sign * diff > 0).sum())
        unit, scale = (" points", 100.0) if metric in PERCENT else ("", 1.0)
        held = sum(p.verdict == "holds" for p in parts)
        ours = (
            f"{tower} {'higher' if sign > 0 else 'lower'} than {reference} in {better} of "
            f"{n} matched settings (mean difference {scale * diff.mean():+.2f}{unit}; "
            f"holds at 95 % in {held} of {n})"
        )
        return combine(parts, ours)

    return test


def _init_like_scratch(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
    """CLIP-init's top-1 is closer to the scratch tower's than the frozen tower's is, in every
    setting where all three were trained ("about as good as scratch"): per setting the interval
    of ``|gap_frozen| - |gap_init|`` (gaps to scratch) must lie above 0."""
    settings = _settings(t, ("rand", "frozen", "clip_init"), design)
    if isinstance(settings, Outcome):
        return settings
    parts, gaps_init, gaps_frozen = [], [], []
    for label, rows in settings:
        est = {w: group(r, "top1", boot) for w, r in rows.items()}
        gap_init = est["clip_init"].point - est["rand"].point
        gap_frozen = est["frozen"].point - est["rand"].point
        gaps_init.append(gap_init)
        gaps_frozen.append(gap_frozen)
        point = abs(gap_frozen) - abs(gap_init)
        reps = (
            None
            if any(e.reps is None for e in est.values())
            else np.abs(est["frozen"].reps - est["rand"].reps)
            - np.abs(est["clip_init"].reps - est["rand"].reps)
        )
        verdict, lo, hi = judge(point, reps, +1)
        note = next((e.note for e in est.values() if e.note), None)
        interval = (
            f"{label}: |frozen - rand| - |clip_init - rand| top1 "
            f"{fmt_diff(point, lo, hi, 'top1', note)}"
        )
        parts.append(Part("", interval, verdict, min(e.seeds for e in est.values())))
    ours = (
        f"top-1 vs scratch: CLIP-init {100 * np.mean(gaps_init):+.2f} points, frozen "
        f"{100 * np.mean(gaps_frozen):+.2f} points (mean over {len(settings)} settings)"
    )
    return combine(parts, ours)


def _thresholds(metric: str, sign: int) -> Callable:
    """Lowest vs highest LAIONet caption-definition threshold (less diverse classes), per CLIP
    family."""

    def test(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
        rows = _select(t, **design.without("source"), method="clip")
        rows = rows[rows["source"].isin(THRESHOLD_SOURCES)]
        rows = rows.assign(threshold=[float(s.rsplit("_t", 1)[1]) for s in rows["source"]])
        out = _per_family(rows, "threshold", None, None, metric, sign, boot)
        return out or absent("needs CLIP runs on two or more LAIONet thresholds (laionet_t<t>)")

    return test


def _tail_comparison(
    first: pd.DataFrame,
    second: pd.DataFrame,
    names: tuple[str, str],
    boot: Replicates,
    prefix: str = "",
) -> list[Part]:
    """Tail accuracy of ``first`` vs ``second`` at every trimmed (k, shots) both have: one
    comparison (the claim: first > second) per setting."""
    settings = sorted(
        set(zip(first["trim_k"], first["trim_ceil"], strict=True))
        & set(zip(second["trim_k"], second["trim_ceil"], strict=True))
    )
    return [
        compare(
            _select(first, trim_k=k, trim_ceil=ceil),
            _select(second, trim_k=k, trim_ceil=ceil),
            names,
            "tail_acc",
            +1,
            boot,
            prefix=f"{prefix}k={k} {ceil}-shot: ",
        )
        for k, ceil in settings
    ]


def _trim_tail(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
    """CLIP vs SL tail accuracy at each (k, shots) with matching tower/head kind."""
    trimmed = t[t["trim_k"] > 0]
    parts = []
    for kind in ("rand", "frozen"):
        clip = trimmed[trimmed["method"].isin(["clip"]) & trimmed["text_tower"].isin([kind])]
        sl = trimmed[
            trimmed["method"].isin(["sl"])
            & trimmed["head"].isin([kind])
            & trimmed["vocab_size"].isin(["full"])
        ]
        parts += _tail_comparison(clip, sl, ("CLIP", "SL"), boot, prefix=f"{kind}, ")
    if not parts:
        return absent("needs trimmed CLIP and SL runs (same k, shots and tower/head kind)")
    return combine(parts)


def _subvocabulary_tail(t: pd.DataFrame, design: Design, boot: Replicates) -> Outcome:
    """SL with a frozen head: a subsampled vocabulary keeps a higher tail accuracy than the full
    softmax at each trimmed (k, shots)."""
    trimmed = t[(t["trim_k"] > 0) & t["method"].isin(["sl"]) & t["head"].isin(["frozen"])]
    full = trimmed[trimmed["vocab_size"].isin(["full"])]
    sub = trimmed[~trimmed["vocab_size"].isin(["full"]) & trimmed["vocab_size"].notna()]
    parts = _tail_comparison(sub, full, ("subsampled", "full"), boot)
    if not parts:
        return absent("needs trimmed SL frozen-head runs with the full and a subsampled vocabulary")
    return combine(parts)


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


def _replicates(
    replicates: Replicates | Mapping[tuple[str, str], pd.DataFrame] | None,
) -> Replicates:
    return replicates if isinstance(replicates, Replicates) else Replicates(replicates)


def claims(
    table: pd.DataFrame,
    evalset: str,
    design: Design | Mapping[str, Any] | None = None,
    replicates: Replicates | Mapping[tuple[str, str], pd.DataFrame] | None = None,
) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS` tested on the rows of ``evalset`` (or of the claim's
    own evaluation set when the table has it, e.g. IN-100 for the open-world claims).

    ``design``: the study design (a :class:`Design` or the configuration mapping; default: the
    synthetic world's defaults). ``replicates``: (run, evalset) -> the run's class-bootstrap
    replicates (the ``.bootstrap.parquet`` tables; see :class:`Replicates`); a run without them
    makes every comparison it enters inconclusive ("no interval"). Columns: ``claim`` (id),
    ``figure`` (where the paper makes it), ``statement``, ``paper`` (the paper's numbers),
    ``evalset``, ``ours`` (our numbers with their 95 % intervals, or what is missing),
    ``interval`` (the compared quantity with its 95 % interval), ``seeds`` (the fewest seeds
    among the compared groups; nullable integer), ``verdict`` (one of
    :data:`cliptail.evaluate.verdicts.VERDICTS`) and ``holds`` (pandas nullable boolean: True
    for "holds", False for "does not hold", NA otherwise). Duplicate rows of a run (one per study in ``runs.parquet``) count once.
    """
    if design is None:
        design = Design()
    elif not isinstance(design, Design):
        design = Design.from_config(design)
    boot = _replicates(replicates)
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
        outcome = claim.test(rows, design, boot) if len(rows) else absent(f"no runs on {where!r}")
        out.append(
            {
                "claim": claim.id,
                "figure": claim.figure,
                "statement": claim.statement,
                "paper": claim.paper,
                "evalset": where,
                "ours": outcome.ours,
                "interval": outcome.interval,
                "seeds": outcome.seeds if outcome.verdict != "not tested" else None,
                "verdict": outcome.verdict,
                "holds": outcome.holds,
            }
        )
    df = pd.DataFrame(out, columns=COLUMNS)
    df["seeds"] = df["seeds"].astype("Int64")
    df["holds"] = df["holds"].astype("boolean")
    return df
