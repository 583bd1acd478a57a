"""Rules figure and table: draw one entry of the figure catalogue (cliptail.figures.catalogue).

The rule passes the job's parameters (which function draws it and what it reads) and its input
files; this script draws and writes ``<stem>.png``, ``<stem>.pdf`` and ``<stem>.caption.txt`` (a
figure) or ``<stem>.csv`` (a table).

Standalone: plan the figure from a configuration and draw it from the files already made, e.g.
    python workflow/scripts/figure.py fig03 --out results/figures
    python workflow/scripts/figure.py table01 --metadata resources/metadata --out /tmp
"""

import argparse
from pathlib import Path

from cliptail.figures.render import render, write
from cliptail.runlog import logged


def main(params: dict, inputs: dict[str, list[str]], stem: str, log: str | None = None) -> None:
    with logged(log) as logger:
        files = write(render(params, inputs), stem, caption=params["caption"])
        logger.info("%s: wrote %s", params["id"], ", ".join(map(str, files)))


if "snakemake" in globals():
    _smk = snakemake
    _inputs = {k: list(v) for k, v in _smk.input.items() if k != "code"}
    main(dict(_smk.params.job), _inputs, str(Path(_smk.output[0]).with_suffix("")), _smk.log[0])
elif __name__ == "__main__":
    from cliptail import config as cfg
    from cliptail.figures.catalogue import BY_ID, BY_STEM, plan_figures
    from cliptail.study import build_plan

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("figure", help="a catalogue id (fig03) or output stem")
    parser.add_argument(
        "--configfile",
        action="append",
        default=[],
        help="configuration on top of config/config.yaml (repeatable)",
    )
    parser.add_argument("--evalset", help="evaluation set shown (default: figures.evalset)")
    parser.add_argument("--metadata", help="folder of the authors' metadata (released figures)")
    parser.add_argument("--out", default="results/figures", help="output folder")
    args = parser.parse_args()
    config = cfg.load_yaml("config/config.yaml")
    for path in args.configfile:
        config = cfg.deep_merge(config, cfg.load_yaml(path))
    cfg.validate(config, "config/schema/config.schema.yaml")
    entry = BY_ID.get(args.figure) or BY_STEM.get(args.figure)
    if entry is None:
        parser.error(f"unknown figure {args.figure!r}; known: {sorted(BY_ID)}")
    evalset = args.evalset or config["figures"]["evalset"]
    # without --evalset, a figure that names its own evaluation set (Fig. 6) shows it
    evalsets = None if args.evalset else config["evalsets"]
    job = plan_figures(build_plan(config), evalset, evalsets).get(entry.stem)
    if job is None:
        parser.error(f"{entry.id}: the configuration plans none of the studies it reads")
    params, inputs = dict(job.params), dict(job.inputs)
    if args.metadata and entry.reads == "released_frequencies":
        root = Path(args.metadata)
        params["files"] = {
            c: {d: str(root / "freqs" / Path(p).name) for d, p in files.items()}
            for c, files in params["files"].items()
        }
    main(params, inputs, str(Path(args.out) / entry.stem))
