"""LAION-400M parts and LAIONet steps 1-3 on fixtures in the real formats."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from cliptail.data import laion
from cliptail.data.metadata import imagenet_classes
from cliptail.data.wordnet import NounSynset, read_noun_synsets
from tests.fixtures.real_sources import authors_laionet_table, laion_part, shared_metadata


@pytest.fixture(scope="module")
def classes():
    return imagenet_classes(shared_metadata())


@pytest.fixture(scope="module")
def synsets(classes):
    return read_noun_synsets(classes["id"].tolist())


def test_wordnet_synsets_and_queries(synsets):
    tench = synsets["n01440764"]
    assert tench.lemmas == ("tench", "Tinca tinca")
    assert tench.name_definition == (
        "tench which is freshwater dace-like game fish of Europe and "
        "western Asia noted for ability to survive outside water"
    )
    husky = synsets["n02110185"]
    assert husky.name == "siberian husky"
    assert husky.definition.startswith("breed of sled dog developed in northeastern Siberia;")


def test_unique_lemmas(synsets):
    lemmas = laion.unique_lemmas(synsets)
    assert lemmas["n02012849"] == [] and lemmas["n03126707"] == []  # 'crane' twice
    assert lemmas["n01807496"] == []  # 'partridge' twice
    assert lemmas["n01797886"] == ["ruffed grouse", "bonasa umbellus"]
    assert lemmas["n02077923"] == ["sea lion"]
    assert sum(1 for v in lemmas.values() if v) == 993


TEXTS = [
    "A tench in the lake",
    "construction crane at dusk",
    "sea lion next to a lion",
    "nothing to see",
    None,
    "Tinca tinca and a GOLDFISH",
    "nsfw tench",
]


def test_download_and_match_a_part(tmp_path, http_server, synsets):
    served = tmp_path / "srv"
    name = laion.part_name(3)
    laion_part(served / name, TEXTS, lambda i: f"http://example.invalid/{i}.jpg")
    server = http_server(served)
    digest = hashlib.sha256((served / name).read_bytes()).hexdigest()
    path = laion.download_part(3, tmp_path / "parts", server.base_url, digest, progress=False)
    assert path.name == "part-00003-5b54c5d5-bbcf-484d-a2ce-0d6f73df1a36-c000.snappy.parquet"
    matched, report = laion.match_part(
        path, 3, laion.unique_lemmas(synsets), progress=False, match="words"
    )
    assert matched[["laion_index", "wnid"]].values.tolist() == [
        [300_000_000, "n01440764"],
        [300_000_002, "n02077923"],
        [300_000_002, "n02129165"],
        [300_000_005, "n01440764"],
        [300_000_005, "n01443537"],
        [300_000_006, "n01440764"],
    ]
    assert {"URL", "TEXT", "NSFW", "LICENSE", "laion_similarity"} <= set(matched.columns)
    assert report == {
        "part": 3,
        "match": "words",
        "rows": 7,
        "captions_matched": 4,
        "captions_ambiguous": 0,
        "pairs": 6,
        "no_text": 1,
    }
    # the authors' rule (default): case-sensitive lemmas, several synsets -> dropped
    matched, report = laion.match_part(path, 3, laion.authors_lemmas(synsets), progress=False)
    # 'crane' names two synsets (unusable); "sea lion next to a lion" names two (dropped);
    # "Tinca tinca" matches, "GOLDFISH" is not the lemma "goldfish"
    assert matched[["laion_index", "wnid"]].values.tolist() == [
        [300_000_000, "n01440764"],
        [300_000_005, "n01440764"],
        [300_000_006, "n01440764"],
    ]
    assert report["captions_ambiguous"] == 1 and report["captions_matched"] == 3
    assert report["pairs"] == 3 and report["match"] == "authors"


def test_part_numbers_are_checked():
    with pytest.raises(ValueError, match="parts 0..31"):
        laion.part_name(32)


def test_definition_similarity_with_random_weights(synsets):
    scorer = laion.DefinitionScorer(pretrained=None, device="cpu", batch_size=4)
    matched = pd.DataFrame(
        {
            "laion_index": [1, 2, 3],
            "TEXT": ["A tench in the lake", "my goldfish", "A tench in the lake"],
            "wnid": ["n01440764", "n01443537", "n01443537"],
        }
    )
    scored = laion.score_matches(matched, synsets, scorer, progress=False)
    emb = scorer.encode(
        [
            "A tench in the lake",
            "my goldfish",
            synsets["n01440764"].name_definition,
            synsets["n01443537"].name_definition,
        ]
    )
    assert np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)
    expected = [emb[0] @ emb[2], emb[1] @ emb[3], emb[0] @ emb[3]]
    assert np.allclose(scored["similarity"], expected, atol=1e-5)
    assert scored["similarity"].dtype == np.float32


def test_definition_scorer_equals_a_direct_open_clip_computation():
    """The scorer (the project's open_clip text encoder, normalised) gives exactly what the
    direct open_clip computation gives on the same random weights: unique queries and the
    captions each encoded as one batch, L2-normalised in torch, dot products per pair."""
    import open_clip
    import torch

    scorer = laion.DefinitionScorer("ViT-B-32", pretrained=None, device="cpu")
    assert scorer.device == "cpu" and scorer.batch_size == 512
    captions = ["A tench in the lake", "my goldfish", "a dog on a sofa", "Tinca tinca!"]
    wnids = ["n01440764", "n01443537", "n01440764", "n01443537"]
    queries = {
        "n01440764": "tench which is freshwater dace-like game fish",
        "n01443537": "goldfish which is small golden or orange-red freshwater fishes",
    }
    got = scorer.similarity(captions, wnids, queries, progress=False)

    reference = open_clip.create_model("ViT-B-32", pretrained=None, device="cpu")
    reference.load_state_dict(scorer.model.state_dict())
    reference.eval()
    tokenizer = open_clip.get_tokenizer("ViT-B-32")
    with torch.no_grad():
        caption_emb = torch.nn.functional.normalize(
            reference.encode_text(tokenizer(captions)).float(), dim=-1
        ).numpy()
        query_emb = torch.nn.functional.normalize(
            reference.encode_text(tokenizer(list(queries.values()))).float(), dim=-1
        ).numpy()
    targets = np.stack([query_emb[list(queries).index(w)] for w in wnids])
    expected = (caption_emb * targets).sum(axis=1).astype(np.float32)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected)
    small_batches = laion.DefinitionScorer("ViT-B-32", pretrained=None, device="cpu", batch_size=3)
    small_batches.encoder.model.load_state_dict(scorer.model.state_dict())
    assert np.allclose(
        small_batches.similarity(captions, wnids, queries, progress=False), expected, atol=1e-6
    )


def test_filter_threshold_nsfw_and_one_label(classes):
    scored = pd.DataFrame(
        {
            "laion_index": [5, 5, 1, 2, 3, 4, 4],
            "wnid": [
                "n01443537",
                "n01440764",
                "n01440764",
                "n01440764",
                "n01440764",
                "n01443537",
                "n01440764",
            ],
            "similarity": [0.8, 0.9, 0.7, 0.71, 0.95, 0.75, 0.75],
            "NSFW": [
                "UNLIKELY",
                "UNLIKELY",
                "UNLIKELY",
                "UNLIKELY",
                "NSFW",
                "UNLIKELY",
                "UNLIKELY",
            ],
        }
    )
    out, report = laion.filter_laionet(scored, classes["id"].tolist(), threshold=0.7)
    # 1: == threshold (strict >) dropped; 3: NSFW; 5: best similarity; 4: tie -> class order
    assert out[["laion_index", "wnid"]].values.tolist() == [
        [2, "n01440764"],
        [4, "n01440764"],
        [5, "n01440764"],
    ]
    assert report["images_out"] == 3 and report["images_with_several_synsets"] == 2
    assert report["pairs_after_nsfw"] == 6 and report["pairs_above_threshold"] == 5
    kept, _ = laion.filter_laionet(scored, classes["id"].tolist(), threshold=0.7, remove_nsfw=False)
    assert 3 in set(kept["laion_index"])
    with pytest.raises(ValueError, match="no NSFW column"):
        laion.filter_laionet(scored.drop(columns="NSFW"), classes["id"].tolist())


def test_authors_table_becomes_candidates(tmp_path, classes):
    wnids = classes["id"].tolist()
    table = authors_laionet_table(
        tmp_path / "laionet.parquet", wnids[:3], [2, 0, 3], lambda i: f"http://x/{i}.jpg"
    )
    candidates = laion.read_authors_laionet(tmp_path / "laionet.parquet")
    assert candidates["laion_index"].tolist() == sorted(table.index.tolist())
    assert np.allclose(candidates["similarity"], table["text_to_name_def_wnid_similarity"])
    assert np.allclose(candidates["laion_similarity"], 0.31)
    laion.write_candidates(candidates, tmp_path / "c.parquet")
    written = pd.read_parquet(tmp_path / "c.parquet")
    assert written.columns.tolist()[:7] == list(laion.CANDIDATE_COLUMNS)
    table.drop(columns="wnid").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(ValueError, match=r"no column\(s\) \['wnid'\]"):
        laion.read_authors_laionet(tmp_path / "bad.parquet")


def test_authors_lemmas_are_unique_by_exact_string(synsets):
    lemmas = laion.authors_lemmas(synsets)
    assert lemmas["n01440764"] == ["tench", "Tinca tinca"]
    assert lemmas["n02012849"] == [] and lemmas["n03126707"] == []  # 'crane' twice
    assert lemmas["n02077923"] == ["sea lion"]
    # exact strings: case variants of one word would count as different lemmas
    fake = {
        "a": NounSynset("a", ("Maltese", "dog"), "x"),
        "b": NounSynset("b", ("maltese", "dog"), "y"),
    }
    assert laion.authors_lemmas(fake) == {"a": ["Maltese"], "b": ["maltese"]}


@pytest.mark.parametrize(
    ("caption", "expected"),
    [
        ("a tench, in the lake", [0]),  # punctuation becomes a space
        ("tench!", [0]),  # at both ends
        ("(tench)", [0]),
        ("Tench in the lake", []),  # case-sensitive
        ("a TENCH", []),
        ("tenches and stench", []),  # substring of a word is no match
        ("a tench\tin the lake", []),  # a tab is not punctuation: "tench\tin" is one word
        ("red-fox", [1]),  # '-' becomes a space: "red fox"
        ("red  fox", []),  # two spaces: " red fox " is not a substring
        ("red fox and tench", [0, 1]),  # several classes (match_part drops the caption)
        ("St. Bernard", []),  # a lemma with punctuation never matches
        ("St Bernard", []),
        ("", []),
    ],
)
def test_authors_matcher_known_answers(caption, expected):
    matcher = laion.AuthorsMatcher([["tench"], ["red fox"], ["St. Bernard"]])
    assert matcher.classes(caption) == expected
    # the fast form equals the authors' substring test
    text = laion.AuthorsMatcher.transform(caption)
    lemmas = [["tench"], ["red fox"], ["St. Bernard"]]
    assert [c for c, ls in enumerate(lemmas) if any(f" {x} " in text for x in ls)] == expected


def test_authors_match_drops_several_synsets(tmp_path):
    texts = ["a tench", "tench and red fox", "red fox, red fox", "Red fox", None, "foxes"]
    path = laion_part(tmp_path / "p.parquet", texts, lambda i: f"http://x/{i}.jpg")
    lemmas = {"n01440764": ["tench"], "n02119022": ["red fox", "Vulpes vulpes"]}
    matched, report = laion.match_part(path, 0, lemmas, progress=False)
    assert matched[["laion_index", "wnid"]].values.tolist() == [[0, "n01440764"], [2, "n02119022"]]
    assert report["captions_ambiguous"] == 1 and report["no_text"] == 1
    words, report = laion.match_part(path, 0, lemmas, progress=False, match="words")
    assert words["laion_index"].tolist() == [0, 1, 1, 2, 3]
    with pytest.raises(ValueError, match="match must be one of"):
        laion.match_part(path, 0, lemmas, match="regex")
