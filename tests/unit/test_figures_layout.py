"""Layout of Fig. 3/19 (fits per caption group, SL fit on linear sampling, labels apart),
Fig. 4 (readable training-set names, x order of 4b, panel titles) and Fig. 5 (towers, NC panels),
on constructed study rows with known answers."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.text import Text

matplotlib.use("Agg")

from cliptail import config as cfg  # noqa: E402
from cliptail import figures  # noqa: E402
from cliptail.figures import labels as label_placement  # noqa: E402
from cliptail.figures import robustness, style  # noqa: E402
from cliptail.figures.catalogue import plan_figures, variant_labels  # noqa: E402
from cliptail.study import build_plan  # noqa: E402
from tests.fixtures.study_rows import study_frame, study_row

ROOT = Path(__file__).resolve().parents[2]
CAPTIONS = list(style.CAPTION_ORDER)
TEMPLATE_CAPTIONS = ["class_templates", "synset_templates"]


def by_gid(ax, gid: str) -> list:
    return [a for a in [*ax.lines, *ax.collections] if a.get_gid() == gid]


def slope(line) -> float:
    x, y = (np.asarray(v, dtype=float) for v in line.get_data())
    return float((y[-1] - y[0]) / (x[-1] - x[0]))


# --- Fig. 3 / Fig. 19: fits ------------------------------------------------------------------------


def lines_table(tower: str = "rand") -> pd.DataFrame:
    """Template captions on rho_pred = 2 x + 0.1, natural-language captions on -x + 0.8, SL with
    linear sampling (and the full vocabulary) on 3 x - 1; top1 = rho_pred / 2 everywhere on the
    fitted groups. SL with sqrt/uniform sampling lies far off its line."""
    rows = []
    for i, caption in enumerate(CAPTIONS):
        x = 0.2 + 0.03 * i
        y = 2 * x + 0.1 if caption in TEMPLATE_CAPTIONS else -x + 0.8
        rows.append(
            study_row(
                "descriptiveness",
                f"clip_{caption}",
                caption=caption,
                text_tower=tower,
                rho_acc=x,
                rho_pred=y,
                top1=y / 2,
            )
        )
    for j, k in enumerate(["full", "200", "100", "50"]):
        x = 0.7 - 0.05 * j
        weights = ["linear"] if k == "full" else ["linear", "sqrt", "uniform"]
        for w in weights:
            y = 3 * x - 1 if w == "linear" else 0.05 + 0.1 * j
            rows.append(
                study_row(
                    "vocabulary",
                    f"sl_{k}_{w}",
                    method="sl",
                    head=tower,
                    vocab_size=k,
                    vocab_weight=None if k == "full" else w,
                    rho_acc=x + (0.01 if w == "sqrt" else 0.02 if w == "uniform" else 0),
                    rho_pred=y,
                    top1=y / 2,
                )
            )
    return study_frame(rows)


@pytest.mark.parametrize("func, tower", [(figures.fig03, "rand"), (figures.fig19, "frozen")])
def test_separate_fits_for_templates_natural_language_and_linear_sl(func, tower):
    fig = func(lines_table(tower))
    clip, sl = (
        style.family({"method": "clip", "text_tower": tower}),
        style.family({"method": "sl", "head": tower}),
    )
    for ax, scale in zip(fig.axes, (1.0, 100.0 / 2), strict=True):
        fits = sorted(line.get_gid() for line in ax.lines if line.get_gid().startswith("fit:"))
        assert fits == sorted([f"fit:{clip}/template", f"fit:{clip}/natural-language", f"fit:{sl}"])
        (template,) = by_gid(ax, f"fit:{clip}/template")
        (natural,) = by_gid(ax, f"fit:{clip}/natural-language")
        (linear,) = by_gid(ax, f"fit:{sl}")
        assert slope(template) == pytest.approx(2 * scale)
        assert slope(natural) == pytest.approx(-1 * scale)
        # the sqrt/uniform runs would flatten this line if they were fitted
        assert slope(linear) == pytest.approx(3 * scale)
        # the fit spans the x range of its own points only
        assert list(template.get_xdata()) == pytest.approx([0.2, 0.23])
        assert list(linear.get_xdata()) == pytest.approx([0.55, 0.7])
        (unfitted,) = by_gid(ax, f"unfitted:{sl}")
        assert len(unfitted.get_offsets()) == 6
        (fitted,) = by_gid(ax, f"points:{sl}")
        assert len(fitted.get_offsets()) == 4


def test_caption_groups():
    groups = {c: robustness.caption_group(c) for c in [*CAPTIONS, "a_class"]}
    assert {c for c, g in groups.items() if g == "template"} == {
        "class_templates",
        "synset_templates",
        "a_class",
    }
    assert sum(g == "natural-language" for g in groups.values()) == 7


def test_fig03_legend_names_the_groups():
    fig = figures.fig03(lines_table())
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "CLIP (rand text), template captions",
        "CLIP (rand text), natural-language captions",
        "SL (rand head), linear sampling",
        "SL (rand head), sqrt/uniform sampling (not fitted)",
    ]


def test_one_template_point_has_no_template_fit():
    table = lines_table()
    table = table[table.caption != "synset_templates"]
    fig = figures.fig03(table)
    gids = [line.get_gid() for line in fig.axes[0].lines]
    assert "fit:CLIP (rand text)/template" not in gids
    assert "fit:CLIP (rand text)/natural-language" in gids
    (pts,) = by_gid(fig.axes[0], "points:CLIP (rand text)/template")
    assert len(pts.get_offsets()) == 1


# --- Fig. 3 / Fig. 19: labels ----------------------------------------------------------------------


def dense_table(spread: float) -> pd.DataFrame:
    """9 caption types and SL with the full vocabulary plus 4 sizes x 3 sampling weights, all
    within ``spread`` of each other (small spread = heavy crowding)."""
    rng = np.random.default_rng(7)
    rows = []
    for caption in CAPTIONS:
        x, y, t = 0.3 + spread * rng.random(3)
        rows.append(
            study_row(
                "descriptiveness",
                f"clip_{caption}",
                caption=caption,
                rho_acc=x,
                rho_pred=y,
                top1=t,
            )
        )
    for k in ["full", "500", "200", "100", "50"]:
        for w in ["linear"] if k == "full" else ["linear", "sqrt", "uniform"]:
            x, y, t = 0.3 + spread * rng.random(3)
            rows.append(
                study_row(
                    "vocabulary",
                    f"sl_{k}_{w}",
                    method="sl",
                    vocab_size=k,
                    vocab_weight=None if k == "full" else w,
                    rho_acc=x + spread,
                    rho_pred=y + spread,
                    top1=t,
                )
            )
    return study_frame(rows)


def label_boxes(fig):
    """{axes index: [(text, box)]} of the point labels, in display units."""
    fig.draw_without_rendering()
    renderer = fig.canvas.get_renderer()
    out = {}
    for i, ax in enumerate(fig.axes):
        out[i] = [
            (t.get_text(), Text.get_window_extent(t, renderer))
            for t in ax.texts
            if t.get_gid() == "label"
        ]
    return out


def assert_apart_and_inside(fig) -> None:
    for i, boxes in label_boxes(fig).items():
        frame_box = fig.axes[i].get_window_extent()
        for (a, box_a), (b, box_b) in combinations(boxes, 2):
            assert not box_a.overlaps(box_b), f"panel {i}: {a!r} overlaps {b!r}"
        for text, box in boxes:
            assert frame_box.x0 <= box.x0 and box.x1 <= frame_box.x1, text
            assert frame_box.y0 <= box.y0 and box.y1 <= frame_box.y1, text


@pytest.mark.parametrize("spread", [0.3, 0.08])
def test_dense_labels_do_not_overlap_at_any_dpi(spread):
    fig = figures.fig03(dense_table(spread))
    expected = [style.CAPTION_LABELS[c] for c in CAPTIONS] + ["full"]
    expected += [f"K={k}{s}" for k in (500, 200, 100, 50) for s in ("", " sqrt", " uniform")]
    for boxes in label_boxes(fig).values():
        assert [text for text, _ in boxes] == expected
    assert_apart_and_inside(fig)
    # offsets are in points: the placement holds at the PNG's dpi
    fig.set_dpi(150)
    assert_apart_and_inside(fig)


def test_labels_of_the_smoke_like_table_stay_next_to_their_points():
    rows = [
        study_row(
            "descriptiveness",
            f"clip_{c}",
            caption=c,
            rho_acc=0.5 - 0.04 * i,
            rho_pred=0.3 - 0.02 * i,
            top1=0.2 + 0.03 * i,
        )
        for i, c in enumerate(CAPTIONS)
    ]
    rows += [
        study_row(
            "vocabulary",
            f"sl_{k}",
            method="sl",
            vocab_size=k,
            vocab_weight=None if k == "full" else "linear",
            rho_acc=0.6 - 0.1 * j,
            rho_pred=0.7 - 0.2 * j,
            top1=0.4 + 0.01 * j,
        )
        for j, k in enumerate(["full", "128", "96", "64"])
    ]
    fig = figures.fig03(study_frame(rows))
    assert_apart_and_inside(fig)
    # well spread points: every label sits close to its point, needing no leader line
    near = label_placement._RING_START + label_placement._RING_STEP * (
        label_placement._LEADER_FROM - 1
    )
    for ax in fig.axes:
        labels = [t for t in ax.texts if t.get_gid() == "label"]
        assert len(labels) == 13
        for t in labels:
            assert np.hypot(*t.xyann) <= near + 1e-6
            assert not t.arrow_patch.get_visible()


def test_label_placement_is_deterministic():
    def positions():
        fig = figures.fig03(dense_table(0.08))
        return [(t.get_text(), tuple(t.xyann)) for ax in fig.axes for t in ax.texts]

    assert positions() == positions()


# --- Fig. 4 ----------------------------------------------------------------------------------------


def plan_of(*presets: str):
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / "config/presets" / preset))
    return build_plan(cfg.validate(config, ROOT / "config/schema/config.schema.yaml"))


def test_fig04a_jobs_name_the_training_sets_readably():
    world = plan_figures(plan_of(), "val")["fig04a_frequency_variants"]
    assert world.params["labels"] == ["curated", "web (shifted)"]
    assert world.inputs["frequencies"] == [
        "results/data/curated_full_s1_eval/frequency.tsv",
        "results/data/web_full_s1_eval/frequency.tsv",
    ]
    paper = plan_figures(plan_of("paper.yaml"), "imagenet_val")["fig04a_frequency_variants"]
    assert paper.params["labels"] == [
        "IN-Caps",
        "LAIONet t=0.7",
        "LAIONet t=0.75",
        "LAIONet t=0.8",
        "LAIONet t=0.82",
        "LAIONet =freq",
    ]
    assert paper.inputs["frequencies"][-1] == "results/data/laionet_freq_full_s1_eval/frequency.tsv"


def test_variant_labels_name_only_the_factors_that_differ():
    base = {"source": "curated", "caption": "full", "scale": 1.0, "classes": "eval"}
    base.update(trim_k=0, trim_ceil=0)
    data = [base, {**base, "scale": 0.25}, {**base, "source": "web", "scale": 0.3}]
    assert variant_labels(data) == [
        "curated",
        "curated (1/4 of the data)",
        "web (shifted) (0.3 of the data)",
    ]


def test_fig04a_one_legend_in_readable_names_and_matching_colours():
    names = ["IN-Caps", "LAIONet t=0.7", "LAIONet =freq"]
    rng = np.random.default_rng(1)
    freqs = {n: rng.integers(0, 500, 50) for n in names}
    freqs["IN-Caps"][:3] = 0
    sims = {n: rng.normal(0.5, 0.1, 100) for n in names}
    fig = figures.fig04a(freqs, sims)
    ax_f, ax_s = fig.axes
    assert ax_f.get_title() != ax_s.get_title()
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "IN-Caps (3 empty)",
        "LAIONet t=0.7",
        "LAIONet =freq",
    ]
    assert ax_f.get_legend() is None and ax_s.get_legend() is None
    for name in names:
        (freq,) = [line for line in ax_f.lines if line.get_gid() == f"freq:{name}"]
        (dens,) = [line for line in ax_s.lines if line.get_gid() == f"density:{name}"]
        assert freq.get_color() == dens.get_color()


def test_fig04b_x_order_thresholds_ascending_then_freq_and_titles():
    sources = ["laionet_freq", "laionet_t0.82", "incaps", "laionet_t0.7", "laionet_t0.8"]
    sources.append("laionet_t0.75")
    rows = []
    for tower in ("rand", "frozen"):
        for source in sources:
            rows.append(
                study_row(
                    "distribution",
                    f"clip_{tower}_{source}",
                    source=source,
                    text_tower=tower,
                    top1=0.1 * (1 + sources.index(source)),
                    rho_acc=0.5,
                )
            )
    fig = figures.fig04b(study_frame(rows))
    ax_top1, ax_rho = fig.axes
    for ax in fig.axes:
        assert [t.get_text() for t in ax.get_xticklabels()] == [
            "IN-Caps",
            "t=0.7",
            "t=0.75",
            "t=0.8",
            "t=0.82",
            "=freq",
        ]
        assert "LAIONet" in ax.get_xlabel()
    (rand,) = [line for line in ax_top1.lines if line.get_gid() == "line:CLIP (rand text)"]
    x, y = rand.get_data()
    assert list(x) == [0, 1, 2, 3, 4, 5]
    # top1 = 10 x (position of the source in the shuffled list + 1), in percent
    assert np.allclose(y, [30, 40, 60, 50, 20, 10])
    titles = [ax.get_title() for ax in fig.axes]
    assert len(set(titles)) == 2
    assert "accuracy" in titles[0] and "robustness" in titles[1]


# --- Fig. 5 ----------------------------------------------------------------------------------------


def scale_rows(towers) -> pd.DataFrame:
    rows = []
    for k, tower in enumerate(towers):
        for scale in (1.0, 0.5, 0.25):
            rows.append(
                study_row(
                    "scale",
                    f"clip_{tower}_{scale}",
                    text_tower=tower,
                    scale=scale,
                    n_train=int(8000 * scale),
                    nc1=10 * k + scale,
                    nc2_m=k + scale / 10,
                )
            )
    rows.append(
        study_row("scale", "sl", method="sl", head="frozen", n_train=8000, nc1=99, nc2_m=0.9)
    )
    return study_frame(rows)


def test_fig05_towers_in_order_with_nc_panels_in_one_row():
    towers = ["roberta", "rand", "clip_init", "frozen"]  # shuffled on purpose
    fig = figures.fig05(scale_rows(towers))
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "CLIP (rand text)",
        "CLIP (frozen text)",
        "CLIP (CLIP-init text)",
        "CLIP (frozen RoBERTa text)",
        "SL (frozen head)",
    ]
    assert [ax.get_ylabel() for ax in fig.axes] == [
        style.label(c) for c in ("top1", "rho_acc", "nc1", "nc2_m")
    ]
    fig.draw_without_rendering()
    boxes = [ax.get_position() for ax in fig.axes]
    assert len({round(b.y0, 6) for b in boxes}) == 1  # side by side
    assert [b.x0 for b in boxes] == sorted(b.x0 for b in boxes)
    nc1, nc2 = fig.axes[2], fig.axes[3]
    for k, tower in enumerate(towers):
        name = style.family({"method": "clip", "text_tower": tower})
        (line,) = [li for li in nc1.lines if li.get_gid() == f"line:{name}"]
        assert list(line.get_xdata()) == [2000, 4000, 8000]
        assert np.allclose(line.get_ydata(), [10 * k + 0.25, 10 * k + 0.5, 10 * k + 1])
        (line,) = [li for li in nc2.lines if li.get_gid() == f"line:{name}"]
        assert np.allclose(line.get_ydata(), [k + 0.025, k + 0.05, k + 0.1])
    (sl,) = [li for li in nc1.lines if li.get_gid() == "line:SL (frozen head)"]
    assert list(sl.get_ydata()) == [99]
    assert [t.get_text() for t in nc1.get_xticklabels()] == ["2K", "4K", "8K"]


def test_fig05_draws_only_the_towers_the_table_holds():
    fig = figures.fig05(scale_rows(["roberta", "rand"]))
    (legend,) = fig.legends
    assert [t.get_text() for t in legend.get_texts()] == [
        "CLIP (rand text)",
        "CLIP (frozen RoBERTa text)",
        "SL (frozen head)",
    ]


def test_count_text():
    from cliptail.figures.scale import count_text

    assert [count_text(n) for n in (800, 12500, 3256561, 101848)] == [
        "800",
        "12.5K",
        "3.26M",
        "102K",
    ]
