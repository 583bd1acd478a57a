"""ImageNet-Captions: zip over HTTP -> json -> manifest, at the released per-class counts."""

from __future__ import annotations

import json
import zipfile

import pytest

from cliptail import io
from cliptail.data import incaps
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.metadata import imagenet_classes
from tests.fixtures.real_sources import (
    authors_counts,
    incaps_records,
    incaps_zip,
    jpeg_bytes,
    shared_metadata,
)


@pytest.fixture(scope="module")
def classes():
    return imagenet_classes(shared_metadata())


@pytest.mark.slow
def test_full_size_frequency_equals_the_released_file(tmp_path, http_server, classes):
    """448,896 synthetic records with the released per-class counts, through the real path."""
    counts = authors_counts("incaps_imagenet_ori")
    records = incaps_records(classes["id"].tolist(), counts)
    served = tmp_path / "srv"
    incaps_zip(served / "imagenet_captions.zip", records, indent=None, folder="imagenet_captions/")
    server = http_server(served)
    res = tmp_path / "resources" / "incaps"
    zip_path = incaps.download_incaps(
        res / "imagenet_captions.zip", server.url("imagenet_captions.zip"), progress=False
    )
    assert (res / "imagenet_captions.zip.sha256").read_text().split()[1] == "imagenet_captions.zip"
    json_path = incaps.extract_captions_json(zip_path, res / "imagenet_captions.json")
    df, report = incaps.read_imagenet_captions(json_path, classes, progress=False)
    out = tmp_path / "results" / "data" / "incaps"
    DatasetDir(out).write(df, classes, report=report, source={"image_root": None})
    ours = io.read_frequency(out / "frequency.tsv")
    released = io.read_frequency(
        shared_metadata() / "freqs" / "class_frequency_incaps_imagenet_ori.txt"
    )
    assert ours.equals(released)
    assert (out / "frequency.tsv").read_bytes() == (
        shared_metadata() / "freqs" / "class_frequency_incaps_imagenet_ori.txt"
    ).read_bytes()
    assert report["kept"] == report["expected_records"] == 448_896
    assert report["classes_nonempty"] == report["expected_classes_nonempty"] == 999
    assert sum(report["skipped"].values()) == 0


def _record(
    wnid="n01440764", filename="n01440764_1.JPEG", title="t", tags=("a", "b"), description="d"
):
    return {
        "filename": filename,
        "title": title,
        "tags": list(tags),
        "description": description,
        "wnid": wnid,
    }


def test_fields_caption_and_paths(tmp_path, classes):
    records = [
        _record(
            title="Tench\tcaught", tags=["fish", "lake view"], description="line one\nline two"
        ),
        _record(
            wnid="n15075141",
            filename="n15075141_7.JPEG",
            title="",
            tags=[],
            description="toilet paper roll",
        ),
        _record(
            wnid="n01443537",
            filename="n01443537_3.JPEG",
            title="gold",
            tags=["pet"],
            description="",
        ),
    ]
    path = tmp_path / "imagenet_captions.json"
    path.write_text(json.dumps(records, indent=4))
    df, report = incaps.read_imagenet_captions(path, classes, progress=False)
    assert df.columns.tolist() == [
        "image",
        "label",
        "caption",
        "wnid",
        "title",
        "tags",
        "description",
        "source",
    ]
    assert df["image"].tolist() == [
        "train/n01440764/n01440764_1.JPEG",
        "train/n15075141/n15075141_7.JPEG",
        "train/n01443537/n01443537_3.JPEG",
    ]
    assert df["label"].tolist() == [0, 999, 1]
    assert df["tags"].tolist() == ["fish lake view", "", "pet"]
    assert df["caption"].tolist() == [
        "Tench caught fish lake view line one line two",
        "toilet paper roll",
        "gold pet",
    ]
    assert df["title"][0] == "Tench\tcaught" and df["description"][0] == "line one\nline two"
    assert report["kept"] == 3 and report["records"] == 3
    # the same text as the curation's "full" caption
    from cliptail.curate.captions import compose_fields

    assert compose_fields(df, ("title", "tags", "description")).tolist() == df["caption"].tolist()


