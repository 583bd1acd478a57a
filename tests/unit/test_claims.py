"""Claims table: known-answer study tables where each claim holds, fails or cannot be tested."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliptail.evaluate.claims import (
    CAPTION_ORDER,
    CLAIMS,
    PAPER_ONLY,
    Design,
    claims,
    claims_markdown,
)
from tests.fixtures.study_rows import study_row


def row(run: str, evalset: str = "val", study: str = "s", **kw) -> dict:
    """A study-table row at the default factors (exact schema; only the claims' columns vary)."""
    return study_row(study, run, evalset, **{"num_classes": 500, **kw})


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
        row("sl_k16", method="sl", vocab_size="16", vocab_weight="linear", top1=0.3, rho_pred=0.4),
        row(
            "sl_k32_sqrt",
            method="sl",
            vocab_size="32",
            vocab_weight="sqrt",
            rho_acc=0.9,
            rho_pred=0.9,
        ),  # another weight: not the claim's comparison
        # scale x text tower; frozen better everywhere
        row("clip_s0.5", scale=0.5, rho_acc=0.32, top1=0.35, nc1=1.5, nc2_m=0.3),
        row("clip_s0.25", scale=0.25, rho_acc=0.35, top1=0.25, nc1=2.0, nc2_m=0.4),
        row("clipf_s1", text_tower="frozen", rho_acc=0.2, top1=0.55),
        row("clipf_s0.5", text_tower="frozen", scale=0.5, rho_acc=0.22, top1=0.45, nc1=1.2),
        row(
            "clipf_s0.25",
            text_tower="frozen",
            scale=0.25,
            rho_acc=0.3,
            top1=0.3,
            nc1=1.4,
            nc2_m=0.3,
        ),
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
        # SL frozen head, full vs subsampled vocabulary, trimmed
        row("slf_k40c0", method="sl", head="frozen", trim_k=40, trim_ceil=0, tail_acc=0.0),
        row(
            "slfv_k40c0",
            method="sl",
            head="frozen",
            vocab_size="16",
            vocab_weight="linear",
            trim_k=40,
            trim_ceil=0,
            tail_acc=0.1,
        ),
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


def test_every_world_claim_holds_on_a_study_built_to_agree():
    df = claims(study(), "val")
    assert list(df.columns) == ["claim", "figure", "statement", "paper", "evalset", "ours", "holds"]
    assert len(df) == len(CLAIMS) and df.holds.dtype == "boolean"
    assert verdicts(df) == {c.id: (None if c.id in PAPER_ONLY else True) for c in CLAIMS}
    ours = dict(zip(df.claim, df.ours, strict=True))
    assert ours["sl_vs_clip_rho_pred"] == "SL 0.60 vs CLIP 0.08"
    assert ours["sl_vs_clip_web"] == "web: SL 0.75 vs CLIP 0.30"
    assert ours["vocabulary_lowers_rho_pred"] == "K=16 0.40 vs full 0.60"
    assert (
        ours["vocabulary_best_k"]
        == "K=16 30.0%, K=64 50.0%, K=128 50.0%; best K=64 = 13% of 500 classes"
    )
    assert (
        ours["descriptive_lowers_rho"]
        == "Spearman(descriptiveness, rho_acc) = -1.00 over 9 caption types"
    )
    assert ours["scale_raises_top1"] == (
        "curated CLIP frozen text: 30.0% -> 55.0%; curated CLIP rand text: 25.0% -> 45.0%"
    )
    assert ours["scale_lowers_nc1"] == (
        "curated CLIP frozen text: 1.40 -> 1.00; curated CLIP rand text: 2.00 -> 1.00"
    )
    assert ours["frozen_text_raises_top1"] == (
        "frozen higher than rand in 3 of 3 matched settings (mean difference +8.33 points)"
    )
    assert ours["open_world_lowers_rho_acc"] == "CLIP frozen text: 0.20 -> 0.15"
    assert (
        ours["trim_clip_keeps_tail"]
        == "rand, k=40 0-shot: CLIP 20.0% vs SL 0.0%; rand, k=40 1-shot: CLIP 30.0% vs SL 10.0%"
    )
    assert ours["subvocabulary_keeps_tail"] == "k=40 0-shot: subsampled 10.0% vs full 0.0%"
    assert ours["diversity_threshold_raises_rho"].startswith("not tested: needs CLIP runs on two")
    assert "IN-Caps 0.57 vs 0.08" in df.set_index("claim").paper["sl_vs_clip_rho_pred"]


def paper_study() -> pd.DataFrame:
    """The paper preset's factor values (IN-Caps baseline), every claim built to hold."""

    def r(run, evalset="imagenet_val", **kw):
        kw = {"source": "incaps", "num_classes": 1000, **kw}
        return row(run, evalset=evalset, **kw)

    rows = [
        r("clip", rho_acc=0.28, rho_pred=0.08),
        r("sl", method="sl", rho_acc=0.52, rho_pred=0.57),
        r("sl_laionet", method="sl", source="laionet", rho_pred=0.76),
        r("clip_yfcc_cls", source="yfcc15m_cls", rho_acc=0.41, rho_pred=0.14),
        r("sl_yfcc_cls", method="sl", source="yfcc15m_cls", rho_pred=0.82),
        r("clip_yfcc", source="yfcc15m", rho_acc=0.3),
        # shifted source at IN-Caps size, thresholds, =freq
        r("clip_t0.7", source="laionet_t0.7", rho_acc=0.5),
        r("clip_t0.82", source="laionet_t0.82", rho_acc=0.6),
        r("clip_freq", source="laionet_freq", rho_acc=0.4),
        # towers at two LAIONet scales
        *[
            r(
                f"clip_{tower}_s{scale}",
                source="laionet",
                scale=scale,
                text_tower=tower,
                top1=base + 0.1 * scale,
                rho_acc=rho - 0.1 * scale,
                rho_pred=0.32,
                nc1=2.0 - scale,
                nc2_m=0.5 - 0.1 * scale,
            )
            for tower, base, rho in (
                ("rand", 0.3, 0.7),
                ("frozen", 0.5, 0.5),
                ("clip_init", 0.31, 0.68),
                ("roberta", 0.4, 0.6),
            )
            for scale in (0.5, 1.0)
        ],
        # vocabulary: best top-1 at K = 100
        *[
            r(f"sl_k{k}", method="sl", vocab_size=str(k), vocab_weight="linear", top1=t, rho_pred=p)
            for k, t, p in ((50, 0.40, 0.3), (100, 0.45, 0.35), (200, 0.42, 0.4))
        ],
        # open world on IN-100
        r("clipf_in100", evalset="imagenet100_val", text_tower="frozen", classes="in100"),
        r(
            "clipf_in100m",
            evalset="imagenet100_val",
            text_tower="frozen",
            classes="in100_matched",
            rho_acc=0.2,
            rho_pred=0.05,
        ),
        # trimmed tail
        r("clip_k50c0", trim_k=50, tail_acc=0.3),
        r("sl_k50c0", method="sl", trim_k=50, tail_acc=0.0),
        r("slf_k50c0", method="sl", head="frozen", trim_k=50, tail_acc=0.0),
        r("slfv_k50c0", method="sl", head="frozen", vocab_size="50", trim_k=50, tail_acc=0.2),
    ]
    for i, caption in enumerate(CAPTION_ORDER[:-1]):
        rows.append(
            r(f"clip_{caption}", caption=caption, rho_acc=0.5 - 0.02 * i, top1=0.2 + 0.02 * i)
        )
    df = pd.DataFrame(rows)
    for column in ("vocab_size", "vocab_weight", "text_tower", "head"):
        df[column] = df[column].astype("string")
    return df


def test_every_claim_is_testable_and_holds_on_the_paper_design():
    design = Design.from_config({"defaults": {"source": "incaps"}})
    df = claims(paper_study(), "imagenet_val", design)
    assert verdicts(df) == {c.id: True for c in CLAIMS}, df[["claim", "ours"]].to_string()
    ours = dict(zip(df.claim, df.ours, strict=True))
    evalsets = dict(zip(df.claim, df.evalset, strict=True))
    assert evalsets["open_world_lowers_rho_acc"] == "imagenet100_val"
    assert evalsets["sl_vs_clip_rho_acc"] == "imagenet_val"
    assert (
        ours["sl_vs_clip_web"] == "laionet: SL 0.76 vs CLIP 0.32; yfcc15m_cls: SL 0.82 vs CLIP 0.14"
    )
    assert ours["web_raises_rho"] == "CLIP rand text: 0.28 -> 0.50"
    assert ours["diversity_threshold_raises_rho"] == "CLIP rand text: 0.50 -> 0.60"
    assert ours["equal_freq_not_enough"] == "CLIP rand text: 0.28 -> 0.40"
    assert ours["open_world_yfcc"] == "CLIP rand text: 0.41 -> 0.30"
    assert ours["vocabulary_best_k"].endswith("best K=100 = 10% of 1000 classes")
    assert ours["clip_init_like_scratch"] == (
        "top-1 vs scratch: CLIP-init +1.00 points, frozen +20.00 points (mean over 2 settings)"
    )
    assert ours["roberta_worse"].startswith("roberta lower than frozen in 2 of 2 matched settings")
    # the same table judged with the world's design tests none of the IN-Caps comparisons
    world = verdicts(claims(paper_study(), "imagenet_val"))
    assert world["sl_vs_clip_rho_acc"] is None and world["web_raises_rho"] is None


def test_best_vocabulary_outside_the_band_does_not_hold():
    t = paper_study()
    t.loc[t.run == "sl_k100", ["vocab_size", "top1"]] = ["20", 0.9]
    design = Design.from_config({"defaults": {"source": "incaps"}})
    out = claims(t, "imagenet_val", design).set_index("claim")
    assert out.ours["vocabulary_best_k"].endswith("best K=20 = 2% of 1000 classes")
    assert not out.holds["vocabulary_best_k"]
    t.loc[t.run == "clip_clip_init_s1.0", "top1"] = 0.9  # CLIP-init far above scratch
    assert not claims(t, "imagenet_val", design).set_index("claim").holds["clip_init_like_scratch"]


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
    untested = len(PAPER_ONLY) + 2  # and the two trim-tail claims
    assert lines[0] == (
        f"**{n - untested - 2} of {n - untested} testable claims hold** ({untested} not "
        f"testable with these runs; evaluation set val)."
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
