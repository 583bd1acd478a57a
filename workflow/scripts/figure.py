"""Rule figure: draw one paper figure from the tidy tables or per-class records.

``params.figure`` (built in rules/figures.smk) says which function of :mod:`cliptail.figures`
draws it and from what: ``kind`` is ``tables`` (study tables), ``per_class`` (per-class records
of the listed runs, with their legend ``labels`` and ``factors``) or ``frequencies`` (training
frequency files of dataset variants). Writes ``<stem>.png``, ``<stem>.pdf`` and
``<stem>.caption.txt``.
"""

from pathlib import Path
from typing import Any

import pandas as pd

from cliptail import io
from cliptail.runlog import logged


def draw(
    params: dict[str, Any],
    *,
    tables: list[str],
    per_class: list[str],
    curation: list[str],
    frequencies: list[str],
    evalset: str,
):
    from cliptail import figures

    function = params["function"]
    draw_fn = getattr(figures, function)
    kind = params["kind"]
    if kind == "tables":
        table = pd.concat([pd.read_parquet(p) for p in tables], ignore_index=True)
        return draw_fn(table, evalset=evalset)
    if kind == "frequencies":
        freqs = {
            label: io.read_frequency(p)["count"].to_numpy()
            for label, p in zip(params["labels"], frequencies, strict=True)
        }
        return draw_fn(freqs)
    records = {run: pd.read_parquet(p) for run, p in zip(params["factors"], per_class, strict=True)}
    if function in ("fig11", "fig15"):
        return draw_fn(
            {
                label: records[run]
                for label, run in zip(params["labels"], params["factors"], strict=True)
            }
        )
    tails = {}
    for path in curation:
        report = io.read_json(path)
        k = int(report["factors"]["trim_k"])
        if k:
            tails[k] = report["tail_classes"]
    if function == "fig08":
        table = pd.concat([pd.read_parquet(p) for p in tables], ignore_index=True)
        return draw_fn(table, records, tails, evalset=evalset)
    if function == "fig09b":
        chosen = figures.select_tail_runs(params["factors"])
        k = int(params["factors"][next(iter(chosen.values()))]["trim_k"])
        return draw_fn({label: records[run] for label, run in chosen.items()}, tails[k])
    raise ValueError(f"figure function {function!r} has no input kind {kind!r}")


def main(
    params: dict[str, Any],
    *,
    stem: str,
    evalset: str,
    tables: list[str],
    per_class: list[str],
    curation: list[str],
    frequencies: list[str],
    log: str | None = None,
) -> None:
    from cliptail import figures

    with logged(log) as logger:
        fig = draw(
            params,
            tables=tables,
            per_class=per_class,
            curation=curation,
            frequencies=frequencies,
            evalset=evalset,
        )
        png, pdf = figures.save(fig, stem)
        io.write_text(f"{stem}.caption.txt", figures.CAPTIONS[params["function"]] + "\n")
        logger.info("wrote %s and %s", png, pdf)


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821
    main(
        dict(_smk.params.figure),
        stem=str(Path(_smk.output.png).with_suffix("")),
        evalset=_smk.params.evalset,
        tables=list(_smk.input.get("tables", [])),
        per_class=list(_smk.input.get("per_class", [])),
        curation=list(_smk.input.get("curation", [])),
        frequencies=list(_smk.input.get("frequencies", [])),
        log=_smk.log[0],
    )