def test_bad_records_are_skipped_and_counted(tmp_path, classes):
    records = [
        _record(),  # 0 kept
        "not a record",  # 1 not_an_object
        {k: v for k, v in _record().items() if k != "title"},  # 2 missing_field: title
        {**_record(filename="n01440764_9.JPEG"), "wnid": None},  # 3 missing_field: wnid
        {**_record(filename="n01440764_4.JPEG"), "tags": "a b"},  # 4 bad_type
        _record(filename="../../etc/passwd"),  # 5 bad_filename
        _record(wnid="n99999999", filename="n99999999_1.JPEG"),  # 6 unknown_wnid
        _record(),  # 7 duplicate of 0
        _record(filename="n01440764_5.JPEG", title=" ", tags=[], description="\n"),  # 8 empty_text
        _record(filename="n01440764_6.JPEG"),  # 9 kept
    ]
    path = tmp_path / "imagenet_captions.json"
    path.write_text(json.dumps(records))
    df, report = incaps.read_imagenet_captions(path, classes, keep_empty_text=False, progress=False)
    assert df["image"].tolist() == [
        "train/n01440764/n01440764_1.JPEG",
        "train/n01440764/n01440764_6.JPEG",
    ]
    assert report["skipped"] == {
        "not_an_object": 1,
        "missing_field": 2,
        "bad_type": 1,
        "bad_filename": 1,
        "unknown_wnid": 1,
        "duplicate": 1,
        "empty_text": 1,
        "missing_image": 0,
    }
    assert report["missing_fields"]["title"] == 1 and report["missing_fields"]["wnid"] == 1
    assert report["skipped_examples"]["missing_field"] == [2, 3]
    assert report["skipped_examples"]["empty_text"] == [8]
    kept, report = incaps.read_imagenet_captions(
        path, classes, keep_empty_text=True, progress=False
    )
    assert len(kept) == 3 and report["skipped"]["empty_text"] == 0
    assert kept["caption"].tolist()[1] == ""


def test_missing_images_are_counted_when_imagenet_is_given(tmp_path, classes):
    records = [_record(filename=f"n01440764_{i}.JPEG") for i in range(4)]
    path = tmp_path / "imagenet_captions.json"
    path.write_text(json.dumps(records))
    root = tmp_path / "imagenet"
    (root / "train" / "n01440764").mkdir(parents=True)
    for i in (0, 2):
        (root / "train" / "n01440764" / f"n01440764_{i}.JPEG").write_bytes(jpeg_bytes(i))
    df, report = incaps.read_imagenet_captions(path, classes, image_root=root, progress=False)
    assert df["image"].tolist() == [
        "train/n01440764/n01440764_0.JPEG",
        "train/n01440764/n01440764_2.JPEG",
    ]
    assert report["skipped"]["missing_image"] == 2 and report["images_checked"]


def test_unusable_files_fail_clearly(tmp_path, classes):
    path = tmp_path / "imagenet_captions.json"
    path.write_text('{"filename": "x"}')
    with pytest.raises(ValueError, match="expected a JSON list"):
        incaps.read_imagenet_captions(path, classes, progress=False)
    path.write_text('[{"filename": ')
    with pytest.raises(ValueError, match="not valid JSON"):
        incaps.read_imagenet_captions(path, classes, progress=False)
    path.write_text(json.dumps([_record(wnid="n00000001")]))
    with pytest.raises(ValueError, match="no usable record.*unknown_wnid"):
        incaps.read_imagenet_captions(path, classes, progress=False)


def test_zip_without_the_json_or_not_a_zip(tmp_path):
    bad = tmp_path / "other.zip"
    with zipfile.ZipFile(bad, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ValueError, match="expected one imagenet_captions.json"):
        incaps.extract_captions_json(bad, tmp_path / "out.json")
    (tmp_path / "fake.zip").write_bytes(b"PK not a zip")
    with pytest.raises(ValueError, match="not a valid zip"):
        incaps.extract_captions_json(tmp_path / "fake.zip", tmp_path / "out.json")
    assert not (tmp_path / "out.json").exists()
