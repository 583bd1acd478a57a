"""Claims table: known-answer study tables where each claim holds, fails or cannot be tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliptail.evaluate.claims import CAPTION_ORDER, CLAIMS, claims, claims_markdown
from tests.fixtures.study_rows import study_row


def row(run: str, evalset: str = "val", study: str = "s", **kw) -> dict:
    """A study-table row at the default factors (exact schema; only the claims' columns vary)."""
    return study_row(study, run, evalset, **kw)


def study() -> pd.DataFrame:
    """A mini study in which every claim of the paper holds."""
    rows = [
        # default runs; SL more biased than CLIP
        row("clip_default", study="descriptiveness", rho_acc=0.25, rho_pred=0.08, top1=0.45),
        row("sl_default", method="sl", study="vocabulary", rho_acc=0.5, rho_pred=0.6),
        # web source: both more biased, SL still more than CLIP
        row("clip_web", source="web", rho_acc=0.4, rho_pred=0.3),
        row("sl_web", method="sl", source="web", rho_acc=0.6, rho_pred=0.75),
        # SL vocabulary
        row(
            "sl_k128",
            method="sl",
            vocab_size="128",
            vocab_weight="linear",
            rho_acc=0.45,
            rho_pred=0.5,
        ),
        row(
            "sl_k64",
            method="sl",
            vocab_size="64",
            vocab_weight="linear",
            rho_acc=0.4,
            rho_pred=0.35,
        ),
        row(
            "sl_k32_sqrt",
            method="sl",
            vocab_size="32",
            vocab_weight="sqrt",
            rho_acc=0.9,
            rho_pred=0.9,
        ),  # another weight: not the claim's comparison
        # scale x text tower; frozen better everywhere
        row("clip_s0.5", scale=0.5, rho_acc=0.32, top1=0.35),
        row("clip_s0.25", scale=0.25, rho_acc=0.35, top1=0.25),
        row("clipf_s1", text_tower="frozen", rho_acc=0.2, top1=0.55),
        row("clipf_s0.5", text_tower="frozen", scale=0.5, rho_acc=0.22, top1=0.45),
        row("clipf_s0.25", text_tower="frozen", scale=0.25, rho_acc=0.3, top1=0.3),
        # open-world concepts (frozen text)
        row(
            "clipf_matched", text_tower="frozen", classes="all_matched", rho_acc=0.15, rho_pred=0.05
        ),
        row("clipf_all", text_tower="frozen", classes="all", rho_acc=0.1, rho_pred=0.04),
        # trimmed tail
        row("clip_k40c0", trim_k=40, trim_ceil=0, tail_acc=0.2, head_acc=0.5),
        row("sl_k40c0", method="sl", trim_k=40, trim_ceil=0, tail_acc=0.0, head_acc=0.55),
        row("clip_k40c1", trim_k=40, trim_ceil=1, tail_acc=0.3, head_acc=0.5),
        row("sl_k40c1", method="sl", trim_k=40, trim_ceil=1, tail_acc=0.1, head_acc=0.55),
    ]
    # caption types: rho falls and top-1 rises with descriptiveness (rand text)
    for i, caption in enumerate(CAPTION_ORDER[:-1]):
        rows.append(
            row(f"clip_{caption}", caption=caption, rho_acc=0.5 - 0.02 * i, top1=0.2 + 0.02 * i)
        )
    df = pd.DataFrame(rows)
    for column in ("vocab_size", "vocab_weight", "text_tower", "head"):
        df[column] = df[column].astype("string")
    return df


def verdicts(df: pd.DataFrame) -> dict:
    return {c: (None if pd.isna(h) else bool(h)) for c, h in zip(df.claim, df.holds, strict=True)}


def test_every_claim_holds_on_a_study_built_to_agree():
    df = claims(study(), "val")
    assert list(df.columns) == ["claim", "figure", "statement", "paper", "evalset", "ours", "holds"]
    assert len(df) == len(CLAIMS) and df.holds.dtype == "boolean"
    assert verdicts(df) == {c.id: True for c in CLAIMS}
    ours = dict(zip(df.claim, df.ours, strict=True))
    assert ours["sl_vs_clip_rho_pred"] == "SL 0.60 vs CLIP 0.08"
    assert ours["sl_vs_clip_web"] == "SL 0.75 vs CLIP 0.30"
    assert ours["vocabulary_lowers_rho_pred"] == "K=64 0.35 vs full 0.60"
    assert (
        ours["descriptive_lowers_rho"]
        == "Spearman(descriptiveness, rho_acc) = -1.00 over 9 caption types"
    )
    assert (
        ours["scale_raises_top1"]
        == "CLIP frozen text: 30.0% -> 55.0%; CLIP rand text: 25.0% -> 45.0%"
    )
    assert (
        ours["frozen_text_raises_top1"]
        == "frozen higher in 3 of 3 matched settings (mean difference +8.33 points)"
    )
    assert ours["open_world_lowers_rho_acc"] == "CLIP frozen text: 0.20 -> 0.15"
    assert (
        ours["trim_clip_keeps_tail"]
        == "rand, k=40 0-shot: CLIP 20.0% vs SL 0.0%; rand, k=40 1-shot: CLIP 30.0% vs SL 10.0%"
    )
    assert "IN-Caps 0.57 vs 0.08" in df.set_index("claim").paper["sl_vs_clip_rho_pred"]


def test_claims_fail_when_the_numbers_go_the_other_way():
    t = study()
    t.loc[t.run == "sl_default", "rho_pred"] = 0.01  # SL below CLIP
    t.loc[t.run == "clipf_s0.5", "top1"] = 0.30  # frozen worse at one scale
    t.loc[t.run == "clip_class_templates", "top1"] = 0.9  # breaks the monotone trend?
    t.loc[t.run == "sl_k40c1", "tail_acc"] = 0.5  # SL beats CLIP at 1 shot
    v = verdicts(claims(t, "val"))
    assert v["sl_vs_clip_rho_pred"] is False
    assert v["vocabulary_lowers_rho_pred"] is False  # 0.35 vs full 0.01
    assert v["frozen_text_raises_top1"] is False
    assert v["trim_clip_keeps_tail"] is False
    assert v["sl_vs_clip_rho_acc"] is True  # untouched
    # Spearman of rank with top-1 is still positive (8 of 9 increasing): the claim still holds
    assert v["descriptive_raises_top1"] is True
    t.loc[
        t.caption.isin(CAPTION_ORDER)
        & (t.method == "clip")
        & (t.scale == 1.0)
        & (t.text_tower == "rand")
        & (t.trim_k == 0)
        & (t.source == "curated")
        & (t.classes == "eval"),
        "top1",
    ] = np.linspace(0.6, 0.2, 9)
    assert verdicts(claims(t, "val"))["descriptive_raises_top1"] is False


def test_missing_runs_and_undefined_values_give_na():
    t = study()
    no_sl = claims(t[t.method == "clip"], "val")
    v = verdicts(no_sl)
    for claim in (
        "sl_vs_clip_rho_pred",
        "sl_vs_clip_web",
        "vocabulary_lowers_rho_pred",
        "trim_clip_keeps_tail",
    ):
        assert v[claim] is None
        assert no_sl.set_index("claim").ours[claim].startswith("not tested: needs")
    assert v["scale_raises_top1"] is True

    t.loc[t.run == "clip_default", "rho_pred"] = np.nan
    out = claims(t, "val").set_index("claim")
    assert pd.isna(out.holds["sl_vs_clip_rho_pred"])
    assert out.ours["sl_vs_clip_rho_pred"] == "SL 0.60 vs CLIP NaN (undefined value)"
    assert bool(out.holds["sl_vs_clip_rho_acc"])

    only_one_scale = t[~t.run.isin(["clip_s0.5", "clip_s0.25", "clipf_s0.5", "clipf_s0.25"])]
    v = verdicts(claims(only_one_scale, "val"))
    assert v["scale_raises_top1"] is None and v["frozen_text_raises_top1"] is True


def test_other_evalset_seeds_and_duplicate_study_rows():
    t = study()
    v2 = t.assign(evalset="v2", rho_pred=1.0 - t.rho_pred)  # SL below CLIP on v2
    dup = t[t.run == "clip_default"].assign(study="scale")  # same run, second study
    seed1 = t[t.run == "sl_default"].assign(run="sl_default_seed1", seed=1, rho_pred=0.0)
    table = pd.concat([t, v2, dup, seed1], ignore_index=True)
    val = claims(table, "val").set_index("claim")
    assert val.ours["sl_vs_clip_rho_pred"] == "SL 0.30 vs CLIP 0.08"  # seed mean (0.6 + 0) / 2
    assert verdicts(claims(table, "v2"))["sl_vs_clip_rho_pred"] is False
    none = claims(table, "test")
    assert none.holds.isna().all() and (none.evalset == "test").all()


def test_factors_a_method_ignores_are_not_read():
    t = study()
    t.loc[t.run == "clip_web", ["head", "vocab_size"]] = "rand"  # meaningless for CLIP
    t.loc[t.run == "sl_web", "text_tower"] = "frozen"  # meaningless for SL
    v = verdicts(claims(t, "val"))
    assert v["web_raises_rho"] is True and v["sl_vs_clip_web"] is True


def test_missing_column_is_a_clear_error():
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['tail_acc'\]"):
        claims(study().drop(columns="tail_acc"), "val")


def test_markdown_table():
    t = study()
    t.loc[t.run == "sl_default", "rho_pred"] = 0.01
    df = claims(t[t.trim_k == 0], "val")
    md = claims_markdown(df)
    lines = md.splitlines()
    n = len(CLAIMS)
    assert lines[0] == (
        f"**{n - 3} of {n - 1} testable claims hold** (1 not testable with these "
        f"runs; evaluation set val)."
    )
    assert lines[2] == "| Claim | Where | Statement | Paper | Ours | Holds |"
    assert len([x for x in lines if x.startswith("| `")]) == n
    row = next(x for x in lines if x.startswith("| `sl_vs_clip_rho_pred`"))
    assert row.endswith("| SL 0.01 vs CLIP 0.08 | no |")
    assert next(x for x in lines if "`trim_clip_keeps_tail`" in x).endswith("| n/a |")
    df.loc[0, "ours"] = "a | b"
    assert "a \\| b" in claims_markdown(df)


def test_descriptiveness_order_matches_the_curation_and_the_figures():
    from cliptail.curate.captions import CAPTION_TYPES
    from cliptail.figures.style import CAPTION_ORDER as FIGURE_ORDER

    assert CAPTION_ORDER == CAPTION_TYPES == FIGURE_ORDER
