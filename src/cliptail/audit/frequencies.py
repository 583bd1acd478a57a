"""The web-scale concept frequencies an audited checkpoint's per-class records correlate with.

A checkpoint pre-trained on web dataset ``d`` and evaluated on concept set ``c`` is compared with
the frequency of ``c``'s classes in ``d``'s captions: by default the authors' released file
(``class_frequency_<d>_<c>[_ori].txt``, shipped with cliptail), or a file the configuration
names (``audit.frequencies: {<d>: {<c>: path}}``, e.g. the output of ``cliptail concept-freq``
for a dataset or concept set the authors did not count). OpenAI's WIT has no such file: its
checkpoints get no frequency correlations (NaN), and neither does any pair without a file.

Alignment with the evaluation classes: a file whose names equal the classes' names in order is
used as it is (ImageNet's ``_ori`` files, where two class names repeat); otherwise rows are
matched by name, which must then be unique and cover every class.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

import numpy as np

from cliptail import factors, io


def frequency_file(
    dataset: str, concept_set: str, overrides: Mapping[str, Mapping[str, str]] | None = None
) -> str | None:
    """Path of the frequency file of ``concept_set`` in ``dataset``, or None when there is none."""
    chosen = (overrides or {}).get(dataset, {}).get(concept_set)
    if chosen:
        return str(chosen)
    if dataset in factors.WEB_DATASETS and concept_set in factors.CONCEPT_SETS:
        from cliptail.data.metadata import released_frequency_file
        from cliptail.layout import released_path

        return released_path(released_frequency_file(dataset, concept_set))
    return None


def aligned_counts(path: str | os.PathLike, class_names: Sequence[str]) -> np.ndarray:
    """int64 counts of ``class_names`` from a ``name<TAB>count`` file (module docstring)."""
    table = io.read_frequency(path)
    names = [str(n) for n in table["name"]]
    wanted = [str(n) for n in class_names]
    counts = table["count"].to_numpy(np.int64)
    if names == wanted:
        return counts
    if len(set(names)) != len(names):
        raise ValueError(
            f"{path}: its class names repeat and are not the evaluation classes in order; "
            "cannot match its rows to the classes"
        )
    by_name = dict(zip(names, counts, strict=True))
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise ValueError(
            f"{path}: no count for {len(missing)} of the {len(wanted)} evaluation classes "
            f"(e.g. {missing[:3]}); was it made for this concept set?"
        )
    return np.array([by_name[n] for n in wanted], dtype=np.int64)
