"""Rule claims: which of the paper's claims hold on this study (CSV and Markdown).

The study design (the configured default factors) tells each claim which runs are its baseline:
the synthetic world's curated pool, or IN-Caps in the paper preset.

Standalone: python workflow/scripts/claims.py --table results/tables/runs.parquet --evalset val \
    --out results/report/claims [--config config/config.yaml --config config/presets/paper.yaml]
"""

import argparse

import pandas as pd

from cliptail import io
from cliptail.config import deep_merge, load_yaml
from cliptail.evaluate.claims import Design, claims, claims_html, claims_markdown
from cliptail.runlog import logged


def main(
    table: str,
    evalset: str,
    out_csv: str,
    out_md: str,
    out_html: str,
    defaults: dict | None = None,
    log: str | None = None,
) -> None:
    with logged(log) as logger:
        design = Design.from_config({"defaults": defaults or {}})
        df = claims(pd.read_parquet(table), evalset, design)
        with io.atomic_path(out_csv) as tmp:
            df.to_csv(tmp, index=False)
        io.write_text(out_md, claims_markdown(df))
        io.write_text(out_html, claims_html(df))
        logger.info("%d claims checked on %s", len(df), evalset)


if "snakemake" in globals():
    _smk = snakemake
    main(
        _smk.input.table,
        _smk.params.evalset,
        _smk.output.csv,
        _smk.output.markdown,
        _smk.output.html,
        dict(_smk.params.defaults),
        _smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", default="results/tables/runs.parquet")
    parser.add_argument("--evalset", default="val")
    parser.add_argument("--out", default="results/report/claims", help="output stem")
    parser.add_argument(
        "--config",
        action="append",
        default=[],
        help="configuration file(s) whose `defaults` are the design's baseline (later win)",
    )
    args = parser.parse_args()
    config: dict = {}
    for path in args.config:
        config = deep_merge(config, load_yaml(path))
    main(
        args.table,
        args.evalset,
        f"{args.out}.csv",
        f"{args.out}.md",
        f"{args.out}.html",
        config.get("defaults", {}),
    )
