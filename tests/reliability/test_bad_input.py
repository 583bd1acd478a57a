"""Bad input fails clearly: every error names the file (and column or line where known) and says
what to do; a failed write leaves the old outputs as they were; an empty result is flagged."""

from __future__ import annotations

import gzip
import json
import logging
import os
import struct

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cliptail import io
from cliptail.cli import main
from cliptail.curate import subset_cli
from cliptail.curate.concept_frequency import CaptionReadError, CaptionSource, iter_caption_batches
from cliptail.data import manifest

# --- concept-freq: reader errors -----------------------------------------------------------

WORKERS = pytest.mark.parametrize("workers", [1, 2])


@pytest.fixture
def concept_freq(tmp_path, capsys):
    """Run ``cliptail concept-freq`` on caption files with a two-class concept set and a tiny
    WordNet folder; returns (exit code, stderr, output path)."""
    wordnet = tmp_path / "wordnet"
    wordnet.mkdir()
    (wordnet / "index.noun").write_text("shark n 1 0 1 0 01\nfish n 1 0 1 0 02\n")
    (wordnet / "noun.exc").write_text("")
    (wordnet / "data.noun").write_text("")
    concepts = tmp_path / "concepts.json"
    concepts.write_text(json.dumps({"shark": ["shark"], "fish": ["fish"]}))
    out = tmp_path / "out" / "freq.tsv"

    def run(captions, workers: int, *extra: str) -> tuple[int, str]:
        capsys.readouterr()
        argv = ["concept-freq", "--concepts", str(concepts), "--wordnet", str(wordnet)]
        argv += ["--captions", str(captions), "--out", str(out), "--workers", str(workers)]
        code = main([*argv, "--batch-size", "100", "--no-progress", *extra])
        return code, capsys.readouterr().err, out

    return run


def assert_one_line_error(code: int, err: str, out, *parts: str) -> None:
    assert code == 1
    assert err.startswith("cliptail concept-freq: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "AttributeError" not in err and "EOFError" not in err
    for part in parts:
        assert part in err, (part, err)
    assert not out.exists()


def captions(n: int) -> list[str]:
    return [f"a shark and a fish, picture {i}" for i in range(n)]


def cut_in_half(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


@WORKERS
def test_missing_caption_column(tmp_path, concept_freq, workers):
    """Fault: the caption file has none of the caption columns (and --column names one it
    lacks): the message names the file, the columns it has, and --column."""
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"url": ["u1", "u2"], "n": [1, 2]}), path)
    code, err, out = concept_freq(path, workers)
    assert_one_line_error(
        code, err, out, f"{path}: none of the default caption columns", "['url', 'n']", "--column"
    )
    code, err, out = concept_freq(path, workers, "--column", "TEXT")
    assert_one_line_error(code, err, out, f"{path}: no column 'TEXT'", "--column")


@WORKERS
def test_integer_caption_column(tmp_path, concept_freq, workers):
    """Fault: the chosen caption column holds integers, not text."""
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"TEXT": [1, 2, 3]}), path)
    code, err, out = concept_freq(path, workers, "--column", "TEXT")
    assert_one_line_error(
        code, err, out, f"{path}: column 'TEXT' holds int64, not text", "choose the caption column"
    )


@WORKERS
def test_truncated_gzip_captions(tmp_path, concept_freq, workers):
    """Fault: a .jsonl.gz caption file cut short (an interrupted download): batches before the
    cut are already counted (in workers with --workers 2) when the end of the stream is missed."""
    path = tmp_path / "captions.jsonl.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(json.dumps({"caption": c}) + "\n" for c in captions(5000))
    cut_in_half(path)
    code, err, out = concept_freq(path, workers)
    assert_one_line_error(
        code,
        err,
        out,
        f"{path}: truncated gzip stream (the file is incomplete; download it again)",
    )


@WORKERS
def test_malformed_jsonl_line(tmp_path, concept_freq, workers):
    """Fault: one line of a jsonl caption file is not JSON: file, line and column are named."""
    path = tmp_path / "captions.jsonl"
    lines = [json.dumps({"caption": c}) for c in captions(250)] + ["{oops"]
    path.write_text("\n".join(lines) + "\n")
    code, err, out = concept_freq(path, workers)
    assert_one_line_error(code, err, out, f"{path}:251: not a JSON line", "at column 2")


