"""Rule plot_data: the CSV files `dvc plots` draws (per-class accuracy vs frequency, loss curves).

Standalone: python workflow/scripts/plot_data.py --record CLIP results/eval/R/val.parquet \
    --log results/runs/R/train.jsonl --out results/tables/plots
"""

import argparse
import json
from pathlib import Path

import pandas as pd

from cliptail import io
from cliptail.evaluate.aggregate import per_class_plot_data, training_loss
from cliptail.runlog import logged


def read_jsonl(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def main(
    records: dict[str, str],
    logs: dict[str, str],
    out_per_class: str,
    out_loss: str,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        per_class = per_class_plot_data({k: pd.read_parquet(p) for k, p in records.items()})
        io.write_text(out_per_class, per_class.to_csv(index=False))
        loss = training_loss({run: read_jsonl(p) for run, p in logs.items()})
        io.write_text(out_loss, loss.to_csv(index=False))
        logger.info("%d per-class rows, %d loss points", len(per_class), len(loss))


if "snakemake" in globals():
    _smk = snakemake
    main(
        dict(zip(_smk.params.baselines, _smk.input.per_class, strict=True)),
        {Path(p).parent.name: p for p in _smk.input.train_logs},
        _smk.output.per_class,
        _smk.output.loss,
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--record",
        nargs=2,
        action="append",
        default=[],
        metavar=("LABEL", "PARQUET"),
        help="a labelled per-class record",
    )
    parser.add_argument("--log", action="append", default=[], help="a run's train.jsonl")
    parser.add_argument("--out", default="results/tables/plots", help="output folder")
    args = parser.parse_args()
    main(
        dict(args.record),
        {Path(p).parent.name: p for p in args.log},
        f"{args.out}/per_class_accuracy.csv",
        f"{args.out}/training_loss.csv",
    )
