# cliptail: reproduce "What Makes CLIP More Robust to Long-Tailed Pre-Training Data?"
#
#   snakemake --cores all                                        # embedded default study (mini)
#   snakemake --cores all --configfile config/presets/smoke.yaml # the smoke study (minutes)
#   snakemake -n                                                 # preview what would run
#   snakemake --cores all figures                                # a named target
#
# Rules only wire: logic lives in src/cliptail, I/O in workflow/scripts. Every rule names its
# software environment with `conda:` (envs/cliptail.yaml): Snakemake uses it when asked to
# manage software (`--software-deployment-method conda`); otherwise jobs run in the active
# virtual environment.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/world.smk"
include: "rules/download.smk"
include: "rules/laionet.smk"
include: "rules/curate.smk"
include: "rules/embed.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/transfer.smk"
include: "rules/zeroshot_sets.smk"
include: "rules/audit.smk"
include: "rules/figures.smk"
include: "rules/frequency.smk"
include: "rules/report.smk"


# Jobs that reach the network (compute nodes may be offline) or take seconds (not worth an
# sbatch each) run on the machine that runs Snakemake.
localrules:
    all,
    data,
    train,
    evaluate,
    figures,
    web_frequency_figures,
    real_datasets,
    download_metadata,
    concept_frequencies,
    report,
    download_metadata_file,
    download_imagenetv2,
    download_incaps,
    download_laion_part,
    prepare_transfer,
    wordnet,
    locate_imagenet,
    user_provided_file,
    study_table,
    runs_table,
    transfer_table,
    audit_table,
    audit,
    plot_data,
    claims,


rule all:
    """The configured studies end to end: figures, claims, tables and plot data.

    It also names every checkpoint and evaluation record the tables summarise, so that a deleted
    or killed run is trained and evaluated again (cliptail.layout.JobFiles.eval_records).
    """
    default_target: True
    input:
        rules.report.input,
        RUN_OUTPUTS,
        EVAL_RECORDS,
        PROBE_RECORDS,
        AUDIT.record_files(),


rule data:
    """Every training set and evaluation set of the configured studies."""
    input:
        [DatasetDir.layout(layout.dataset_dir(d))["frequency"] for d in PLAN.datasets],
        [DatasetDir.layout(layout.evalset_dir(e))["manifest"] for e in EVALSETS],


rule train:
    """Every training run of the configured studies."""
    input:
        RUN_OUTPUTS,


rule evaluate:
    """Every evaluation (zero-shot and linear probes) and the tidy tables."""
    input:
        layout.RUNS_TABLE,
        RUN_OUTPUTS,
        EVAL_RECORDS,
        PROBE_RECORDS,
        [layout.study_table(s) for s in PLAN.probe_studies()],