@WORKERS
def test_truncated_parquet_captions(tmp_path, concept_freq, workers):
    """Fault: a parquet caption file cut in half (no footer)."""
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"caption": captions(5000)}), path)
    cut_in_half(path)
    code, err, out = concept_freq(path, workers)
    assert_one_line_error(
        code, err, out, f"{path}: truncated or corrupt parquet file", "download it again"
    )


def damage_data_pages(path) -> None:
    """Overwrite the data pages of a parquet file, keeping its footer (metadata) intact."""
    data = bytearray(path.read_bytes())
    footer = struct.unpack("<I", data[-8:-4])[0] + 8
    data[4 : len(data) - footer] = b"\xff" * (len(data) - footer - 4)
    path.write_bytes(bytes(data))


@WORKERS
def test_damaged_parquet_data_pages(tmp_path, concept_freq, workers):
    """Fault: a parquet caption file whose footer reads but whose data pages are garbage: the
    error comes while streaming, and is reported like a truncated file."""
    path = tmp_path / "part-0.parquet"
    pq.write_table(pa.table({"caption": captions(500)}), path, compression="none")
    damage_data_pages(path)
    code, err, out = concept_freq(path, workers)
    assert_one_line_error(
        code, err, out, f"{path}: truncated or corrupt parquet file", "download it again"
    )


