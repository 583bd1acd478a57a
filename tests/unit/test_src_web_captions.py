"""YFCC-15M-Cls / CC-12M-Cls: the phrase matcher, caption-list formats, released frequencies."""

from __future__ import annotations

import numpy as np
import pytest

from cliptail.data.metadata import imagenet_classes
from cliptail.data.web_captions import PhraseMatcher, class_phrases, read_web_cls
from tests.fixtures.real_sources import (
    authors_counts,
    captions_for_counts,
    scaled,
    shared_metadata,
    write_caption_list,
)


@pytest.fixture(scope="module")
def classes():
    return imagenet_classes(shared_metadata())


@pytest.fixture(scope="module")
def wordnet_phrases(classes):
    return class_phrases(classes["id"].tolist(), "wordnet")


def test_matcher_rules():
    m = PhraseMatcher(
        [
            ["lion", "king of beasts"],
            ["sea lion"],
            ["st. bernard"],
            ["ai"],
            ["jack-o'-lantern"],
            ["???"],
        ]
    )
    assert m.phrase_count() == 6  # "???" has no word character: ignored
    assert m.classes("A SEA LION basking") == [0, 1]  # overlaps count for both
    assert m.classes("lions at the zoo") == []  # whole words only
    assert m.classes("the King of Beasts!") == [0]  # case-insensitive, punctuation ok
    assert m.classes("my St. Bernard") == [2]
    assert m.classes("my stxbernard") == []  # '.' is literal
    assert m.classes("paid in full") == []  # 'ai' is not inside 'paid'
    assert m.classes("ai-generated") == [3]
    assert m.classes("a Jack-o'-lantern glowing") == [4]
    assert m.phrases_found("sea lion") == [
        (0, r"(?<!\w)lion(?!\w)"),
        (1, r"(?<!\w)sea\ lion(?!\w)"),
    ]


def test_wordnet_phrases_are_the_synset_lemmas(wordnet_phrases):
    assert wordnet_phrases["n02012849"] == ["crane"]  # the bird
    assert wordnet_phrases["n03126707"] == ["crane"]  # the machine
    assert wordnet_phrases["n02106166"] == ["Border collie"]
    assert wordnet_phrases["n09193705"] == ["alp"]


@pytest.mark.parametrize("suffix", [".jsonl", ".tsv", ".csv", ".parquet"])
def test_formats_multilabel_and_bad_rows(tmp_path, classes, wordnet_phrases, suffix):
    images = ["a/1.jpg", "a/2.jpg", "", "a/4.jpg", "a/5.jpg", "a/6.jpg", "a/7.jpg"]
    captions = [
        "a crane lifting\nsteel",
        "my goldfish",
        "goldfish without image",
        "   ",
        "nothing here",
        "a TENCH and a Goldfish",
        "tinca tinca\tfish",
    ]
    path = write_caption_list(tmp_path / f"list{suffix}", images, captions)
    if suffix == ".jsonl":
        with open(path, "a") as fh:
            fh.write("{broken json\n")
    df, report = read_web_cls(
        path, classes, wordnet_phrases, ambiguous="all", source="yfcc15m", progress=False
    )
    # class order, then list order; 'crane' names two synsets -> two rows
    assert df[["image", "label"]].values.tolist() == [
        ["a/6.jpg", 0],
        ["a/7.jpg", 0],
        ["a/2.jpg", 1],
        ["a/6.jpg", 1],
        ["a/1.jpg", 134],
        ["a/1.jpg", 517],
    ]
    assert df["caption"].tolist()[1] == "tinca tinca fish"
    assert df["caption"].tolist()[4] == "a crane lifting steel"
    assert df["row"].tolist() == [5, 6, 1, 5, 0, 0]
    assert set(df["source"]) == {"yfcc15m"} and df["wnid"].tolist()[0] == "n01440764"
    assert report["skipped"] == {
        "bad_json": int(suffix == ".jsonl"),
        "missing_image": 1,
        "empty_caption": 1,
    }
    assert report["captions_matched"] == 4 and report["multi_label_captions"] == 2
    dropped, report = read_web_cls(path, classes, wordnet_phrases, ambiguous="drop", progress=False)
    assert dropped[["image", "label"]].values.tolist() == [["a/7.jpg", 0], ["a/2.jpg", 1]]
    assert report["captions_dropped_ambiguous"] == 2


