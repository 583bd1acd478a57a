"""Concept frequency (docs/study.md section 4): tokeniser, concept sets, matcher, readers, CLI."""

from __future__ import annotations

import gzip
import io as _io
import json
import random
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from cliptail import io
from cliptail.cli import main as cli_main
from cliptail.curate.concept_frequency import (
    CaptionSource,
    ConceptMatcher,
    FrequencyResult,
    detect_format,
    estimate_frequency,
    iter_caption_batches,
    iter_json_object,
    sorted_path,
    write_frequency_files,
)
from cliptail.curate.concept_sets import (
    CONCEPT_SETS,
    ConceptPhrases,
    build_concept_set,
    class_name_synonyms,
    concept_phrases,
    load_concept_set,
    tokenize,
)
from cliptail.data import metadata as metadata_module
from cliptail.data.wordnet import NounLemmatizer, locate_wordnet
from tests.fixtures.real_sources import RELEASED_METADATA

# the authors' released metadata shipped in the package (no heads/)
METADATA = RELEASED_METADATA
needs_metadata = pytest.mark.skipif(
    not (METADATA / "descriptors").is_dir(), reason=f"the authors' metadata is not at {METADATA}"
)
try:
    locate_wordnet()
    HAVE_WORDNET = True
except FileNotFoundError:  # pragma: no cover - depends on the machine
    HAVE_WORDNET = False
needs_wordnet = pytest.mark.skipif(
    not HAVE_WORDNET, reason="WordNet database missing: run scripts/install_system_deps.sh"
)


@pytest.fixture(scope="module")
def lemmatizer() -> NounLemmatizer:
    if not HAVE_WORDNET:
        pytest.skip("WordNet database missing: run scripts/install_system_deps.sh")
    return NounLemmatizer.from_wordnet()


@pytest.fixture(scope="module")
def imagenet(lemmatizer):
    if not (METADATA / "descriptors").is_dir():
        pytest.skip(f"the authors' metadata is not at {METADATA}")
    return load_concept_set("imagenet", METADATA, lemmatizer)


@pytest.fixture()
def matcher(imagenet, lemmatizer) -> ConceptMatcher:
    return ConceptMatcher(imagenet, lemmatizer)


def classes_of(matcher: ConceptMatcher, caption: str) -> list[str]:
    return [matcher.concept_set.names[i] for i in matcher.match(caption)]


# --- tokeniser ----------------------------------------------------------------------------


def test_tokenize_letters_only_lowercase_and_contractions():
    assert tokenize("A 3D X-ray of Café's cat!\tNew\nline") == [
        "a",
        "d",
        "x",
        "ray",
        "of",
        "caf",
        "s",
        "cat",
        "new",
        "line",
    ]
    assert tokenize("I cannot gimme gonna gotta lemme wanna") == [
        "i",
        "can",
        "not",
        "gim",
        "me",
        "gon",
        "na",
        "got",
        "ta",
        "lem",
        "me",
        "wan",
        "na",
    ]
    assert tokenize("İstanbul \u212aelvin") == ["i", "stanbul", "kelvin"]  # lower() first
    assert tokenize(None) == [] and tokenize("123 !!") == []


def test_tokenize_equals_nltk_word_tokenize_on_letters_only_text():
    """The authors tokenised ``re.sub('[^a-zA-Z ]', ' ', text.lower())`` with NLTK's
    word_tokenize; on text of letters and spaces its sentence splitter cannot split, so the
    word tokenizer alone gives the same tokens."""
    nltk_tokenize = pytest.importorskip("nltk.tokenize").NLTKWordTokenizer().tokenize
    rng = random.Random(0)
    pieces = [
        "cannot",
        "gonna",
        "wanna",
        "Gimme",
        "lemme",
        "gotta",
        "d'ye",
        "'tis",
        "more'n",
        "can't",
        "dog",
        "x-ray",
        "3d",
        "café",
        "\t",
        "\n",
        "...",
        '"q"',
        "(a)",
        "--",
        "wanna.",
        "naïve",
        "ÉCOLE",
        "a",
        "b",
    ]
    for _ in range(2000):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        expected = nltk_tokenize(re.sub(r"[^a-zA-Z ]", " ", text.lower()).replace("'", ""))
        assert tokenize(text) == expected, text


# --- concept sets ----------------------------------------------------------------------------


