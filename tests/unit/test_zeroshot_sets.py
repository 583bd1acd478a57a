"""The seven zero-shot evaluation sets (Fig. 12): the real datasets' class lists map one-to-one
onto the descriptor files' names and order; fixtures in the real formats, served on 127.0.0.1,
prepared through the real download, checksum, extraction, reading and mapping code."""

from __future__ import annotations

import dataclasses
import importlib.util
import json
from pathlib import Path

import pytest
from PIL import Image

from cliptail.curate.concept_sets import CONCEPT_SETS
from cliptail.data.dataset_dir import DatasetDir
from cliptail.data.download import ChecksumError
from cliptail.data.transfer import LayoutError, flowers102
from cliptail.data.transfer.archive import md5_file
from cliptail.data.zeroshot_sets import (
    ZEROSHOT_SETS,
    ClassMappingError,
    descriptor_names,
    map_classes,
    normalize,
    prepare,
)
from tests.fixtures import zeroshot_formats as zf

FAST = {"backoff": 0, "retries": 0}
DESCRIPTORS = Path(__file__).resolve().parents[2] / "src/cliptail/data/released/descriptors"


# --- the class mapping, on the real datasets' class lists ---------------------------------------


def native_classes(name: str) -> tuple[list[str], list[str]]:
    """(class ids, class names) as the dataset's reader gives them for the real dataset."""
    if name == "cub":
        return zf.CUB_CLASSES, [c.split(".", 1)[1].replace("_", " ") for c in zf.CUB_CLASSES]
    if name == "dtd":
        return zf.DTD_CLASSES, zf.DTD_CLASSES
    if name == "eurosat":
        return zf.EUROSAT_CLASSES, zf.EUROSAT_CLASSES
    if name == "flowers102":
        return [str(k) for k in range(1, 103)], list(flowers102.NAMES)
    if name == "food101":
        return zf.FOOD_CLASSES, [c.replace("_", " ") for c in zf.FOOD_CLASSES]
    if name == "pets":
        return zf.PETS_BREED_NAMES, [b.replace("_", " ") for b in zf.PETS_BREED_NAMES]
    if name == "places365":
        return zf.PLACES_CATEGORIES, [c.split("/", 2)[2] for c in zf.PLACES_CATEGORIES]
    raise KeyError(name)


#: native class index -> descriptor index, spot checks (hand-read from the descriptor files)
SPOT = {
    "cub": {0: 0, 16: 16, 21: 21, 33: 33, 199: 199},  # Chuck-will Widow, Gray-crowned-Rosy Finch
    "dtd": {30: 30, 46: 46},
    "eurosat": {2: 2, 7: 7, 9: 9},
    "flowers102": {59: 59, 77: 77},  # 'pink-yellow dahlia?' and 'lotus'
    "food101": {16: 16, 17: 17, 100: 100},  # cheese_plate, cheesecake
    "pets": {0: 0, 1: 12, 5: 1, 9: 4, 20: 6, 36: 36},  # cats first in the descriptor file
    "places365": {8: 8, 11: 11, 218: 218, 342: 342},
}


@pytest.mark.parametrize("name", sorted(ZEROSHOT_SETS))
def test_real_class_lists_map_one_to_one_onto_the_descriptor_order(name):
    zs = ZEROSHOT_SETS[name]
    ids, names = native_classes(name)
    descriptors = list(json.loads((DESCRIPTORS / f"descriptors_{name}.json").read_text()))
    order = map_classes(zs.native_names(ids, names), descriptors, zs.aliases)
    assert len(ids) == len(descriptors) == zs.num_classes
    assert sorted(order) == list(range(len(descriptors)))
    assert {i: order[i] for i in SPOT[name]} == SPOT[name]
    if name != "pets":  # the other datasets list their classes in the descriptor order
        assert order == list(range(len(descriptors)))


