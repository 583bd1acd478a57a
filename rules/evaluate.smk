# Evaluation: per-class records, scalars and classifiers per (run, evaluation set), then tidy
# tables.
# One job per run evaluates it on every evaluation set: the model is loaded once (and, on a
# cluster, one GPU allocation serves all sets); the outputs stay one record per (run, set).


rule evaluate_run:
    """Zero-shot (CLIP) or nearest-prototype (SL) evaluation with per-class and NC metrics."""
    input:
        unpack(lambda w: FILES.evaluate(w.run)),
        code=code(
            "evaluate.metrics",
            "evaluate.records",
            "evaluate.zeroshot",
            "models",
            "data.images",
            "data.dataset_dir",
            "data.manifest",
            "openclip",
            "io",
        ),
    output:
        per_class=expand("results/eval/{{run}}/{evalset}.parquet", evalset=EVALSETS),
        scalars=expand("results/eval/{{run}}/{evalset}.json", evalset=EVALSETS),
        classifier=expand("results/eval/{{run}}/{evalset}.classifier.npy", evalset=EVALSETS),
        bootstrap=expand("results/eval/{{run}}/{evalset}.bootstrap.parquet", evalset=EVALSETS),
    log:
        "results/logs/evaluate/{run}.log",
    benchmark:
        "results/benchmarks/evaluate/{run}.tsv"
    wildcard_constraints:
        run=r"(clip|sl)_.+",
    conda:
        ENV
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=3000,
        runtime=20 * len(EVALSETS),
    params:
        dataset=lambda w: PLAN.runs[w.run].dataset,
        evalsets=EVALSETS,
        zeroshot_names=config["evaluation"]["zeroshot_names"],
        templates=config["evaluation"]["templates"],
        nc1_pinv=config["evaluation"]["nc1_pinv"],
    script:
        "../workflow/scripts/evaluate_run.py"


rule study_table:
    """Tidy table of one study: a row per (run, evaluation set), every factor a column."""
    input:
        scalars=lambda w: FILES.study_scalars(w.study),
        code=code("evaluate.aggregate"),
    output:
        table="results/tables/studies/{study}.parquet",
    log:
        "results/logs/tables/{study}.log",
    wildcard_constraints:
        study=one_of(PLAN.zeroshot_studies()),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        study=lambda w: w.study,
        runs=lambda w: {r.name: r.factors for r in PLAN.runs_of(w.study)},
        preset=config["preset"],
    script:
        "../workflow/scripts/study_table.py"


rule runs_table:
    """All studies in one tidy table, plus headline scalars (DVC metrics)."""
    input:
        tables=[layout.study_table(s) for s in PLAN.zeroshot_studies()],
        code=code("evaluate.aggregate"),
    output:
        table=layout.RUNS_TABLE,
        summary=layout.SUMMARY,
    log:
        "results/logs/tables/runs.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/runs_table.py"


rule plot_data:
    """Data behind `dvc plots`: per-class accuracy vs frequency of the default runs, training loss."""
    input:
        per_class=[
            layout.per_class_record(run, config["figures"]["evalset"])
            for run in PLAN.baselines().values()
        ],
        train_logs=[layout.RUN_FILES["log"].format(run=r) for r in PLAN.runs],
        code=code("evaluate.aggregate"),
    output:
        per_class="results/tables/plots/per_class_accuracy.csv",
        loss="results/tables/plots/training_loss.csv",
    log:
        "results/logs/tables/plot_data.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        baselines=list(PLAN.baselines()),
    script:
        "../workflow/scripts/plot_data.py"
