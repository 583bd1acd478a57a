"""Rule audit_table: the tidy audit table (one row per checkpoint and evaluation set)."""

import argparse

from cliptail import io
from cliptail.audit.table import audit_table
from cliptail.runlog import logged


def main(scalars: list[str], out: str, log: str | None = None) -> None:
    with logged(log) as logger:
        records = [io.read_json(p) for p in scalars]
        info_keys = ("checkpoint", "model", "pretrained", "dataset", "dataset_name")
        rows = [({k: r[k] for k in (*info_keys, "evalset", "concept_set")}, r) for r in records]
        table = audit_table(rows)
        io.write_parquet(out, table)
        logger.info(
            "audit table: %d rows, %d checkpoints", len(table), table["checkpoint"].nunique()
        )


if "snakemake" in globals():
    _smk = snakemake
    main(list(_smk.input.scalars), _smk.output.table, _smk.log[0])
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True)
    parser.add_argument("scalars", nargs="+", help="audit scalars JSON files")
    args = parser.parse_args()
    main(args.scalars, args.out)
