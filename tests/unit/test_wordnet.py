"""cliptail.data.wordnet: locating/fetching the database, the noun lemmatiser, synsets and lemmas.

The lemmatiser is checked against known answers and NLTK itself; fetching against a tarball with
the layout of Princeton's release (built from the installed database) served on 127.0.0.1.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from cliptail.data import wordnet
from cliptail.data.download import ChecksumError
from cliptail.data.wordnet import (
    REQUIRED_FILES,
    WORDNET_DIR_ENV,
    WORDNET_SHA256,
    WORDNET_URL,
    NounLemmatizer,
    ensure_wordnet,
    fetch_wordnet,
    locate_wordnet,
    read_noun_exceptions,
    read_noun_lemmas,
    read_noun_synsets,
    wordnet_lemmas,
)
from tests.fixtures.real_sources import shared_metadata

try:
    WORDNET = locate_wordnet()
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


def test_missing_database_names_the_folder_and_the_fix(tmp_path):
    (tmp_path / "index.noun").write_text("dog n 1 0 1 0 02084071\n")
    with pytest.raises(FileNotFoundError) as err:
        locate_wordnet(tmp_path)
    message = str(err.value)
    assert f"{tmp_path} (lacks noun.exc, data.noun)" in message
    assert "fetch_wordnet.py" in message and "apt-get install wordnet-base" in message
    with pytest.raises(FileNotFoundError, match="no such folder"):
        locate_wordnet(tmp_path / "absent")


def test_locate_wordnet_says_where_it_looked(tmp_path, monkeypatch):
    """Without a path every candidate is named (env, workflow copy, Debian, NLTK folders)."""
    partial = tmp_path / "configured"
    partial.mkdir()
    (partial / "noun.exc").write_text("geese goose\n")
    monkeypatch.setenv(WORDNET_DIR_ENV, str(partial))
    monkeypatch.setenv("NLTK_DATA", str(tmp_path / "nltk_env"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(wordnet, "DEBIAN_WORDNET_DIR", tmp_path / "debian")
    monkeypatch.setattr(wordnet, "SYSTEM_NLTK_DATA", (tmp_path / "system_nltk",))
    with pytest.raises(FileNotFoundError) as err:
        locate_wordnet()
    message = str(err.value)
    looked = [
        partial,
        Path("resources/wordnet"),
        tmp_path / "debian",
        tmp_path / "nltk_env" / "corpora" / "wordnet",
        tmp_path / "home" / "nltk_data" / "corpora" / "wordnet",
        tmp_path / "system_nltk" / "corpora" / "wordnet",
    ]
    positions = [message.index(f"{folder} (") for folder in looked]
    assert positions == sorted(positions)  # in search order
    assert f"{partial} (lacks index.noun, data.noun)" in message
    assert WORDNET_DIR_ENV in message and "sources.wordnet.dir" in message
    assert "python workflow/scripts/fetch_wordnet.py --out resources/wordnet" in message


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
    names = [f"{k}.{pos}" for pos in ("adj", "adv", "noun", "verb") for k in ("index", "data")]
    names += [f"{pos}.exc" for pos in ("adj", "adv", "noun", "verb")]
    if not all((WORDNET / name).is_file() for name in [*names, "index.sense"]):
        pytest.skip(
            f"NLTK's reader needs the whole database, {WORDNET} has only part of it (Debian "
            "packages wordnet-base and wordnet-sense-index)"
        )
    for name in names:
        shutil.copyfile(WORDNET / name, corpus / name)
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


# --- synsets, definitions and lemmas --------------------------------------------------------------


@needs_wordnet
def test_noun_synsets_definitions_and_lemmas():
    synsets = read_noun_synsets(["n01440764", "n02110185"])
    tench = synsets["n01440764"]
    assert tench.lemmas == ("tench", "Tinca tinca") and tench.name == "tench"
    assert tench.name_definition == (
        "tench which is freshwater dace-like game fish of Europe and "
        "western Asia noted for ability to survive outside water"
    )
    assert synsets["n02110185"].name == "siberian husky"


@needs_wordnet
def test_wordnet_lemmas_in_wordnet_order():
    assert wordnet_lemmas(["n01440764", "n02110185", "n01496331", "n01440764"]) == [
        ["tench", "Tinca tinca"],
        ["Siberian husky"],
        ["electric ray", "crampfish", "numbfish", "torpedo"],
        ["tench", "Tinca tinca"],  # one list per wnid given, repeats included
    ]
    with pytest.raises(ValueError, match="not a noun synset id"):
        wordnet_lemmas(["01440764"])
    with pytest.raises(ValueError, match="is not a synset"):
        wordnet_lemmas(["n01440765"])


@needs_wordnet
def test_released_synonym_lists_differ_from_wordnet_lemmas():
    path = shared_metadata() / "descriptors" / "descriptors_imagenet_synset.json"
    if not path.is_file():
        pytest.skip(f"the authors' released metadata is not at {path}")
    released = json.loads(path.read_text())
    wnids = sorted(released)
    lemmas = wordnet_lemmas(wnids)
    differ = [
        w
        for w, names in zip(wnids, lemmas, strict=True)
        if [n.lower() for n in names] != released[w]
    ]
    assert len(differ) == 258
    assert released["n01496331"] == ["electric ray", "crampfish", "numbfish"]


# --- fetching the release without root -----------------------------------------------------------

ARCHIVE = "3.0/WordNet-3.0.tar.gz"


def release_tarball(path: Path, files: dict[str, bytes]) -> str:
    """A tar.gz laid out like Princeton's WordNet-3.0.tar.gz (``WordNet-3.0/dict/<file>``, plus
    a README and the folder entries); returns its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz", compresslevel=1) as tar:
        for folder in ("WordNet-3.0", "WordNet-3.0/dict"):
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        members = {"WordNet-3.0/README": b"This is the README file for WordNet 3.0\n"}
        members.update({f"WordNet-3.0/dict/{name}": data for name, data in files.items()})
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    """(served folder, sha256, database files) of a release tarball made from the installed
    database: the three files read plus two that are not (they must not be extracted)."""
    if WORDNET is None:
        pytest.skip("WordNet database missing: run scripts/install_system_deps.sh")
    files = {name: (WORDNET / name).read_bytes() for name in REQUIRED_FILES}
    files["verb.exc"] = b"ran run\n"
    files["lexnames"] = b"00\tadj.all\t3\n"
    served = tmp_path_factory.mktemp("served")
    digest = release_tarball(served / ARCHIVE, files)
    return served, digest, files


