"""cliptail.io and cliptail.data.manifest: atomic writes and the shared table formats."""

import os

import pandas as pd
import pytest

from cliptail import io
from cliptail.data import manifest


def test_atomic_path_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("crash mid-write")
    assert not target.exists()
    assert os.listdir(tmp_path) == []


def test_atomic_path_replaces_existing(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    io.write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(os.listdir(tmp_path)) == ["out.txt"]


def test_frequency_roundtrip_authors_format(tmp_path):
    path = tmp_path / "f.tsv"
    io.write_frequency(path, ["tench", "goldfish", "great white shark"], [3, 0, 12])
    assert path.read_text() == "tench\t3\ngoldfish\t0\ngreat white shark\t12\n"
    df = io.read_frequency(path)
    assert df["name"].tolist() == ["tench", "goldfish", "great white shark"]
    assert df["count"].tolist() == [3, 0, 12]


def test_read_frequency_reports_bad_line(tmp_path):
    path = tmp_path / "f.tsv"
    path.write_text("tench\t3\ngoldfish three\n")
    with pytest.raises(ValueError, match=r"f.tsv:2"):
        io.read_frequency(path)


def test_classes_roundtrip_and_check(tmp_path):
    path = tmp_path / "classes.tsv"
    io.write_classes(path, ["n01", "n02"], ["a", "b"])
    assert io.read_classes(path)["name"].tolist() == ["a", "b"]
    path.write_text("index\tid\tname\n1\tn01\ta\n")
    with pytest.raises(ValueError, match="0..C-1"):
        io.read_classes(path)


def test_manifest_validate_errors():
    ok = pd.DataFrame({"image": ["a", "b"], "label": [0, 1], "caption": ["x", "y"]})
    assert manifest.validate(ok, 2)["label"].dtype == "int64"
    with pytest.raises(manifest.ManifestError, match="missing required column"):
        manifest.validate(ok.drop(columns="caption"))
    with pytest.raises(manifest.ManifestError, match="out of range"):
        manifest.validate(ok, 1)
    with pytest.raises(manifest.ManifestError, match="empty caption"):
        manifest.validate(ok.assign(caption=["x", ""]))
    assert len(manifest.validate(ok.assign(caption=["x", ""]), allow_empty_captions=True)) == 2


def test_frequency_for_covers_every_class(tmp_path):
    df = pd.DataFrame({"image": list("abcd"), "label": [2, 2, 0, 2], "caption": list("wxyz")})
    classes = pd.DataFrame({"index": [0, 1, 2, 3], "id": list("ABCD"), "name": list("pqrs")})
    manifest.write_frequency_for(df, classes, tmp_path / "f.tsv")
    assert (tmp_path / "f.tsv").read_text() == "p\t1\nq\t0\nr\t3\ns\t0\n"
