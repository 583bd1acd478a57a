"""ImageNet (user-provided tree) and ImageNetV2 (archive over HTTP) on fixtures of their layouts."""

from __future__ import annotations

import hashlib
import tarfile

import numpy as np
import pytest

from cliptail.data import imagenet, imagenetv2
from cliptail.data.download import ChecksumError
from cliptail.data.metadata import imagenet_classes
from tests.fixtures.real_sources import (
    corrupt_jpeg_bytes,
    imagenet_tree,
    imagenetv2_archive,
    jpeg_bytes,
    shared_metadata,
)


@pytest.fixture(scope="module")
def classes():
    return imagenet_classes(shared_metadata())


@pytest.fixture(scope="module")
def imagenet_root(tmp_path_factory, classes):
    """The real layout at full size for val (1000 x 50) and one train image per class."""
    return imagenet_tree(tmp_path_factory.mktemp("imagenet"), classes["id"].tolist())


def test_val_manifest_of_a_complete_tree(imagenet_root, classes):
    summary = imagenet.locate_imagenet(imagenet_root, classes["id"].tolist(), progress=False)
    assert summary["splits"] == {
        "train": {"images": 1000, "classes": 1000},
        "val": {"images": 50_000, "classes": 1000},
    }
    df, report = imagenet.read_imagenet_split(imagenet_root, "val", classes, progress=False)
    assert len(df) == 50_000 and report["per_class_min"] == report["per_class_max"] == 50
    assert np.bincount(df["label"], minlength=1000).tolist() == [50] * 1000
    first = df.iloc[0]
    assert first["image"] == "val/n01440764/ILSVRC2012_val_00000001.JPEG"
    assert (first["label"], first["wnid"], first["caption"]) == (0, "n01440764", "a tench")
    assert df["image"].is_monotonic_increasing and set(df["split"]) == {"val"}


def test_missing_root_or_config_names_the_layout(tmp_path, classes):
    wnids = classes["id"].tolist()
    for root in (None, tmp_path / "nowhere"):
        with pytest.raises(imagenet.ImageNetLayoutError) as err:
            imagenet.locate_imagenet(root, wnids, progress=False)
        message = str(err.value)
        assert "train/<wnid>/*.JPEG" in message and "val/<wnid>/*.JPEG" in message
        assert "image-net.org" in message and "valprep.sh" in message


def test_incomplete_tree_is_one_message_listing_every_problem(tmp_path, classes):
    wnids = classes["id"].tolist()
    root = imagenet_tree(tmp_path / "in", wnids[:10], val_per_class=50)
    (root / "val" / wnids[3] / "ILSVRC2012_val_00000151.JPEG").unlink()
    with pytest.raises(imagenet.ImageNetLayoutError) as err:
        imagenet.locate_imagenet(root, wnids, progress=False)
    message = str(err.value)
    assert message.count("\n  - ") == 3
    assert "train: 990 of 1000 class folders missing or empty" in message
    assert "val: 990 of 1000" in message
    assert f"1 class folders do not hold 50 images ({wnids[3]}: 49)" in message
    assert "How to obtain it" in message


def test_flat_val_folder_is_explained(tmp_path, classes):
    root = tmp_path / "flat"
    imagenet_tree(root, classes["id"].tolist(), val_per_class=0)
    (root / "val" / "ILSVRC2012_val_00000001.JPEG").write_bytes(jpeg_bytes(0))
    with pytest.raises(imagenet.ImageNetLayoutError, match="1000 of 1000 class folders missing"):
        imagenet.locate_imagenet(root, classes["id"].tolist(), splits=("val",), progress=False)


