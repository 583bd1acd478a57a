"""The linear-probe transfer datasets of Kornblith et al. (2019) used by the paper's DINO study.

``prepare(name, downloads_dir, out_dir)`` downloads, verifies, safely extracts and reads one of
:data:`TRANSFER_DATASETS` into a dataset folder (see :mod:`.preparation`); each reader module
describes its dataset's distribution format and the manifest it makes.
"""

from __future__ import annotations

from cliptail.data.transfer.archive import ArchiveError, UnsafeArchiveError
from cliptail.data.transfer.common import LayoutError
from cliptail.data.transfer.preparation import fetch, prepare
from cliptail.data.transfer.registry import (
    METRICS,
    TRANSFER_DATASETS,
    TransferDataset,
    TransferFile,
)

__all__ = [
    "METRICS",
    "TRANSFER_DATASETS",
    "ArchiveError",
    "LayoutError",
    "TransferDataset",
    "TransferFile",
    "UnsafeArchiveError",
    "fetch",
    "prepare",
]
