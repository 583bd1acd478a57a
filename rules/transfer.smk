# Linear probes of the self-supervised runs (DINO, E8 / Fig. 10 / Table 2). A probe set is a
# dataset folder with train / val / test splits: a task of the world (rule world_probe_task) or
# one of the paper's transfer datasets (rule prepare_transfer). Features are encoded once per
# (run, probe set); the probe (45 L2 penalties, refit, test score) is a separate job, so editing
# the probe reruns only the probes. A probe study's table replaces the zero-shot study table.

from cliptail.data.probe_tasks import WORLD_TASKS
from cliptail.evaluate.transfer import prototype_columns

PROBE_SETS = FILES.probe_sets


WORLD_PROBE_TASKS = [p for p in PROBE_SETS if p in WORLD_TASKS]


rule world_probe_tasks:
    """The world's linear-probe tasks over the evaluation sets' images (60/20/20 % splits)."""
    input:
        evalsets=sorted(
            {
                path
                for task in WORLD_PROBE_TASKS
                for path in DatasetDir.layout(
                    layout.evalset_dir(WORLD_TASKS[task][0]), EVALUATION_PARTS
                ).values()
            }
        ),
        concepts=f"{layout.WORLD}/concepts.parquet",
        code=code("data.probe_tasks", "data.dataset_dir", "data.manifest", "io"),
    output:
        [
            path
            for task in WORLD_PROBE_TASKS
            for path in DatasetDir.layout(
                layout.probe_set_dir(task), EVALUATION_PARTS + ("report",)
            ).values()
        ],
    log:
        "results/logs/curate/probe_tasks.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        tasks={
            task: {
                "evalset": layout.evalset_dir(WORLD_TASKS[task][0]),
                "out": layout.probe_set_dir(task),
            }
            for task in WORLD_PROBE_TASKS
        },
    script:
        "../workflow/scripts/world_probe_task.py"


TRANSFER = SOURCES.get("transfer") or {}


rule prepare_transfer:
    """Download, verify, extract and read one of the paper's 12 transfer datasets (train / val /
    test; images in the dataset folder)."""
    input:
        code=code("data.transfer", "data.download", "data.dataset_dir", "data.manifest", "io"),
    output:
        **DatasetDir.layout("results/data/transfer_{name}", EVALUATION_PARTS + ("report",)),
    log:
        "results/logs/download/transfer_{name}.log",
    wildcard_constraints:
        name=one_of(p for p in PROBE_SETS if p not in WORLD_TASKS),
    conda:
        ENV
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        dataset=lambda w: w.name,
        downloads="resources/transfer",
        url_base=lambda w: (
            f"{TRANSFER['url_base'].rstrip('/')}/{w.name}" if TRANSFER.get("url_base") else None
        ),
        urls=TRANSFER.get("urls") or {},
        local_dir=TRANSFER.get("local_dir"),
        verify_checksums=TRANSFER.get("verify_checksums", True),
        verify_images=TRANSFER.get("verify_images", True),
    script:
        "../workflow/scripts/prepare_transfer.py"


# One job per run for each of the two steps: the features of every probe set (images shared by
# several sets are encoded once), then the probes of every set. Editing the probe reruns only
# the probes; a new probe set reruns both steps of every run.


rule probe_features:
    """A trained run's frozen image features of every probe set (DINO: the teacher backbone)."""
    input:
        unpack(lambda w: FILES.probe_features(w.run)),
        images=FILES.probe_images(),
        code=code(
            "evaluate.probe_features",
            "evaluate.zeroshot",
            "models",
            "data.images",
            "data.dataset_dir",
            "data.manifest",
            "openclip",
            "io",
        ),
    output:
        features=[layout.probe_features_file("{run}", p) for p in PROBE_SETS],
    log:
        "results/logs/probe/{run}.features.log",
    benchmark:
        "results/benchmarks/probe/{run}.features.tsv"
    wildcard_constraints:
        run=r"dino_.+",
    conda:
        ENV
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=3000,
        runtime=30 * max(1, len(PROBE_SETS)),
    params:
        probe_sets={p: layout.probe_set_dir(p) for p in PROBE_SETS},
    script:
        "../workflow/scripts/probe_features.py"


rule linear_probe:
    """L-BFGS logistic regression on each probe set's features: penalty chosen on val, scored
    on test."""
    input:
        features=[layout.probe_features_file("{run}", p) for p in PROBE_SETS],
        folders=[
            path
            for p in PROBE_SETS
            for path in DatasetDir.layout(layout.probe_set_dir(p), EVALUATION_PARTS).values()
        ],
        code=code("evaluate.linear_probe", "evaluate.transfer", "data.probe_tasks"),
    output:
        records=[layout.probe_result("{run}", p) for p in PROBE_SETS],
    log:
        "results/logs/probe/{run}.log",
    benchmark:
        "results/benchmarks/probe/{run}.tsv"
    wildcard_constraints:
        run=r"dino_.+",
    conda:
        ENV
    threads: 1
    resources:
        mem_mb=4000,
        runtime=20 * max(1, len(PROBE_SETS)),
    params:
        probe_sets={p: layout.probe_set_dir(p) for p in PROBE_SETS},
    script:
        "../workflow/scripts/linear_probe.py"


rule transfer_table:
    """Tidy table of a probe study: a row per (run, probe set), every factor a column."""
    input:
        records=lambda w: FILES.probe_results(w.study),
        code=code("evaluate.transfer"),
    output:
        table="results/tables/studies/{study}.parquet",
    log:
        "results/logs/tables/{study}.log",
    wildcard_constraints:
        study=one_of(PLAN.probe_studies()),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        study=lambda w: w.study,
        runs=lambda w: {
            r.name: {**r.factors, **prototype_columns(r.recipe)} for r in PLAN.runs_of(w.study)
        },
        preset=config["preset"],
        reference=(config.get("transfer") or {}).get("reference") or {},
    script:
        "../workflow/scripts/transfer_table.py"