def test_corrupt_images_are_left_out_and_reported(tmp_path, classes):
    wnids = classes["id"].tolist()[:3]
    root = imagenet_tree(tmp_path / "small", wnids, train_per_class=4, val_per_class=0)
    bad = root / "train" / wnids[1] / f"{wnids[1]}_10002.JPEG"
    bad.unlink()  # the fixture's images are hard links of one file
    bad.write_bytes(corrupt_jpeg_bytes())
    (root / "train" / wnids[2] / "notes.txt").write_text("not an image")
    df, report = imagenet.read_image_folder(
        root, "train", wnids, [0, 1, 2], wnids, ["a", "b", "c"], verify_images=True, progress=False
    )
    assert len(df) == 11 and report["corrupt"] == 1
    assert report["corrupt_files"][0]["image"] == f"train/{wnids[1]}/{wnids[1]}_10002.JPEG"
    assert f"train/{wnids[1]}/{wnids[1]}_10002.JPEG" not in set(df["image"])
    unverified, report = imagenet.read_image_folder(
        root, "train", wnids, [0, 1, 2], wnids, ["a", "b", "c"], progress=False
    )
    assert len(unverified) == 12 and report["corrupt"] == 0 and not report["verified"]


# --- ImageNetV2 --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def v2_server(tmp_path_factory, http_server_module):
    root = tmp_path_factory.mktemp("v2srv")
    imagenetv2_archive(root / imagenetv2.ARCHIVE, corrupt=[(7, 3), (999, 0)])
    return http_server_module(root), root / imagenetv2.ARCHIVE


@pytest.fixture(scope="module")
def http_server_module():
    from tests.httpserver import FileServer

    servers = []

    def start(root):
        servers.append(FileServer(root))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def test_imagenetv2_download_extract_read(v2_server, tmp_path, classes):
    server, archive = v2_server
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    dest = tmp_path / "resources" / "imagenetv2" / imagenetv2.ARCHIVE
    imagenetv2.download_imagenetv2(dest, server.url(imagenetv2.ARCHIVE), digest, progress=False)
    folder = imagenetv2.extract_imagenetv2(dest, dest.parent)
    assert folder.name == "imagenetv2-matched-frequency-format-val"
    assert [p.name for p in dest.parent.iterdir() if p.name.startswith(".")] == []
    df, report = imagenetv2.read_imagenetv2(folder, classes, progress=False)
    counts = np.bincount(df["label"], minlength=1000)
    assert len(df) == 9_998 and report["corrupt"] == 2
    assert counts[7] == 9 and counts[999] == 9 and (np.delete(counts, [7, 999]) == 10).all()
    row = df[df["label"] == 5].iloc[0]
    assert row["image"].startswith("imagenetv2-matched-frequency-format-val/5/")
    assert (row["wnid"], row["split"]) == (classes["id"][5], "v2")
    # the reader checks the layout: a class folder with an image missing fails clearly
    next((folder / "0").iterdir()).unlink()
    with pytest.raises(ValueError, match="0: 9"):
        imagenetv2.read_imagenetv2(folder, classes, progress=False)


def test_imagenetv2_wrong_checksum(v2_server, tmp_path):
    server, _ = v2_server
    dest = tmp_path / imagenetv2.ARCHIVE
    with pytest.raises(ChecksumError, match=imagenetv2.SHA256):
        imagenetv2.download_imagenetv2(
            dest, server.url(imagenetv2.ARCHIVE), progress=False, backoff=0
        )
    assert not dest.exists()


def test_imagenetv2_incomplete_archive_leaves_nothing(tmp_path):
    archive = imagenetv2_archive(tmp_path / "a.tar.gz", num_classes=999, per_class=1)
    with pytest.raises(ValueError, match="1 class folders differ"):
        imagenetv2.extract_imagenetv2(archive, tmp_path / "out", per_class=1)
    assert list((tmp_path / "out").iterdir()) == []


def test_imagenetv2_unsafe_or_broken_archive(tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        tar.add(__file__, arcname="../outside.py")
    with pytest.raises(ValueError, match="cannot be extracted"):
        imagenetv2.extract_imagenetv2(evil, tmp_path / "out")
    assert not (tmp_path / "outside.py").exists()
    broken = tmp_path / "broken.tar.gz"
    broken.write_bytes(b"\x1f\x8b not really")
    with pytest.raises(ValueError, match="cannot be extracted"):
        imagenetv2.extract_imagenetv2(broken, tmp_path / "out2")
