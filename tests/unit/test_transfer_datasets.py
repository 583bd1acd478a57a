"""The 12 transfer datasets: fixtures in the real formats, served on 127.0.0.1, prepared through the
real download, checksum, extraction and reading code, then checked against known answers."""

from __future__ import annotations

import dataclasses
import importlib.util
import io
import os
import pickle
import stat
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.download import ChecksumError, DownloadError
from cliptail.data.transfer import (
    TRANSFER_DATASETS,
    ArchiveError,
    LayoutError,
    UnsafeArchiveError,
    common,
    prepare,
)
from cliptail.data.transfer.archive import extract, md5_file
from cliptail.data.transfer.common import hold_out_val
from tests.fixtures import transfer_formats as tf

FAST = {"backoff": 0, "retries": 0}

#: name -> (class ids in order, split counts, {image: label}, skipped count)
EXPECTED = {
    "food101": (
        tf.FOOD_CLASSES,
        {"train": 12, "val": 3, "test": 5},
        {"food-101/images/waffles/300006.jpg": 2, "food-101/images/apple_pie/100001.jpg": 0},
        1,
    ),
    "cifar10": (
        tf.CIFAR10_NAMES,
        {"train": 40, "val": 10, "test": 10},
        {"images/data_batch_2/00003.png": 3, "images/test_batch/00009.png": 9},
        0,
    ),
    "cifar100": (
        tf.CIFAR100_FINE,
        {"train": 20, "val": 5, "test": 5},
        {"images/train/00007.png": 2, "images/test/00004.png": 4},
        0,
    ),
    "birdsnap": (
        [s[3] for s in tf.BIRDSNAP_SPECIES],
        {"train": 7, "val": 3, "test": 3},
        {"birdsnap/images/Coopers_Hawk/0012.jpg": 2, "birdsnap/images/Blue_Jay/0009.jpg": 1},
        2,
    ),
    "sun397": (
        ["abbey", "apartment_building/outdoor", "bakery/shop"],
        {"train": 12, "val": 3, "test": 6},
        {f"SUN397{tf.sun_image(1, 6)}": 1, f"SUN397{tf.sun_image(2, 0)}": 2},
        0,
    ),
    "cars": (
        tf.CARS_CLASSES,
        {"train": 12, "val": 3, "test": 6},
        {"cars_train/00002.jpg": 1, "cars_test/00006.jpg": 2},
        0,
    ),
    "aircraft": (
        tf.AIRCRAFT_VARIANTS,
        {"train": 6, "val": 6, "test": 6},
        {f"fgvc-aircraft-2013b/data/images/{tf.aircraft_id(2, 5)}.jpg": 2},
        0,
    ),
    "voc2007": (
        tf.VOC_CLASSES,
        {"train": 4, "val": 2, "test": 3},
        {
            "VOCdevkit/VOC2007/JPEGImages/000009.jpg": 12,
            "VOCdevkit/VOC2007/JPEGImages/000019.jpg": 7,
        },
        0,
    ),
    "dtd": (
        tf.DTD_CLASSES,
        {"train": 6, "val": 6, "test": 6},
        {"dtd/images/braided/braided_0003.jpg": 2},
        0,
    ),
    "pets": (
        ["Abyssinian", "american_bulldog", "Bengal"],
        {"train": 12, "val": 3, "test": 6},
        {"images/american_bulldog_6.jpg": 1, "images/Bengal_1.jpg": 2},
        0,
    ),
    "caltech101": (
        list(tf.CALTECH_COUNTS),
        {"train": 72, "val": 18, "test": 5},
        {"101_ObjectCategories/accordion/image_0031.jpg": 2},
        0,
    ),
    "flowers102": (
        [str(k) for k in range(1, 103)],
        {"train": 3, "val": 3, "test": 6},
        {"jpg/image_00012.jpg": 2, "jpg/image_00005.jpg": 1},
        0,
    ),
}