def test_pets_breeds_are_reordered_cats_first():
    zs = ZEROSHOT_SETS["pets"]
    order = map_classes(zf.PETS_BREED_NAMES, descriptor_names("pets"), zs.aliases)
    by_descriptor = [zf.PETS_BREED_NAMES[order.index(i)] for i in range(37)]
    assert by_descriptor[:12] == sorted(b for b in zf.PETS_BREED_NAMES if b[0].isupper())
    assert by_descriptor[12] == "american_bulldog" and by_descriptor[-1] == "yorkshire_terrier"


def test_eurosat_and_places_names_that_differ_beyond_spelling():
    names = descriptor_names("eurosat")
    order = map_classes(zf.EUROSAT_CLASSES, names, ZEROSHOT_SETS["eurosat"].aliases)
    assert names[order[zf.EUROSAT_CLASSES.index("HerbaceousVegetation")]] == (
        "brushland or shrubland"
    )
    places = descriptor_names("places365")
    assert places[11] == "arcade (passageway)" and places[218] == "lock_chamber (canal)"
    assert map_classes(["arcade", "lock_chamber"], ["lock_chamber (canal)", "arcade (x)"]) == [1, 0]


def test_normalize():
    assert normalize("arcade (passageway)") == "arcade"
    assert normalize("Gray_crowned_Rosy_Finch") == "gray crowned rosy finch"
    assert normalize("Gray-crowned-Rosy Finch") == "gray crowned rosy finch"
    assert normalize("pink-yellow dahlia?") == "pink yellow dahlia"
    assert normalize("apartment_building/outdoor") == "apartment building outdoor"
    assert normalize("colt's foot") == "colt s foot"


def test_a_class_that_does_not_map_is_named():
    names = ["forest", "river", "lake or sea"]
    with pytest.raises(ClassMappingError) as err:
        map_classes(["Forest", "River", "Atlantis"], names, {}, where="EuroSAT")
    message = str(err.value)
    assert message.startswith("EuroSAT: the dataset's 3 classes")
    assert "1 native class(es) match no descriptor name: 'Atlantis'" in message
    assert "1 descriptor name(s) match no native class: 'lake or sea'" in message
    with pytest.raises(ClassMappingError, match="'forest' and 'Forest' both match"):
        map_classes(["forest", "Forest"], names)
    with pytest.raises(ClassMappingError, match="descriptor name.* match no native class"):
        map_classes(["forest", "river"], names)  # a class missing from the dataset
    with pytest.raises(ClassMappingError, match="cannot be told apart"):
        map_classes(["a"], ["sea lake", "sea-lake"])


def test_registry_covers_the_seven_concept_sets():
    assert sorted(ZEROSHOT_SETS) == sorted(set(CONCEPT_SETS) - {"imagenet"})
    for name, zs in ZEROSHOT_SETS.items():
        assert zs.name == name and (DESCRIPTORS / f"descriptors_{name}.json").is_file()
        for file in zs.dataset.files:
            assert file.url.startswith(("https://", "http://")) and len(file.md5) == 32
    # the transfer datasets' entries are reused, not copied
    from cliptail.data.transfer import TRANSFER_DATASETS

    for name in ("dtd", "flowers102", "food101", "pets"):
        assert ZEROSHOT_SETS[name].dataset is TRANSFER_DATASETS[name]


# --- preparation from fixtures in the real formats ----------------------------------------------


def fixture_set(name: str, folder: Path):
    """The registry entry with the md5s of the fixture files (the real ones would not match)."""
    zs = ZEROSHOT_SETS[name]
    files = tuple(
        dataclasses.replace(f, md5=md5_file(folder / f.filename)) for f in zs.dataset.files
    )
    return dataclasses.replace(zs, dataset=dataclasses.replace(zs.dataset, files=files))


@pytest.fixture
def served(tmp_path, http_server):
    """``served(name)`` -> (entry with fixture md5s, server) for a fixture served on 127.0.0.1."""

    def start(name: str, writer=None):
        folder = tmp_path / "srv" / name
        folder.mkdir(parents=True)
        server = http_server(folder)
        (writer or zf.WRITERS[name])(folder)
        return fixture_set(name, folder), server

    return start


