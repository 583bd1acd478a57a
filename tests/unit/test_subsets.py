"""cliptail.curate.subsets: pandas-style sampling, IN-Caps-100, IN-Caps (10%) and trim-tail.

The IN-Caps checks build a table with IN-Caps' released per-class counts (448,896 rows, paths
``train/<wnid>/<wnid>_<k>.JPEG``) and compare with the authors' released frequency files.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from cliptail.curate import subsets
from cliptail.data import manifest
from tests.fixtures.real_sources import RELEASED_METADATA

# the authors' released metadata shipped in the package (no heads/)
SHARED_METADATA = RELEASED_METADATA
needs_metadata = pytest.mark.skipif(
    not (SHARED_METADATA / "freqs").is_dir(),
    reason=f"the authors' released metadata is not at {SHARED_METADATA} "
    "(set CLIPTAIL_SHARED_METADATA)",
)


def incaps_frequency(name: str) -> pd.DataFrame:
    return io.read_frequency(SHARED_METADATA / "freqs" / f"class_frequency_incaps_{name}_ori.txt")


@pytest.fixture(scope="module")
def incaps_table() -> pd.DataFrame:
    """Rows with IN-Caps' per-class counts, in a shuffled order, with ImageNet-style paths."""
    counts = incaps_frequency("imagenet")["count"].to_numpy()
    wnids = sorted(
        json.loads(
            (SHARED_METADATA / "descriptors" / "descriptors_imagenet_synset.json").read_text()
        )
    )
    labels = np.repeat(np.arange(1000), counts)
    serial = np.concatenate([np.arange(c) for c in counts])
    images = [f"train/{wnids[c]}/{wnids[c]}_{k}.JPEG" for c, k in zip(labels, serial, strict=True)]
    order = np.random.default_rng(0).permutation(len(labels))
    return pd.DataFrame(
        {
            "image": np.asarray(images, dtype=object)[order],
            "label": labels[order],
            "caption": "a caption",
        }
    )


def small_table(num_rows=50, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "image": [f"img{i:03d}" for i in range(num_rows)],
            "label": rng.integers(0, 6, num_rows),
            "caption": "c",
        },
        index=rng.permutation(num_rows) * 3,
    )


# --- pandas-style sampling ----------------------------------------------------------------------


@pytest.mark.parametrize("kwargs", [{"n": 17}, {"frac": 0.3}, {"frac": 1.0}, {"n": 0}])
def test_sample_subset_is_dataframe_sample(kwargs):
    df = small_table()
    expected = df.sample(random_state=42, **kwargs)
    pd.testing.assert_frame_equal(subsets.sample_subset(df, **kwargs), expected)
    pd.testing.assert_frame_equal(
        subsets.sample_subset(df, seed=7, **kwargs), df.sample(random_state=7, **kwargs)
    )


def test_sample_positions_are_a_prefix_of_one_seeded_permutation():
    permutation = np.random.RandomState(42).permutation(1000)
    np.testing.assert_array_equal(subsets.sample_positions(1000, n=100), permutation[:100])
    np.testing.assert_array_equal(subsets.sample_positions(1000, frac=0.25), permutation[:250])


def test_sort_by_sorts_before_sampling():
    df = small_table()
    expected = df.sort_values("image").sample(n=10, random_state=42)
    pd.testing.assert_frame_equal(subsets.sample_subset(df, n=10, sort_by="image"), expected)
    shuffled = df.sample(frac=1.0, random_state=3)
    pd.testing.assert_frame_equal(subsets.sample_subset(shuffled, n=10, sort_by="image"), expected)


