"""Zero-shot evaluation sets of the seven concept sets besides ImageNet (Fig. 12).

``prepare(name, downloads_dir, out_dir)`` downloads, verifies, safely extracts and reads one of
:data:`ZEROSHOT_SETS` (``cub``, ``dtd``, ``eurosat``, ``flowers102``, ``food101``, ``pets``,
``places365``) into a dataset folder holding its official test split, with the classes in the
order and under the names of the authors' ``descriptors_<set>.json`` (the names of the
web-frequency files); see :mod:`.preparation`, :mod:`.class_names` and :mod:`.registry`. DTD,
Flowers-102, Food-101 and Oxford-IIIT Pet are downloaded and read by the transfer datasets' code
(:mod:`cliptail.data.transfer`); CUB-200-2011, EuroSAT and Places365 have their readers here.
"""

from __future__ import annotations

from cliptail.data.zeroshot_sets.class_names import (
    ClassMappingError,
    descriptor_names,
    map_classes,
    normalize,
)
from cliptail.data.zeroshot_sets.preparation import class_order, prepare, zeroshot_set
from cliptail.data.zeroshot_sets.registry import (
    EUROSAT_NAMES,
    ZEROSHOT_SETS,
    ZeroShotSet,
    local_folders,
)

__all__ = [
    "EUROSAT_NAMES",
    "ZEROSHOT_SETS",
    "ClassMappingError",
    "ZeroShotSet",
    "class_order",
    "descriptor_names",
    "local_folders",
    "map_classes",
    "normalize",
    "prepare",
    "zeroshot_set",
]
