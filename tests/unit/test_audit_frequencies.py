"""The web frequencies an audited checkpoint is compared with: which file, and its alignment with
the evaluation classes (the authors' released files shipped with cliptail)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from cliptail import io
from cliptail.audit.frequencies import aligned_counts, frequency_file
from cliptail.data.metadata import imagenet_classes, released_root

RELEASED = released_root()
FREQS = RELEASED / "freqs"


def test_imagenet_ori_file_is_used_in_class_order():
    names = imagenet_classes(RELEASED)["name"].tolist()
    counts = aligned_counts(FREQS / "class_frequency_yfcc15m_imagenet_ori.txt", names)
    assert counts.dtype == np.int64 and counts.shape == (1000,)
    # Table 1: YFCC-15M has no caption of these two classes and one of Ibizan Hound
    assert (names[194], counts[194]) == ("Dandie Dinmont Terrier", 0)
    assert (names[222], counts[222]) == ("Kuvasz", 0)
    assert (names[173], counts[173]) == ("Ibizan Hound", 1)
    assert (names[0], counts[0]) == ("tench", 41)
    assert np.flatnonzero(counts == 0).tolist() == [194, 222]


def test_a_count_sorted_file_is_matched_by_name():
    names = list(json.loads((RELEASED / "descriptors/descriptors_cub.json").read_text()))
    path = FREQS / "class_frequency_cc12m_cub.txt"
    assert io.read_frequency(path)["name"].iat[0] == "Blue Jay"  # sorted by count, not class
    counts = aligned_counts(path, names)
    assert counts.shape == (200,)
    assert names[:2] == ["Black-footed Albatross", "Laysan Albatross"]
    assert counts[:2].tolist() == [4, 12]
    assert counts[names.index("Blue Jay")] == 1026


def test_files_that_cannot_be_aligned_are_refused(tmp_path):
    io.write_frequency(tmp_path / "f.tsv", ["a", "b", "c"], [3, 2, 1])
    assert aligned_counts(tmp_path / "f.tsv", ["c", "a", "b"]).tolist() == [1, 3, 2]
    with pytest.raises(ValueError, match=r"no count for 2 of the 3 evaluation classes .*'x', 'y'"):
        aligned_counts(tmp_path / "f.tsv", ["a", "x", "y"])
    io.write_frequency(tmp_path / "twice.tsv", ["a", "b", "a"], [3, 2, 1])
    assert aligned_counts(tmp_path / "twice.tsv", ["a", "b", "a"]).tolist() == [3, 2, 1]
    with pytest.raises(
        ValueError, match="names repeat and are not the evaluation classes in order"
    ):
        aligned_counts(tmp_path / "twice.tsv", ["b", "a", "a"])


def test_frequency_file_of_each_pair(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # outside the project: the packaged files by absolute path
    overrides = {"yfcc15m": {"imagenet": "mine.txt", "world": "w.tsv"}, "openai": {"cub": "o.txt"}}
    assert frequency_file("yfcc15m", "imagenet", overrides) == "mine.txt"
    assert frequency_file("yfcc15m", "world", overrides) == "w.tsv"
    assert frequency_file("openai", "cub", overrides) == "o.txt"
    released = frequency_file("yfcc15m", "imagenet")
    assert Path(released) == FREQS / "class_frequency_yfcc15m_imagenet_ori.txt"
    assert (
        Path(frequency_file("cc12m", "cub", overrides)) == FREQS / "class_frequency_cc12m_cub.txt"
    )
    assert frequency_file("openai", "imagenet") is None  # WIT's frequencies were never released
    assert frequency_file("openai", "cub", {"openai": {}}) is None
    assert frequency_file("laion400m", "world") is None  # the synthetic world has none
    assert frequency_file("mine", "imagenet") is None
