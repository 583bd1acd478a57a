# Evaluation: per-class records and scalars per (run, evaluation set), then tidy tables.
#
# One job per run evaluates it on every evaluation set: the model is loaded once (and, on a
# cluster, one allocation serves all sets); the outputs stay one record per (run, set).

EVALSETS = list(config["evalsets"])


def evaluate_inputs(wildcards):
    run = PLAN.runs[wildcards.run]
    inputs = {
        "model": f"results/runs/{run.name}/checkpoint.pt",
        "frequency": f"results/data/{run.dataset}/frequency.tsv",
        "curation": f"results/data/{run.dataset}/curation.json",
        "manifests": [f"results/data/eval_{e}/manifest.parquet" for e in EVALSETS],
        "classes": [f"results/data/eval_{e}/classes.tsv" for e in EVALSETS],
        "images": [path for e in EVALSETS
                   for path in (images_inputs(e) if e in REAL.REAL_EVALSETS
                                else [f"{WORLD}/images/{e}.npy"])],
        "code": code("evaluate", "models"),
    }
    if uses_frozen_text(run):
        inputs["prompt_embeddings"] = [f"results/data/eval_{e}/prompt_embeddings.npy"
                                       for e in EVALSETS]
    return inputs


rule evaluate_run:
    """Zero-shot (CLIP) or nearest-prototype (SL) evaluation with per-class and NC metrics."""
    input:
        unpack(evaluate_inputs),
    output:
        per_class=expand("results/eval/{{run}}/{evalset}.parquet", evalset=EVALSETS),
        scalars=expand("results/eval/{{run}}/{evalset}.json", evalset=EVALSETS),
    params:
        dataset=lambda w: PLAN.runs[w.run].dataset,
        evalsets=EVALSETS,
        images_roots=[images_root(e) for e in EVALSETS],
    log:
        "results/logs/evaluate/{run}.log",
    resources:
        mem_mb=3000,
        runtime=20 * len(EVALSETS),
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
