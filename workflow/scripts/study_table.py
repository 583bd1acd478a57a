"""Rule study_table: the tidy table of one study (a row per run and evaluation set)."""

import argparse

from cliptail import io
from cliptail.evaluate.aggregate import study_table
from cliptail.runlog import logged


def main(
    study: str, runs: dict, scalars: list[str], preset: str, out: str, log: str | None = None
) -> None:
    with logged(log) as logger:
        table = study_table(study, runs, [io.read_json(p) for p in scalars], preset)
        io.write_parquet(out, table)
        logger.info("study %s: %d rows", study, len(table))


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.params.study,
        dict(_smk.params.runs),
        list(_smk.input.scalars),
        _smk.params.preset,
        _smk.output.table,
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", required=True)
    parser.add_argument("--runs", required=True, help="JSON file: run name -> factors")
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--out", required=True)
    parser.add_argument("scalars", nargs="+", help="evaluation JSON files")
    args = parser.parse_args()
    main(args.study, io.read_json(args.runs), args.scalars, args.preset, args.out)
