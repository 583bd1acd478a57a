#!/usr/bin/env bash
# Fetch the DVC-tracked results (synthetic world, curated datasets, checkpoints, evaluation
# records and tables) and make Snakemake accept them, so that a following `snakemake` run only
# redoes what DVC does not track (figures, report) and never retrains.
#
#   workflow/scripts/dvc_restore.sh                 # dvc pull, check, snakemake --touch
#   workflow/scripts/dvc_restore.sh -r myremote -j 8   # options after the script go to dvc pull
#
# Why the touch: `dvc pull` / `dvc checkout` write files with fresh modification times in no
# particular order, so Snakemake would see inputs newer than outputs and rerun (retrain) jobs; and
# a fresh clone has no .snakemake/ metadata, without which Snakemake would later miss changed
# params or code. `snakemake --touch --forceall` touches every restored output in the order of
# the DAG and records that metadata, without running anything. It does so only after
# `dvc status` confirms that the pulled results belong to this checkout's config and code
# (otherwise run `dvc repro`).
# The study (config file) is the `configfile` var of dvc.yaml.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/../.."
TARGETS=(evaluate plot_data)   # their DAG holds every job whose outputs dvc.yaml tracks
CONFIGFILE="$(python - <<'PY'
import yaml
variables = yaml.safe_load(open("dvc.yaml")).get("vars", [])
print(next(v["configfile"] for v in variables if isinstance(v, dict) and "configfile" in v))
PY
)"

dvc pull "$@"
if ! dvc status --quiet; then
    dvc status >&2
    echo "dvc_restore: the pulled results do not match this checkout's config or code (above);" \
        "not marking them up to date. Run 'dvc repro' to recompute what changed." >&2
    exit 1
fi
snakemake "${TARGETS[@]}" --touch --forceall --cores 1 --configfile "$CONFIGFILE"
echo "dvc_restore: results of $CONFIGFILE restored; 'snakemake --configfile $CONFIGFILE' now" \
    "only makes what DVC does not track (figures, report)."
