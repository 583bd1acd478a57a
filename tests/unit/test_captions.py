"""cliptail.curate.captions: field captions, template captions, seeding and row order."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

from cliptail.curate import captions

NAMES = ["tench", "goldfish", "great white shark"]
SYNONYMS = [
    ["tench", "tinca tinca"],
    ["goldfish", "carassius auratus"],
    ["great white shark", "white shark", "man-eater", "carcharodon carcharias"],
]


def metadata() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "image": [f"img{i}" for i in range(6)],
            "label": [0, 1, 2, 0, 1, 2],
            "title": ["Fish  pic", "", "Jaws\ttoday", None, "gold", ""],
            "tags": [["pond", "green"], [], "sea blue", ["q"], None, []],
            "description": ["line one\nline two\r\n", "", "", "  d ", "", ""],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def test_type_lists():
    assert captions.CAPTION_TYPES == (
        "class_templates",
        "synset_templates",
        "description",
        "title",
        "tags",
        "title_description",
        "tags_description",
        "title_tags",
        "full",
    )
    assert set(captions.CAPTION_FIELDS) == set(captions.CAPTION_TYPES[2:])
    assert captions.CAPTION_FIELDS["full"] == ("title", "tags", "description")
    assert "a_class" in captions.ALL_CAPTION_TYPES


def test_compose_fields_known_answers():
    df = metadata()
    full = captions.compose_fields(df, ("description", "tags", "title"))  # order is fixed
    assert full.tolist() == [
        "Fish pic pond green line one line two",
        "",
        "Jaws today sea blue",
        "q d",
        "gold",
        "",
    ]
    assert full.index.tolist() == df.index.tolist()
    assert captions.compose_fields(df, ("tags",)).tolist() == [
        "pond green",
        "",
        "sea blue",
        "q",
        "",
        "",
    ]
    with pytest.raises(ValueError, match="non-empty subset"):
        captions.compose_fields(df, ("url",))
    with pytest.raises(ValueError, match="no column"):
        captions.compose_fields(df.drop(columns="tags"), ("tags",))


def test_field_variants_prepend_the_class_name_and_keep_every_row():
    df = metadata()
    out = captions.caption_variant(df, "full", class_names=NAMES)
    assert len(out) == len(df)
    by_image = dict(zip(out["image"], out["caption"], strict=True))
    assert by_image == {
        "img0": "tench Fish pic pond green line one line two",
        "img1": "goldfish",
        "img2": "great white shark Jaws today sea blue",
        "img3": "tench q d",
        "img4": "goldfish gold",
        "img5": "great white shark",
    }
    title = captions.caption_variant(df, "title", class_names=NAMES)
    assert (
        dict(zip(title["image"], title["caption"], strict=True))["img2"]
        == "great white shark Jaws today"
    )


def test_without_class_prompt_empty_captions_are_dropped():
    out = captions.caption_variant(
        metadata(), "description", class_names=NAMES, prepend_class_prompt=False
    )
    assert sorted(zip(out["image"], out["caption"], strict=False)) == [
        ("img0", "line one line two"),
        ("img3", "d"),
    ]


def test_draws_follow_the_seeded_shuffle():
    """random.Random(seed): shuffle the rows, then per row (shuffled order) the template, then
    the synonym."""
    df = metadata()
    for seed in (0, 3):
        rng = random.Random(seed)
        order = list(range(len(df)))
        rng.shuffle(order)
        expected = []
        for label in df["label"].to_numpy()[order]:
            template = rng.choice(OPENAI_IMAGENET_TEMPLATES)
            expected.append(template(rng.choice(SYNONYMS[label])))
        out = captions.caption_variant(
            df, "synset_templates", class_names=NAMES, synonyms=SYNONYMS, seed=seed
        )
        assert out.index.tolist() == df.index[order].tolist()
        assert out["caption"].tolist() == expected


def test_template_known_answers():
    df = metadata()
    out = captions.caption_variant(df, "class_templates", class_names=NAMES)
    assert out["image"].tolist() == ["img4", "img2", "img1", "img0", "img5", "img3"]
    assert out["caption"].tolist()[:3] == [
        "a photo of a nice goldfish.",
        "a close-up photo of the great white shark.",
        "a good photo of a goldfish.",
    ]
    a_class = captions.caption_variant(df, "a_class", class_names=NAMES)
    assert a_class["caption"].tolist() == [
        "a goldfish",
        "a great white shark",
        "a goldfish",
        "a tench",
        "a great white shark",
        "a tench",
    ]


def test_every_type_shares_one_row_order_and_is_deterministic():
    df = metadata()
    orders = set()
    for caption_type in captions.ALL_CAPTION_TYPES:
        out = captions.caption_variant(df, caption_type, class_names=NAMES, synonyms=SYNONYMS)
        again = captions.caption_variant(df, caption_type, class_names=NAMES, synonyms=SYNONYMS)
        pd.testing.assert_frame_equal(out, again)
        assert len(out) == len(df)
        assert (out["caption"].str.len() > 0).all()
        orders.add(tuple(out["image"]))
        pd.testing.assert_frame_equal(out.drop(columns="caption"), df.loc[out.index])
    assert len(orders) == 1


def test_seed_changes_order_and_draws():
    df = pd.DataFrame({"image": [f"i{k}" for k in range(200)], "label": np.arange(200) % 3})
    a = captions.caption_variant(df, "class_templates", class_names=NAMES, seed=0)
    b = captions.caption_variant(df, "class_templates", class_names=NAMES, seed=1)
    assert a["image"].tolist() != b["image"].tolist()
    assert a.sort_index()["caption"].tolist() != b.sort_index()["caption"].tolist()
    # 200 draws over 80 templates use many of them
    assert a["caption"].nunique() > 60


def test_errors_are_clear():
    df = metadata()
    with pytest.raises(ValueError, match="unknown caption type 'summary'"):
        captions.caption_variant(df, "summary", class_names=NAMES)
    with pytest.raises(ValueError, match="need the synonyms"):
        captions.caption_variant(df, "synset_templates", class_names=NAMES)
    with pytest.raises(ValueError, match=r"class\(es\) \[1\] have no synonyms"):
        captions.caption_variant(
            df, "synset_templates", class_names=NAMES, synonyms=[["tench"], [], ["shark"]]
        )
    with pytest.raises(ValueError, match="only 2 class names"):
        captions.caption_variant(df, "a_class", class_names=NAMES[:2])
