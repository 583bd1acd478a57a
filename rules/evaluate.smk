# Evaluation: per-class records and scalars per (run, evaluation set), then tidy tables.


def evaluate_inputs(wildcards):
    run = PLAN.runs[wildcards.run]
    inputs = {
        "model": f"results/runs/{run.name}/checkpoint.pt",
        "frequency": f"results/data/{run.dataset}/frequency.tsv",
        "curation": f"results/data/{run.dataset}/curation.json",
        "manifest": f"results/data/eval_{wildcards.evalset}/manifest.parquet",
        "classes": f"results/data/eval_{wildcards.evalset}/classes.tsv",
        "images": images_inputs(wildcards.evalset)
        if wildcards.evalset in REAL.REAL_EVALSETS
        else f"{WORLD}/images/{wildcards.evalset}.npy",
        "code": code("evaluate", "models"),
    }
    if uses_frozen_text(run):
        inputs["prompt_embeddings"] = f"results/data/eval_{wildcards.evalset}/prompt_embeddings.npy"
    return inputs


rule evaluate_run:
    """Zero-shot (CLIP) or nearest-prototype (SL) evaluation with per-class and NC metrics."""
    input:
        unpack(evaluate_inputs),
    output:
        per_class="results/eval/{run}/{evalset}.parquet",
        scalars="results/eval/{run}/{evalset}.json",
    params:
        dataset=lambda w: PLAN.runs[w.run].dataset,
        images_root=lambda w: images_root(w.evalset),
    log:
        "results/logs/evaluate/{run}_{evalset}.log",
    resources:
        mem_mb=3000,
        runtime=20,
    script:
        "../workflow/scripts/evaluate_run.py"


rule study_table:
    """Tidy table of one study: a row per (run, evaluation set), every factor a column."""
    input:
        scalars=study_evals,
        code=code("evaluate.aggregate"),
    output:
        table="results/tables/studies/{study}.parquet",
    params:
        study=lambda w: w.study,
        runs=lambda w: {r.name: r.factors for r in PLAN.runs_of(w.study)},
        preset=config["preset"],
    log:
        "results/logs/tables/{study}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/study_table.py"


rule runs_table:
    """All studies in one tidy table, plus headline scalars for DVC metrics."""
    input:
        tables=expand("results/tables/studies/{study}.parquet", study=PLAN.studies),
        code=code("evaluate.aggregate"),
    output:
        table="results/tables/runs.parquet",
        summary="results/tables/summary.json",
    log:
        "results/logs/tables/runs.log",
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/runs_table.py"
