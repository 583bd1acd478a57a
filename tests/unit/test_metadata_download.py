"""The authors' metadata: pinned hashes, the packaged copy, download from a local copy, readers.

Everything but the ``heads/`` tests runs on the copy shipped in the package
(src/cliptail/data/released); those need the full copy (``../shared/metadata``) and skip without.
"""

from __future__ import annotations

import glob
import shutil
import tomllib
from pathlib import Path

import pytest

from cliptail import io
from cliptail.data import metadata
from cliptail.data.download import ChecksumError, sha256_file
from tests.fixtures.real_sources import REPO, full_metadata, shared_metadata

#: Files beside the released data in the packaged folder (notice and provenance).
PACKAGING_FILES = {"LICENSE", "README.md", ".gitattributes"}
HEAD = "heads/in1k_clip_rn50_wit400m_a+cname.pt"  # '+' must survive URL quoting


@pytest.fixture(scope="module")
def released():
    """The packaged copy (no heads/)."""
    return shared_metadata()


def _data_files(root: Path) -> list[str]:
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.relative_to(root).as_posix() not in PACKAGING_FILES
    )


# --- the packaged copy ---------------------------------------------------------------------------


def test_packaged_files_are_exactly_the_non_heads_files_and_match_their_pinned_hashes(released):
    assert released == metadata.released_root() and released.is_dir()
    pinned = metadata.pinned_files()
    non_heads = sorted(p for p in pinned if not p.startswith("heads/"))
    assert len(pinned) == 118 and len(non_heads) == 109
    assert _data_files(released) == non_heads == sorted(metadata.packaged_paths())
    for path in non_heads:
        assert sha256_file(released / path) == pinned[path].sha256, path
        assert (released / path).stat().st_size == pinned[path].size, path


def test_packaged_copy_carries_the_licence_and_its_provenance(released):
    licence = (released / "LICENSE").read_text()
    assert licence.startswith("MIT License") and "Copyright (c) 2024 HKU CVMI Lab" in licence
    assert 'THE SOFTWARE IS PROVIDED "AS IS"' in licence
    readme = (released / "README.md").read_text()
    assert "github.com/CVMI-Lab/clip-beyond-tail" in readme and metadata.COMMIT in readme
    assert "byte-identical" in readme and "metadata_sha256.tsv" in readme


