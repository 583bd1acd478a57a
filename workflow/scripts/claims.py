"""Rule claims: which of the paper's claims hold on this study (CSV, Markdown and HTML).

The study design (the configured default factors) tells each claim which runs are its baseline:
the synthetic world's curated pool, or IN-Caps in the paper preset. Each run's class-bootstrap
replicates (``results/eval/<run>/<evalset>.bootstrap.parquet``) give the claims their 95 %
intervals; a run without that file (an evaluation from before the bootstrap) makes the claims
it enters inconclusive. The tables of the probe studies (DINO), when given, add the claims of
the paper's DINO experiment (cliptail.evaluate.transfer_claims); the audit's table and
replicates, the claims the paper makes from released CLIP models
(cliptail.evaluate.audit_claims).

Standalone: python workflow/scripts/claims.py --table results/tables/runs.parquet --evalset val \
    --out results/report/claims [--config config/config.yaml --config config/presets/paper.yaml] \
    [--eval-dir results/eval]
"""

import argparse
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from cliptail import io
from cliptail.config import deep_merge, load_yaml
from cliptail.evaluate.claims import Design, claims
from cliptail.evaluate.claims_report import claims_html, claims_markdown
from cliptail.evaluate.metrics import BOOTSTRAP_COLUMNS
from cliptail.runlog import logged


def read_replicates(paths: Mapping[tuple[str, str], str]) -> dict[tuple[str, str], pd.DataFrame]:
    """(run, evalset) -> its bootstrap replicates, for each path that exists."""
    return {
        key: io.read_parquet(path, columns=list(BOOTSTRAP_COLUMNS))
        for key, path in paths.items()
        if Path(path).is_file()
    }


def main(
    table: str,
    evalset: str,
    out_csv: str,
    out_md: str,
    out_html: str,
    defaults: dict | None = None,
    log: str | None = None,
    bootstrap: Mapping[tuple[str, str], str] | None = None,
    transfer_tables: list[str] | None = None,
    audit_table: str | None = None,
    audit_bootstrap: Mapping[tuple[str, str], str] | None = None,
    audit_evalset: str | None = None,
) -> None:
    """``bootstrap``: (run, evalset) -> its ``.bootstrap.parquet`` (missing files are
    skipped: those runs get no interval). ``transfer_tables``: the probe studies' tables.
    ``audit_table``, ``audit_bootstrap`` ((checkpoint, set) -> replicates), ``audit_evalset``:
    the open-source audit, whose claims are judged on ``audit_evalset``."""
    with logged(log) as logger:
        design = Design.from_config({"defaults": defaults or {}})
        runs = pd.read_parquet(table)
        replicates = read_replicates(bootstrap or {})
        pairs = set(zip(runs["run"], runs["evalset"], strict=True))
        lacking = sorted(pairs - set(replicates))
        if lacking:
            logger.warning(
                "%d (run, evaluation set) pairs have no bootstrap replicates, e.g. %s: the claims "
                "they enter are inconclusive (no interval); re-evaluate those runs",
                len(lacking),
                lacking[0],
            )
        df = claims(runs, evalset, design, replicates=replicates)
        if transfer_tables:
            from cliptail.evaluate.transfer_claims import transfer_claims

            probes = pd.concat([pd.read_parquet(p) for p in transfer_tables], ignore_index=True)
            df = pd.concat([df, transfer_claims(probes)], ignore_index=True)
        if audit_table:
            from cliptail.evaluate.audit_claims import audit_claims, released_replicates

            frames = {**replicates, **released_replicates(read_replicates(audit_bootstrap or {}))}
            audit = pd.read_parquet(audit_table)
            found = audit_claims(audit, runs, audit_evalset or evalset, design, frames)
            df = pd.concat([df, found], ignore_index=True)
        with io.atomic_path(out_csv) as tmp:
            df.to_csv(tmp, index=False)
        io.write_text(out_md, claims_markdown(df))
        io.write_text(out_html, claims_html(df))
        counts = df["verdict"].value_counts().to_dict()
        logger.info("%d claims checked on %s: %s", len(df), evalset, counts)


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
        bootstrap={
            (run, evalset): path
            for (run, evalset), path in zip(
                _smk.params.bootstrap_keys, _smk.input.bootstrap, strict=True
            )
        },
        transfer_tables=list(_smk.input.transfer_tables),
        audit_table=(list(_smk.input.audit_table) or [None])[0],
        audit_bootstrap={
            (checkpoint, aset): path
            for (checkpoint, aset), path in zip(
                _smk.params.audit_keys, _smk.input.audit_bootstrap, strict=True
            )
        },
        audit_evalset=_smk.params.audit_evalset,
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
    parser.add_argument(
        "--transfer-table",
        action="append",
        default=[],
        help="a probe study's table (results/tables/studies/<study>.parquet of a DINO study)",
    )
    parser.add_argument(
        "--eval-dir",
        default="results/eval",
        help="folder of the evaluations (<run>/<evalset>.bootstrap.parquet)",
    )
    args = parser.parse_args()
    config: dict = {}
    for path in args.config:
        config = deep_merge(config, load_yaml(path))
    _runs = pd.read_parquet(args.table, columns=["run", "evalset"])
    main(
        args.table,
        args.evalset,
        f"{args.out}.csv",
        f"{args.out}.md",
        f"{args.out}.html",
        config.get("defaults", {}),
        bootstrap={
            (r, e): str(Path(args.eval_dir) / r / f"{e}.bootstrap.parquet")
            for r, e in set(zip(_runs["run"], _runs["evalset"], strict=True))
        },
        transfer_tables=args.transfer_table,
    )