def leftovers(parent: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def test_pinned_release():
    assert WORDNET_URL == "https://wordnetcode.princeton.edu/3.0/WordNet-3.0.tar.gz"
    assert re.fullmatch("[0-9a-f]{64}", WORDNET_SHA256)


def test_fetch_extracts_the_needed_files_and_the_lemmatiser_works(tmp_path, http_server, release):
    served, digest, files = release
    server = http_server(served)
    dest = tmp_path / "resources" / "wordnet"
    got = fetch_wordnet(dest, server.url(ARCHIVE), digest, progress=False)
    assert got == dest
    assert sorted(os.listdir(dest)) == sorted(REQUIRED_FILES)
    assert all((dest / name).read_bytes() == files[name] for name in REQUIRED_FILES)
    assert leftovers(dest.parent, {"wordnet"}) == []  # archive and temporary folders gone
    assert locate_wordnet(dest) == dest
    lemmatizer = NounLemmatizer.from_wordnet(dest)
    assert lemmatizer.lemmatize("geese") == "goose"
    assert lemmatizer.lemmatize("churches") == "church"
    assert wordnet_lemmas(["n01440764"], dest) == [["tench", "Tinca tinca"]]


def test_fetch_replaces_an_old_folder_and_can_keep_the_archive(tmp_path, http_server, release):
    served, digest, files = release
    server = http_server(served)
    dest = tmp_path / "wordnet"
    dest.mkdir()
    (dest / "stale.txt").write_text("old")
    fetch_wordnet(dest, server.url(ARCHIVE), digest, keep_archive=True, progress=False)
    assert sorted(os.listdir(dest)) == sorted(REQUIRED_FILES)
    kept = tmp_path / "wordnet.download" / "WordNet-3.0.tar.gz"
    assert hashlib.sha256(kept.read_bytes()).hexdigest() == digest
    assert leftovers(tmp_path, {"wordnet", "wordnet.download"}) == []
    fetch_wordnet(dest, server.url(ARCHIVE), digest, progress=False)  # no new request
    assert len(server.requests_for(ARCHIVE)) == 1
    assert leftovers(tmp_path, {"wordnet"}) == []


def test_wrong_sha256_fails_and_leaves_nothing(tmp_path, http_server, release):
    served, _, _ = release
    server = http_server(served)
    dest = tmp_path / "wordnet"
    with pytest.raises(ChecksumError, match="checksum mismatch"):
        fetch_wordnet(dest, server.url(ARCHIVE), "0" * 64, progress=False, retries=0)
    assert not dest.exists()
    assert leftovers(tmp_path, set()) == []


def test_unverified_download_warns(tmp_path, http_server, release, caplog):
    served, _, _ = release
    server = http_server(served)
    with caplog.at_level(logging.WARNING, logger="cliptail.data.wordnet"):
        fetch_wordnet(tmp_path / "wordnet", server.url(ARCHIVE), None, progress=False)
    assert "is not verified" in caplog.text
    assert NounLemmatizer.from_wordnet(tmp_path / "wordnet").lemmatize("mice") == "mouse"


def test_archive_without_the_database_fails_clearly(tmp_path, http_server):
    served = tmp_path / "served"
    digest = release_tarball(served / ARCHIVE, {"index.noun": b"dog n 1 0 1 0 02084071\n"})
    server = http_server(served)
    dest = tmp_path / "wordnet"
    with pytest.raises(ValueError, match=r"no dict/noun\.exc, dict/data\.noun"):
        fetch_wordnet(dest, server.url(ARCHIVE), digest, progress=False)
    assert not dest.exists()
    assert leftovers(tmp_path, {"served", "wordnet.download"}) == []


def test_ensure_wordnet_configured_located_or_fetched(tmp_path, http_server, release, monkeypatch):
    served, digest, files = release
    server = http_server(served)
    url = server.url(ARCHIVE)
    # a configured folder: validated, then copied
    dest = ensure_wordnet(tmp_path / "a", WORDNET, url, digest, progress=False)
    assert sorted(os.listdir(dest)) == sorted(REQUIRED_FILES)
    incomplete = tmp_path / "incomplete"
    incomplete.mkdir()
    with pytest.raises(FileNotFoundError, match="lacks index.noun, noun.exc, data.noun"):
        ensure_wordnet(tmp_path / "b", incomplete, url, digest, progress=False)
    assert not (tmp_path / "b").exists()
    # the database on this machine: copied, nothing downloaded
    dest = ensure_wordnet(tmp_path / "c", None, url, digest, progress=False)
    assert (dest / "data.noun").read_bytes() == files["data.noun"]
    assert server.requests_for(ARCHIVE) == []
    # the folder itself is the database: left as it is
    assert ensure_wordnet(dest, dest, url, digest) == dest
    # nothing on this machine: downloaded
    monkeypatch.setattr(wordnet, "wordnet_dir_candidates", lambda: [tmp_path / "nowhere"])
    dest = ensure_wordnet(tmp_path / "d", None, url, digest, progress=False)
    assert NounLemmatizer.from_wordnet(dest).lemmatize("geese") == "goose"
    assert len(server.requests_for(ARCHIVE)) == 1
