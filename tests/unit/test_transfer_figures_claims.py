"""Fig. 10, Table 2 and the DINO claims on hand-made probe tables with known answers."""

from __future__ import annotations

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

from cliptail.evaluate import transfer  # noqa: E402
from cliptail.evaluate.transfer_claims import difference, transfer_claims  # noqa: E402
from cliptail.figures.transfer import fig10, per_seed_deltas, table02  # noqa: E402

PROBES = ("shape", "color", "pattern")


def runs(setting_scores: dict, seeds: int = 1) -> pd.DataFrame:
    """A probe table: setting -> per-probe scores (seed s adds s to every score)."""
    rows = []
    for (source, prototypes, subsample, reference), scores in setting_scores.items():
        for seed in range(seeds):
            run = f"dino_{source}_{prototypes}_{subsample}_seed{seed}"
            for probe, score in zip(PROBES, scores, strict=True):
                rows.append(
                    {
                        "run": run,
                        "probe_set": probe,
                        "score": score + seed,
                        "source": source,
                        "scale": 1.0,
                        "recipe": f"{prototypes}-{subsample}",
                        "prototypes": prototypes,
                        "subsample": subsample,
                        "is_reference": reference,
                        "seed": seed,
                    }
                )
    return pd.DataFrame(rows)


TABLE = {
    ("imagenet", 4096, None, True): (80.0, 60.0, 70.0),
    ("laionet", 4096, None, False): (70.0, 50.0, 66.0),  # -8 on average
    ("laionet", 1024, None, False): (72.0, 52.0, 66.0),  # -6.67
    ("laionet", 4096, 1024.0, False): (78.0, 59.0, 70.0),  # -1
}


def test_setting_labels_follow_table_2():
    names = {"imagenet": "ImageNet", "laionet": "LAIONet"}
    row = {"source": "laionet", "prototypes": 65536, "subsample": None, "scale": 1.0}
    assert transfer.setting_label(row, names) == "LAIONet, 65536 prototypes"
    assert transfer.setting_label({**row, "subsample": 1024.0}, names) == "LAIONet, sampling 1024"
    ref = {"source": "imagenet", "is_reference": True, "prototypes": 65536}
    assert transfer.setting_label(ref, names) == "ImageNet"
    assert set(transfer.PAPER_TABLE2) >= {
        transfer.setting_label({**row, "subsample": s}, names) for s in (1024, 4096, 16384)
    }


def test_table02_means_and_paper_values():
    out = table02(runs(TABLE)).set_index("setting")
    assert out.loc["ImageNet", "mean_score"] == pytest.approx(70.0)
    assert out.loc["LAIONet, 4096 prototypes", "mean_score"] == pytest.approx(62.0)
    assert out.loc["LAIONet, sampling 1024", "mean_score"] == pytest.approx(69.0)
    assert out.loc["ImageNet", "paper"] == 60.8  # the paper's row of the same name
    assert np.isnan(out.loc["LAIONet, 4096 prototypes", "paper"])  # not one of Table 2's
    assert out["probe_sets"].eq(3).all() and out["seeds"].eq(1).all()
    three = table02(runs(TABLE, seeds=3)).set_index("setting")
    # seeds add 0, 1, 2: mean + 1, t-interval half-width t(2) * 1 / sqrt(3)
    assert three.loc["ImageNet", "mean_score"] == pytest.approx(71.0)
    assert three.loc["ImageNet", "ci95_half_width"] == pytest.approx(4.302652729749462 / 3**0.5)


def test_fig10_bars_are_the_differences_to_the_reference():
    fig = fig10(runs(TABLE))
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_xticklabels()]
    assert labels == ["Shape", "Colour", "Pattern", "Average"]
    heights = {
        p.get_gid(): [] for p in ax.patches if p.get_gid() and p.get_gid().startswith("bar:")
    }
    for p in ax.patches:
        if p.get_gid() in heights:
            heights[p.get_gid()].append(p.get_height())
    assert heights["bar:LAIONet, 4096 prototypes"] == pytest.approx([-10, -10, -4, -8])
    assert heights["bar:LAIONet, sampling 1024"] == pytest.approx([-2, -1, 0, -1])
    assert "vs ImageNet" in ax.get_ylabel()
    deltas = per_seed_deltas(runs(TABLE, seeds=2))
    assert len(deltas) == 3 * 2 * (3 + 1)  # settings x seeds x (probe sets + average)
    with pytest.raises(ValueError, match="no run of the reference"):
        fig10(runs(TABLE).assign(is_reference=False))


def test_difference_is_paired_over_probe_sets_and_seeds():
    table = runs(TABLE, seeds=2)
    a = table[table.recipe == "4096-1024.0"]
    b = table[(table.recipe == "4096-None") & (table.source == "laionet")]
    rng = np.random.default_rng(0)
    point, reps, seeds = difference(a, b, rng)
    assert point == pytest.approx(7.0) and seeds == 2
    # per-probe differences 8, 9, 4, and the seeds (offsets 0 and 1) resampled per setting
    # shift a replicate by at most 1: every replicate lies in [4 - 1, 9 + 1]
    assert reps.min() >= 3.0 - 1e-9 and reps.max() <= 10.0 + 1e-9
    assert reps.min() < 4.0 and reps.max() > 9.0  # both resamplings happen
    one = runs(TABLE, seeds=1)
    single = one[(one.probe_set == "shape") & (one.source == "laionet")]
    _, none, _ = difference(
        single[single.recipe == "4096-1024.0"], single[single.recipe == "4096-None"], rng
    )
    assert none is None  # one probe set, one seed: no interval


def test_transfer_claims_verdicts():
    out = transfer_claims(runs(TABLE, seeds=2)).set_index("claim")
    assert out.loc["dino_web_transfers_worse", "verdict"] == "holds"  # -8 on every resample
    assert out.loc["prototype_subsampling_helps", "verdict"] == "holds"
    assert out.loc["sampling_beats_fewer_prototypes", "verdict"] == "holds"
    assert out.loc["dino_web_transfers_worse", "seeds"] == 2
    assert out.loc["dino_web_transfers_worse", "evalset"] == "probes: color, pattern, shape"
    # a subsampled run worse than the full one on every probe set: does not hold
    worse = dict(TABLE)
    worse[("laionet", 4096, 1024.0, False)] = (60.0, 40.0, 60.0)
    flipped = transfer_claims(runs(worse, seeds=2)).set_index("claim")
    assert flipped.loc["prototype_subsampling_helps", "verdict"] == "does not hold"
    # mixed signs over probe sets: inconclusive
    mixed = dict(TABLE)
    mixed[("laionet", 4096, 1024.0, False)] = (75.0, 45.0, 70.0)
    assert (
        transfer_claims(runs(mixed, seeds=2))
        .set_index("claim")
        .loc["prototype_subsampling_helps", "verdict"]
        == "inconclusive"
    )
    # without the runs a claim needs: not tested
    only_ref = runs({k: v for k, v in TABLE.items() if k[3]})
    assert set(transfer_claims(only_ref)["verdict"]) == {"not tested"}