#: official splits: image -> split
OFFICIAL = {
    "aircraft": {f"fgvc-aircraft-2013b/data/images/{tf.aircraft_id(0, 2)}.jpg": "val"},
    "voc2007": {"VOCdevkit/VOC2007/JPEGImages/000017.jpg": "val"},
    "dtd": {
        "dtd/images/banded/banded_0003.jpg": "val",
        "dtd/images/banded/banded_0006.jpg": "test",
    },
    "flowers102": {"jpg/image_00006.jpg": "val", "jpg/image_00001.jpg": "train"},
}


def write_fixture(name: str, folder: Path, server) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if name == "birdsnap":
        tf.write_birdsnap(folder, server.url)
    else:
        tf.WRITERS[name](folder)


def fixture_spec(name: str, folder: Path):
    """The registry entry with the md5s of the fixture files (the real ones would not match)."""
    spec = TRANSFER_DATASETS[name]
    files = tuple(dataclasses.replace(f, md5=md5_file(folder / f.filename)) for f in spec.files)
    return dataclasses.replace(spec, files=files)


@pytest.fixture
def served(tmp_path, http_server):
    """``served(name)`` -> (spec with fixture md5s, server) for a fixture served from 127.0.0.1."""

    def start(name: str, writer=None):
        folder = tmp_path / "srv" / name
        folder.mkdir(parents=True)
        server = http_server(folder)
        (writer or (lambda f: write_fixture(name, f, server)))(folder)
        return fixture_spec(name, folder), server

    return start


def run(spec, server, tmp_path, out="out", **options):
    return prepare(
        spec,
        tmp_path / "downloads",
        tmp_path / out / spec.name,
        url_base=server.base_url,
        progress=False,
        download_options=FAST,
        **options,
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_prepare_reads_the_real_format(name, served, tmp_path):
    spec, server = served(name)
    report = run(spec, server, tmp_path)
    ids, splits, pairs, skipped = EXPECTED[name]
    folder = DatasetDir(tmp_path / "out" / name)
    classes = folder.read_classes()
    df = folder.read_manifest(allow_empty_captions=False)
    assert classes["id"].tolist() == ids
    assert report["splits"] == splits and report["skipped"] == skipped
    assert report["classes"] == len(ids) and report["metric"] == spec.metric
    assert df["split"].value_counts().to_dict() == {k: v for k, v in splits.items() if v}
    labels = dict(zip(df["image"], df["label"], strict=True))
    assert {image: labels[image] for image in pairs} == pairs
    assert (df["caption"].str.len() > 0).all()
    source = folder.read_source()
    assert source["image_format"] == "files" and source["dataset"] == name
    root = Path(folder.image_root())
    assert root == tmp_path / "out" / name
    for image in df["image"]:
        with Image.open(root / image) as img:
            img.load()
    for image, split in OFFICIAL.get(name, {}).items():
        assert df.loc[df["image"] == image, "split"].item() == split
    # every file came from the server, checked against its md5
    assert [f["checked"] for f in report["files"]] == ["md5"] * len(spec.files)
    assert all(f["from"].startswith(server.base_url) for f in report["files"])
    # nothing else was left beside the dataset folder
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name]


def test_class_names_and_orders(served, tmp_path):
    names = {}
    for name in ("food101", "pets", "sun397", "flowers102"):
        spec, server = served(name)
        run(spec, server, tmp_path)
        names[name] = DatasetDir(tmp_path / "out" / name).read_classes()["name"].tolist()
    assert names["food101"] == tf.FOOD_LABELS
    assert names["pets"] == ["Abyssinian", "american bulldog", "Bengal"]
    assert names["sun397"] == ["abbey", "apartment building / outdoor", "bakery / shop"]
    assert names["flowers102"][:3] == [
        "pink primrose",
        "hard-leaved pocket orchid",
        "canterbury bells",
    ]
    assert len(names["flowers102"]) == 102


def test_cifar_pixels_are_written_in_channel_order(served, tmp_path):
    spec, server = served("cifar10")
    run(spec, server, tmp_path)
    root = tmp_path / "out" / "cifar10"
    pixels = np.asarray(Image.open(root / "images/data_batch_2/00003.png"))
    assert pixels.shape == (32, 32, 3)
    assert (pixels == [13, 103, 200]).all()
    df = DatasetDir(root).read_manifest()
    assert (
        df.loc[df["image"] == "images/data_batch_2/00003.png", "filename"].item() == "img_00013.png"
    )
    assert not (root / "cifar-10-batches-py" / "data_batch_1").exists()


