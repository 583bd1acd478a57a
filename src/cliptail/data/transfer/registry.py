"""The 12 linear-probe transfer datasets of Kornblith et al. (2019), as the paper's DINO experiment
evaluates them: what to download, how to check it, how to read it, how to score it.

:data:`TRANSFER_DATASETS` maps each name to a :class:`TransferDataset`:

- ``files``: the :class:`TransferFile` s to download: file name, official URL (None where there
  is no working one: Stanford Cars), and a checksum where one is published. The md5s are those
  of torchvision's dataset classes (``torchvision/datasets/*.py``; for Stanford Cars the
  torchvision 0.13 class, from before the files went offline), which check the same files at the
  same URLs; no sha256 is published for these files, and where no md5 is known either
  (Birdsnap, FGVC-Aircraft, SUN397's ``Partitions.zip``) the field is None and the file is
  used unchecked (its observed sha256 is recorded in the report);
- ``metric``: ``top1`` (accuracy), ``mean_per_class`` (mean of the per-class accuracies:
  FGVC-Aircraft, Oxford-IIIT Pet, Caltech-101, Flowers-102) or ``map11`` (VOC 2007's 11-point
  mean average precision), as in Kornblith et al.;
- ``num_classes``, ``reader`` (module in this package; its docstring describes the format and the
  manifest), ``val`` (``official``: the dataset's own validation split; ``holdout``: 20 % of each
  class's training images, :func:`cliptail.data.transfer.common.hold_out_val`) and
  ``assign_splits`` (run after the image check; Caltech-101's 30-per-class protocol).

URLs can be overridden per file or with a base URL (:func:`TransferDataset.url_for`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from cliptail.data.transfer import (
    aircraft,
    birdsnap,
    caltech101,
    cars,
    cifar,
    dtd,
    flowers102,
    food101,
    pets,
    sun397,
    voc2007,
)
from cliptail.data.transfer.common import ReadContext, ReadResult, hold_out_val

METRICS = ("top1", "mean_per_class", "map11")


@dataclass(frozen=True)
class TransferFile:
    """One file to download. ``note``: what to know where ``url`` is None."""

    filename: str
    url: str | None
    md5: str | None = None
    sha256: str | None = None
    note: str = ""


@dataclass(frozen=True)
class TransferDataset:
    name: str
    title: str
    files: tuple[TransferFile, ...]
    metric: str
    num_classes: int
    reader: Callable[[ReadContext], ReadResult]
    val: str  # "official" or "holdout"
    assign_splits: Callable[[pd.DataFrame, str], pd.DataFrame] | None = None
    homepage: str = ""

    def url_for(
        self, file: TransferFile, urls: Mapping[str, str] | None = None, url_base: str | None = None
    ) -> str | None:
        """``urls[filename]`` if given, else ``<url_base>/<filename>``, else the registry's URL."""
        if urls and file.filename in urls:
            return urls[file.filename]
        if url_base:
            return url_base.rstrip("/") + "/" + file.filename
        return file.url

    def splits(self, df: pd.DataFrame) -> pd.DataFrame:
        """The final split assignment of the checked manifest rows."""
        if self.assign_splits is not None:
            return self.assign_splits(df, self.name)
        if self.val == "holdout":
            return hold_out_val(df, self.name)
        return df


_VGG = "https://www.robots.ox.ac.uk/~vgg/data"
_CARS_GONE = (
    "the original https://ai.stanford.edu/~jkrause/car196/ downloads are offline; give a mirror "
    "(urls / --url-base) or a folder holding the file (local_dir / --local)"
)