def run(zs, server, tmp_path, **options):
    return prepare(
        zs,
        tmp_path / "downloads",
        tmp_path / "out" / zs.name,
        url_base=server.base_url,
        progress=False,
        download_options=FAST,
        **options,
    )


#: name -> (test images, {image: label in descriptor order}, images skipped)
EXPECTED = {
    "cub": (
        4,
        {
            f"CUB_200_2011/images/{zf.cub_file(1, 2)}": 0,
            f"CUB_200_2011/images/{zf.cub_file(17, 2)}": 16,
            f"CUB_200_2011/images/{zf.cub_file(200, 0)}": 199,
        },
        0,
    ),
    "dtd": (
        94,
        {
            "dtd/images/banded/banded_0005.jpg": 0,
            "dtd/images/polka-dotted/polka-dotted_0006.jpg": 30,
            "dtd/images/zigzagged/zigzagged_0006.jpg": 46,
        },
        0,
    ),
    "eurosat": (
        20,
        {
            "2750/AnnualCrop/AnnualCrop_1.jpg": 0,
            "2750/HerbaceousVegetation/HerbaceousVegetation_2.jpg": 2,
            "2750/SeaLake/SeaLake_1.jpg": 9,
        },
        0,
    ),
    "flowers102": (
        6,
        {"jpg/image_00003.jpg": 0, "jpg/image_00007.jpg": 1, "jpg/image_00012.jpg": 2},
        0,
    ),
    "food101": (
        201,  # 2 test images per class, one of apple_pie's is not a JPEG
        {
            "food-101/images/apple_pie/100006.jpg": 0,
            "food-101/images/cheese_plate/1700006.jpg": 16,
            "food-101/images/waffles/10100007.jpg": 100,
        },
        1,
    ),
    "pets": (
        74,
        {
            "images/Abyssinian_6.jpg": 0,
            "images/american_bulldog_6.jpg": 12,
            "images/Bengal_7.jpg": 1,
            "images/yorkshire_terrier_7.jpg": 36,
        },
        0,
    ),
    "places365": (
        6,
        {
            "val_256/Places365_val_00000001.jpg": 11,
            "val_256/Places365_val_00000002.jpg": 218,
            "val_256/Places365_val_00000005.jpg": 364,
        },
        0,
    ),
}


@pytest.mark.parametrize("name", sorted(ZEROSHOT_SETS))
def test_prepare_reads_maps_and_keeps_only_the_test_split(name, served, tmp_path):
    zs, server = served(name)
    report = run(zs, server, tmp_path)
    count, pairs, skipped = EXPECTED[name]
    folder = DatasetDir(tmp_path / "out" / name)
    classes = folder.read_classes()
    df = folder.read_manifest(allow_empty_captions=False)
    names = descriptor_names(name)
    assert classes["name"].tolist() == names and classes["index"].tolist() == list(
        range(len(names))
    )
    assert len(df) == count == report["images"] and report["skipped"] == skipped
    labels = dict(zip(df["image"], df["label"], strict=True))
    assert {image: labels[image] for image in pairs} == pairs
    assert df["label"].dtype == "int64"
    assert (df["caption"] == [names[i] for i in df["label"]]).all()
    # the native id of each class sits beside its descriptor name
    ids, _ = native_classes(name)
    order = map_classes(zs.native_names(*native_classes(name)), names, zs.aliases)
    assert classes["id"].tolist() == [ids[order.index(i)] for i in range(len(names))]
    source = folder.read_source()
    assert source["image_format"] == "files" and source["zeroshot_set"] == name
    root = Path(folder.image_root())
    assert root == tmp_path / "out" / name
    for image in df["image"]:
        with Image.open(root / image) as img:
            img.load()
    # only the test images stay (and the dataset files); nothing is left beside the folder
    kept = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    parts = {"manifest.parquet", "classes.tsv", "source.json", "report.json"}
    assert kept == set(df["image"]) | parts
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [name]
    assert [f["checked"] for f in report["files"]] == ["md5"] * len(zs.dataset.files)
    assert all(f["from"].startswith(server.base_url) for f in report["files"])