def test_reader_errors_do_not_depend_on_workers(tmp_path, concept_freq):
    """Fault: with --workers 1 a reader error became an AttributeError about
    concurrent.futures.process, with --workers 2 a bare EOFError; now both print the same line."""
    gz = tmp_path / "captions.txt.gz"
    with gzip.open(gz, "wt") as fh:
        fh.write("\n".join(captions(5000)))
    cut_in_half(gz)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"caption": "a shark"}\n["unclosed"\n')
    for path in (gz, bad):
        one, two = concept_freq(path, 1), concept_freq(path, 2)
        assert one[0] == two[0] == 1 and one[1] == two[1]
        assert str(path) in one[1]


def test_truncated_gzip_in_every_text_format(tmp_path):
    """Fault: a truncated .gz caption file of any text format, read through the reader API the
    workflow's concept_frequency rule uses: CaptionReadError (a ValueError) naming the file."""
    rows = captions(5000)
    contents = {
        "c.csv.gz": "caption\n" + "\n".join(rows),
        "c.tsv.gz": "caption\n" + "\n".join(rows),
        "c.txt.gz": "\n".join(rows),
        "c.jsonl.gz": "\n".join(json.dumps(r) for r in rows),
    }
    for name, text in contents.items():
        path = tmp_path / name
        with gzip.open(path, "wt") as fh:
            fh.write(text)
        cut_in_half(path)
        with pytest.raises(CaptionReadError, match=f"{name}: truncated gzip stream"):
            for _ in iter_caption_batches(CaptionSource(path), batch_size=100):
                pass
    plain = tmp_path / "plain.txt.gz"
    plain.write_text("not compressed\n")
    with pytest.raises(ValueError, match="plain.txt.gz: corrupt gzip stream.*not gzip-compressed"):
        list(iter_caption_batches(CaptionSource(plain)))


# --- subset / trim-tail: labels and paired outputs -------------------------------------------

NAMES = ["tench", "goldfish", "great white shark", "tiger shark", "hammerhead"]


def write_manifest_file(folder, labels) -> os.PathLike:
    """A manifest parquet written as-is (no validation) with its classes.tsv."""
    folder.mkdir(parents=True, exist_ok=True)
    df = pd.DataFrame(
        {
            "image": [f"img/{i:03d}.jpg" for i in range(len(labels))],
            "label": labels,
            "caption": [f"photo {i}" for i in range(len(labels))],
        }
    )
    df.to_parquet(folder / "manifest.parquet", index=False)
    io.write_classes(folder / "classes.tsv", [f"n{c:08d}" for c in range(len(NAMES))], NAMES)
    return folder / "manifest.parquet"


def run_subset(capsys, path, out, *how: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(["subset", "--manifest", str(path), *(how or ("--n", "2")), "--out", str(out)])
    return code, capsys.readouterr().err


def test_non_integral_float_labels_are_rejected(tmp_path, capsys):
    """Fault: float labels were truncated (3.7 -> 3): now an error naming the file, the column,
    how many labels are wrong and the first of them; nothing is written."""
    path = write_manifest_file(tmp_path / "src", [0.0, 1.0, 3.7, 2.0, 4.5])
    out = tmp_path / "out" / "sub.parquet"
    for command in (["--n", "2"], ["--frac", "1"]):
        code, err = run_subset(capsys, path, out, *command)
        assert code == 1 and err.count("\n") == 1
        assert f"{path}: column 'label' must hold integer class indices" in err
        assert "2 row(s) hold non-integral values (first at row 2: 3.7)" in err
    capsys.readouterr()
    argv = ["trim-tail", "--manifest", str(path), "--lastk", "1", "--ceil", "0"]
    assert main([*argv, "--out", str(out)]) == 1
    assert "first at row 2: 3.7" in capsys.readouterr().err
    assert not out.parent.exists()
    with pytest.raises(manifest.ManifestError, match=r"m.parquet: column 'label'.*row 0: 0.5"):
        manifest.validate(
            pd.DataFrame({"image": ["a"], "label": [0.5], "caption": ["c"]}), where="m.parquet"
        )


def test_integral_float_labels_are_accepted(tmp_path, capsys):
    """Fault check: integral float labels (3.0) are class indices and are read as int64."""
    path = write_manifest_file(tmp_path / "src", [0.0, 1.0, 3.0, 3.0, 4.0])
    out = tmp_path / "out" / "all.parquet"
    code, err = run_subset(capsys, path, out, "--frac", "1")
    assert code == 0, err
    got = manifest.read(out)
    assert got["label"].dtype == np.int64
    assert sorted(got["label"].tolist()) == [0, 1, 3, 3, 4]


@pytest.mark.parametrize(
    "labels, expected",
    [
        ([0.0, 1.0, float("nan"), float("nan")], "2 row(s) have no label (first at row 2)"),
        (["0", "1", "x", "2"], "1 row(s) are not numbers (first at row 2: 'x')"),
        ([0, 1, -1, 2], "1 negative label(s) (first at row 2: -1)"),
        ([0, 1, 7, 2], "label 7 out of range for 5 classes (1 row(s), first at row 2: 7)"),
    ],
)
def test_missing_text_and_out_of_range_labels_are_named(tmp_path, capsys, labels, expected):
    """Fault: NaN, non-numeric, negative or out-of-range labels: the message names the file, the
    column 'label' and the first offending row."""
    path = write_manifest_file(tmp_path / "src", labels)
    code, err = run_subset(capsys, path, tmp_path / "out" / "sub.parquet")
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err
    assert f"{path}: column 'label'" in err and expected in err


def test_atomic_paths_failure_in_second_write_changes_nothing(tmp_path):
    """Fault: a failure between writing the frequency file and the manifest left a frequency
    file that did not match its manifest; now neither file changes and no temporary remains."""
    first, second = tmp_path / "x.freq.tsv", tmp_path / "x.parquet"
    first.write_text("old frequency\n")
    second.write_text("old manifest\n")
    with pytest.raises(OSError, match="disk full"):
        with io.atomic_paths(first, second) as (tmp_first, tmp_second):
            tmp_first.write_text("new frequency\n")
            raise OSError("disk full")  # the second write fails
    assert first.read_text() == "old frequency\n" and second.read_text() == "old manifest\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.freq.tsv", "x.parquet"]
    # no old files: none appear
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        with io.atomic_paths(fresh / "a.tsv", fresh / "b.parquet") as (tmp_a, _):
            tmp_a.write_text("a")
            raise RuntimeError("crash")
    assert list(fresh.iterdir()) == []
    # success: both renamed
    with io.atomic_paths(first, second) as (tmp_first, tmp_second):
        tmp_first.write_text("new frequency\n")
        tmp_second.write_text("new manifest\n")
    assert first.read_text() == "new frequency\n" and second.read_text() == "new manifest\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh", "x.freq.tsv", "x.parquet"]


def test_atomic_paths_failed_rename_restores_the_first_file(tmp_path, monkeypatch):
    """Fault: the rename of the second file fails after the first was renamed: the first file
    gets its old content back (the pair never mixes old and new)."""
    first, second = tmp_path / "x.freq.tsv", tmp_path / "x.parquet"
    first.write_text("old frequency\n")
    second.write_text("old manifest\n")
    replace = os.replace

    def failing_replace(src, dst):
        if os.fspath(dst) == os.fspath(second):
            raise OSError("rename failed")
        return replace(src, dst)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(OSError, match="rename failed"):
        with io.atomic_paths(first, second) as (tmp_first, tmp_second):
            tmp_first.write_text("new frequency\n")
            tmp_second.write_text("new manifest\n")
    assert first.read_text() == "old frequency\n" and second.read_text() == "old manifest\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.freq.tsv", "x.parquet"]


