"""Error bars of the study figures: bootstrap 95 % intervals over classes, widened by seeds.

Known answers of :func:`cliptail.figures.intervals.seed_interval` (t quantiles: 4.3027 for two
seeds of freedom, 12.7062 for one), and the bars each figure draws from a table with the
``<metric>_lo``/``<metric>_hi`` columns (and none from a table without them).
"""

from __future__ import annotations

import io

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import LineCollection
from matplotlib.container import ErrorbarContainer

matplotlib.use("Agg")

from cliptail import figures  # noqa: E402
from cliptail.figures import intervals, style, tables  # noqa: E402
from cliptail.figures.catalogue import BY_ID, ERROR_BARS  # noqa: E402
from tests.fixtures.study_rows import (  # noqa: E402
    INTERVAL_WIDTHS,
    study_frame,
    study_row,
    trim_study_rows,
    with_intervals,
)

#: Two-sided 95 % Student t quantiles with 2 and 1 degrees of freedom.
T2 = 4.302652729749462
T1 = 12.706204736174694
SQRT3 = np.sqrt(3.0)


# --- the helper: known answers -------------------------------------------------------------------


def test_one_seed_is_its_bootstrap_interval():
    assert intervals.seed_interval([0.3], [0.2], [0.5]) == pytest.approx((0.3, 0.2, 0.5))


def test_three_seeds_widen_where_the_seeds_spread_more():
    half = T2 * 0.1 / SQRT3  # values 0.1, 0.2, 0.3: sd 0.1
    # both sides widened: the bootstrap interval (0.15, 0.25) is narrower than the seed spread
    got = intervals.seed_interval([0.1, 0.2, 0.3], [0.05, 0.15, 0.25], [0.15, 0.25, 0.35])
    assert got == pytest.approx((0.2, 0.2 - half, 0.2 + half))
    assert got == pytest.approx((0.2, -0.0484138, 0.4484138), abs=1e-7)
    # neither: the mean bootstrap interval is wider than the t interval (half = 0.0248)
    got = intervals.seed_interval([0.50, 0.51, 0.52], [0.30, 0.32, 0.34], [0.70, 0.72, 0.74])
    assert got == pytest.approx((0.51, 0.32, 0.72))
    # one side: the lower bound from the bootstrap, the upper one from the seeds
    got = intervals.seed_interval([0.1, 0.2, 0.3], [-0.3, -0.2, -0.1], [0.2, 0.25, 0.3])
    assert got == pytest.approx((0.2, -0.2, 0.2 + half))


def test_seed_interval_without_bounds_and_with_nan():
    # no bootstrap bounds: the t interval of two seeds (sd sqrt(2), n 2: half = t)
    assert intervals.seed_interval([1.0, 3.0]) == pytest.approx((2.0, 2.0 - T1, 2.0 + T1))
    mean, lo, hi = intervals.seed_interval([0.4])
    assert mean == 0.4 and np.isnan(lo) and np.isnan(hi)
    assert np.isnan(intervals.seed_interval([np.nan], [0.1], [0.2])).all()
    assert np.isnan(intervals.seed_interval([])).all()
    # a NaN seed is skipped: one seed left
    got = intervals.seed_interval([0.2, np.nan], [0.1, np.nan], [0.3, np.nan])
    assert got == pytest.approx((0.2, 0.1, 0.3))


def test_error_lengths_reach_the_point_and_keep_missing_bounds_missing():
    err = intervals.error_lengths([0.5, 0.5, 0.5], [0.4, 0.6, np.nan], [0.7, 0.55, 0.6])
    assert err.shape == (2, 3)
    np.testing.assert_allclose(err[:, :2], [[0.1, 0.0], [0.2, 0.05]])
    assert np.isnan(err[0, 2]) and err[1, 2] == pytest.approx(0.1)