def test_class_name_synonyms_split_strip_and_rewrite():
    assert class_name_synonyms("residential buildings or homes or apartments", "eurosat") == (
        "residential buildings",
        "homes",
        "apartments",
    )
    assert class_name_synonyms("cardboard box / carton", "x") == ("cardboard box", "carton")
    assert class_name_synonyms("lock_chamber (canal)", "places365") == (
        "lock chamber canal",
        "lock chamber waterway",
        "lock chamber water",
    )
    assert class_name_synonyms("arcade", "places365")[0] == "arcade passageway"
    assert class_name_synonyms("Cardinal", "cub") == (
        "cardinal bird",
        "northern cardinal",
        "red cardinal",
    )
    assert class_name_synonyms("Cardinal", "places365") == ("cardinal",)


@needs_metadata
def test_concept_set_names_match_the_released_files_exactly():
    """Class order and names equal the name column of the authors' files (``_ori`` = class
    order; the count-sorted files hold the same names)."""
    freqs = METADATA / "freqs"
    for concepts in CONCEPT_SETS:
        names = [c.name for c in concept_phrases(concepts, METADATA)]
        ori = io.read_frequency(freqs / f"class_frequency_metaclip_400m_{concepts}_ori.txt")
        assert names == ori["name"].tolist(), concepts
        released = io.read_frequency(freqs / f"class_frequency_cc12m_{concepts}.txt")
        assert sorted(names) == sorted(released["name"]), concepts
    names = [c.name for c in concept_phrases("imagenet", METADATA)]
    laion = io.read_frequency(freqs / "class_frequency_laion400m_imagenet_ori.txt")
    assert names == laion["name"].tolist()


@needs_metadata
def test_imagenet_synonyms_and_negative_lists():
    phrases = {c.name: c for c in concept_phrases("imagenet", METADATA)}
    assert len(phrases) == 1000
    assert phrases["great white shark"].synonyms == (
        "great white shark",
        "white shark",
        "man-eater",
        "man-eating shark",
        "carcharodon carcharias",
    )
    with_negatives = {name: c.negatives for name, c in phrases.items() if c.negatives}
    assert with_negatives == {
        "sidewinder rattlesnake": ("missile", "army", "military", "resort", "park"),
        "ringlet butterfly": ("hair",),
        "common sorrel horse": ("plant", "herb", "flower", "leaf"),
        "ram (adult male sheep)": (
            "car",
            "truck",
            "automobile",
            "vehicle",
            "dodge",
            "logo",
            "computer",
            "memory",
            "random access",
            "chip",
            "review",
        ),
        "impala (antelope)": ("car", "automobile", "vehicle", "chevy"),
        "hunting bow": ("tie",),
        "construction crane": ("bird", "fish", "water", "wing", "leg", "zoo"),
        "gymnastic horizontal bar": ("chart", "plot", "graph", "diagram"),
        "submarine": ("sandwich", "bread", "italian", "meatball", "grill", "menu"),
    }


def test_custom_synonyms_json(tmp_path, lemmatizer, monkeypatch):
    path = tmp_path / "mine.json"
    path.write_text(
        json.dumps(
            {
                "Dog (pet)": ["Dogs", "puppy (young)"],
                "ram": {"synonyms": ["ram"], "negatives": ["Truck"]},
            }
        )
    )
    concepts = load_concept_set(path, tmp_path, lemmatizer)
    assert concepts.name == "mine" and concepts.names == ["Dog (pet)", "ram"]
    assert concepts.concepts[0].synonyms == (("dog",), ("puppy",))
    assert concepts.concepts[1].negatives == frozenset({"truck"})
    path.write_text(json.dumps({"x": "not a list"}))
    with pytest.raises(ValueError, match="non-empty list of synonym strings"):
        load_concept_set(path, tmp_path, lemmatizer)
    with pytest.raises(ValueError, match="unknown concept set 'imagenet21k'"):
        load_concept_set("imagenet21k", tmp_path, lemmatizer)
    # a metadata folder without descriptors/ falls back to the copy shipped with cliptail ...
    assert concept_phrases("imagenet", tmp_path) == concept_phrases("imagenet", METADATA)
    # ... and only when that is missing too is the folder wrong
    monkeypatch.setattr(metadata_module, "released_root", lambda: tmp_path / "not-packaged")
    with pytest.raises(FileNotFoundError, match="--metadata must point"):
        load_concept_set("imagenet", tmp_path, lemmatizer)


def test_synonym_without_letters_is_rejected(lemmatizer):
    with pytest.raises(ValueError, match="class '3D'.*at least one word"):
        build_concept_set("x", [ConceptPhrases("3D", ("3d", "3-4"))], lemmatizer)


