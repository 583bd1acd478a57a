"""Paper layout details of Fig. 1a, 8, 9b, 11, 15 and 21, and the planning of the figures that
read the released frequencies and the per-source baseline records."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cliptail import config as cfg  # noqa: E402
from cliptail.data.metadata import released_root  # noqa: E402
from cliptail.figures import per_class as pc  # noqa: E402
from cliptail.figures import trim_tail as tt  # noqa: E402
from cliptail.figures import web_frequency as wf  # noqa: E402
from cliptail.figures.catalogue import CATALOGUE, baseline_runs, plan_figures  # noqa: E402
from cliptail.study import build_plan  # noqa: E402
from tests.fixtures.study_rows import NC, study_row, trim_study_rows  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def record(freq, acc, npred=None, names=None) -> pd.DataFrame:
    n = len(freq)
    rng = np.random.default_rng(0)
    return pd.DataFrame(
        {
            "class": np.arange(n),
            "name": names or [f"c{i}" for i in range(n)],
            "freq": np.asarray(freq, dtype=np.int64),
            "acc": np.asarray(acc, dtype=float),
            "npred": np.asarray(npred if npred is not None else rng.integers(0, 9, n)),
            **{m: rng.random(n) for m in NC},
        }
    )


def gids(ax, gid):
    return [
        a for a in [*ax.get_lines(), *ax.collections, *ax.patches, *ax.texts] if a.get_gid() == gid
    ]


def plan(*presets: str):
    config = cfg.load_yaml(ROOT / "config/config.yaml")
    for preset in presets:
        config = cfg.deep_merge(config, cfg.load_yaml(ROOT / f"config/presets/{preset}.yaml"))
    return build_plan(cfg.validate(config, ROOT / "config/schema/config.schema.yaml"))


# --- Fig. 1a / 21: Gaussian smoothing and rank bands -----------------------------------------------


def test_gaussian_smoothing_known_answers():
    for sigma in (1.0, 2.0, 3.0):
        assert np.allclose(wf.smoothed(np.full(60, 42.0), sigma), 42.0)
    impulse = np.zeros(31)
    impulse[15] = 1.0
    radius = 8  # the kernel is cut at 4 sigma (sigma 2)
    weights = np.exp(-(np.arange(-radius, radius + 1) ** 2) / (2 * 2.0**2))
    out = wf.smoothed(impulse, 2.0)
    assert np.allclose(out[15 - radius : 16 + radius], weights / weights.sum())
    assert np.allclose(out[: 15 - radius], 0.0) and out.sum() == pytest.approx(1.0)
    assert wf.SMOOTH_SIGMA == 3.0  # the default width of Fig. 1a
    with pytest.raises(ValueError, match="sigma"):
        wf.smoothed(impulse, 0.0)


def test_rank_bands_known_answers():
    assert wf.rank_bands(1000) == [(0, 200), (200, 400), (400, 600), (600, 800), (800, 1000)]
    assert wf.rank_bands(450, 200) == [(0, 200), (200, 400), (400, 450)]
    assert wf.rank_bands(0) == []


def web_table(n: int = 1000) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    counts = {d: rng.integers(0, 10**6, n) for d in wf.WEB_DATASETS}
    counts["yfcc15m"][:3] = 0
    return pd.DataFrame(counts, index=pd.Index([f"class {i}" for i in range(n)], name="name"))


def test_fig21_five_bands_hold_the_classes_of_their_ranks():
    table = web_table()
    fig = wf.fig21(table)
    axes = np.asarray(fig.get_axes()).reshape(3, 5)
    ranked = table.iloc[np.argsort(-table["laion400m"].to_numpy(), kind="stable")]
    for col, (lo, hi) in enumerate(wf.rank_bands(1000)):
        (line,) = gids(axes[1, col], f"band{lo}:laion2b")
        assert line.get_xdata().tolist() == list(range(lo + 1, hi + 1))  # ranks lo+1 .. hi
        assert line.get_ydata().tolist() == ranked["laion2b"].iloc[lo:hi].tolist()
        assert axes[2, col].get_xlabel() == f"Class rank {lo + 1}-{hi}"


def test_fig01a_draws_the_gaussian_curve_with_plain_count_ticks():
    table = web_table()
    fig = wf.fig01a(table)
    ax = fig.get_axes()[0]
    (curve,) = gids(ax, "smoothed:yfcc15m")
    ranked = table.iloc[np.argsort(-table["laion400m"].to_numpy(), kind="stable")]
    expected = wf.smoothed(ranked["yfcc15m"].to_numpy())
    assert np.allclose(curve.get_ydata(), expected[expected > 0])
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels() if t.get_text()]
    assert "1M" in labels and "100k" in labels and not any("10^" in t for t in labels)


# --- Fig. 8: the untrimmed reference --------------------------------------------------------------


def trim_rows() -> pd.DataFrame:
    # trimmed accuracies equal to the reference's: the reference must stay visible
    return trim_study_rows(tail_acc=lambda *_: 0.5, head_acc=lambda *_: 0.5)


def test_fig08_untrimmed_reference_is_distinct_labelled_and_on_top():
    freq = [9, 1, 7, 3, 5, 2, 8]
    flat = record(freq, [0.5] * 7)
    fig = tt.fig08(trim_rows(), {"clip_ref": flat, "sl_ref": flat})
    markers = set()
    for ax in fig.axes:
        for family in ("CLIP (rand text)", "SL (rand head)"):
            (trimmed,) = gids(ax, f"trimmed:{family}")
            (ref,) = gids(ax, f"untrimmed:{family}")
            assert ref.get_linestyle() == "--" and trimmed.get_linestyle() == "-"
            assert ref.get_markerfacecolor() == "none" != trimmed.get_markerfacecolor()
            assert ref.get_marker() == trimmed.get_marker()
            assert ref.get_zorder() > trimmed.get_zorder()
            assert ref.get_markersize() > trimmed.get_markersize()
            assert ref.get_label() == f"{family}, untrimmed"
            markers.add(ref.get_marker())
    assert len(markers) == 2  # one shape per family
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "CLIP (rand text), untrimmed" in legend and "SL (rand head), untrimmed" in legend


# --- Fig. 9b: k = 50, 0-shot ----------------------------------------------------------------------


def test_tail_k_prefers_50_else_the_closest():
    assert tt.tail_k([5, 20, 50, 100, 500]) == 50
    assert tt.tail_k([20, 100]) == 20
    assert tt.tail_k([40, 60]) == 60  # a tie goes to the larger k
    assert tt.tail_k([0, 4]) == 4
    with pytest.raises(ValueError, match="no trimmed k"):
        tt.tail_k([0])


def nine_b_table(ks) -> pd.DataFrame:
    rows = [
        study_row("trim_tail", f"clip_k{k}c{c}", trim_k=k, trim_ceil=c) for k in ks for c in (0, 1)
    ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ks, shown", [((5, 20, 50, 100), 50), ((20, 100), 20)])
def test_fig09b_from_study_shows_k50_zero_shot_and_says_so(ks, shown):
    table = nine_b_table(ks)
    freq = list(range(200, 0, -1))
    records = {r: record(freq, np.linspace(0, 1, 200)) for r in table.run}
    tails = {str(k): list(range(200 - k, 200)) for k in ks}  # JSON keys
    fig = tt.fig09b_from_study(table, records, tails)
    title = fig.axes[0].get_title()
    assert title == f"k = {shown} tail classes trimmed to 0 training images (0-shot)"
    assert len(fig.axes[1].get_xticks()) == shown
    one_shot = tt.fig09b_from_study(table, records, tails, ceil=1)
    assert one_shot.axes[0].get_title().endswith("to 1 training image (1-shot)")
    assert tt.select_tail_runs({r: {**table.set_index("run").loc[r]} for r in table.run}) == {
        "CLIP (rand text)": f"clip_k{shown}c0"
    }


# --- Fig. 11 / 15: one row per source, plain log ticks, clipped error bars --------------------------


def source_records(sources=("incaps", "laionet", "yfcc15m_cls")) -> dict[str, pd.DataFrame]:
    freq = np.array([0, 0, 1, 3, 10, 30, 100, 300, 3000, 20000])
    acc = np.array([0.0, 0.1, 0.0, 0.05, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9])
    return {
        f"{s}/{m}": record(freq * (i + 1), acc * (0.5 if m == "CLIP" else 1.0))
        for i, s in enumerate(sources)
        for m in ("CLIP", "SL")
    }


def test_count_labels_and_record_labels():
    assert [pc.count_label(v) for v in (0.5, 1, 10, 100, 1e3, 1e4, 1e5, 1e6, 2.5e6, 1e9)] == [
        "0.5",
        "1",
        "10",
        "100",
        "1k",
        "10k",
        "100k",
        "1M",
        "2.5M",
        "1G",
    ]
    assert pc.split_label("laionet_t0.7/CLIP") == ("laionet_t0.7", "CLIP")
    assert pc.split_label("SL") == ("", "SL")
    assert pc.source_name("yfcc15m_cls") == "YFCC-15M-Cls" and pc.source_name("incaps") == "IN-Caps"


def test_fig11_one_row_per_source_with_readable_names_and_ticks():
    fig = pc.fig11(source_records())
    axes = np.asarray(fig.axes).reshape(3, 4)
    assert [ax.get_title() for ax in axes[:, 0]] == [
        "IN-Caps: CLIP",
        "LAIONet: CLIP",
        "YFCC-15M-Cls: CLIP",
    ]
    assert [ax.get_title() for ax in axes[0]] == [
        "IN-Caps: CLIP",
        "IN-Caps: SL",
        "IN-Caps: CLIP",
        "IN-Caps: SL",
    ]
    assert [ax.get_ylabel() for ax in axes[0]] == ["Per-class acc. (%)"] * 2 + ["#pred"] * 2
    fig.canvas.draw()
    labels = [t.get_text() for t in axes[2, 0].get_xticklabels()]
    assert labels == ["0", "10", "100", "1k", "10k", "100k"]  # 1 would touch the 0 tick
    assert not any("^" in t for ax in fig.axes for t in map(str, ax.get_xticklabels()))
    # a source without one of the models: the panel says so
    records = source_records()
    del records["laionet/SL"]
    fig = pc.fig11(records)
    (note,) = gids(np.asarray(fig.axes).reshape(3, 4)[1, 1], "note")
    assert note.get_text() == "no SL run on LAIONet"


def test_clipped_errors_known_answers():
    err = pc.clipped_errors("acc", np.array([10.0, 50.0, 95.0]), np.array([30.0, 20.0, 10.0]))
    assert err.tolist() == [[10.0, 20.0, 10.0], [30.0, 20.0, 5.0]]
    err = pc.clipped_errors("npred", np.array([2.0, 0.0]), np.array([5.0, 0.0]))
    assert err.tolist() == [[2.0, 0.0], [5.0, 0.0]]


def test_fig15_rows_per_source_and_whiskers_stop_at_zero():
    records = source_records()
    fig = pc.fig15(records, bins=3)
    axes = np.asarray(fig.axes).reshape(3, 2)
    assert [ax.get_title() for ax in axes[:, 0]] == ["IN-Caps", "LAIONet", "YFCC-15M-Cls"]
    table = pc.binned(records, 3)
    assert (table["mean"] - table["std"] < 0).any()  # some bin would reach below 0 unclipped
    for ax in axes.flat:
        for collection in ax.collections:  # the vertical error bars
            for segment in collection.get_segments():
                assert segment[:, 1].min() >= 0.0
        if ax.get_ylabel().startswith("Per-class acc."):
            for collection in ax.collections:
                assert all(seg[:, 1].max() <= 100.0 for seg in collection.get_segments())
    fig.canvas.draw()
    labels = [t.get_text() for t in axes[-1, 0].get_xticklabels()]
    assert labels[0] == "0" and all(t in {"0", "1", "10", "100", "1k", "10k"} for t in labels)


# --- planning -----------------------------------------------------------------------------------


def test_baseline_runs_cover_every_source_with_both_methods():
    runs = baseline_runs(plan("paper"))
    assert list(runs) == [
        "incaps/CLIP",
        "incaps/SL",
        "laionet/CLIP",
        "laionet/SL",
        "cc12m_cls/CLIP",
        "cc12m_cls/SL",
        "yfcc15m_cls/CLIP",
        "yfcc15m_cls/SL",
    ]  # the LAIONet threshold variants have no SL run: no row
    assert runs["laionet/SL"] == "sl_laionet_full_s1_eval_head-rand_vocab-full_seed0"
    assert list(baseline_runs(plan("smoke"))) == ["curated/CLIP", "curated/SL"]


def test_released_frequency_figures_are_planned_from_the_packaged_files():
    released = {e.stem for e in CATALOGUE if e.reads == "released_frequencies"}
    assert released == {
        "fig01a_web_frequency",
        "fig13_web_frequency_spearman",
        "fig21_web_frequency_bands",
        "table01_yfcc_rare_classes",
    }
    jobs = plan_figures(plan("smoke"), "val")
    assert released <= set(jobs)
    packaged = (released_root() / "freqs").resolve()
    for stem in released:
        files = jobs[stem].inputs["freqs"]
        assert files and all(Path(p).resolve().parent == packaged for p in files)
        assert all(Path(p).is_file() for p in files)
    assert len(jobs["fig13_web_frequency_spearman"].inputs["freqs"]) == 6 * 8