def test_package_data_globs_ship_every_packaged_file(released):
    """setuptools expands each package-data pattern with glob(recursive=True) under the package:
    a file no pattern matches would be missing from a (non-editable) wheel."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["cliptail"]
    package = REPO / "src" / "cliptail"
    shipped = {
        Path(f).resolve() for p in patterns for f in glob.glob(str(package / p), recursive=True)
    }
    wanted = [released / p for p in _data_files(released)] + [
        released / "LICENSE",
        released / "README.md",
    ]
    assert [str(p) for p in wanted if p.resolve() not in shipped] == []
    assert not any("heads" in p.parts for p in shipped)


# --- the full copy (heads/ included): only where heads are needed ---------------------------------


def test_pinned_hashes_match_the_full_released_copy():
    full = full_metadata()
    pinned = metadata.pinned_files()
    on_disk = sorted(
        p.relative_to(full).as_posix()
        for p in full.rglob("*")
        if p.is_file() and p.name != "README.md"
    )
    assert sorted(pinned) == on_disk and len(pinned) == 118
    for path, entry in pinned.items():
        assert sha256_file(full / path) == entry.sha256, path
        assert (full / path).stat().st_size == entry.size


def test_a_head_downloads_with_a_plus_in_its_name(tmp_path, http_server):
    full = full_metadata()
    server = http_server(full)
    root = tmp_path / "resources" / "metadata"
    metadata.fetch_metadata_file(HEAD, root, server.base_url, progress=False, backoff=0)
    assert (root / HEAD).read_bytes() == (full / HEAD).read_bytes()
    assert metadata.verify_metadata(root, [HEAD]) == []


# --- download and verification over a local HTTP server (the packaged copy) ---------------------


def test_every_packaged_file_downloads_from_the_base_url_and_verifies(
    released, tmp_path, http_server
):
    server = http_server(released)
    root = tmp_path / "resources" / "metadata"
    paths = metadata.packaged_paths()
    files = metadata.fetch_metadata(
        root, paths, base_url=server.base_url, progress=False, backoff=0
    )
    assert len(files) == 109 and metadata.verify_metadata(root, paths) == []
    assert _data_files(root) == sorted(paths)
    path = "freqs/class_frequency_laionet_thresh0.7_frac0.03125_ori.txt"
    assert (root / path).read_bytes() == (released / path).read_bytes()
    # heads are not there: verify names them
    assert metadata.verify_metadata(root) == [p for p in metadata.pinned_files() if p not in paths]
    # a second call makes no request: files present with the right hash are kept
    before = len(server.requests)
    metadata.fetch_metadata(root, paths, base_url=server.base_url, progress=False)
    assert len(server.requests) == before


def test_a_changed_file_on_the_server_is_rejected(released, tmp_path, http_server):
    copy = tmp_path / "mirror"
    shutil.copytree(released / "descriptors", copy / "descriptors")
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
    assert metadata.metadata_url(HEAD).endswith(
        "/metadata/heads/in1k_clip_rn50_wit400m_a%2Bcname.pt"
    )


# --- readers -------------------------------------------------------------------------------------


def test_imagenet_class_table(released):
    classes = metadata.imagenet_classes(released)
    assert len(classes) == 1000 and classes["id"].is_monotonic_increasing
    assert classes.iloc[0].tolist() == [0, "n01440764", "tench"]
    names_in_freqs = io.read_frequency(metadata.frequency_path(released, "incaps"))["name"].tolist()
    assert classes["name"].tolist() == names_in_freqs


def test_imagenet100_indices(released):
    indices = metadata.imagenet100_indices(released)
    assert len(indices) == 100 and indices[:3] == [15, 45, 54]
    counts = io.read_frequency(metadata.frequency_path(released, "incaps", "imagenet100"))
    assert len(counts) == 100


def test_readers_fall_back_to_the_packaged_copy(released, tmp_path):
    expected = metadata.imagenet_classes(released)
    for root in (tmp_path, tmp_path / "does-not-exist", None):
        assert metadata.imagenet_classes(root).equals(expected)
        assert metadata.imagenet100_indices(root) == metadata.imagenet100_indices(released)
    assert metadata.imagenet_wnids() == expected["id"].tolist()
    assert metadata.resolve_metadata_file(metadata.NAMES_JSON, tmp_path) == (
        released / metadata.NAMES_JSON
    )
    # a file the folder has wins over the packaged one
    (tmp_path / metadata.IMAGENET100_TXT).write_text("\n".join(map(str, range(100))) + "\n")
    assert metadata.imagenet100_indices(tmp_path) == list(range(100))
    # heads are not packaged: no fallback
    assert metadata.resolve_metadata_file(HEAD, tmp_path) == tmp_path / HEAD


def test_missing_metadata_explains_how_to_get_it(tmp_path, monkeypatch):
    monkeypatch.setattr(metadata, "released_root", lambda: tmp_path / "no-packaged-copy")
    with pytest.raises(FileNotFoundError, match="fetch the authors' metadata"):
        metadata.imagenet_classes(tmp_path)
    with pytest.raises(FileNotFoundError, match="fetch the authors' metadata"):
        metadata.imagenet100_indices(tmp_path)


def test_dataset_folder_of_imagenet_classes_is_written_with_frequency(released, tmp_path):
    import pandas as pd

    from cliptail.data.dataset_dir import DatasetDir

    classes = metadata.imagenet_classes(released)
    df = pd.DataFrame({"image": ["a", "b", "c"], "label": [0, 0, 999], "caption": ["x", "y", "z"]})
    DatasetDir(tmp_path).write(
        df, classes, report={"reader": "test"}, source={"image_format": "files"}
    )
    freq = io.read_frequency(tmp_path / "frequency.tsv")
    assert freq["count"].tolist()[:2] == [2, 0] and freq["count"].iloc[-1] == 1
    assert io.read_classes(tmp_path / "classes.tsv")["id"].tolist() == classes["id"].tolist()
    assert io.read_json(tmp_path / "report.json")["nonempty_classes"] == 2
    assert io.read_json(tmp_path / "source.json") == {
        "image_format": "files",
        "dataset": tmp_path.name,
        "manifest_rows": 3,
    }


# --- cliptail sources ----------------------------------------------------------------------------


def test_sources_cli(released, tmp_path, http_server, capsys):
    from cliptail.cli import main

    server = http_server(released)
    root = tmp_path / "meta"
    only = ["--only", "descriptors/", "freqs/", metadata.IMAGENET100_TXT]
    fetch = ["sources", "metadata", "--root", str(root), "--base-url", server.base_url]
    assert main([*fetch, "-q", *only]) == 0
    assert "109 metadata files in" in capsys.readouterr().out
    assert main(["sources", "metadata", "--root", str(root), "--verify", *only]) == 0
    # without --only every released file is checked: the 9 heads are missing
    assert main(["sources", "metadata", "--root", str(root), "--verify"]) == 1
    out = capsys.readouterr().out
    assert out.count("missing or changed: heads/") == 9 and "109 of 118" in out
    (root / metadata.IMAGENET100_TXT).write_text("1\n")
    assert main(["sources", "metadata", "--root", str(root), "--verify", *only]) == 1
    assert "missing or changed: imagenet100_idxs.txt" in capsys.readouterr().out
    # a prefix that selects nothing is a runtime error
    assert main(["sources", "metadata", "--root", str(root), "--verify", "--only", "x/"]) == 1
    assert "cliptail sources: error: --only x/: no released metadata file" in (
        capsys.readouterr().err
    )
    dest = tmp_path / "copy.txt"
    digest = metadata.pinned(metadata.IMAGENET100_TXT).sha256
    url = server.url(metadata.IMAGENET100_TXT)
    assert main(["sources", "download", url, str(dest), "--sha256", digest, "-q"]) == 0
    assert dest.read_bytes() == (released / metadata.IMAGENET100_TXT).read_bytes()
    assert capsys.readouterr().err == ""  # -q: no progress bar
    # no ImageNet there: exit status 1, the error line, then how to get ImageNet
    missing = str(tmp_path / "none")
    for extra in (["--metadata", str(root)], []):
        assert main(["sources", "locate-imagenet", missing, *extra]) == 1
        err = capsys.readouterr().err
        assert err.startswith("cliptail sources: error: ImageNet at") and "Expected layout" in err
        assert "Traceback" not in err