def test_subset_failed_manifest_write_keeps_the_old_pair(tmp_path, capsys, monkeypatch):
    """Fault: `cliptail subset` wrote the frequency file and then failed writing the manifest:
    now the previous manifest and frequency file both stay as they were, with no temporaries."""
    path = write_manifest_file(tmp_path / "src", [0, 1, 1, 3, 4, 4, 4])
    out = tmp_path / "out" / "sub.parquet"
    code, err = run_subset(capsys, path, out, "--n", "3", "--seed", "1")
    assert code == 0, err
    old_manifest, old_frequency = out.read_bytes(), subset_cli.frequency_path(out).read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(manifest.io, "write_parquet", no_space)
    code, err = run_subset(capsys, path, out, "--n", "5", "--seed", "2")
    assert code == 1 and "No space left on device" in err
    assert out.read_bytes() == old_manifest
    assert subset_cli.frequency_path(out).read_bytes() == old_frequency
    assert sorted(p.name for p in out.parent.iterdir()) == ["sub.freq.tsv", "sub.parquet"]


# --- truncated manifests ---------------------------------------------------------------------


def test_truncated_manifest_names_the_file_and_the_fix(tmp_path, capsys):
    """Fault: a manifest parquet cut in half: manifest.read (and `cliptail subset`) says which
    file is truncated or corrupt and to re-create it, instead of pyarrow's bare message."""
    path = write_manifest_file(tmp_path / "src", [0, 1, 2, 3, 4] * 200)
    cut_in_half(path)
    with pytest.raises(io.FileReadError) as info:
        manifest.read(path)
    message = str(info.value)
    assert message.startswith(f"{path}: truncated or corrupt parquet file (")
    assert "re-create it (delete it and rerun the step that writes it)" in message
    with pytest.raises(io.FileReadError, match="truncated or corrupt"):
        manifest.read(path, columns=["caption"])
    code, err = run_subset(capsys, path, tmp_path / "out" / "sub.parquet")
    assert code == 1 and err.count("\n") == 1 and message in err


def test_damaged_manifest_data_pages_name_the_file(tmp_path):
    """Fault: a manifest whose footer is intact but whose data pages are garbage."""
    path = tmp_path / "manifest.parquet"
    df = pd.DataFrame({"image": ["a"] * 300, "label": [1] * 300, "caption": ["c"] * 300})
    pq.write_table(pa.Table.from_pandas(df), path, compression="none")
    damage_data_pages(path)
    with pytest.raises(io.FileReadError, match=f"{path}: truncated or corrupt parquet file"):
        manifest.read(path)


def test_manifest_missing_column_is_named(tmp_path):
    """Fault: reading a column a manifest lacks: the file and its columns are named."""
    path = write_manifest_file(tmp_path / "src", [0, 1])
    with pytest.raises(ValueError, match=r"manifest.parquet: no column\(s\) \['wnid'\]"):
        manifest.read(path, columns=["wnid"])


# --- empty results ---------------------------------------------------------------------------


def test_empty_manifest_is_written_with_a_warning(tmp_path, caplog):
    """Fault: a curation step that selects nothing wrote an empty manifest silently; now
    manifest.write (every curation step's writer) logs a warning naming the file."""
    empty = pd.DataFrame({"image": [], "label": [], "caption": []})
    path = tmp_path / "ds" / "manifest.parquet"
    with caplog.at_level(logging.WARNING, logger="cliptail"):
        manifest.write(path, empty, num_classes=3, allow_empty_captions=True)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and warnings[0].name.startswith("cliptail")
    assert f"{path}: 0 rows" in warnings[0].getMessage()
    assert len(manifest.read(path)) == 0
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="cliptail"):
        manifest.write(path, pd.DataFrame({"image": ["a"], "label": [0], "caption": ["c"]}))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


def test_subset_with_no_rows_warns_on_stderr(tmp_path, capsys):
    """Fault: `cliptail subset --classes` of classes without images wrote an empty manifest and
    an all-zero frequency file without a word; now stderr warns, naming the output."""
    path = write_manifest_file(tmp_path / "src", [0, 1, 1, 3])
    idx = tmp_path / "idx.txt"
    idx.write_text("2\n4\n")  # classes without images
    out = tmp_path / "out" / "none.parquet"
    code, err = run_subset(capsys, path, out, "--classes", str(idx))
    assert code == 0
    assert "WARNING" in err and f"{out}: 0 rows" in err
    assert str(out.parent) not in err.replace(str(out), "")  # the output, not a temporary
    assert len(manifest.read(out)) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["none.freq.tsv", "none.parquet"]