# --- matching semantics ----------------------------------------------------------------------


@needs_metadata
def test_matching_known_answers(matcher):
    assert classes_of(matcher, "A GREAT white shark!!") == ["great white shark"]
    assert classes_of(matcher, "shark, white and great") == ["great white shark"]  # order ignored
    assert classes_of(matcher, "two tiger sharks") == ["tiger shark", "tiger"]  # lemmatised
    assert classes_of(matcher, "Goldfish and a tench") == ["tench", "goldfish"]  # multi-label
    assert classes_of(matcher, "a ram in a field") == ["ram (adult male sheep)"]
    assert classes_of(matcher, "Dodge Ram 1500 truck") == []  # negatives
    assert classes_of(matcher, "ram, random thoughts") == []  # any token of "random access"
    assert classes_of(matcher, "sub sandwich") == []
    assert classes_of(matcher, "a yellow sub") == ["submarine"]
    assert classes_of(matcher, "I cannot find the milk can") == ["milk can"]  # can + not
    assert classes_of(matcher, "geese") == ["goose"]  # exceptions
    assert classes_of(matcher, "") == [] and classes_of(matcher, None) == []
    assert matcher.count(["shark great white shark white", "tench"])[2] == 1  # once each


def straightforward_hits(captions, concept_set, lemmatizer) -> list[list[int]]:
    """The rule written plainly: per caption its lemma set, every class, every synonym."""
    hits = []
    for caption in captions:
        tokens = {lemmatizer.lemmatize(t) for t in tokenize(caption)}
        hits.append(
            [
                i
                for i, concept in enumerate(concept_set.concepts)
                if not tokens & concept.negatives
                and any(all(w in tokens for w in synonym) for synonym in concept.synonyms)
            ]
        )
    return hits


def counts_of(hits, num_classes, weights=None) -> list[int]:
    counts = [0] * num_classes
    for row, classes in enumerate(hits):
        for cls in classes:
            counts[cls] += 1 if weights is None else weights[row]
    return counts


