"""Rule audit_records: per-class record, scalars, class-bootstrap replicates and t-SNE sample of a
released checkpoint on one set, against the web frequencies of its pre-training dataset (none:
NaN correlations).

Standalone: python workflow/scripts/audit_records.py --encoded E.features.npz \
    --classes results/data/eval_imagenet_val/classes.tsv [--frequency F.txt] --out-prefix /tmp/x
"""

import argparse

from cliptail import io
from cliptail.runlog import logged


def main(
    *,
    encoded: str,
    classes: str,
    frequency: str | None,
    out_parquet: str,
    out_json: str,
    out_sample: str,
    out_bootstrap: str,
    info: dict,
    nc1_pinv: str = "float32",
    sample_per_class: int = 10,
    log: str | None = None,
) -> None:
    from cliptail.audit.frequencies import aligned_counts
    from cliptail.audit.records import audit_records, feature_sample, read_encoded, write_npz

    with logged(log) as logger:
        names = io.read_classes(classes)["name"].tolist()
        freq = aligned_counts(frequency, names) if frequency else None
        data = read_encoded(encoded)
        per_class, scalars, bootstrap = audit_records(data, names, freq, nc1_pinv=nc1_pinv)
        io.write_parquet(out_parquet, per_class)
        io.write_parquet(out_bootstrap, bootstrap)
        io.write_json(out_json, {**info, "frequency_file": frequency, "scalars": scalars})
        write_npz(out_sample, feature_sample(data, sample_per_class))
        logger.info(
            "%s on %s: top1 %.4f rho_acc %.3f [%.3f, %.3f] rho_pred %.3f [%.3f, %.3f]%s",
            info.get("checkpoint"),
            info.get("evalset"),
            *(scalars[k] for k in ("top1", "rho_acc", "rho_acc_lo", "rho_acc_hi")),
            *(scalars[k] for k in ("rho_pred", "rho_pred_lo", "rho_pred_hi")),
            "" if frequency else " (no frequency file: no correlations)",
        )


if "snakemake" in globals():
    _smk = snakemake
    main(
        encoded=_smk.input.encoded,
        classes=_smk.input.classes,
        frequency=_smk.input.get("frequency") or None,
        out_parquet=_smk.output.record,
        out_json=_smk.output.scalars,
        out_sample=_smk.output.sample,
        out_bootstrap=_smk.output.bootstrap,
        info=dict(_smk.params.info),
        nc1_pinv=_smk.params.nc1_pinv,
        sample_per_class=_smk.params.sample_per_class,
        log=_smk.log[0],
    )
elif __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--encoded", required=True)
    parser.add_argument("--classes", required=True)
    parser.add_argument("--frequency")
    parser.add_argument("--out-prefix", required=True)
    args = parser.parse_args()
    main(
        encoded=args.encoded,
        classes=args.classes,
        frequency=args.frequency,
        out_parquet=f"{args.out_prefix}.parquet",
        out_json=f"{args.out_prefix}.json",
        out_sample=f"{args.out_prefix}.sample.npz",
        out_bootstrap=f"{args.out_prefix}.bootstrap.parquet",
        info={},
    )
