"""The audit's released checkpoints: the default list, weight URLs, digests, config entries, and the
download of a weight file from a local HTTP server."""

from __future__ import annotations

import hashlib
import importlib.util
from collections import Counter
from pathlib import Path

import pytest

from cliptail import factors
from cliptail.audit import checkpoints as ck
from cliptail.data.download import ChecksumError
from cliptail.models.configs import open_clip
from tests.fixtures.tiny_models import tiny_openclip_checkpoint

ROOT = Path(__file__).resolve().parents[2]
RELEASES = ck.OPEN_CLIP_RELEASES + "v0.2-weights/"


# --- the default list ---------------------------------------------------------------------------


def test_default_list_has_27_web_and_9_openai_checkpoints():
    entries = ck.checkpoints()
    assert len(entries) == len(ck.DEFAULT_CHECKPOINTS) == 36
    per_dataset = Counter(c.dataset for c in entries)
    assert per_dataset == {
        "cc12m": 1,
        "yfcc15m": 2,
        "laion400m": 8,
        "laion2b": 8,
        "metaclip_400m": 3,
        "metaclip_fullcc": 5,
        "openai": 9,
    }
    assert sum(n for d, n in per_dataset.items() if d in factors.WEB_DATASETS) == 27
    assert len({c.name for c in entries}) == 36
    assert all(c.downloads and c.path is None for c in entries)


def test_every_default_checkpoint_is_registered_by_open_clip_and_has_its_own_file():
    entries = ck.checkpoints()
    registered = set(open_clip.list_pretrained())
    assert [
        (c.model, c.pretrained) for c in entries if (c.model, c.pretrained) not in registered
    ] == []
    assert all(c.url is None for c in entries)  # resolved in the download job, not at planning
    urls = [c.download_url() for c in entries]
    assert len(set(urls)) == len(urls)  # one entry per distinct weight file


@pytest.mark.parametrize(
    "model, tag, quick",
    [
        ("RN50-quickgelu", "yfcc15m", True),
        ("RN50", "yfcc15m", True),  # open_clip's registry flags the weights
        ("RN50", "openai", True),
        ("ViT-B-16", "laion400m_e31", False),
        ("ViT-B-32", "laion2b_s34b_b79k", False),
    ],
)
def test_quick_gelu_follows_the_training_of_the_weights(model, tag, quick):
    assert ck.uses_quick_gelu(model, tag) is quick


def test_default_entries_resolve_their_quick_gelu_flag():
    by_name = {c.name: c for c in ck.checkpoints()}
    assert all(c.quick_gelu is None for c in by_name.values())  # resolved in the job
    assert by_name["RN50-quickgelu_yfcc15m"].resolve_quick_gelu() is True
    assert by_name["ViT-B-16_laion400m_e31"].resolve_quick_gelu() is False
    assert by_name["ViT-B-32_laion2b_e16"].resolve_quick_gelu() is False
    assert by_name["ViT-L-14-quickgelu_metaclip_400m"].resolve_quick_gelu() is True
    assert by_name["ViT-B-16-plus-240_laion400m_e32"].download_url() == (
        RELEASES + "vit_b_16_plus_240-laion400m_e32-699c4b84.pt"
    )


# --- weight URLs and digests ----------------------------------------------------------------------


def test_weight_url_prefers_the_release_file_of_open_clip():
    assert (
        ck.weight_url("RN50-quickgelu", "yfcc15m")
        == RELEASES + "rn50-quickgelu-yfcc15m-455df137.pt"
    )
    # open_clip's registry points both epochs at the e31 Hugging Face repository
    e31 = ck.weight_url("ViT-B-16-plus-240", "laion400m_e31")
    e32 = ck.weight_url("ViT-B-16-plus-240", "laion400m_e32")
    assert e31 == RELEASES + "vit_b_16_plus_240-laion400m_e31-8fb26589.pt"
    assert e32 == RELEASES + "vit_b_16_plus_240-laion400m_e32-699c4b84.pt"