def test_cifar_batch_with_code_is_refused(served, tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    def writer(folder: Path) -> None:
        top = "cifar-10-batches-py"
        members = {
            f"{top}/{b}": pickle.dumps({b"data": Evil()}, protocol=2)
            for b in ["batches.meta", *(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]
        }
        tf.write_tar(folder / "cifar-10-python.tar.gz", members)

    spec, server = served("cifar10", writer)
    with pytest.raises(LayoutError, match=r"refusing to load .*print"):
        run(spec, server, tmp_path)
    assert not (tmp_path / "out" / "cifar10").exists()


def test_voc_labels_follow_the_classification_protocol(served, tmp_path):
    spec, server = served("voc2007")
    report = run(spec, server, tmp_path)
    df = DatasetDir(tmp_path / "out" / "voc2007").read_manifest().set_index("image")
    row = "VOCdevkit/VOC2007/JPEGImages/{}.jpg".format
    c = tf.VOC_CLASSES.index
    assert list(df.loc[row("000009"), "labels"]) == [c("horse"), c("person")]
    # a difficult object of a class also present without the flag: a positive
    assert list(df.loc[row("000005"), "labels"]) == [c("chair")]
    assert list(df.loc[row("000005"), "difficult"]) == []
    # a class present only as difficult objects: neither positive nor negative
    assert list(df.loc[row("000012"), "labels"]) == [c("car")]
    assert list(df.loc[row("000012"), "difficult"]) == [c("bottle")]
    # every object difficult: no positive; the manifest's single label is the difficult class
    assert list(df.loc[row("000019"), "labels"]) == []
    assert df.loc[row("000019"), "label"] == c("cat")
    assert df.loc[row("000003"), "caption"] == "chair, sofa"
    assert report["multi_label"] is True and report["metric"] == "map11"
    assert (
        DatasetDir(tmp_path / "out" / "voc2007").read_classes()["name"].tolist()[10]
        == "dining table"
    )


def test_val_holdout_is_deterministic_and_stratified(served, tmp_path):
    spec, server = served("pets")
    run(spec, server, tmp_path, out="a")
    run(spec, server, tmp_path, out="b")
    a = DatasetDir(tmp_path / "a" / "pets").read_manifest()
    b = DatasetDir(tmp_path / "b" / "pets").read_manifest()
    pd.testing.assert_frame_equal(a, b)
    val = a[a["split"] == "val"]
    assert val["label"].value_counts().to_dict() == {0: 1, 1: 1, 2: 1}  # round(0.2 * 5) each
    assert set(val["image"]) <= {
        f"images/{b[0]}_{n}.jpg" for b in tf.PETS_BREEDS for n in range(1, 6)
    }

    # the rule itself: per class round(0.2 n), half up; other datasets draw other images
    labels = np.repeat(np.arange(5), [10, 5, 3, 2, 100])
    df = pd.DataFrame({"image": [f"{i:04d}.jpg" for i in range(len(labels))], "label": labels})
    df["split"] = "train"
    first = hold_out_val(df, "food101")
    assert first[first["split"] == "val"]["label"].value_counts().sort_index().tolist() == [
        2,
        1,
        1,
        20,
    ]
    pd.testing.assert_frame_equal(
        first, hold_out_val(df.sample(frac=1, random_state=0), "food101").sort_index()
    )
    other = hold_out_val(df, "cifar10")
    assert set(first.index[first["split"] == "val"]) != set(other.index[other["split"] == "val"])


def test_caltech_thirty_training_images_per_class(served, tmp_path):
    spec, server = served("caltech101")
    report = run(spec, server, tmp_path)
    df = DatasetDir(tmp_path / "out" / "caltech101").read_manifest()
    per_class = df.groupby(["label", "split"]).size().unstack(fill_value=0)
    assert per_class["train"].tolist() == [24, 24, 24]
    assert per_class["val"].tolist() == [6, 6, 6]
    assert per_class["test"].tolist() == [2, 2, 1]
    assert report["train_per_class"] == 30
    assert (
        "BACKGROUND_Google"
        in DatasetDir(tmp_path / "out" / "caltech101").read_classes()["id"].tolist()
    )
    run(spec, server, tmp_path, out="again")
    again = DatasetDir(tmp_path / "again" / "caltech101").read_manifest()
    assert again["split"].tolist() == df["split"].tolist()
    assert not (tmp_path / "out" / "caltech101" / "caltech-101").exists()


def test_birdsnap_fetches_images_and_reports_dead_and_changed_ones(served, tmp_path):
    spec, server = served("birdsnap")
    report = run(spec, server, tmp_path, reader_options={"workers": 3, "image_backoff": 0})
    skipped = {s["image"]: s["reason"] for s in report["skipped_files"]}
    dead = f"birdsnap/images/{tf.birdsnap_path(tf.BIRDSNAP_DEAD)}"
    changed = f"birdsnap/images/{tf.birdsnap_path(tf.BIRDSNAP_BAD_MD5)}"
    assert set(skipped) == {dead, changed}
    assert skipped[dead].startswith("download failed") and "404" in skipped[dead]
    assert skipped[changed].startswith("md5 mismatch") and "0" * 32 in skipped[changed]
    assert report["skipped_reasons"] == {"download failed": 1, "md5 mismatch": 1}
    assert report["images_listed"] == 15 and report["images_fetched"] == 13
    df = DatasetDir(tmp_path / "out" / "birdsnap").read_manifest()
    tests = {f"birdsnap/images/{tf.birdsnap_path(n)}" for n in tf.BIRDSNAP_TEST}
    assert set(df.loc[df["split"] == "test", "image"]) == tests
    assert (
        DatasetDir(tmp_path / "out" / "birdsnap").read_classes()["name"].tolist()[2]
        == "Cooper's Hawk"
    )
    stored = tmp_path / "downloads" / "birdsnap" / "images"
    assert not (stored / tf.birdsnap_path(tf.BIRDSNAP_BAD_MD5)).exists()
    # a second preparation fetches only what is missing, or stored with another md5
    (stored / tf.birdsnap_path(0)).unlink()  # (a hard link of the dataset folder's copy)
    (stored / tf.birdsnap_path(0)).write_bytes(b"damaged")
    before = len(server.requests)
    run(spec, server, tmp_path, out="again", reader_options={"image_backoff": 0})
    fetched = [p for p, _ in server.requests[before:] if p.startswith("flickr/")]
    assert len(fetched) == 3
    assert md5_file(stored / tf.birdsnap_path(0)) == md5_file(
        tmp_path / "again" / "birdsnap" / "birdsnap" / "images" / tf.birdsnap_path(0)
    )


def test_checksum_mismatch_names_the_file_and_digests(served, tmp_path):
    spec, server = served("dtd")
    real = TRANSFER_DATASETS["dtd"]
    with pytest.raises(ChecksumError) as err:
        run(real, server, tmp_path)
    message = str(err.value)
    assert "dtd-r1.0.1.tar.gz" in message and real.files[0].md5 in message
    assert md5_file(tmp_path / "srv" / "dtd" / "dtd-r1.0.1.tar.gz") in message
    assert not (tmp_path / "downloads" / "dtd" / "dtd-r1.0.1.tar.gz").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    # a file given in a local folder is checked but never deleted
    local = tmp_path / "srv" / "dtd"
    with pytest.raises(ChecksumError, match="it is kept"):
        prepare(real, tmp_path / "dl2", tmp_path / "out" / "dtd", local_dir=local, progress=False)
    assert (local / "dtd-r1.0.1.tar.gz").exists()
    report = prepare(
        real,
        tmp_path / "dl2",
        tmp_path / "out" / "dtd",
        local_dir=local,
        progress=False,
        verify_checksums=False,
    )
    assert report["files"][0]["checked"] is None and report["splits"]["test"] == 6


@pytest.mark.parametrize(
    ("name", "omit", "missing"),
    [
        ("food101", "meta/classes.txt", "meta/classes.txt"),
        ("food101", "meta/test.txt", "meta/test.txt"),
    ],
)
def test_missing_metadata_is_named_and_leaves_no_folder(name, omit, missing, served, tmp_path):
    spec, server = served(name, lambda folder: tf.write_food101(folder, omit=(omit,)))
    with pytest.raises(LayoutError, match=missing):
        run(spec, server, tmp_path)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_failed_preparation_keeps_the_previous_folder(served, tmp_path):
    spec, server = served("aircraft")
    run(spec, server, tmp_path)
    before = (tmp_path / "out" / "aircraft" / "manifest.parquet").read_bytes()
    broken = tmp_path / "srv" / "aircraft" / "fgvc-aircraft-2013b.tar.gz"
    broken.write_bytes(broken.read_bytes()[:100])
    (tmp_path / "downloads" / "aircraft" / broken.name).unlink()
    spec = fixture_spec("aircraft", broken.parent)
    with pytest.raises(ValueError, match="cannot be extracted"):
        run(spec, server, tmp_path)
    assert (tmp_path / "out" / "aircraft" / "manifest.parquet").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["aircraft"]


def test_cars_needs_a_url_or_a_local_copy(served, tmp_path, monkeypatch):
    with pytest.raises(DownloadError, match="car_devkit.tgz.*offline"):
        prepare("cars", tmp_path / "downloads", tmp_path / "out" / "cars", progress=False)
    spec, server = served("cars")
    urls = {f.filename: server.url(f.filename) for f in spec.files}

    def no_links(src, dst):
        raise OSError("hard links not supported")

    monkeypatch.setattr(common.os, "link", no_links)  # a copy then
    report = prepare(spec, tmp_path / "downloads", tmp_path / "out" / "cars", urls, progress=False)
    assert report["splits"] == EXPECTED["cars"][1]
    assert [f["from"] for f in report["files"]] == list(urls.values())


def _evil_tar(path: Path, kind: str) -> Path:
    with tarfile.open(path, "w:gz") as tar:
        info = tarfile.TarInfo("dtd/labels/train1.txt")
        info.size = 0
        tar.addfile(info, io.BytesIO(b""))
        if kind == "dotdot":
            info = tarfile.TarInfo("dtd/../../evil.txt")
        elif kind == "absolute":
            info = tarfile.TarInfo("/tmp/evil.txt")
        else:
            info = tarfile.TarInfo("dtd/link")
            info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        data = b"evil"
        info.size = len(data) if kind != "symlink" else 0
        tar.addfile(info, io.BytesIO(data if kind != "symlink" else b""))
    return path


@pytest.mark.parametrize("kind", ["dotdot", "absolute", "symlink"])
def test_tar_members_escaping_the_folder_are_refused(kind, served, tmp_path):
    spec, server = served("dtd", lambda folder: _evil_tar(folder / "dtd-r1.0.1.tar.gz", kind))
    with pytest.raises(UnsafeArchiveError, match="refused"):
        run(spec, server, tmp_path)
    assert not (tmp_path / "evil.txt").exists() and not (tmp_path / "out" / "evil.txt").exists()
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize("member", ["../evil.txt", "/abs/evil.txt", "a/../../evil.txt"])
def test_zip_members_escaping_the_folder_are_refused(member, tmp_path):
    archive = tmp_path / "a.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("ok.txt", b"ok")
        zf.writestr(member, b"evil")
    with pytest.raises(UnsafeArchiveError, match="refused"):
        extract(archive, tmp_path / "dest")
    assert not (tmp_path / "evil.txt").exists()
    assert not (tmp_path / "dest" / "ok.txt").exists()  # checked before anything is written


def test_cli_prepares_a_dataset(served, tmp_path, capsys):
    script = Path(__file__).resolve().parents[2] / "workflow" / "scripts" / "prepare_transfer.py"
    module_spec = importlib.util.spec_from_file_location("prepare_transfer_script", script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    cli = module.cli

    spec, server = served("flowers102")
    args = ["--dataset", "flowers102", "--downloads", str(tmp_path / "dl"), "--out"]
    args += [str(tmp_path / "out" / "flowers102"), "--url-base", server.base_url]
    assert cli([*args, "--no-verify-images"]) == 1  # the registry's md5s are not the fixture's
    assert "checksum mismatch" in capsys.readouterr().err
    assert cli([*args, "--skip-checksums"]) == 0
    assert DatasetDir(tmp_path / "out" / "flowers102").read_report()["splits"]["test"] == 6


def test_registry_covers_the_twelve_datasets():
    assert sorted(TRANSFER_DATASETS) == sorted(EXPECTED)
    metrics = {name: d.metric for name, d in TRANSFER_DATASETS.items()}
    assert {n for n, m in metrics.items() if m == "mean_per_class"} == {
        "aircraft",
        "pets",
        "caltech101",
        "flowers102",
    }
    assert metrics["voc2007"] == "map11"
    assert {n for n, d in TRANSFER_DATASETS.items() if d.val == "official"} == {
        "aircraft",
        "dtd",
        "flowers102",
        "voc2007",
    }
    assert TRANSFER_DATASETS["caltech101"].num_classes == 102
    assert all(f.url is None for f in TRANSFER_DATASETS["cars"].files)


# --- metadata that does not follow the format: a clear error naming it, no output folder ------

_VOC = "VOCdevkit/VOC2007/Annotations/000005.xml"
_CIFAR = "cifar-10-batches-py"


def _cifar_rows(n: int = 10, **changes) -> bytes:
    batch = {
        b"labels": list(range(10)),
        b"data": np.zeros((n, 3072), np.uint8),
        b"filenames": [b"x.png"] * n,
    }
    batch.update({k.encode(): v for k, v in changes.items()})
    batch = {k: v for k, v in batch.items() if v is not None}
    return tf._pickle(batch)


def _cars_annos(classes, with_class=True) -> bytes:
    return tf.mat({"annotations": tf._cars_annotations(classes, with_class)})


BROKEN = {
    "aircraft-variant": (
        "aircraft",
        "fgvc-aircraft-2013b.tar.gz",
        {"fgvc-aircraft-2013b/data/images_variant_train.txt": b"1000000 Boeing 999\n"},
        "names no variant",
    ),
    "dtd-class": (
        "dtd",
        "dtd-r1.0.1.tar.gz",
        {"dtd/labels/train1.txt": b"nosuch/nosuch_0001.jpg\n"},
        "in no class folder",
    ),
    "food-class": (
        "food101",
        "food-101.tar.gz",
        {"food-101/meta/train.txt": b"pizza/1\n"},
        "names class 'pizza'",
    ),
    "food-path-escapes": (
        "food101",
        "food-101.tar.gz",
        {"food-101/meta/train.txt": b"../../../etc/passwd\n"},
        "not a relative path inside the dataset",
    ),
    "sun-category": (
        "sun397",
        "Partitions.zip",
        {"Training_01.txt": b"/z/zoo/sun_aaaaaaaaaaaaaaaa.jpg\n"},
        "in no category of ClassName.txt",
    ),
    "sun-no-partition": (
        "sun397",
        "Partitions.zip",
        {"Training_01.txt": None},
        "missing Training_01.txt",
    ),
    "pets-fields": (
        "pets",
        "annotations.tar.gz",
        {"annotations/trainval.txt": b"Abyssinian_1 1 1\n"},
        "is not '<image> <class> <sp> <breed>'",
    ),
    "pets-two-breeds": (
        "pets",
        "annotations.tar.gz",
        {"annotations/trainval.txt": b"Abyssinian_1 1 1 1\nBengal_1 1 1 2\n"},
        "class 1 is both 'Abyssinian' and 'Bengal'",
    ),
    "pets-ids": (
        "pets",
        "annotations.tar.gz",
        {
            "annotations/trainval.txt": b"# comment\nAbyssinian_1 1 1 1\n",
            "annotations/test.txt": b"Bengal_1 3 1 2\n",
        },
        "not 1..K",
    ),
    "voc-xml": (
        "voc2007",
        "VOCtrainval_06-Nov-2007.tar",
        {_VOC: b"<annotation>"},
        "not a VOC annotation",
    ),
    "voc-class": (
        "voc2007",
        "VOCtrainval_06-Nov-2007.tar",
        {_VOC: tf.voc_xml("000005", [("unicorn", 0)])},
        "'unicorn' is not a VOC class",
    ),
    "voc-no-xml": (
        "voc2007",
        "VOCtrainval_06-Nov-2007.tar",
        {_VOC: None},
        r"missing Annotations/000005.xml \(train image\)",
    ),
    "voc-no-object": (
        "voc2007",
        "VOCtrainval_06-Nov-2007.tar",
        {_VOC: tf.voc_xml("000005", [])},
        "no object",
    ),
    "flowers-labels": (
        "flowers102",
        "imagelabels.mat",
        tf.mat({"labels": np.array([[1] * 11 + [200]], dtype=np.uint8)}),
        r"labels outside 1..102",
    ),
    "flowers-setid": (
        "flowers102",
        "setid.mat",
        tf.mat({"trnid": [[1, 99]], "valid": [[2]], "tstid": [[3]]}),
        r"trnid lists image 99, outside 1..12",
    ),
    "cars-mat": (
        "cars",
        "car_devkit.tgz",
        {"devkit/cars_meta.mat": b"garbage"},
        "cars_meta.mat is not a readable .mat file",
    ),
    "cars-variable": (
        "cars",
        "car_devkit.tgz",
        {"devkit/cars_meta.mat": tf.mat({"names": [[1]]})},
        "cars_meta.mat: no variable 'class_names'",
    ),
    "cars-field": (
        "cars",
        "car_devkit.tgz",
        {"devkit/cars_train_annos.mat": _cars_annos([1, 2], with_class=False)},
        r"annotations have no field\(s\) \['class'\]",
    ),
    "cars-class": (
        "cars",
        "cars_test_annos_withlabels.mat",
        _cars_annos([1, 9]),
        "00002.jpg has class 9, outside 1..3",
    ),
    "cifar-not-dict": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/data_batch_1": tf._pickle([1, 2])},
        "data_batch_1 is not a CIFAR batch",
    ),
    "cifar-no-labels": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/data_batch_1": _cifar_rows(labels=None)},
        "data_batch_1: no 'labels' entry",
    ),
    "cifar-shape": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/data_batch_1": _cifar_rows(data=np.zeros((10, 1024), np.uint8))},
        r"expected uint8 \[N, 3072\]",
    ),
    "cifar-count": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/data_batch_1": _cifar_rows(labels=list(range(9)))},
        "10 images but 9 labels",
    ),
    "cifar-label": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/data_batch_1": _cifar_rows(labels=[12] + list(range(1, 10)))},
        "label 12 at row 0 out of range",
    ),
    "cifar-meta": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/batches.meta": tf._pickle({b"num_vis": 3072})},
        "batches.meta: no 'label_names' entry",
    ),
    "cifar-truncated": (
        "cifar10",
        "cifar-10-python.tar.gz",
        {f"{_CIFAR}/test_batch": _cifar_rows()[:50]},
        "test_batch is not a CIFAR batch",
    ),
    "caltech-inner": (
        "caltech101",
        "caltech-101.zip",
        {"caltech-101/101_ObjectCategories.tar.gz": None},
        "missing caltech-101/101_ObjectCategories.tar.gz",
    ),
    "birdsnap-column": (
        "birdsnap",
        "birdsnap.tgz",
        {"birdsnap/images.txt": b"url\tpath\tspecies_id\nhttp://x/1.jpg\tA/1.jpg\t1\n"},
        r"no column\(s\) \['md5'\]",
    ),
    "birdsnap-species": (
        "birdsnap",
        "birdsnap.tgz",
        {"birdsnap/images.txt": b"url\tmd5\tpath\tspecies_id\nhttp://x/1.jpg\tab\tA/1.jpg\t9\n"},
        "has species_id 9, not in species.txt",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_metadata_not_in_the_format_is_explained(case, served, tmp_path):
    name, file, change, message = BROKEN[case]
    spec, server = served(name)
    folder = tmp_path / "srv" / name
    if isinstance(change, bytes):
        (folder / file).write_bytes(change)
    else:
        tf.patch_archive(folder / file, change)
    with pytest.raises(LayoutError, match=message):
        run(fixture_spec(name, folder), server, tmp_path)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_a_reader_names_a_file_the_entry_lacks(served, tmp_path):
    spec, server = served("flowers102")
    spec = dataclasses.replace(spec, files=spec.files[:2])
    with pytest.raises(LayoutError, match="the file setid.mat is needed"):
        run(spec, server, tmp_path)


def test_food_names_fall_back_to_the_folder_names(served, tmp_path):
    spec, server = served("food101", lambda f: tf.write_food101(f, omit=("meta/labels.txt",)))
    run(spec, server, tmp_path)
    names = DatasetDir(tmp_path / "out" / "food101").read_classes()["name"].tolist()
    assert names == ["apple pie", "baby back ribs", "waffles"]


def test_sun_partitions_in_a_folder(served, tmp_path):
    spec, server = served("sun397", lambda f: tf.write_sun397(f, in_folder=True))
    assert run(spec, server, tmp_path)["splits"] == EXPECTED["sun397"][1]


def test_sha256_pins_and_replacing_an_existing_folder(served, tmp_path, monkeypatch):
    from cliptail.data.transfer import preparation

    spec, server = served("dtd")
    file = spec.files[0]
    sha = preparation.digests(tmp_path / "srv" / "dtd" / file.filename)["sha256"]
    spec = dataclasses.replace(spec, files=(dataclasses.replace(file, md5=None, sha256=sha),))
    report = run(spec, server, tmp_path, verify_images=False)
    assert report["files"][0]["checked"] == "sha256" and report["verified_images"] is False
    out = tmp_path / "out" / "dtd"
    (out / "marker").write_text("old")
    run(spec, server, tmp_path)  # replaces the folder
    assert not (out / "marker").exists() and (out / "manifest.parquet").exists()

    # the final rename fails: the previous folder is put back
    (out / "marker").write_text("old")
    real_replace = os.replace

    def failing(src, dst):
        if Path(dst).parent.name in ("out", "fresh") and Path(src).name != ".previous":
            raise OSError("simulated failure")
        real_replace(src, dst)

    monkeypatch.setattr(preparation.os, "replace", failing)
    with pytest.raises(OSError, match="simulated"):
        run(spec, server, tmp_path)
    with pytest.raises(OSError, match="simulated"):
        run(spec, server, tmp_path, out="fresh")
    monkeypatch.undo()
    assert (out / "marker").read_text() == "old"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dtd"]
    assert list((tmp_path / "fresh").iterdir()) == []
    with pytest.raises(KeyError, match="unknown transfer dataset 'imagenet'"):
        prepare("imagenet", tmp_path / "dl", tmp_path / "x")


def test_zip_extraction(tmp_path):
    archive = tmp_path / "ok.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("top/", b"")
        zf.writestr("top/sub/a.txt", b"a")
    extract(archive, tmp_path / "dest")
    assert (tmp_path / "dest" / "top" / "sub" / "a.txt").read_bytes() == b"a"
    link = zipfile.ZipInfo("top/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    with zipfile.ZipFile(tmp_path / "link.zip", "w") as zf:
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UnsafeArchiveError, match="symbolic link"):
        extract(tmp_path / "link.zip", tmp_path / "dest2")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(ArchiveError, match="cannot be extracted.*download it again"):
        extract(tmp_path / "bad.zip", tmp_path / "dest3")


def test_images_listed_but_absent_are_reported(served, tmp_path, caplog):
    spec, server = served("dtd")
    folder = tmp_path / "srv" / "dtd"
    tf.patch_archive(folder / "dtd-r1.0.1.tar.gz", {"dtd/images/blotchy/blotchy_0005.jpg": None})
    # a file without a published checksum (as FGVC-Aircraft's) is used; its digests recorded
    unpinned = dataclasses.replace(spec, files=(dataclasses.replace(spec.files[0], md5=None),))
    with caplog.at_level("WARNING"):
        report = run(unpinned, server, tmp_path)
    assert "no published checksum; observed sha256" in caplog.text
    assert report["files"][0]["checked"] is None and len(report["files"][0]["sha256"]) == 64
    assert report["splits"] == {"train": 6, "val": 6, "test": 5}
    assert report["skipped_files"] == [
        {
            "image": "dtd/images/blotchy/blotchy_0005.jpg",
            "split": "test",
            "reason": "missing (listed by the dataset, absent from the archive)",
        }
    ]
    assert TRANSFER_DATASETS["aircraft"].files[0].md5 is None