TRANSFER_DATASETS: dict[str, TransferDataset] = {
    d.name: d
    for d in (
        TransferDataset(
            "food101",
            "Food-101",
            (
                TransferFile(
                    food101.ARCHIVE,
                    "http://data.vision.ee.ethz.ch/cvl/food-101.tar.gz",
                    md5="85eeb15f3717b99a5da872d97d918f87",
                ),
            ),
            "top1",
            101,
            food101.read,
            "holdout",
            homepage="https://data.vision.ee.ethz.ch/cvl/datasets_extra/food-101/",
        ),
        TransferDataset(
            "cifar10",
            "CIFAR-10",
            (
                TransferFile(
                    cifar.CIFAR10["archive"],
                    "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                    md5="c58f30108f718f92721af3b95e74349a",
                ),
            ),
            "top1",
            10,
            cifar.read_cifar10,
            "holdout",
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        ),
        TransferDataset(
            "cifar100",
            "CIFAR-100",
            (
                TransferFile(
                    cifar.CIFAR100["archive"],
                    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                    md5="eb9058c3a382ffc7106e4002c42a8d85",
                ),
            ),
            "top1",
            100,
            cifar.read_cifar100,
            "holdout",
            homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
        ),
        TransferDataset(
            "birdsnap",
            "Birdsnap",
            (
                TransferFile(
                    birdsnap.ARCHIVE,
                    "http://thomasberg.org/datasets/birdsnap/1.1/birdsnap.tgz",
                    note="metadata only; the images are fetched from the Flickr URLs it lists",
                ),
            ),
            "top1",
            500,
            birdsnap.read,
            "holdout",
            homepage="http://thomasberg.org/",
        ),
        TransferDataset(
            "sun397",
            "SUN397",
            (
                TransferFile(
                    sun397.ARCHIVE,
                    "http://vision.princeton.edu/projects/2010/SUN/SUN397.tar.gz",
                    md5="8ca2778205c41d23104230ba66911c7a",
                ),
                TransferFile(
                    sun397.PARTITIONS,
                    "https://vision.princeton.edu/projects/2010/SUN/download/Partitions.zip",
                ),
            ),
            "top1",
            397,
            sun397.read,
            "holdout",
            homepage="https://vision.princeton.edu/projects/2010/SUN/",
        ),
        TransferDataset(
            "cars",
            "Stanford Cars",
            (
                TransferFile(
                    cars.DEVKIT, None, md5="c3b158d763b6e2245038c8ad08e45376", note=_CARS_GONE
                ),
                TransferFile(
                    cars.TRAIN, None, md5="065e5b463ae28d29e77c1b4b166cfe61", note=_CARS_GONE
                ),
                TransferFile(
                    cars.TEST, None, md5="4ce7ebf6a94d07f1952d94dd34c4d501", note=_CARS_GONE
                ),
                TransferFile(
                    cars.TEST_ANNOS, None, md5="b0a2b23655a3edd16d84508592a98d10", note=_CARS_GONE
                ),
            ),
            "top1",
            196,
            cars.read,
            "holdout",
            homepage="https://ai.stanford.edu/~jkrause/cars/car_dataset.html",
        ),
        TransferDataset(
            "aircraft",
            "FGVC-Aircraft",
            (
                TransferFile(
                    aircraft.ARCHIVE,
                    f"{_VGG}/fgvc-aircraft/archives/fgvc-aircraft-2013b.tar.gz",
                ),
            ),
            "mean_per_class",
            100,
            aircraft.read,
            "official",
            homepage=f"{_VGG}/fgvc-aircraft/",
        ),
        TransferDataset(
            "voc2007",
            "PASCAL VOC 2007",
            (
                TransferFile(
                    voc2007.TRAINVAL,
                    "https://thor.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtrainval_06-Nov-2007.tar",
                    md5="c52e279531787c972589f7e41ab4ae64",
                ),
                TransferFile(
                    voc2007.TEST,
                    "https://thor.robots.ox.ac.uk/pascal/VOC/voc2007/VOCtest_06-Nov-2007.tar",
                    md5="b6e924de25625d8de591ea690078ad9f",
                ),
            ),
            "map11",
            20,
            voc2007.read,
            "official",
            homepage="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/",
        ),
        TransferDataset(
            "dtd",
            "Describable Textures (DTD)",
            (
                TransferFile(
                    dtd.ARCHIVE,
                    f"{_VGG}/dtd/download/dtd-r1.0.1.tar.gz",
                    md5="fff73e5086ae6bdbea199a49dfb8a4c1",
                ),
            ),
            "top1",
            47,
            dtd.read,
            "official",
            homepage=f"{_VGG}/dtd/",
        ),
        TransferDataset(
            "pets",
            "Oxford-IIIT Pet",
            (
                TransferFile(
                    pets.IMAGES,
                    f"{_VGG}/pets/data/images.tar.gz",
                    md5="5c4f3ee8e5d25df40f4fd59a7f44e54c",
                ),
                TransferFile(
                    pets.ANNOTATIONS,
                    f"{_VGG}/pets/data/annotations.tar.gz",
                    md5="95a8c909bbe2e81eed6a22bccdf3f68f",
                ),
            ),
            "mean_per_class",
            37,
            pets.read,
            "holdout",
            homepage=f"{_VGG}/pets/",
        ),
        TransferDataset(
            "caltech101",
            "Caltech-101",
            (
                TransferFile(
                    caltech101.ARCHIVE,
                    "https://data.caltech.edu/records/mzrjq-6wc02/files/caltech-101.zip",
                    md5="3138e1922a9193bfa496528edbbc45d0",
                ),
            ),
            "mean_per_class",
            102,
            caltech101.read,
            "holdout",
            assign_splits=caltech101.assign_splits,
            homepage="https://data.caltech.edu/records/mzrjq-6wc02",
        ),
        TransferDataset(
            "flowers102",
            "Oxford Flowers-102",
            (
                TransferFile(
                    flowers102.IMAGES,
                    f"{_VGG}/flowers/102/102flowers.tgz",
                    md5="52808999861908f626f3c1f4e79d11fa",
                ),
                TransferFile(
                    flowers102.LABELS,
                    f"{_VGG}/flowers/102/imagelabels.mat",
                    md5="e0620be6f572b9609742df49c70aed4d",
                ),
                TransferFile(
                    flowers102.SETID,
                    f"{_VGG}/flowers/102/setid.mat",
                    md5="a5357ecc9cb78c4bef273ce3793fc85c",
                ),
            ),
            "mean_per_class",
            102,
            flowers102.read,
            "official",
            homepage=f"{_VGG}/flowers/102/",
        ),
    )
}
