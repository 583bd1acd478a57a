"""cliptail.curate.wordnet: the offline noun lemmatiser against known answers and NLTK itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from cliptail.curate.wordnet import (
    NounLemmatizer,
    find_wordnet_dir,
    read_noun_exceptions,
    read_noun_lemmas,
)

try:
    WORDNET = find_wordnet_dir()
except FileNotFoundError:  # pragma: no cover - depends on the machine
    WORDNET = None
needs_wordnet = pytest.mark.skipif(
    WORDNET is None, reason="WordNet database missing: run scripts/install_system_deps.sh"
)

# WordNet 3.0's lexicographer files (NLTK's reader needs this list as the file ``lexnames``).
LEXNAMES = """adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute
noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group
noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant noun.possession
noun.process noun.quantity noun.relation noun.shape noun.state noun.substance noun.time verb.body
verb.change verb.cognition verb.communication verb.competition verb.consumption verb.contact
verb.creation verb.emotion verb.motion verb.perception verb.possession verb.social verb.stative
verb.weather adj.ppl""".split()
LEX_CATEGORY = {"adj": 3, "adv": 4, "noun": 1, "verb": 2}


@pytest.fixture(scope="module")
def lemmatizer() -> NounLemmatizer:
    return NounLemmatizer.from_wordnet()


def test_tiny_database_semantics():
    """Exceptions first, then one round of suffix rules; shortest candidate, first among equals."""
    lem = NounLemmatizer(
        lemmas={"box", "boxe", "wolf", "wolve", "ox", "us", "u", "ax", "axis", "class", "clas"},
        exceptions={"oxen": ("ox",), "axes": ("ax", "axis")},
        repeat_rules=False,
    )
    assert lem.lemmatize("boxes") == "box"  # candidates boxe (s), box (xes): shortest wins
    assert lem.candidates("boxes") == ["boxe", "box"]
    assert lem.lemmatize("wolves") == "wolf"  # wolve (s) and wolf (ves), same length: first
    assert lem.candidates("wolves") == ["wolve", "wolf"]
    assert lem.lemmatize("oxen") == "ox"
    assert lem.lemmatize("axes") == "ax"  # exception list, no suffix rules
    assert lem.lemmatize("us") == "u"  # the word itself and "u" are both lemmas
    assert lem.candidates("classes") == ["class"]  # "clas" would need a second round
    assert lem.lemmatize("zebras") == "zebras"  # nothing found: the word itself


def test_repeated_rules_only_with_repeat_rules():
    lemmas, exceptions = {"dog"}, {}
    assert NounLemmatizer(lemmas, exceptions, repeat_rules=True).lemmatize("dogss") == "dog"
    assert NounLemmatizer(lemmas, exceptions, repeat_rules=False).lemmatize("dogss") == "dogss"
    # a word found in the first round never goes to a second one
    assert NounLemmatizer({"dog", "dogs"}, {}, repeat_rules=True).lemmatize("dogss") == "dogs"


def test_missing_database_names_the_fix(tmp_path):
    with pytest.raises(FileNotFoundError, match="apt-get install wordnet-base"):
        find_wordnet_dir(tmp_path)


@needs_wordnet
def test_known_answers(lemmatizer):
    expected = {
        "sharks": "shark",
        "geese": "goose",
        "mice": "mouse",
        "glasses": "glass",
        "children": "child",
        "species": "specie",
        "churches": "church",
        "aardwolves": "aardwolf",
        "abaci": "abacus",
        "women": "woman",
        "us": "u",
        "dogs": "dog",
        "hardrock": "hardrock",
        "dogss": "dog",
        "the": "the",
    }
    assert {w: lemmatizer.lemmatize(w) for w in expected} == expected


@needs_wordnet
def test_database_reading():
    lemmas, exceptions = read_noun_lemmas(WORDNET), read_noun_exceptions(WORDNET)
    assert len(lemmas) == 117798 and "great_white_shark" in lemmas
    assert exceptions["geese"] == ("goose",) and len(exceptions) == 2050  # 2054 lines, 4 repeats


def vocabulary(lemmatizer: NounLemmatizer) -> list[str]:
    """~10,000 deterministic test words: irregular forms, regular plurals of every rule, words
    not in WordNet, doubled suffixes and short tokens."""
    nouns = sorted(w for w in lemmatizer.lemmas if w.isalpha())[::40]
    words = set(lemmatizer.exceptions) | set(nouns[:1500])
    for noun in nouns:
        words |= {noun + "s", noun + "es", noun + "ss"}
        if noun.endswith("y"):
            words.add(noun[:-1] + "ies")
        if noun.endswith("f"):
            words.add(noun[:-1] + "ves")
        if noun.endswith("man"):
            words.add(noun[:-3] + "men")
    words |= {
        "a",
        "s",
        "u",
        "us",
        "as",
        "is",
        "its",
        "has",
        "was",
        "ses",
        "ves",
        "men",
        "ies",
        "photos",
        "ipads",
        "selfies",
        "xyzzies",
    }
    return sorted(words)


@needs_wordnet
@pytest.mark.slow
def test_agrees_with_nltk_wordnet_lemmatizer(lemmatizer, tmp_path):
    """NLTK's WordNetLemmatizer on the same WordNet files (copied into an NLTK data tree: NLTK
    refuses symlinks and hard links out of its data path) gives the same lemma for every word.
    NLTK >= 3.9 applies the suffix rules once, older versions repeat them."""
    nltk = pytest.importorskip("nltk")
    corpus = tmp_path / "nltk_data" / "corpora" / "wordnet"
    corpus.mkdir(parents=True)
    for pos in ("adj", "adv", "noun", "verb"):
        for name in (f"index.{pos}", f"{pos}.exc", f"data.{pos}"):
            shutil.copyfile(WORDNET / name, corpus / name)
    if not (WORDNET / "index.sense").is_file():
        pytest.skip("NLTK's reader needs index.sense (Debian package wordnet-sense-index)")
    shutil.copyfile(WORDNET / "index.sense", corpus / "index.sense")
    (corpus / "lexnames").write_text(
        "".join(
            f"{i:02d}\t{name}\t{LEX_CATEGORY[name.split('.')[0]]}\n"
            for i, name in enumerate(LEXNAMES)
        )
    )
    words = vocabulary(lemmatizer)
    assert len(words) > 5000
    script = (
        "import json, sys\nfrom nltk.stem import WordNetLemmatizer\nw = WordNetLemmatizer()\n"
        "print(json.dumps([w.lemmatize(x) for x in json.load(sys.stdin)]))"
    )
    env = {**os.environ, "NLTK_DATA": str(tmp_path / "nltk_data")}
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(words),
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    expected = json.loads(done.stdout)
    version = tuple(int(p) for p in nltk.__version__.split(".")[:2])
    ours = NounLemmatizer(lemmatizer.lemmas, lemmatizer.exceptions, repeat_rules=version < (3, 9))
    got = [ours.lemmatize(w) for w in words]
    mismatches = [(w, e, g) for w, e, g in zip(words, expected, got, strict=True) if e != g]
    assert mismatches == []
    assert sum(e != w for w, e in zip(words, expected, strict=True)) > 3000  # mostly non-trivial
