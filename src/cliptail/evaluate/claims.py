"""The paper's claims that a controlled study can test, with the paper's numbers and ours.

Each claim compares runs that differ in one factor with every other data factor at the default
of the study design (:data:`BASELINE`: curated source, full captions, full scale, evaluation
concepts only, nothing trimmed). Runs with several seeds enter as their mean. A claim *holds*
when our numbers go in the direction the paper states; it is NA when the runs it needs are
absent or a needed value is undefined (NaN). The functions only compute: nothing here assumes
the paper's direction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cliptail import factors
from cliptail.evaluate.metrics import spearman

#: Data factors of the study design's default run (config ``defaults``).
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
    test: Callable[[pd.DataFrame], Outcome]


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


def _sl_vs_clip(metric: str, source: str) -> Callable[[pd.DataFrame], Outcome]:
    def test(t: pd.DataFrame) -> Outcome:
        base = {**BASELINE, "source": source}
        clip, sl = _select(t, **base, **CLIP_DEFAULT), _select(t, **base, **SL_DEFAULT)
        if clip.empty or sl.empty:
            return _absent(f"needs the default CLIP and SL runs on the {source} source")
        a, b = _mean(sl, metric), _mean(clip, metric)
        ours = f"SL {_fmt(a, metric)} vs CLIP {_fmt(b, metric)}"
        return _undefined(ours) if not np.isfinite(a + b) else Outcome(ours, bool(a > b))

    return test


def _descriptiveness(metric: str, sign: int) -> Callable[[pd.DataFrame], Outcome]:
    def test(t: pd.DataFrame) -> Outcome:
        rows = _select(t, **{k: v for k, v in BASELINE.items() if k != "caption"}, **CLIP_DEFAULT)
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


def _vocabulary(metric: str) -> Callable[[pd.DataFrame], Outcome]:
    def test(t: pd.DataFrame) -> Outcome:
        rows = _select(t, **BASELINE, method="sl", head="rand")
        full = rows[rows["vocab_size"].isin(["full"])]
        sub = rows[~rows["vocab_size"].isin(["full"]) & rows["vocab_weight"].isin(["linear"])]
        if full.empty or sub.empty:
            return _absent("needs SL runs (rand head) with the full and a subsampled vocabulary")
        k = min(int(v) for v in sub["vocab_size"])
        a, b = _mean(sub[sub["vocab_size"].isin([str(k)])], metric), _mean(full, metric)
        ours = f"K={k} {_fmt(a, metric)} vs full {_fmt(b, metric)}"
        return _undefined(ours) if not np.isfinite(a + b) else Outcome(ours, bool(a < b))

    return test


def _verdict(parts: list[str], verdicts: list[bool | None]) -> Outcome:
    """All comparisons must hold; any undefined comparison makes the claim untestable."""
    ours = "; ".join(parts)
    if any(v is None for v in verdicts):
        return _undefined(ours)
    return Outcome(ours, all(verdicts))


def _per_family(
    rows: pd.DataFrame, factor: str, lo: Any, hi: Any, metric: str, sign: int
) -> Outcome | None:
    """Compare ``metric`` at ``factor = lo`` and ``hi`` within each model family of ``rows``.

    ``lo``/``hi`` None take the smallest/largest value present in the family. Holds when
    ``sign * (value(hi) - value(lo)) > 0`` for every family that has runs at both; None when no
    family has.
    """
    parts, verdicts = [], []
    names = [_family(r) for r in rows.to_dict("records")]
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


def _scale(metric: str, sign: int) -> Callable[[pd.DataFrame], Outcome]:
    def test(t: pd.DataFrame) -> Outcome:
        fixed = {k: v for k, v in BASELINE.items() if k != "scale"}
        out = _per_family(_select(t, **fixed, method="clip"), "scale", None, None, metric, sign)
        return out or _absent("needs CLIP runs at two or more scales")

    return test


def _contrast(
    factor: str, lo: Any, hi: Any, metric: str, sign: int, method: str | None = None
) -> Callable[[pd.DataFrame], Outcome]:
    def test(t: pd.DataFrame) -> Outcome:
        rows = _select(t, **{k: v for k, v in BASELINE.items() if k != factor})
        if method is not None:
            rows = rows[rows["method"].isin([method])]
        out = _per_family(rows, factor, lo, hi, metric, sign)
        return out or _absent(f"needs runs with {factor} = {lo} and {hi}")

    return test


def _frozen_vs_rand(metric: str, sign: int) -> Callable[[pd.DataFrame], Outcome]:
    """CLIP frozen vs rand text tower in every setting (data factors) where both were trained."""

    def test(t: pd.DataFrame) -> Outcome:
        clip = t[t["method"].isin(["clip"]) & t["text_tower"].isin(["rand", "frozen"])]
        keys = ["source", "caption", "scale", "classes", "trim_k", "trim_ceil"]
        grouped = clip.groupby([*keys, "text_tower"], dropna=False)[metric]
        counts = grouped.size().unstack("text_tower", fill_value=0)
        if not {"rand", "frozen"} <= set(counts.columns):
            return _absent("needs CLIP runs with rand and frozen text towers on the same data")
        both = (counts["rand"] > 0) & (counts["frozen"] > 0)
        if not both.any():
            return _absent("needs CLIP runs with rand and frozen text towers on the same data")
        means = grouped.mean().unstack("text_tower").loc[both[both].index, ["rand", "frozen"]]
        n_pairs = len(means)
        if means.isna().to_numpy().any():
            return _undefined(f"{n_pairs} matched settings")
        diff = (means["frozen"] - means["rand"]).to_numpy(dtype=np.float64)
        better = int((sign * diff > 0).sum())
        unit, factor = (" points", 100.0) if metric == "top1" else ("", 1.0)
        ours = (
            f"frozen {'higher' if sign > 0 else 'lower'} in {better} of {n_pairs} matched "
            f"settings (mean difference {factor * diff.mean():+.2f}{unit})"
        )
        return Outcome(ours, better == n_pairs)

    return test


def _trim_tail(t: pd.DataFrame) -> Outcome:
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
        settings = sorted(
            set(zip(clip["trim_k"], clip["trim_ceil"], strict=True))
            & set(zip(sl["trim_k"], sl["trim_ceil"], strict=True))
        )
        for k, ceil in settings:
            a = _mean(_select(clip, trim_k=k, trim_ceil=ceil), "tail_acc")
            b = _mean(_select(sl, trim_k=k, trim_ceil=ceil), "tail_acc")
            parts.append(
                f"{kind}, k={k} {ceil}-shot: CLIP {_fmt(a, 'tail_acc')} vs SL {_fmt(b, 'tail_acc')}"
            )
            verdicts.append(bool(a > b) if np.isfinite(a + b) else None)
    if not parts:
        return _absent("needs trimmed CLIP and SL runs (same k, shots and tower/head kind)")
    return _verdict(parts, verdicts)


CLAIMS: tuple[Claim, ...] = (
    Claim(
        "sl_vs_clip_rho_pred",
        "Fig. 1b, Sec. 7",
        "SL's prediction counts follow training frequency more than CLIP's on the same data: "
        "rho(f, #pred) of SL > CLIP.",
        "IN-Caps 0.57 vs 0.08; LAIONet 0.76 vs 0.32; YFCC-15M 0.82 vs 0.14",
        _sl_vs_clip("rho_pred", "curated"),
    ),
    Claim(
        "sl_vs_clip_rho_acc",
        "Fig. 1b, Sec. 7",
        "SL's per-class accuracy follows training frequency more than CLIP's on the same data: "
        "rho(f, acc) of SL > CLIP.",
        "IN-Caps 0.52 vs 0.28; LAIONet 0.63 vs 0.52; YFCC-15M 0.64 vs 0.41",
        _sl_vs_clip("rho_acc", "curated"),
    ),
    Claim(
        "sl_vs_clip_web",
        "Fig. 1b, Sec. 7",
        "On the web (shifted) source too, rho(f, #pred) of SL > CLIP.",
        "LAIONet 0.76 vs 0.32",
        _sl_vs_clip("rho_pred", "web"),
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
        "falls with K (full 0.57 on IN-Caps; best K ~ 100)",
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
        "frozen_text_raises_top1",
        "Fig. 5, Fig. 19, Sec. 7",
        "A frozen pre-trained text tower gives CLIP higher top-1 than a randomly initialised one, "
        "in every setting where both were trained.",
        "better accuracy at every scale (Fig. 5)",
        _frozen_vs_rand("top1", +1),
    ),
    Claim(
        "frozen_text_lowers_rho",
        "Fig. 5, Fig. 19, Sec. 7",
        "A frozen pre-trained text tower gives CLIP lower rho(f, acc) than a randomly initialised "
        "one, in every setting where both were trained.",
        "lower rho(f, acc) at every scale (Fig. 5)",
        _frozen_vs_rand("rho_acc", -1),
    ),
    Claim(
        "open_world_lowers_rho_acc",
        "Fig. 6, Sec. 3.6",
        "Open-world concepts at equal data size lower rho(f, acc) on the evaluation concepts "
        "(eval-only vs all concepts, size-matched), for every model trained on both.",
        "lower on IN-100 with IN-Caps (10%) than with IN-Caps-100 (Fig. 6a)",
        _contrast("classes", "eval", "all_matched", "rho_acc", -1),
    ),
    Claim(
        "open_world_lowers_rho_pred",
        "Fig. 6, Sec. 3.6",
        "Open-world concepts at equal data size lower rho(f, #pred) on the evaluation concepts.",
        "lower on IN-100 with IN-Caps (10%) than with IN-Caps-100 (Fig. 6a)",
        _contrast("classes", "eval", "all_matched", "rho_pred", -1),
    ),
    Claim(
        "web_raises_rho",
        "Fig. 4, Sec. 3.4",
        "At equal size, CLIP trained on the shifted web source is more biased than on the "
        "curated source: rho(f, acc) web > curated.",
        "CLIP LAIONet 0.52 vs IN-Caps 0.28",
        _contrast("source", "curated", "web", "rho_acc", +1, method="clip"),
    ),
    Claim(
        "trim_clip_keeps_tail",
        "Fig. 8, Sec. 4.1",
        "With the rarest classes trimmed to 1 or 0 images, CLIP keeps a higher tail accuracy "
        "than SL (same tower/head kind, same k and shots).",
        "CLIP's tail accuracy stays well above SL's at 0 and 1 shots (Fig. 8)",
        _trim_tail,
    ),
)


def claims(table: pd.DataFrame, evalset: str) -> pd.DataFrame:
    """One row per claim of :data:`CLAIMS` tested on the rows of ``evalset``.

    Columns: ``claim`` (id), ``figure`` (where the paper makes it), ``statement``, ``paper``
    (the paper's numbers), ``evalset``, ``ours`` (our numbers, or what is missing) and ``holds``
    (pandas nullable boolean: True/False, NA when the needed runs are absent or a value is
    undefined). Duplicate rows of a run (one per study in ``runs.parquet``) count once.
    """
    missing = [
        c
        for c in ("run", "evalset", *_FACTORS, "rho_acc", "rho_pred", "top1", "tail_acc")
        if c not in table.columns
    ]
    if missing:
        raise ValueError(
            f"claims: the table lacks column(s) {missing}; pass results/tables/runs.parquet"
        )
    rows = table[table["evalset"] == evalset].drop_duplicates(["run", "evalset"])
    out = []
    for claim in CLAIMS:
        outcome = claim.test(rows) if len(rows) else _absent(f"no runs evaluated on {evalset!r}")
        out.append(
            {
                "claim": claim.id,
                "figure": claim.figure,
                "statement": claim.statement,
                "paper": claim.paper,
                "evalset": evalset,
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