def test_missing_column_and_unknown_format(tmp_path, classes, wordnet_phrases):
    path = write_caption_list(tmp_path / "l.parquet", ["x"], ["goldfish"], caption_column="TEXT")
    with pytest.raises(ValueError, match=r"no column\(s\) \['caption'\]"):
        read_web_cls(path, classes, wordnet_phrases, progress=False)
    df, _ = read_web_cls(path, classes, wordnet_phrases, caption_column="TEXT", progress=False)
    assert df["label"].tolist() == [1]
    with pytest.raises(ValueError, match="unknown caption-list format"):
        read_web_cls(tmp_path / "l.txt", classes, wordnet_phrases, progress=False)


def _released_counts_test(tmp_path, classes, wordnet_phrases, name, ambiguous, divisor):
    counts = scaled(authors_counts(f"{name}_imagenet_ori"), divisor)
    wnids = classes["id"].tolist()
    phrases = [wordnet_phrases[w] for w in wnids]
    captions, info = captions_for_counts(phrases, counts, PhraseMatcher(phrases), ambiguous)
    captions += ["no imagenet class in this one", "another plain caption"]
    rng = np.random.default_rng(0)
    order = rng.permutation(len(captions))
    path = write_caption_list(
        tmp_path / "list.jsonl",
        [f"img/{i:07d}.jpg" for i in range(len(captions))],
        [captions[i] for i in order],
    )
    df, report = read_web_cls(
        path, classes, wordnet_phrases, ambiguous=ambiguous, processes=2, progress=False
    )
    assert np.bincount(df["label"], minlength=1000).tolist() == counts
    return report, info


def test_cc12m_cls_released_counts_are_multilabel(tmp_path, classes, wordnet_phrases):
    """Scaled (ceil(count / 20), 174k rows) CC-12M-Cls: multi-label over WordNet lemmas."""
    report, info = _released_counts_test(tmp_path, classes, wordnet_phrases, "cc12m_cls", "all", 20)
    assert info["overlapping"] > 0 and report["multi_label_captions"] > 0
    assert report["classes_nonempty"] == 984


def test_yfcc15m_cls_released_counts_drop_ambiguous_captions(tmp_path, classes, wordnet_phrases):
    """Scaled (ceil(count / 20), 145k rows) YFCC-15M-Cls: captions matching several classes dropped."""
    report, info = _released_counts_test(
        tmp_path, classes, wordnet_phrases, "yfcc15m_cls", "drop", 20
    )
    assert report["captions_dropped_ambiguous"] == info["ambiguous_added"] > 0
    assert report["classes_nonempty"] == 947


def test_finding_yfcc15m_cls_is_single_label(classes, wordnet_phrases):
    """The 38 classes without a lemma of their own are empty in YFCC-15M-Cls, not in CC-12M-Cls."""
    wnids = classes["id"].tolist()
    phrases = [wordnet_phrases[w] for w in wnids]
    matcher = PhraseMatcher(phrases)
    shared_only = [
        c for c in range(1000) if not any(matcher.classes(f"x {p} x") == [c] for p in phrases[c])
    ]
    assert len(shared_only) == 38
    yfcc = authors_counts("yfcc15m_cls_imagenet_ori")
    cc12m = authors_counts("cc12m_cls_imagenet_ori")
    assert all(yfcc[c] == 0 for c in shared_only)
    assert sum(cc12m[c] > 0 for c in shared_only) > 30
    crane_bird, crane_machine = wnids.index("n02012849"), wnids.index("n03126707")
    assert cc12m[crane_bird] == cc12m[crane_machine] == 5152