def test_keep_classes_readds_first_rows_and_keeps_n():
    # labels in table order; seed 42 on 10 rows takes positions 8, 1, 5 (all of class 0)
    labels = np.array([3, 0, 0, 0, 1, 0, 0, 2, 0, 0])
    df = pd.DataFrame({"image": list("abcdefghij"), "caption": "c", "label": labels})
    assert subsets.sample_positions(10, n=3).tolist() == [8, 1, 5]
    # lost classes 3, 1, 2: their first rows 0, 4, 7 are appended in table order
    assert subsets.cover_classes(labels, [8, 1, 5]).tolist() == [8, 1, 5, 0, 4, 7]
    # excess 3 removed from the largest class (class 0: rows 8, 1, 5 in this order)
    assert subsets.cover_classes(labels, [8, 1, 5], target_size=3, excess_classes=1).tolist() == [
        0,
        4,
        7,
    ]
    out = subsets.sample_subset(df, frac=0.3, keep_classes=True)
    assert out["image"].tolist() == ["i", "b", "f", "a", "e", "h"]  # frac: nothing removed
    # with n, the excess comes from the 10 largest classes -- here all four, so pandas' draw
    # (RandomState(42).permutation(6)[:3] = 0, 1, 5) may take a re-added row again
    out = subsets.sample_subset(df, n=3, keep_classes=True)
    assert out["image"].tolist() == ["f", "a", "e"]


def test_sampling_errors_are_clear():
    df = small_table(10)
    with pytest.raises(ValueError, match="cannot sample n=11 rows from a table of 10 rows"):
        subsets.sample_subset(df, n=11)
    with pytest.raises(ValueError, match="exactly one of n"):
        subsets.sample_subset(df, n=1, frac=0.5)
    with pytest.raises(ValueError, match=r"frac must be in \(0, 1\]"):
        subsets.sample_subset(df, frac=1.5)
    with pytest.raises(ValueError, match="no such column"):
        subsets.sample_subset(df, n=1, sort_by="path")


# --- IN-Caps (10%) and IN-Caps-100 ---------------------------------------------------------------


@needs_metadata
def test_in_caps_10pct_reproduces_the_released_frequency_file(incaps_table):
    out = subsets.in_caps_10pct(incaps_table)
    released = incaps_frequency("n44548")
    assert len(out) == subsets.IN_CAPS_10PCT_SIZE == released["count"].sum()
    np.testing.assert_array_equal(manifest.class_counts(out["label"], 1000), released["count"])


@needs_metadata
def test_in_caps_100_reproduces_the_released_frequency_file(incaps_table):
    idxs = subsets.read_class_indices(SHARED_METADATA / "imagenet100_idxs.txt")
    assert len(idxs) == 100
    released = incaps_frequency("imagenet100")
    names = incaps_frequency("imagenet")["name"].to_numpy()

    relabelled = subsets.class_subset(incaps_table, idxs, relabel=True)
    np.testing.assert_array_equal(
        manifest.class_counts(relabelled["label"], 100), released["count"]
    )
    assert names[np.sort(idxs)].tolist() == released["name"].tolist()
    np.testing.assert_array_equal(np.sort(idxs)[relabelled["label"]], relabelled["label_ori"])

    kept = subsets.class_subset(incaps_table, idxs)  # default: original label space
    counts = manifest.class_counts(kept["label"], 1000)
    assert counts.sum() == 44_548 == len(kept)
    assert set(np.flatnonzero(counts)) == set(idxs.tolist())
    assert "label_ori" not in kept.columns


def test_class_subset_keeps_order_and_index():
    df = small_table()
    out = subsets.class_subset(df, [4, 1])
    expected = df[df["label"].isin([1, 4])]
    pd.testing.assert_frame_equal(out, expected)
    relabelled = subsets.class_subset(df, [4, 1], relabel=True)
    assert relabelled["label"].tolist() == [0 if v == 1 else 1 for v in expected["label"]]
    with pytest.raises(ValueError, match="must not repeat"):
        subsets.class_subset(df, [1, 1])


def test_read_class_indices(tmp_path):
    path = tmp_path / "idxs.txt"
    path.write_text("15\n45\n54\n")
    assert subsets.read_class_indices(path).tolist() == [15, 45, 54]
    path.write_text("15\nfish\n")
    with pytest.raises(ValueError, match="class indices"):
        subsets.read_class_indices(path)