def test_weight_url_falls_back_to_the_hugging_face_state_dict():
    assert ck.weight_url("ViT-B-32", "laion2b_s34b_b79k") == (
        "https://huggingface.co/laion/CLIP-ViT-B-32-laion2B-s34B-b79K/resolve/main/"
        "open_clip_pytorch_model.bin"
    )
    assert ck.weight_url("RN50-quickgelu", "openai") == (
        "https://huggingface.co/timm/resnet50_clip.openai/resolve/main/open_clip_pytorch_model.bin"
    )


def test_digest_prefix_of_release_urls():
    full = "a" * 8 + "0123456789abcdef" * 3 + "b" * 8
    assert len(full) == 64
    assert (
        ck.digest_prefix(f"https://openaipublic.azureedge.net/clip/models/{full}/RN50.pt") == full
    )
    assert ck.digest_prefix(RELEASES + "rn50-quickgelu-yfcc15m-455df137.pt") == "455df137"
    # open_clip checks the suffix of .pth release files too (LAION-2B ViT-B/32 e16)
    assert ck.digest_prefix(RELEASES + "vit_b_32-laion2b_e16-af8dbd0c.pth") == "af8dbd0c"
    assert ck.digest_prefix(ck.weight_url("ViT-B-32", "laion2b_s34b_b79k")) is None
    assert ck.digest_prefix("https://example.org/weights-455df13.pt") is None  # 7 digits
    assert ck.digest_prefix("https://example.org/weights-455DF137.pt") is None  # not lower hex


# --- configuration entries ------------------------------------------------------------------------


def test_triples_and_mappings_give_the_same_checkpoint():
    triple = ck.checkpoints([["yfcc15m", "RN50-quickgelu", "yfcc15m"]])
    mapping = ck.checkpoints(
        [{"dataset": "yfcc15m", "model": "RN50-quickgelu", "pretrained": "yfcc15m"}]
    )
    assert triple == mapping
    (entry,) = triple
    assert entry.name == "RN50-quickgelu_yfcc15m"
    assert entry.url is None
    assert entry.download_url() == RELEASES + "rn50-quickgelu-yfcc15m-455df137.pt"
    assert entry.weights == "resources/openclip/RN50-quickgelu_yfcc15m.bin"
    assert entry.resolve_quick_gelu() and entry.downloads and entry.sha256 is None
    assert entry.info() == {
        "checkpoint": "RN50-quickgelu_yfcc15m",
        "model": "RN50-quickgelu",
        "pretrained": "yfcc15m",
        "dataset": "yfcc15m",
        "dataset_name": factors.WEB_DATASETS["yfcc15m"],
    }


def test_path_and_url_entries():
    path, url, named = ck.checkpoints(
        [
            {"dataset": "laion400m", "model": "cliptail-tiny-rn", "path": "weights/a.pt"},
            {"dataset": "mine", "model": "RN50-quickgelu", "url": "http://x/y.pt", "sha256": "AB"},
            {
                "dataset": "laion400m",
                "model": "cliptail-tiny-rn",
                "path": "weights/b.pt",
                "name": "tiny-b",
                "quick_gelu": True,
            },
        ]
    )
    assert (path.name, path.path, path.url, path.downloads) == (
        "cliptail-tiny-rn",
        "weights/a.pt",
        None,
        False,
    )
    assert path.weights == "weights/a.pt" and path.pretrained is None
    assert path.resolve_quick_gelu() is False
    assert (url.name, url.download_url(), url.sha256, url.resolve_quick_gelu()) == (
        "RN50-quickgelu",
        "http://x/y.pt",
        "ab",
        True,
    )
    assert url.weights == "resources/openclip/RN50-quickgelu.bin"
    assert url.info()["dataset_name"] == "mine" and url.info()["pretrained"] == ""
    assert named.name == "tiny-b" and named.resolve_quick_gelu() is True
    # an entry's own flag wins over open_clip's registry (RN50 yfcc15m: QuickGELU)
    (own,) = ck.checkpoints(
        [{"dataset": "yfcc15m", "model": "RN50", "pretrained": "yfcc15m", "quick_gelu": False}]
    )
    assert own.resolve_quick_gelu() is False


