"""The authors' metadata: pinned hashes, download from a local copy, class-file readers."""

from __future__ import annotations

import shutil

import pytest

from cliptail import io
from cliptail.data import metadata
from cliptail.data.download import ChecksumError, sha256_file
from tests.fixtures.real_sources import shared_metadata


@pytest.fixture(scope="module")
def shared():
    return shared_metadata()


def test_pinned_hashes_match_the_released_files(shared):
    pinned = metadata.pinned_files()
    on_disk = sorted(
        p.relative_to(shared).as_posix()
        for p in shared.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert sorted(pinned) == on_disk and len(pinned) == 118
    for path, entry in pinned.items():
        assert sha256_file(shared / path) == entry.sha256, path
        assert (shared / path).stat().st_size == entry.size


def test_every_file_downloads_from_the_base_url_and_verifies(shared, tmp_path, http_server):
    server = http_server(shared)
    root = tmp_path / "resources" / "metadata"
    files = metadata.fetch_metadata(root, base_url=server.base_url, progress=False, backoff=0)
    assert len(files) == 118
    assert metadata.verify_metadata(root) == []
    head = "heads/in1k_clip_rn50_wit400m_a+cname.pt"  # '+' survives URL quoting
    assert (root / head).read_bytes() == (shared / head).read_bytes()
    # a second call makes no request: files present with the right hash are kept
    before = len(server.requests)
    metadata.fetch_metadata(root, base_url=server.base_url, progress=False)
    assert len(server.requests) == before


def test_a_changed_file_on_the_server_is_rejected(shared, tmp_path, http_server):
    copy = tmp_path / "mirror"
    shutil.copytree(shared / "descriptors", copy / "descriptors")
    path = "descriptors/descriptors_imagenet.json"
    (copy / path).write_text((copy / path).read_text().replace("tench", "tinca"))
    server = http_server(copy)
    root = tmp_path / "cache"
    with pytest.raises(
        ChecksumError,
        match="descriptors_imagenet.json.*expected sha256 " + metadata.pinned(path).sha256,
    ):
        metadata.fetch_metadata_file(path, root, server.base_url, progress=False, backoff=0)
    assert not (root / path).exists()
    assert metadata.verify_metadata(root, [path]) == [path]


def test_unknown_file_is_refused(tmp_path):
    with pytest.raises(ValueError, match="not a released metadata file"):
        metadata.fetch_metadata_file("freqs/made_up.txt", tmp_path)


def test_urls_are_pinned_to_the_commit():
    url = metadata.metadata_url("freqs/class_frequency_laion400m_imagenet.txt")
    assert url == (
        "https://raw.githubusercontent.com/CVMI-Lab/clip-beyond-tail/"
        "6d180a24c818f1439aeeade33ebdc8b0b53a3b62/metadata/freqs/"
        "class_frequency_laion400m_imagenet.txt"
    )


def test_imagenet_class_table(shared):
    classes = metadata.imagenet_classes(shared)
    assert len(classes) == 1000 and classes["id"].is_monotonic_increasing
    assert classes.iloc[0].tolist() == [0, "n01440764", "tench"]
    names_in_freqs = io.read_frequency(metadata.frequency_path(shared, "incaps"))["name"].tolist()
    assert classes["name"].tolist() == names_in_freqs


def test_imagenet100_indices(shared):
    indices = metadata.imagenet100_indices(shared)
    assert len(indices) == 100 and indices[:3] == [15, 45, 54]
    counts = io.read_frequency(metadata.frequency_path(shared, "incaps", "imagenet100"))
    assert len(counts) == 100


def test_missing_metadata_explains_how_to_get_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="fetch the authors' metadata"):
        metadata.imagenet_classes(tmp_path)


def test_dataset_folder_is_written_with_frequency(shared, tmp_path):
    import pandas as pd

    classes = metadata.imagenet_classes(shared)
    df = pd.DataFrame({"image": ["a", "b", "c"], "label": [0, 0, 999], "caption": ["x", "y", "z"]})
    metadata.write_dataset_folder(
        tmp_path, df, classes, {"reader": "test"}, {"image_format": "files"}
    )
    freq = io.read_frequency(tmp_path / "frequency.tsv")
    assert freq["count"].tolist()[:2] == [2, 0] and freq["count"].iloc[-1] == 1
    assert io.read_classes(tmp_path / "classes.tsv")["id"].tolist() == classes["id"].tolist()
    assert io.read_json(tmp_path / "report.json")["classes_nonempty"] == 2
    assert io.read_json(tmp_path / "source.json") == {"image_format": "files", "manifest_rows": 3}


def test_sources_cli(shared, tmp_path, http_server, capsys):
    from cliptail.cli import main

    server = http_server(shared)
    root = tmp_path / "meta"
    assert main(["sources", "metadata", "--root", str(root), "--base-url", server.base_url]) == 0
    assert main(["sources", "metadata", "--root", str(root), "--verify"]) == 0
    (root / metadata.IMAGENET100_TXT).write_text("1\n")
    assert main(["sources", "metadata", "--root", str(root), "--verify"]) == 1
    assert "missing or changed: imagenet100_idxs.txt" in capsys.readouterr().out
    dest = tmp_path / "copy.txt"
    digest = metadata.pinned(metadata.IMAGENET100_TXT).sha256
    assert (
        main(
            [
                "sources",
                "download",
                server.url(metadata.IMAGENET100_TXT),
                str(dest),
                "--sha256",
                digest,
            ]
        )
        == 0
    )
    assert dest.read_bytes() == (shared / metadata.IMAGENET100_TXT).read_bytes()
    assert (
        main(["sources", "locate-imagenet", str(tmp_path / "none"), "--metadata", str(root)]) == 2
    )
    err = capsys.readouterr().err
    assert "cliptail sources: error: ImageNet at" in err and "Expected layout" in err
