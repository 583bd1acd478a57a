"""The seven zero-shot evaluation sets of the concept sets other than ImageNet (Fig. 12).

:data:`ZEROSHOT_SETS` maps each concept-set name (the stem of ``descriptors_<set>.json`` and of
the web-frequency files ``class_frequency_<dataset>_<set>.txt``) to a :class:`ZeroShotSet`:

- ``dataset``: what to download and how to read it, a
  :class:`~cliptail.data.transfer.registry.TransferDataset`. DTD, Flowers-102, Food-101 and
  Oxford-IIIT Pet are the transfer datasets' own entries (same files, md5s and readers); CUB,
  EuroSAT and Places365 have entries here, their md5s those published with torchvision's
  ``Places365`` and ``EuroSAT`` classes and the CUB download page's archive (the same digest is
  pinned by many loaders);
- ``test_split``: the reader's split that is the evaluation set (``test_note`` says which images
  that is);
- ``native_key``: which native string of a class is matched to its descriptor name (the class id
  or name the reader gives, cleaned), and ``aliases`` for names that differ beyond spelling
  (:func:`~cliptail.data.zeroshot_sets.class_names.map_classes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cliptail.data.transfer import TRANSFER_DATASETS, TransferDataset, TransferFile
from cliptail.data.zeroshot_sets import cub, eurosat, places365

#: Where the workflow keeps the transfer datasets' downloads (rule prepare_transfer).
TRANSFER_DOWNLOADS = "resources/transfer"


@dataclass(frozen=True)
class ZeroShotSet:
    name: str
    dataset: TransferDataset
    test_split: str
    test_note: str
    native_key: Callable[[str, str], str]
    aliases: Mapping[str, str] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return self.dataset.title

    @property
    def num_classes(self) -> int:
        return self.dataset.num_classes

    def native_names(self, ids: list[str], names: list[str]) -> list[str]:
        """The native string of each class that is matched to a descriptor name."""
        return [self.native_key(i, n) for i, n in zip(ids, names, strict=True)]


def _class_id(class_id: str, name: str) -> str:
    return class_id


def _class_name(class_id: str, name: str) -> str:
    return name


def _cub_key(class_id: str, name: str) -> str:
    """``001.Black_footed_Albatross`` -> ``Black_footed_Albatross``."""
    return class_id.split(".", 1)[-1]


def _places_key(class_id: str, name: str) -> str:
    """``/a/apartment_building/outdoor`` -> ``apartment_building/outdoor``."""
    return class_id.strip("/").split("/", 1)[-1]


#: EuroSAT's class folders -> the descriptor names (CLIP's EuroSAT class names).
EUROSAT_NAMES = {
    "AnnualCrop": "annual crop land",
    "Forest": "forest",
    "HerbaceousVegetation": "brushland or shrubland",
    "Highway": "highway or road",
    "Industrial": "industrial buildings or commercial buildings",
    "Pasture": "pasture land",
    "PermanentCrop": "permanent crop land",
    "Residential": "residential buildings or homes or apartments",
    "River": "river",
    "SeaLake": "lake or sea",
}

_CUB = TransferDataset(
    "cub",
    "CUB-200-2011",
    (
        TransferFile(
            cub.ARCHIVE,
            "https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz",
            md5="97eceeb196236b17998738112f37df78",
        ),
    ),
    "top1",
    200,
    cub.read,
    "official",
    homepage="https://www.vision.caltech.edu/datasets/cub_200_2011/",
)

_EUROSAT = TransferDataset(
    "eurosat",
    "EuroSAT (RGB)",
    (
        TransferFile(
            eurosat.ARCHIVE,
            "https://madm.dfki.de/files/sentinel/EuroSAT.zip",
            md5="c8fa014336c82ac7804f0398fcb19387",
            note="torchvision's mirror of the same file: https://huggingface.co/datasets/"
            "torchgeo/eurosat/resolve/c877bcd43f099cd0196738f714544e355477f3fd/EuroSAT.zip",
        ),
    ),
    "top1",
    10,
    eurosat.read,
    "official",
    homepage="https://github.com/phelber/EuroSAT",
)

_PLACES = "http://data.csail.mit.edu/places/places365"
_PLACES365 = TransferDataset(
    "places365",
    "Places365-Standard",
    (
        TransferFile(
            places365.FILELIST,
            f"{_PLACES}/filelist_places365-standard.tar",
            md5="35a0585fee1fa656440f3ab298f8479c",
        ),
        TransferFile(
            places365.IMAGES, f"{_PLACES}/val_256.tar", md5="e27b17d8d44f4af9a78502beb927f808"
        ),
    ),
    "top1",
    365,
    places365.read,
    "official",
    homepage="http://places2.csail.mit.edu/download.html",
)


ZEROSHOT_SETS: dict[str, ZeroShotSet] = {
    z.name: z
    for z in (
        ZeroShotSet(
            "cub",
            _CUB,
            "test",
            "the official test split (train_test_split.txt: 5,794 images)",
            _cub_key,
        ),
        ZeroShotSet(
            "dtd",
            TRANSFER_DATASETS["dtd"],
            "test",
            "test1.txt, the test split of the first of the ten official splits (1,880 images)",
            _class_id,
        ),
        ZeroShotSet(
            "eurosat",
            _EUROSAT,
            "test",
            "every image (27,000): EuroSAT has no official split and zero-shot evaluation "
            "trains nothing on it",
            _class_id,
            EUROSAT_NAMES,
        ),
        ZeroShotSet(
            "flowers102",
            TRANSFER_DATASETS["flowers102"],
            "test",
            "the official test split (setid.mat tstid: 6,149 images)",
            _class_name,
            {"lotus": "lotus lotus"},
        ),
        ZeroShotSet(
            "food101",
            TRANSFER_DATASETS["food101"],
            "test",
            "the official test split (meta/test.txt: 25,250 images)",
            _class_id,
        ),
        ZeroShotSet(
            "pets",
            TRANSFER_DATASETS["pets"],
            "test",
            "the official test split (annotations/test.txt: 3,669 images)",
            _class_id,
        ),
        ZeroShotSet(
            "places365",
            _PLACES365,
            "val",
            "the official validation set (val_256, 100 images per class: 36,500); the test "
            "set's labels are not public",
            _places_key,
        ),
    )
}


def local_folders(
    name: str, local_dir: str | None = None, transfer_downloads: str = TRANSFER_DOWNLOADS
) -> list[str]:
    """Folders that may already hold the files of set ``name``, in search order: ``local_dir``
    (a user's copy), then ``<transfer_downloads>/<name>`` where the set is also a transfer dataset
    (DTD, Flowers-102, Food-101, Oxford-IIIT Pet: downloaded once for both uses)."""
    folders = [local_dir] if local_dir else []
    if name in TRANSFER_DATASETS:
        folders.append(f"{transfer_downloads}/{name}")
    return folders