def test_seed_summary_per_group_with_missing_keys_and_clipping():
    rows = pd.DataFrame(
        {
            "k": ["a", "a", "a", None, "b", None],
            "top1": [0.1, 0.2, 0.3, 0.5, 0.4, 0.6],
            "top1_lo": [0.05, 0.15, 0.25, 0.45, 0.35, 0.55],
            "top1_hi": [0.15, 0.25, 0.35, 0.55, 0.45, 0.65],
            "rho_acc": [0.9, 0.95, 1.0, 0.1, 0.2, 0.1],
            "rho_acc_lo": [0.85, 0.9, 0.95, 0.0, 0.1, 0.0],
            "rho_acc_hi": [0.95, 1.0, 1.0, 0.2, 0.3, 0.2],
            "nc1": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    out = intervals.seed_summary(rows, ["k"], ["top1", "rho_acc", "nc1"])
    means = tables.seed_means(rows, ["k"], ["top1", "rho_acc", "nc1"])
    pd.testing.assert_frame_equal(out[means.columns], means)
    # no bounds in the table: the seed t-interval alone, none for a single seed
    # group None: sd sqrt(2), n = 2, so the half-width is T1 exactly
    assert out.nc1_lo.tolist()[:2] == pytest.approx([2.0 - T2 / SQRT3, 5.0 - T1])
    assert out.nc1_hi.tolist()[:2] == pytest.approx([2.0 + T2 / SQRT3, 5.0 + T1])
    assert np.isnan(out.nc1_lo[2]) and np.isnan(out.nc1_hi[2])
    single = intervals.seed_summary(rows[rows["k"] == "b"], ["k"], ["nc1"])
    assert "nc1_lo" not in single.columns  # no group with two seeds: no interval columns
    assert [None if pd.isna(k) else k for k in out["k"]] == ["a", None, "b"]
    for i, key in enumerate(out["k"]):
        group = rows[tables.is_value(rows["k"], None if pd.isna(key) else key)]
        _, lo, hi = intervals.seed_interval(group.top1, group.top1_lo, group.top1_hi)
        assert (out.top1_lo[i], out.top1_hi[i]) == pytest.approx(np.clip((lo, hi), 0.0, 1.0))
    # the seed spread of a rho near 1 would reach past 1: clipped to the possible values
    a = out[out["k"] == "a"].iloc[0]
    assert a.rho_acc_hi == 1.0 and a.rho_acc_lo == pytest.approx(0.95 - T2 * 0.05 / SQRT3)
    assert a.top1_lo == 0.0  # 0.2 - 0.248 < 0
    # a half-present pair of bounds counts as none: the seed t-interval alone
    seeds_only = intervals.seed_summary(rows.drop(columns=["top1_hi"]), ["k"], ["top1"])
    assert seeds_only.top1_hi[0] == pytest.approx(0.2 + T2 * 0.1 / SQRT3)


# --- what a figure drew --------------------------------------------------------------------------


def containers(ax, gid: str | None = None) -> list[ErrorbarContainer]:
    found = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    if gid is None:
        return found
    return [c for c in found if all(p.get_gid() == gid for p in c.get_children())]


def spans(container: ErrorbarContainer) -> tuple[list, list]:
    """(x bars, y bars) of an error-bar container: (y, x0, x1) per horizontal bar and
    (x, y0, y1) per vertical one, sorted."""
    horizontal, vertical = [], []
    for bars in container.lines[2]:
        assert isinstance(bars, LineCollection)
        for seg in bars.get_segments():
            seg = np.asarray(seg, dtype=float)
            if not len(seg):
                continue
            if seg[0, 1] == seg[1, 1] and seg[0, 0] != seg[1, 0]:
                horizontal.append((seg[0, 1], *sorted(seg[:, 0])))
            else:
                vertical.append((seg[0, 0], *sorted(seg[:, 1])))
    return sorted(horizontal), sorted(vertical)


def expected_spans(values, ycol, scale=1.0):
    below, above = INTERVAL_WIDTHS[ycol]
    return [((v - below) * scale, (v + above) * scale) for v in values]


def renders(fig) -> None:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=40)
    assert buffer.getbuffer().nbytes > 1000


# --- Fig. 3 / Fig. 19: x and y error bars ------------------------------------------------------


def robustness_rows(tower: str = "rand") -> pd.DataFrame:
    rows = [
        study_row(
            "descriptiveness",
            f"clip_{caption}",
            caption=caption,
            text_tower=tower,
            rho_acc=0.5 - 0.1 * i,
            rho_pred=0.3 - 0.05 * i,
            top1=0.2 + 0.05 * i,
        )
        for i, caption in enumerate(("class_templates", "synset_templates", "title", "full"))
    ]
    rows += [
        study_row(
            "vocabulary",
            f"sl_{k}",
            method="sl",
            head=tower,
            vocab_size=k,
            vocab_weight=None if k == "full" else "linear",
            rho_acc=0.6 - 0.1 * j,
            rho_pred=0.7 - 0.2 * j,
            top1=0.4 + 0.02 * j,
        )
        for j, k in enumerate(("full", "128", "64"))
    ]
    return study_frame(rows)


@pytest.mark.parametrize("func, tower", [(figures.fig03, "rand"), (figures.fig19, "frozen")])
def test_fig03_fig19_draw_x_and_y_error_bars(func, tower):
    table = with_intervals(robustness_rows(tower))
    fig = func(table)
    for ax, ycol, scale in zip(fig.axes, ("rho_pred", "top1"), (1.0, 100.0), strict=True):
        assert len(containers(ax)) == 2
        for name, method in ((f"CLIP ({tower} text)", "clip"), (f"SL ({tower} head)", "sl")):
            rows = table[table.method == method].sort_values("rho_acc")
            (bars,) = containers(ax, f"err:{name}")
            xbars, ybars = spans(bars)
            x = rows.rho_acc.to_numpy()
            y = rows[ycol].to_numpy() * scale
            assert [b[0] for b in xbars] == pytest.approx(sorted(y))
            np.testing.assert_allclose(
                [b[1:] for b in sorted(xbars, key=lambda b: b[1])], expected_spans(x, "rho_acc")
            )
            assert [b[0] for b in ybars] == pytest.approx(sorted(x))
            np.testing.assert_allclose(
                [b[1:] for b in ybars], expected_spans(rows[ycol], ycol, scale)
            )
    renders(fig)


def test_fig03_three_seeds_get_the_widened_interval_of_the_helper():
    rows = [
        study_row(
            "vocabulary",
            f"sl_s{s}",
            method="sl",
            seed=s,
            rho_acc=[0.2, 0.3, 0.4][s],
            rho_pred=[0.5, 0.52, 0.54][s],
            top1=[0.40, 0.41, 0.42][s],
        )
        for s in (0, 1, 2)
    ]
    table = with_intervals(study_frame(rows))
    fig = figures.fig03(table)
    ax_a, ax_b = fig.axes
    (points,) = [c for c in ax_a.collections if c.get_gid() == "points:SL (rand head)"]
    assert np.allclose(points.get_offsets(), [[0.3, 0.52]])  # the seed means
    expected = {
        c: intervals.seed_interval(table[c], table[f"{c}_lo"], table[f"{c}_hi"])[1:]
        for c in ("rho_acc", "rho_pred", "top1")
    }
    # rho(f, acc): sd 0.1 widens both sides of the mean bootstrap interval (0.25, 0.34)
    half = T2 * 0.1 / SQRT3
    assert expected["rho_acc"] == pytest.approx((0.3 - half, 0.3 + half))
    # rho(f, #pred): the mean bootstrap interval (0.46, 0.60) is wider than the seed spread
    assert expected["rho_pred"] == pytest.approx((0.46, 0.60))
    # top-1: the lower bound widened by the seeds, the upper one the bootstrap's
    assert expected["top1"] == pytest.approx((0.41 - T2 * 0.01 / SQRT3, 0.44))
    for ax, ycol, scale in ((ax_a, "rho_pred", 1.0), (ax_b, "top1", 100.0)):
        (bars,) = containers(ax, "err:SL (rand head)")
        (xbar,), (ybar,) = spans(bars)
        assert xbar == pytest.approx((table[ycol].mean() * scale, *expected["rho_acc"]))
        assert ybar == pytest.approx((0.3, *(scale * np.asarray(expected[ycol]))))
        # the caps sit at the bounds
        caps = sorted(
            (float(np.asarray(c.get_xdata())[0]), float(np.asarray(c.get_ydata())[0]))
            for c in bars.lines[1]
        )
        assert [c[0] for c in caps] == pytest.approx(sorted([*expected["rho_acc"], 0.3, 0.3]))
        assert sorted(c[1] for c in caps) == pytest.approx(
            sorted([*(scale * np.asarray(expected[ycol])), *[table[ycol].mean() * scale] * 2])
        )


# --- Fig. 4b / 5 / 6a / 6b / 8: vertical error bars on the family lines ---------------------


def distribution_rows() -> pd.DataFrame:
    return study_frame(
        [
            study_row(
                "distribution",
                f"{method}_{source}",
                method=method,
                source=source,
                top1=0.3 + 0.1 * i,
                rho_acc=0.4 - 0.1 * i + (0.2 if method == "sl" else 0),
            )
            for method in ("clip", "sl")
            for i, source in enumerate(("curated", "web"))
        ]
    )


def scale_rows() -> pd.DataFrame:
    rows = [
        study_row(
            "scale",
            f"clip_{tower}_{scale}",
            text_tower=tower,
            scale=scale,
            n_train=int(4000 * scale),
            top1=scale / 2,
            rho_acc=0.5 - scale / 4,
        )
        for tower in ("rand", "frozen")
        for scale in (0.25, 0.5, 1.0)
    ]
    rows.append(study_row("scale", "sl_frozen", method="sl", head="frozen", n_train=4000))
    return study_frame(rows)


def open_world_rows() -> pd.DataFrame:
    return study_frame(
        [
            study_row(
                "open_world",
                f"clip_{c}",
                text_tower="frozen",
                classes=c,
                rho_acc=r,
                rho_pred=r / 2,
                top1=0.5 - r,
            )
            for c, r in (("eval", 0.3), ("all_matched", 0.2), ("all", 0.1))
        ]
    )


def web_rows() -> pd.DataFrame:
    rows = [
        study_row("open_world", f"clip_{s}", text_tower="frozen", source=s, top1=t, rho_acc=r)
        for s, t, r in (("yfcc15m_cls", 0.35, 0.3), ("yfcc15m", 0.25, 0.2))
    ]
    rows.append(
        study_row("open_world", "sl", method="sl", head="frozen", source="yfcc15m_cls", top1=0.45)
    )
    return study_frame(rows)


LINE_FIGURES = [
    (figures.fig04b, distribution_rows, ("top1", "rho_acc")),
    (figures.fig05, scale_rows, ("top1", "rho_acc", None, None)),
    (figures.fig06, open_world_rows, ("rho_acc", "rho_pred", "top1")),
    (figures.fig06b, web_rows, ("rho_acc", "rho_pred", "top1")),
]


@pytest.mark.parametrize("func, build, panels", LINE_FIGURES)
def test_family_lines_draw_vertical_error_bars(func, build, panels):
    fig = func(with_intervals(build()))
    assert len(fig.axes) == len(panels)
    for ax, ycol in zip(fig.axes, panels, strict=True):
        if ycol is None:  # the NC panels of Fig. 5: no interval columns
            assert not containers(ax)
            continue
        assert ax.get_ylabel() == style.label(ycol)
        lines = [line for line in ax.lines if (line.get_gid() or "").startswith("line:")]
        assert len(containers(ax)) == len(lines) > 0
        scale = 100.0 if ycol == "top1" else 1.0
        for line in lines:
            name = line.get_gid().removeprefix("line:")
            (bars,) = containers(ax, f"yerr:{name}")
            xbars, ybars = spans(bars)
            assert not xbars
            x, y = (np.asarray(v, dtype=float) for v in line.get_data())
            assert [b[0] for b in ybars] == pytest.approx(sorted(x))
            below, above = INTERVAL_WIDTHS[ycol]
            by_x = dict(zip(x, y, strict=True))
            for bx, lo, hi in ybars:
                assert (lo, hi) == pytest.approx(
                    (by_x[bx] - below * scale, by_x[bx] + above * scale)
                )
    renders(fig)


def test_fig05_three_seeds_get_the_widened_interval_of_the_helper():
    rows = [
        study_row("scale", f"clip_s{s}", seed=s, top1=[0.40, 0.41, 0.42][s], n_train=1000)
        for s in (0, 1, 2)
    ]
    table = with_intervals(study_frame(rows))
    fig = figures.fig05(table)
    (bars,) = containers(fig.axes[0], "yerr:CLIP (rand text)")
    _, [(x, lo, hi)] = spans(bars)
    assert x == 1000
    assert (lo, hi) == pytest.approx((41.0 - 100 * T2 * 0.01 / SQRT3, 44.0))


def test_fig05_nc_panels_get_the_seed_t_interval_with_three_seeds():
    rows = [
        study_row("scale", f"clip_s{s}", seed=s, nc1=[1.0, 2.0, 3.0][s], n_train=1000)
        for s in (0, 1, 2)
    ]
    fig = figures.fig05(with_intervals(study_frame(rows)))
    (bars,) = containers(fig.axes[2], "yerr:CLIP (rand text)")
    _, [(x, lo, hi)] = spans(bars)
    assert (x, lo, hi) == pytest.approx((1000, 2.0 - T2 / SQRT3, 2.0 + T2 / SQRT3))
    assert "NC panels: seed t-intervals (95 %)" in BY_ID["fig05"].caption
    renders(fig)


def test_fig08_draws_tail_and_head_intervals_when_the_table_has_them():
    table = trim_study_rows(
        tail_acc=lambda method, k, ceil: 0.1 * ceil + 0.01 * k,
        head_acc=lambda method, k, ceil: 0.6 + (0.1 if method == "clip" else 0),
    )
    assert not any(containers(ax) for ax in figures.fig08(table).axes)
    widths = {"tail_acc": (0.01, 0.02), "head_acc": (0.03, 0.01)}
    fig = figures.fig08(with_intervals(table, widths))
    (bars,) = containers(fig.axes[0], "yerr:CLIP (rand text)")  # 1-shot tail acc
    _, ybars = spans(bars)
    np.testing.assert_allclose(ybars, [(2.0, 11.0, 14.0), (4.0, 13.0, 16.0)])
    renders(fig)


# --- older tables: no interval columns, no error bars --------------------------------------------

ALL_TABLE_FIGURES = [
    (figures.fig03, robustness_rows),
    (figures.fig19, lambda: robustness_rows("frozen")),
    *((func, build) for func, build, _ in LINE_FIGURES),
]


@pytest.mark.parametrize("func, build", ALL_TABLE_FIGURES)
def test_tables_without_intervals_draw_without_error_bars(func, build):
    table = build()
    assert not any(c.endswith(("_lo", "_hi")) for c in table.columns)
    fig = func(table)
    assert not any(containers(ax) for ax in fig.axes)
    assert not any(isinstance(c, LineCollection) for ax in fig.axes for c in ax.collections)
    renders(fig)
    # interval columns present but empty (NaN): no bars either
    empty = with_intervals(table)
    for column in [c for c in empty.columns if c.endswith(("_lo", "_hi"))]:
        empty[column] = np.nan
    assert not any(containers(ax) for ax in func(empty).axes)


def test_a_point_without_an_interval_has_no_bar():
    table = with_intervals(robustness_rows())
    title = table.caption == "title"
    table.loc[title, ["rho_acc_lo", "rho_acc_hi", "rho_pred_lo", "rho_pred_hi"]] = np.nan
    fig = figures.fig03(table)
    (bars,) = containers(fig.axes[0], "err:CLIP (rand text)")
    xbars, ybars = spans(bars)
    assert len(xbars) == len(ybars) == 3  # four CLIP points, one without an interval
    assert table.loc[title, "rho_acc"].item() not in [b[0] for b in ybars]
    renders(fig)


# --- captions ------------------------------------------------------------------------------------


def test_captions_of_the_figures_with_error_bars_say_what_they_are():
    with_bars = {"fig03", "fig04b", "fig05", "fig06", "fig06b", "fig08", "fig19"}
    for fid in with_bars:
        caption = BY_ID[fid].caption
        assert caption.endswith(ERROR_BARS)
        assert "error bars: bootstrap 95 % intervals over classes (and seeds)" in caption.lower()
    assert not any(ERROR_BARS in e.caption for e in BY_ID.values() if e.id not in with_bars)
