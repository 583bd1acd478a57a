"""Rules web_frequency_figure and table01_yfcc_rare_classes: Fig. 1a, 21, 13 and Table 1
(frequency part) from the authors' released web-dataset frequency files.

Standalone: python workflow/scripts/web_frequency_figures.py --kind fig13 \
    --freqs resources/metadata/freqs --out results/figures/fig13_web_frequency_spearman
"""

import argparse
from pathlib import Path

from cliptail import io
from cliptail.figures import web_frequency as wf
from cliptail.figures.output import save
from cliptail.runlog import logged

KIND_CONCEPTS = {
    "fig01a": ["imagenet"],
    "fig21": ["imagenet"],
    "fig13": list(wf.CONCEPT_SET_LABELS),
    "table01": ["imagenet"],
}


def main(
    kind: str,
    files: dict[str, dict[str, str]],
    out: str,
    *,
    rank_by: str = wf.RANK_BY,
    window: int = wf.SMOOTH_WINDOW,
    threshold: int = wf.RARE_THRESHOLD,
    log: str | None = None,
) -> None:
    """``files``: concept set -> dataset -> released file; ``out``: figure stem or table path."""
    with logged(log) as logger:
        if kind == "table01":
            table = wf.table01_rare_classes(
                io.read_frequency(files["imagenet"]["yfcc15m"]), threshold
            )
            io.write_text(out, table.to_csv(index=False))
            logger.info("%d classes below %d -> %s", len(table), threshold, out)
            return
        tables = {c: wf.read_frequency_table(paths) for c, paths in files.items()}
        if kind == "fig01a":
            fig = wf.fig01a(tables["imagenet"], rank_by=rank_by, window=window)
        elif kind == "fig21":
            fig = wf.fig21(tables["imagenet"], rank_by=rank_by)
        elif kind == "fig13":
            fig = wf.fig13(tables)
        else:
            raise ValueError(f"unknown kind {kind!r}; expected one of {list(KIND_CONCEPTS)}")
        png, pdf = save(fig, out)
        logger.info("%s -> %s, %s", kind, png, pdf)


if "snakemake" in globals():
    _smk = snakemake  # noqa: F821
    _params = dict(_smk.params)
    _table = _params["kind"] == "table01"
    _out = _smk.output.table if _table else str(_smk.output.png)[: -len(".png")]
    main(
        _params["kind"],
        {c: dict(p) for c, p in _params["files"].items()},
        _out,
        rank_by=_params.get("rank_by", wf.RANK_BY),
        window=_params.get("window", wf.SMOOTH_WINDOW),
        threshold=_params.get("threshold", wf.RARE_THRESHOLD),
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", required=True, choices=list(KIND_CONCEPTS))
    parser.add_argument(
        "--freqs",
        default="resources/metadata/freqs",
        help="folder of the released class_frequency_*.txt files",
    )
    parser.add_argument("--out", required=True, help="figure stem (no suffix) or table .csv")
    args = parser.parse_args()
    folder = Path(args.freqs)
    main(
        args.kind,
        {
            c: {d: str(folder / wf.released_frequency_file(d, c)) for d in wf.WEB_DATASETS}
            for c in KIND_CONCEPTS[args.kind]
        },
        args.out,
    )
