"""Draw one figure job of the catalogue (:mod:`cliptail.figures.catalogue`) from its input files.

:func:`render` reads the job's inputs the way its entry's ``reads`` says, calls the entry's
drawing function and returns a matplotlib Figure (or a DataFrame for a table). :func:`write`
saves it under ``results/figures/`` (PNG, PDF and the caption) or as a CSV table; every file is
written atomically.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cliptail import io


def drawing_function(target: str) -> Callable:
    """The function named ``module:function``."""
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def _table(paths: Sequence[str]) -> pd.DataFrame:
    return pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)


def render(params: Mapping[str, Any], inputs: Mapping[str, Sequence[str]]) -> Any:
    """Draw the figure of a job (``params`` and ``inputs`` of a catalogue ``FigureJob``)."""
    draw = drawing_function(params["draw"])
    reads, evalset = params["reads"], params.get("evalset")
    if reads == "studies":
        return draw(_table(inputs["tables"]), evalset=evalset)
    if reads == "training_frequencies":
        freqs = {
            label: io.read_frequency(path)["count"].to_numpy()
            for label, path in zip(params["labels"], inputs["frequencies"], strict=True)
        }
        if not inputs.get("similarities"):
            return draw(freqs)
        similarities = {
            label: pd.read_parquet(path)["similarity"].to_numpy()
            for label, path in zip(params["labels"], inputs["similarities"], strict=True)
        }
        return draw(freqs, similarities)
    if reads == "released_frequencies":
        from cliptail.figures.web_frequency import read_frequency_table

        tables = {c: read_frequency_table(files) for c, files in params["files"].items()}
        if inputs.get("per_class"):  # Table 1 with the accuracy of the audited RN50 YFCC-15M
            return draw(
                tables["imagenet"],
                accuracy=pd.read_parquet(inputs["per_class"][0]),
                accuracy_from=params.get("accuracy_from"),
            )
        # an entry of one concept set draws its table; one of several, the mapping
        return draw(next(iter(tables.values())) if len(tables) == 1 else tables)
    if reads == "audit":
        return _render_audit(draw, params, inputs)
    if reads == "text_tower_classifiers":
        classifiers = {
            label: np.load(path)
            for label, path in zip(params["labels"], inputs["classifiers"], strict=True)
        }
        freq = pd.read_parquet(inputs["per_class"][0])["freq"].to_numpy()
        return draw(classifiers, freq)
    records = {
        label: pd.read_parquet(path)
        for label, path in zip(params["labels"], inputs["per_class"], strict=True)
    }
    if reads == "baseline_records":
        return draw(records)
    if reads == "trim_tail_records":
        tails = {}
        for path in inputs["reports"]:
            report = io.read_json(path)
            k = int(report["factors"]["trim_k"])
            if k:
                tails[k] = report["tail_classes"]
        return draw(_table(inputs["tables"]), records, tails, evalset=evalset)
    raise ValueError(f"unknown figure input kind {reads!r}")


def _render_audit(draw: Callable, params: Mapping[str, Any], inputs: Mapping) -> Any:
    """An audit figure: the audit table, plus study tables, records and samples if it has them."""
    extra: dict[str, Any] = {}
    if inputs.get("tables"):
        extra["studies"] = _table(inputs["tables"])
    labels = params.get("labels", [])
    if inputs.get("records"):
        extra["records"] = {
            label: pd.read_parquet(path)
            for label, path in zip(labels, inputs["records"], strict=True)
        }
    if inputs.get("samples"):
        samples = {}
        for label, path in zip(labels, inputs["samples"], strict=True):
            with np.load(path) as data:
                samples[label] = {k: data[k] for k in data.files}
        extra["samples"] = samples
    return draw(
        pd.read_parquet(inputs["audit"][0]),
        evalset=params.get("evalset"),
        evalsets=params.get("evalsets", ()),
        **extra,
    )


def write(result: Any, stem: str | Path, caption: str | None = None) -> list[Path]:
    """Save a figure as ``<stem>.png``/``.pdf`` (+ ``.caption.txt``) or a table as ``<stem>.csv``."""
    stem = Path(stem)
    if isinstance(result, pd.DataFrame):
        out = stem.with_suffix(".csv")
        io.write_text(out, result.to_csv(index=False))
        return [out]
    from cliptail.figures.output import save

    files = list(save(result, stem))
    if caption is not None:
        caption_file = stem.with_name(stem.name + ".caption.txt")
        io.write_text(caption_file, caption + "\n")
        files.append(caption_file)
    return files
