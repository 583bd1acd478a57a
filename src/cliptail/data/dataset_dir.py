"""A dataset folder: the contract between reading, curation, training and evaluation.

Every dataset, whether read from a source (``results/data/incaps``), curated from one
(``results/data/incaps_title_s1_eval``) or an evaluation set (``results/data/eval_val``), is one
folder with the same files::

    manifest.parquet   one row per (image, label, caption); see cliptail.data.manifest
    classes.tsv        index, id, name of the class space the labels index
    frequency.tsv      per-class training counts, name<TAB>count in class order, zeros kept
                       (the authors' format; training sets only)
    report.json        what the reader or the curation did: counts, skipped records, tail
                       classes, the data factors (training sets only)
    source.json        where the images live: image_root, image_format (world|files|webdataset);
                       ``class_subset`` (class indices, optional): the classes the dataset is
                       restricted to, which an SL run trains over (labels remapped to
                       0..K-1) and an evaluation set is evaluated over (K-way)

The workflow's rules name these files through :meth:`DatasetDir.layout`; the library reads and
writes them through :class:`DatasetDir`; training and evaluation find the images through
:meth:`DatasetDir.image_root`, never through a path computed elsewhere.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from cliptail import io
from cliptail.data import manifest

#: Part -> file name.
FILES = {
    "manifest": "manifest.parquet",
    "classes": "classes.tsv",
    "frequency": "frequency.tsv",
    "report": "report.json",
    "source": "source.json",
}
#: The parts of a training set, and of an evaluation set.
TRAINING_PARTS = tuple(FILES)
EVALUATION_PARTS = ("manifest", "classes", "source")
#: Where the workflow keeps datasets.
RESULTS = "results/data"


@dataclass(frozen=True)
class DatasetDir:
    """The folder of one dataset."""

    root: Path

    def __init__(self, root: str | os.PathLike):
        object.__setattr__(self, "root", Path(root))

    @classmethod
    def named(cls, name: str, results: str | os.PathLike = RESULTS) -> DatasetDir:
        return cls(Path(results) / name)

    @staticmethod
    def evalset_name(evalset: str) -> str:
        """Folder name of an evaluation set (``eval_<evalset>``)."""
        return f"eval_{evalset}"

    @staticmethod
    def layout(root: str, parts: tuple[str, ...] = TRAINING_PARTS) -> dict[str, str]:
        """Part -> path under ``root`` (which may hold wildcards), for a rule's inputs/outputs."""
        return {part: f"{root}/{FILES[part]}" for part in parts}

    # --- paths ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.root.name

    @property
    def manifest(self) -> Path:
        return self.root / FILES["manifest"]

    @property
    def classes(self) -> Path:
        return self.root / FILES["classes"]

    @property
    def frequency(self) -> Path:
        return self.root / FILES["frequency"]

    @property
    def report(self) -> Path:
        return self.root / FILES["report"]

    @property
    def source(self) -> Path:
        return self.root / FILES["source"]

    # --- reading --------------------------------------------------------------------------------

    def _require(self, path: Path) -> Path:
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} does not exist; build the dataset first (snakemake {path})"
            )
        return path

    def read_classes(self) -> pd.DataFrame:
        return io.read_classes(self._require(self.classes))

    def read_manifest(
        self, columns: list[str] | None = None, *, allow_empty_captions: bool = True
    ) -> pd.DataFrame:
        """The manifest, validated against the class table."""
        df = manifest.read(self._require(self.manifest), columns=columns)
        if columns is not None:
            return df
        return manifest.validate(
            df,
            len(self.read_classes()),
            where=str(self.manifest),
            allow_empty_captions=allow_empty_captions,
        )

    def read_report(self) -> dict[str, Any]:
        return io.read_json(self._require(self.report))

    def read_source(self) -> dict[str, Any]:
        return io.read_json(self._require(self.source))

    def class_subset(self) -> list[int] | None:
        """The class indices the dataset is restricted to (``source.json``), or None (all)."""
        subset = self.read_source().get("class_subset")
        return None if subset is None else [int(c) for c in subset]

    def image_root(self) -> str:
        """Where this dataset's images live (``source.json``); ValueError if it is not set."""
        source = self.read_source()
        root = source.get("image_root")
        if not root:
            raise ValueError(
                f"{self.source}: no image_root; the images of {source.get('dataset', self.name)} "
                "are not configured (see the source's `image_root`/`root` setting)"
            )
        return str(root)

    # --- writing --------------------------------------------------------------------------------

    def write(
        self,
        df: pd.DataFrame,
        classes: pd.DataFrame,
        *,
        source: dict[str, Any],
        report: dict[str, Any] | None = None,
        allow_empty_captions: bool = False,
        class_subset: list[int] | None = None,
    ) -> pd.DataFrame:
        """Write every part (atomically, file by file); return the validated manifest.

        ``report=None`` writes an evaluation set (manifest, classes, source). A training set also
        gets ``frequency.tsv`` and ``report.json`` (with ``images`` and ``nonempty_classes``
        added). ``class_subset``: sorted class indices the dataset is restricted to (recorded in
        ``source.json``; every label must be one of them).
        """
        if class_subset is not None:
            class_subset = sorted({int(c) for c in class_subset})
            outside = set(df["label"].astype("int64").unique().tolist()) - set(class_subset)
            if outside:
                raise ValueError(
                    f"{self.root}: labels {sorted(outside)[:5]} are outside the class subset"
                )
            source = {**source, "class_subset": class_subset}
        df = manifest.write(
            self.manifest, df, num_classes=len(classes), allow_empty_captions=allow_empty_captions
        )
        io.write_classes(self.classes, classes["id"].tolist(), classes["name"].tolist())
        if report is not None:
            manifest.write_frequency_for(df, classes, self.frequency)
            counts = manifest.class_counts(df["label"], len(classes))
            report = {**report, "images": len(df), "nonempty_classes": int((counts > 0).sum())}
            io.write_json(self.report, report)
        io.write_json(self.source, {**source, "dataset": self.name, "manifest_rows": len(df)})
        return df