@pytest.mark.parametrize(
    "entries, message",
    [
        ("everything", r"'default' or a list"),
        ([["cc12m", "RN50"]], r"\[0\]: expected a mapping"),
        (
            [{"dataset": "cc12m", "model": "RN50", "pretrained": "cc12m", "tag": 1}],
            r"unknown keys \['tag'\]",
        ),
        ([{"dataset": "cc12m", "pretrained": "cc12m"}], r"\[0\]: `model` is required"),
        ([{"model": "RN50", "pretrained": "cc12m"}], r"`dataset` is required"),
        (
            [{"dataset": "cc12m", "model": "RN50"}],
            r"give `pretrained` \(an open_clip tag\), `path` or `url`",
        ),
        ([{"dataset": "x", "model": "RN50", "path": "a.pt", "name": "a b"}], r"name 'a b' must be"),
        (
            [{"dataset": "x", "model": "RN50", "path": "a.pt", "name": "../a"}],
            r"name '\.\./a' must be",
        ),
        (
            [["yfcc15m", "RN50-quickgelu", "yfcc15m"], ("yfcc15m", "RN50-quickgelu", "yfcc15m")],
            r"\[1\]: name 'RN50-quickgelu_yfcc15m' repeats entry 0",
        ),
    ],
)
def test_bad_entries_fail_with_clear_messages(entries, message):
    with pytest.raises(ck.CheckpointError, match=message):
        ck.checkpoints(entries)


def test_an_unknown_tag_fails_in_the_job_that_resolves_it():
    (entry,) = ck.checkpoints([["cc12m", "RN50", "no_such_tag"]])  # planning imports no open_clip
    message = r"open_clip has no pretrained weights 'no_such_tag' for model 'RN50'"
    with pytest.raises(ck.CheckpointError, match=message):
        entry.download_url()
    with pytest.raises(ck.CheckpointError, match=message):
        entry.resolve_quick_gelu()
    bare = ck.Checkpoint(name="x", dataset="d", model="RN50", pretrained=None)
    with pytest.raises(ck.CheckpointError, match=r"checkpoint 'x': no pretrained tag, path or url"):
        bare.download_url()


# --- download -------------------------------------------------------------------------------------


def _load_fetch_script():
    spec = importlib.util.spec_from_file_location(
        "fetch_openclip_checkpoint", ROOT / "workflow/scripts/fetch_openclip_checkpoint.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_weights(tmp_path_factory) -> tuple[Path, str]:
    path = tiny_openclip_checkpoint(tmp_path_factory.mktemp("weights") / "tiny.pt")
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_script_checks_the_digest_in_the_release_name(tiny_weights, tmp_path, http_server):
    source, digest = tiny_weights
    served = tmp_path / "srv"
    served.mkdir()
    name = f"tiny-rn-yfcc15m-{digest[:8]}.pt"
    (served / name).write_bytes(source.read_bytes())
    server = http_server(served)
    dest = tmp_path / "resources/openclip/tiny.bin"
    _load_fetch_script().main(server.url(name), str(dest), log=str(tmp_path / "fetch.log"))
    assert dest.read_bytes() == source.read_bytes()
    assert (tmp_path / "resources/openclip/tiny.bin.sha256").read_text() == f"{digest}  tiny.bin\n"
    assert server.requests_for(name) == [None]


def test_a_wrong_digest_prefix_removes_the_file(tiny_weights, tmp_path, http_server):
    source, digest = tiny_weights
    wrong = f"{(int(digest[:8], 16) ^ 1):08x}"
    served = tmp_path / "srv"
    served.mkdir()
    name = f"tiny-{wrong}.pt"
    (served / name).write_bytes(source.read_bytes())
    server = http_server(served)
    dest = tmp_path / "tiny.bin"
    with pytest.raises(ChecksumError, match=rf"sha256 {digest}, but its name says {wrong}"):
        _load_fetch_script().main(server.url(name), str(dest))
    assert not dest.exists() and not (tmp_path / "tiny.bin.sha256").exists()


def test_verify_download_without_a_digest_in_the_url_records_the_sha256(tiny_weights, tmp_path):
    source, digest = tiny_weights
    dest = tmp_path / "w.bin"
    dest.write_bytes(source.read_bytes())
    assert ck.verify_download("https://huggingface.co/o/r/resolve/main/x.bin", str(dest)) == digest
    assert (tmp_path / "w.bin.sha256").read_text().split()[0] == digest
