"""Rule runs_table: every study in one tidy table, and the headline summary (DVC metrics)."""

import argparse

import pandas as pd

from cliptail import io
from cliptail.evaluate.aggregate import combine, summary
from cliptail.runlog import logged


def main(tables: list[str], out_table: str, out_summary: str, log: str | None = None) -> None:
    with logged(log) as logger:
        table = combine(pd.read_parquet(p) for p in tables)
        io.write_parquet(out_table, table)
        io.write_json(out_summary, summary(table))
        logger.info("%d rows from %d studies", len(table), len(tables))


if "snakemake" in globals():
    _smk = snakemake
    main(list(_smk.input.tables), _smk.output.table, _smk.output.summary, _smk.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/tables/runs.parquet")
    parser.add_argument("--summary", default="results/tables/summary.json")
    parser.add_argument("tables", nargs="+")
    args = parser.parse_args()
    main(args.tables, args.out, args.summary)