# --- trim-tail -----------------------------------------------------------------------------------


@needs_metadata
@pytest.mark.parametrize(
    "k,largest", [(5, 17), (20, 67), (50, 133), (100, 212), (200, 299), (500, 454)]
)
def test_tail_classes_match_the_papers_largest_counts(k, largest):
    counts = incaps_frequency("imagenet")["count"].to_numpy()
    tail = manifest.rarest_classes(counts, k)
    assert counts[tail].max() == largest
    assert len(set(tail.tolist())) == k
    assert counts[tail].max() <= np.delete(counts, tail).min()


@needs_metadata
@pytest.mark.parametrize("ceil", [0, 1])
def test_trim_tail_on_in_caps(incaps_table, ceil):
    counts = manifest.class_counts(incaps_table["label"], 1000)
    out, tail = subsets.trim_tail(incaps_table, counts, 50, ceil, seed=0)
    after = manifest.class_counts(out["label"], 1000)
    expected = counts.copy()
    expected[tail] = np.minimum(counts[tail], ceil)
    np.testing.assert_array_equal(after, expected)
    assert counts[tail].max() == 133
    # rows keep their order; nothing outside the tail is touched
    assert (np.diff(incaps_table.index.get_indexer(out.index)) > 0).all()
    untouched = ~incaps_table["label"].isin(tail)
    pd.testing.assert_frame_equal(out[~out["label"].isin(tail)], incaps_table[untouched])


def test_trim_tail_known_answer():
    # class:       0  1  2  3  4 ; counts 3, 1, 4, 0, 2 -> stable argsort [3, 1, 4, 0, 2]
    labels = [0, 2, 4, 1, 2, 0, 4, 2, 0, 2]
    df = pd.DataFrame({"image": list("abcdefghij"), "label": labels, "caption": "c"})
    counts = manifest.class_counts(df["label"], 5)
    out, tail = subsets.trim_tail(df, counts, 4, 1, seed=0)
    assert tail.tolist() == [3, 1, 4, 0]
    # classes 3 and 1 have at most one row: no draw. Class 4 (rows 2, 6) keeps one:
    # RandomState(0).choice([2, 6], 1) drops row 6 ("g"); class 0 (rows 0, 5, 8) keeps one: the
    # next draw choice([0, 5, 8], 2) drops rows 8 and 0
    rng = np.random.RandomState(0)
    assert rng.choice([2, 6], 1, replace=False).tolist() == [6]
    assert rng.choice([0, 5, 8], 2, replace=False).tolist() == [8, 0]
    assert out["image"].tolist() == ["b", "c", "d", "e", "f", "h", "j"]
    same, _ = subsets.trim_tail(df, counts, 4, 1, seed=0)
    pd.testing.assert_frame_equal(out, same)
    zero, _ = subsets.trim_tail(df, counts, 4, 0, seed=0)
    assert sorted(set(zero["label"])) == [2]


def test_trim_tail_breaks_ties_by_class_index_and_seed_matters():
    df = pd.DataFrame(
        {
            "image": [f"i{k}" for k in range(40)],
            "caption": "c",
            "label": np.repeat([0, 1, 2, 3], [10, 10, 10, 10]),
        }
    )
    counts = np.array([10, 10, 10, 10])
    _, tail = subsets.trim_tail(df, counts, 2, 1, seed=0)
    assert tail.tolist() == [0, 1]
    kept = {tuple(subsets.trim_tail(df, counts, 2, 1, seed=s)[0]["image"]) for s in range(6)}
    assert len(kept) > 1


def test_trim_tail_rejects_bad_k_and_ceil():
    df = small_table()
    counts = manifest.class_counts(df["label"], 6)
    with pytest.raises(ValueError, match=r"k must be between 0 and the number of classes \(6\)"):
        subsets.trim_tail(df, counts, 7, 1)
    with pytest.raises(ValueError, match="ceil must be >= 0"):
        subsets.trim_tail(df, counts, 2, -1)
