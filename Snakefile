# cliptail: reproduce "What Makes CLIP More Robust to Long-Tailed Pre-Training Data?"
#
#   snakemake --cores all                                        # embedded default study (mini)
#   snakemake --cores all --configfile config/presets/smoke.yaml # seconds-scale smoke study
#   snakemake -n                                                 # preview what would run
#   snakemake --cores all figures                                # a named target
#
# Rules only wire; logic lives in src/cliptail, I/O in workflow/scripts.

from pathlib import Path

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


# Every job runs in this environment when Snakemake is asked to manage software
# (`--software-deployment-method conda`); by default, in the active virtual environment.
conda: "envs/cliptail.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/curate.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/figures.smk"
include: "rules/report.smk"
include: "rules/download.smk"
include: "rules/frequency.smk"
include: "rules/curate_real.smk"


rule all:
    default_target: True
    input:
        rules.figures.input,
        rules.report.input,


rule data:
    input:
        expand("results/data/{dataset}/frequency.tsv", dataset=PLAN.datasets),
        expand("results/data/eval_{evalset}/manifest.parquet", evalset=config["evalsets"]),


rule train:
    input:
        expand("results/runs/{run}/checkpoint.pt", run=PLAN.runs),


rule evaluate:
    input:
        "results/tables/runs.parquet",