def random_captions(concept_set, n: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    phrases = [" ".join(s) for c in concept_set.concepts for s in c.synonyms]
    negatives = sorted({w for c in concept_set.concepts for w in c.negatives})
    filler = [
        "the",
        "a",
        "of",
        "photo",
        "2019",
        "NEW!",
        "cannot",
        "x-ray",
        "café",
        "\x00",
        "\t",
        "sharks",
        "geese",
        "dogss",
        "leaves",
        "wolves",
        "buses",
        "sub",
        "ram",
        "can",
    ]
    captions: list[str | None] = []
    for _ in range(n):
        words = [rng.choice(filler) for _ in range(rng.randint(0, 8))]
        for _ in range(rng.choice((0, 0, 1, 1, 2, 3))):
            phrase = rng.choice(phrases) + rng.choice(("", "s", "S"))
            words.insert(rng.randint(0, len(words)), phrase)
        if rng.random() < 0.2:
            words.append(rng.choice(negatives))
        text = " ".join(words)
        text = rng.choice((text, text.upper(), text.title()))
        captions.append(None if rng.random() < 0.02 else text)
    return captions


@needs_metadata
@pytest.mark.slow
def test_matcher_equals_the_straightforward_rule(matcher, imagenet, lemmatizer):
    captions = random_captions(imagenet, 2000, seed=1)
    weights = [random.Random(i).randint(1, 9) for i in range(len(captions))]
    hits = straightforward_hits(captions, imagenet, lemmatizer)
    expected = counts_of(hits, len(imagenet))
    assert sum(expected) > 2000  # the test exercises matches, not only misses
    assert not matcher.calibrated
    assert matcher.count(captions) == expected
    assert matcher.calibrated  # anchors re-chosen from this batch's token counts
    assert matcher.count(captions, weights) == counts_of(hits, len(imagenet), weights)
    assert [matcher.match(c) for c in captions[:300]] == hits[:300]
    assert [
        sum(matcher.count(captions[i : i + 7])[c] for i in range(0, 2000, 7))
        for c in range(0, 1000, 97)
    ] == expected[::97]  # batch boundaries change nothing


@needs_metadata
def test_token_caches_are_bounded_without_changing_counts(imagenet, lemmatizer, monkeypatch):
    import cliptail.curate.concept_frequency as module

    captions = random_captions(imagenet, 600, seed=3)
    expected = ConceptMatcher(imagenet, lemmatizer).count(captions)
    monkeypatch.setattr(module, "MAX_CACHED_TOKENS", 50)
    small = ConceptMatcher(imagenet, lemmatizer)
    got = [small.count(captions[i : i + 40]) for i in range(0, 600, 40)]
    assert np.sum(got, axis=0).tolist() == expected
    assert len(small._codes) < 50 + 40 * 20  # emptied between batches


@needs_metadata
def test_every_concept_set_matches_its_own_names(lemmatizer):
    for concepts in CONCEPT_SETS:
        concept_set = load_concept_set(concepts, METADATA, lemmatizer)
        matcher = ConceptMatcher(concept_set, lemmatizer)
        captions = [" ".join(c.synonyms[0]) for c in concept_set.concepts]
        counts = matcher.count(captions)
        unmatched = [n for n, k in zip(concept_set.names, counts, strict=True) if not k]
        assert not unmatched, (concepts, unmatched)


# --- readers -------------------------------------------------------------------------------


def read_all(source: CaptionSource, batch_size: int = 2):
    captions, weights = [], []
    for batch in iter_caption_batches(source, batch_size):
        assert len(batch.captions) <= batch_size
        captions += batch.captions
        weights += batch.weights or []
    return captions, weights


def test_readers_stream_every_format(tmp_path):
    rows = ['a "quoted" shark', "tench, goldfish", None, "last"]
    pq.write_table(
        pa.table({"url": ["u"] * 4, "TEXT": rows}), tmp_path / "x.parquet", row_group_size=2
    )
    assert read_all(CaptionSource(tmp_path / "x.parquet"))[0] == rows  # TEXT found
    (tmp_path / "x.csv").write_text('id,caption\n1,"a, b"\n2,"multi\nline"\n3\n')
    assert read_all(CaptionSource(tmp_path / "x.csv"))[0] == ["a, b", "multi\nline", None]
    (tmp_path / "x.tsv").write_text('url\ttext\nu1\t"quoted" text\nu2\tplain\n')
    tsv = read_all(CaptionSource(tmp_path / "x.tsv", column="text"))[0]
    assert tsv == ['"quoted" text', "plain"]
    lines = [json.dumps({"caption": "one"}), "", json.dumps({"caption": None}), json.dumps("two")]
    (tmp_path / "x.jsonl").write_text("\n".join(lines) + "\n")
    assert read_all(CaptionSource(tmp_path / "x.jsonl"))[0] == ["one", None, "two"]
    with gzip.open(tmp_path / "x.txt.gz", "wt") as fh:
        fh.write("first line\r\nsecond\n\nfourth")
    text = read_all(CaptionSource(tmp_path / "x.txt.gz"))[0]
    assert text == ["first line", "second", "", "fourth"]
    (tmp_path / "datacard.json").write_text('{"goldfish": 3, "white shark" : 12,\n "x\\"y": 0}')
    assert read_all(CaptionSource(tmp_path / "datacard.json")) == (
        ["goldfish", "white shark", 'x"y'],
        [3, 12, 0],
    )


def test_reader_errors_are_clear(tmp_path):
    pq.write_table(pa.table({"url": ["u"], "n": [1]}), tmp_path / "x.parquet")
    with pytest.raises(ValueError, match="none of the default caption columns.*--column"):
        read_all(CaptionSource(tmp_path / "x.parquet"))
    with pytest.raises(ValueError, match="no column 'TXT'"):
        read_all(CaptionSource(tmp_path / "x.parquet", column="TXT"))
    with pytest.raises(ValueError, match="holds int64, not text"):
        read_all(CaptionSource(tmp_path / "x.parquet", column="n"))
    with pytest.raises(ValueError, match="cannot tell the caption format"):
        detect_format("captions.xlsx")
    with pytest.raises(FileNotFoundError, match="not found"):
        read_all(CaptionSource(tmp_path / "missing.txt"))
    (tmp_path / "bad.jsonl").write_text('{"caption": "a"}\n{oops\n')
    with pytest.raises(ValueError, match=r"bad.jsonl:2: not a JSON line"):
        read_all(CaptionSource(tmp_path / "bad.jsonl"))
    (tmp_path / "card.json").write_text('{"a": 1, "b": "many"}')
    with pytest.raises(ValueError, match="non-negative integer count"):
        read_all(CaptionSource(tmp_path / "card.json"))
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="expected a JSON object"):
        read_all(CaptionSource(tmp_path / "list.json"))


