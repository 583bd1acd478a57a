"""Rule transfer_table: the tidy table of a probe study (a row per run and probe set)."""

import argparse
import json

from cliptail import io
from cliptail.evaluate.transfer import transfer_table
from cliptail.runlog import logged


def main(
    study: str,
    runs: dict,
    records: list[str],
    preset: str,
    out: str,
    reference: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        table = transfer_table(
            study, runs, [io.read_json(p) for p in records], preset, reference or None
        )
        io.write_parquet(out, table)
        logger.info("study %s: %d probe results", study, len(table))


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.params.study,
        dict(_smk.params.runs),
        list(_smk.input.records),
        _smk.params.preset,
        _smk.output.table,
        dict(_smk.params.reference),
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study", required=True)
    parser.add_argument("--runs", required=True, help="JSON file: run name -> factors")
    parser.add_argument("--preset", default="mini")
    parser.add_argument("--out", required=True)
    parser.add_argument("--reference", help="JSON: factor values of the reference setting")
    parser.add_argument("records", nargs="+", help="probe record JSON files")
    args = parser.parse_args()
    main(
        args.study,
        io.read_json(args.runs),
        args.records,
        args.preset,
        args.out,
        json.loads(args.reference) if args.reference else None,
    )
