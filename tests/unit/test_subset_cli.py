"""``cliptail subset`` and ``cliptail trim-tail``: outputs, frequency files and error handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cliptail import io
from cliptail.cli import main
from cliptail.curate import subsets
from cliptail.data import manifest

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead", "electric ray"]
COUNTS = [30, 12, 0, 5, 2, 9]  # class 2 is empty


@pytest.fixture
def dataset(tmp_path):
    src = tmp_path / "src"
    labels = np.random.default_rng(0).permutation(np.repeat(np.arange(6), COUNTS))
    df = pd.DataFrame(
        {
            "image": [f"train/{NAMES[c]}/{k:03d}.jpg" for k, c in enumerate(labels)],
            "label": labels,
            "caption": [f"a {NAMES[c]}" for c in labels],
        }
    )
    manifest.write(src / "manifest.parquet", df, num_classes=6)
    io.write_classes(src / "classes.tsv", [f"n{c:08d}" for c in range(6)], NAMES)
    return src / "manifest.parquet", manifest.read(src / "manifest.parquet"), tmp_path / "out"


def frequency(path) -> list[tuple[str, int]]:
    df = io.read_frequency(path)
    return list(zip(df["name"], df["count"].tolist(), strict=True))


def test_subset_n_writes_manifest_and_frequency(dataset, capsys):
    path, df, out = dataset
    target = out / "sub.parquet"
    assert (
        main(["subset", "--manifest", str(path), "--n", "20", "--seed", "42", "--out", str(target)])
        == 0
    )
    got = manifest.read(target)
    pd.testing.assert_frame_equal(got, df.sample(n=20, random_state=42).reset_index(drop=True))
    counts = manifest.class_counts(got["label"], 6)
    assert frequency(out / "sub.freq.tsv") == list(zip(NAMES, counts.tolist(), strict=True))
    assert frequency(out / "sub.freq.tsv")[2] == ("great white shark", 0)  # zeros kept
    assert "20 of 58 rows" in capsys.readouterr().out


def test_subset_sort_by_and_keep_classes(dataset):
    path, df, out = dataset
    target = out / "sorted.parquet"
    assert (
        main(
            [
                "subset",
                "--manifest",
                str(path),
                "--n",
                "6",
                "--sort-by",
                "image",
                "--keep-classes",
                "--out",
                str(target),
            ]
        )
        == 0
    )
    expected = subsets.sample_subset(df, n=6, sort_by="image", keep_classes=True)
    pd.testing.assert_frame_equal(manifest.read(target), expected.reset_index(drop=True))
    counts = manifest.class_counts(manifest.read(target)["label"], 6)
    assert len(expected) == 6 and (counts[[0, 1, 3, 4, 5]] > 0).all()


def test_subset_frac_and_classes(dataset, tmp_path):
    path, df, out = dataset
    assert (
        main(
            ["subset", "--manifest", str(path), "--frac", "0.5", "--out", str(out / "half.parquet")]
        )
        == 0
    )
    assert len(manifest.read(out / "half.parquet")) == round(0.5 * len(df))
    idx = tmp_path / "idxs.txt"
    idx.write_text("4\n0\n")
    assert (
        main(
            [
                "subset",
                "--manifest",
                str(path),
                "--classes",
                str(idx),
                "--out",
                str(out / "two.parquet"),
            ]
        )
        == 0
    )
    got = manifest.read(out / "two.parquet")
    pd.testing.assert_frame_equal(got, df[df["label"].isin([0, 4])].reset_index(drop=True))
    assert [c for _, c in frequency(out / "two.freq.tsv")] == [30, 0, 0, 0, 2, 0]


def test_trim_tail_cli(dataset, capsys):
    path, df, out = dataset
    target = out / "trim.parquet"
    assert (
        main(
            [
                "trim-tail",
                "--manifest",
                str(path),
                "--lastk",
                "3",
                "--ceil",
                "1",
                "--seed",
                "0",
                "--out",
                str(target),
            ]
        )
        == 0
    )
    # counts 30, 12, 0, 5, 2, 9 -> the 3 rarest: classes 2 (0), 4 (2), 3 (5)
    assert [c for _, c in frequency(out / "trim.freq.tsv")] == [30, 12, 0, 1, 1, 9]
    expected, tail = subsets.trim_tail(df, manifest.class_counts(df["label"], 6), 3, 1, seed=0)
    assert tail.tolist() == [2, 4, 3]
    pd.testing.assert_frame_equal(manifest.read(target), expected.reset_index(drop=True))
    assert "largest original count 5" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["subset", "--n", "59"], "cannot sample n=59 rows from a table of 58 rows"),
        (
            ["trim-tail", "--lastk", "7", "--ceil", "0"],
            "--lastk must be between 1 and the number of classes (6), got 7",
        ),
        (["trim-tail", "--lastk", "0", "--ceil", "0"], "--lastk must be between 1"),
        (["subset", "--n", "5", "--sort-by", "path"], "cannot sort by 'path'"),
    ],
)
def test_bad_input_gives_one_error_and_no_output(dataset, capsys, argv, message):
    path, _, out = dataset
    target = out / "x.parquet"
    assert main([argv[0], "--manifest", str(path), *argv[1:], "--out", str(target)]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_missing_inputs_are_named(dataset, capsys, tmp_path):
    path, _, out = dataset
    assert (
        main(
            [
                "subset",
                "--manifest",
                str(tmp_path / "nope.parquet"),
                "--n",
                "1",
                "--out",
                str(out / "x.parquet"),
            ]
        )
        == 1
    )
    assert "nope.parquet does not exist" in capsys.readouterr().err
    (path.parent / "classes.tsv").unlink()
    assert (
        main(
            [
                "trim-tail",
                "--manifest",
                str(path),
                "--lastk",
                "1",
                "--ceil",
                "0",
                "--out",
                str(out / "x.parquet"),
            ]
        )
        == 1
    )
    assert "classes.tsv does not exist" in capsys.readouterr().err
    assert not out.exists()


def test_class_indices_out_of_range(dataset, capsys, tmp_path):
    path, _, out = dataset
    idx = tmp_path / "idx.txt"
    idx.write_text("1\n9\n")
    assert (
        main(
            [
                "subset",
                "--manifest",
                str(path),
                "--classes",
                str(idx),
                "--out",
                str(out / "x.parquet"),
            ]
        )
        == 1
    )
    assert "class indices must lie in 0..5" in capsys.readouterr().err
    assert not out.exists()


def test_argument_errors_exit_with_usage(dataset):
    path, _, out = dataset
    with pytest.raises(SystemExit):
        main(["subset", "--manifest", str(path), "--n", "3", "--frac", "0.5", "--out", str(out)])
    with pytest.raises(SystemExit):
        main(["subset", "--manifest", str(path), "--frac", "1.5", "--out", str(out)])
    with pytest.raises(SystemExit):
        main(
            [
                "trim-tail",
                "--manifest",
                str(path),
                "--lastk",
                "2",
                "--ceil",
                "-1",
                "--out",
                str(out),
            ]
        )