def test_json_object_stream_survives_any_chunking():
    obj = {f'entry {i} \u00e9\\"': i * 1234567 for i in range(50)} | {"": 0, "neg": -1.5e3}
    text = json.dumps(obj, indent=1)
    for chunk in (1, 2, 3, 7, 64, 1 << 20):
        assert dict(iter_json_object(_io.StringIO(text), chunk_chars=chunk)) == obj
    assert list(iter_json_object(_io.StringIO(" { } "), chunk_chars=1)) == []
    with pytest.raises(ValueError, match="end of file"):
        list(iter_json_object(_io.StringIO('{"a": 1,'), chunk_chars=2))


# --- estimator, outputs, CLI ---------------------------------------------------------------


@needs_metadata
@pytest.mark.slow
def test_workers_and_files_give_the_same_counts(tmp_path, matcher, imagenet, lemmatizer):
    captions = random_captions(imagenet, 2000, seed=2)
    half = len(captions) // 2
    pq.write_table(
        pa.table({"caption": captions[:half]}), tmp_path / "a.parquet", row_group_size=500
    )
    (tmp_path / "b.jsonl").write_text(
        "".join(json.dumps({"caption": c}) + "\n" for c in captions[half:])
    )
    sources = [CaptionSource(tmp_path / "a.parquet"), CaptionSource(tmp_path / "b.jsonl")]
    expected = counts_of(straightforward_hits(captions, imagenet, lemmatizer), len(imagenet))
    for workers in (1, 2):
        result = estimate_frequency(
            sources,
            ConceptMatcher(imagenet, lemmatizer),
            workers=workers,
            batch_size=150,
            progress=False,
        )
        assert result.counts.tolist() == expected and result.captions == len(captions)


def test_output_files_class_order_and_sorted(tmp_path):
    result = FrequencyResult(["a", "b", "c", "d"], np.array([2, 5, 2, 0]))
    out, sorted_out = write_frequency_files(tmp_path / "f.tsv", result)
    assert sorted_out == tmp_path / "f.sorted.tsv" == sorted_path(out)
    assert out.read_text() == "a\t2\nb\t5\nc\t2\nd\t0\n"
    assert sorted_out.read_text() == "b\t5\na\t2\nc\t2\nd\t0\n"  # ties keep class order


@needs_metadata
def test_sorted_order_reproduces_the_authors_sorted_files():
    freqs = METADATA / "freqs"
    for stem in ("metaclip_fullcc_imagenet", "cc12m_imagenet", "metaclip_400m_places365"):
        ori = io.read_frequency(freqs / f"class_frequency_{stem}_ori.txt")
        result = FrequencyResult(ori["name"].tolist(), ori["count"].to_numpy())
        released = io.read_frequency(freqs / f"class_frequency_{stem}.txt")
        assert [result.names[i] for i in result.sorted_order()] == released["name"].tolist()


@needs_metadata
def test_cli_writes_both_files(tmp_path, capsys):
    captions = tmp_path / "caps.csv"
    captions.write_text("caption\nA great white shark\nram truck\nmilk cans\nGreat white sharks!\n")
    out = tmp_path / "out" / "toy_imagenet.tsv"
    code = cli_main(
        [
            "concept-freq",
            "--concepts",
            "imagenet",
            "--captions",
            str(captions),
            "--metadata",
            str(METADATA),
            "--out",
            str(out),
            "--no-progress",
        ]
    )
    assert code == 0 and "4 captions" in capsys.readouterr().out
    freq = io.read_frequency(out)
    assert len(freq) == 1000 and freq["count"].sum() == 3
    assert dict(zip(freq["name"], freq["count"], strict=True))["great white shark"] == 2
    ranked = io.read_frequency(tmp_path / "out" / "toy_imagenet.sorted.tsv")
    assert ranked["name"][0] == "great white shark"
    # a metadata folder without descriptors/ (or none at all) falls back to the packaged copy
    first = out.read_bytes()
    for metadata in (["--metadata", str(tmp_path)], []):
        out.unlink()
        argv = ["concept-freq", "--concepts", "imagenet", "--captions", str(captions)]
        code = cli_main([*argv, *metadata, "--out", str(out), "--no-progress"])
        assert code == 0 and out.read_bytes() == first
    capsys.readouterr()
    # a missing caption file is a runtime error: exit status 1 and one line on stderr
    missing = tmp_path / "none.csv"
    argv = ["concept-freq", "--concepts", "imagenet", "--captions", str(missing)]
    code = cli_main([*argv, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 1 and err.startswith("cliptail concept-freq: error: ") and err.count("\n") == 1
    assert str(missing) in err and "Traceback" not in err