def test_checksum_mismatch_deletes_the_download_and_writes_nothing(served, tmp_path):
    _, server = served("cub")
    real = ZEROSHOT_SETS["cub"]
    with pytest.raises(ChecksumError) as err:
        run(real, server, tmp_path)
    message = str(err.value)
    assert "CUB_200_2011.tgz" in message and real.dataset.files[0].md5 in message
    assert md5_file(tmp_path / "srv" / "cub" / "CUB_200_2011.tgz") in message
    assert not (tmp_path / "downloads" / "cub" / "CUB_200_2011.tgz").exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
    report = run(real, server, tmp_path, verify_checksums=False)
    assert report["files"][0]["checked"] is None and report["images"] == 4


def test_unmappable_class_fails_and_keeps_the_previous_folder(served, tmp_path):
    zs, server = served("eurosat")
    run(zs, server, tmp_path)
    before = (tmp_path / "out" / "eurosat" / "manifest.parquet").read_bytes()
    # a different dataset version: one class folder renamed
    archive = tmp_path / "srv" / "eurosat" / "EuroSAT.zip"
    members = {
        f"2750/{'Ocean' if cls == 'SeaLake' else cls}/{cls}_1.jpg": zf.jpeg(c)
        for c, cls in enumerate(zf.EUROSAT_CLASSES)
    }
    zf.write_zip(archive, members)
    (tmp_path / "downloads" / "eurosat" / archive.name).unlink()
    with pytest.raises(ClassMappingError, match="'Ocean'.*'lake or sea'"):
        run(fixture_set("eurosat", archive.parent), server, tmp_path)
    assert (tmp_path / "out" / "eurosat" / "manifest.parquet").read_bytes() == before
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["eurosat"]


def test_cub_metadata_errors_are_named(served, tmp_path):
    def broken(folder):
        zf.write_cub(folder)
        zf.tf.patch_archive(folder / "CUB_200_2011.tgz", {"CUB_200_2011/images.txt": None})

    zs, server = served("cub", broken)
    with pytest.raises(LayoutError, match="images.txt"):
        run(zs, server, tmp_path)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_files_are_found_in_local_folders_in_order(served, tmp_path):
    zs, server = served("places365")
    local = tmp_path / "srv" / "places365"
    report = prepare(
        zs,
        tmp_path / "downloads",
        tmp_path / "out" / "places365",
        local_dir=[tmp_path / "nothing-here", local],
        progress=False,
    )
    assert server.requests == [] and report["images"] == 6
    assert all(f["from"].startswith(f"local file {local}") for f in report["files"])
    assert all(p.is_file() for p in local.iterdir())  # used in place, nothing moved


def test_cli_prepares_a_set(served, tmp_path, capsys):
    script = Path(__file__).resolve().parents[2] / "workflow/scripts/prepare_zeroshot_set.py"
    module_spec = importlib.util.spec_from_file_location("prepare_zeroshot_set_script", script)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)

    _, server = served("eurosat")
    args = ["--set", "eurosat", "--downloads", str(tmp_path / "dl"), "--out"]
    args += [str(tmp_path / "out" / "eurosat"), "--url-base", server.base_url]
    assert module.cli(args) == 1  # the registry's md5 is not the fixture's
    assert "checksum mismatch" in capsys.readouterr().err
    assert module.cli([*args, "--skip-checksums", "--no-verify-images"]) == 0
    assert DatasetDir(tmp_path / "out" / "eurosat").read_report()["images"] == 20


def test_local_folders_search_the_user_copy_then_the_transfer_downloads():
    from cliptail.data.zeroshot_sets import local_folders

    assert local_folders("food101", "/data/originals") == [
        "/data/originals",
        "resources/transfer/food101",
    ]
    assert local_folders("pets") == ["resources/transfer/pets"]
    assert local_folders("cub", "/data/originals") == ["/data/originals"]
    assert local_folders("places365") == []
