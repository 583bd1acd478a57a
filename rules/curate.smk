# Curation: training-set variants of the studies, evaluation sets, and text-encoder caches.


rule curate_dataset:
    """One training-set variant (caption type, scale, class set, trimmed tail, source)."""
    input:
        train=f"{WORLD}/metadata/train.parquet",
        web=f"{WORLD}/metadata/web.parquet",
        classes=f"{WORLD}/classes.tsv",
        concepts=f"{WORLD}/concepts.parquet",
        code=code("curate.captions", "curate.subsets", "curate.world_datasets"),
    output:
        manifest="results/data/{dataset}/manifest.parquet",
        classes="results/data/{dataset}/classes.tsv",
        frequency="results/data/{dataset}/frequency.tsv",
        report="results/data/{dataset}/curation.json",
    wildcard_constraints:
        dataset=PLANNED_DATASETS,
    params:
        factors=lambda w: PLAN.datasets[w.dataset].factors,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=2000,
        runtime=10,
    script:
        "../workflow/scripts/curate_dataset.py"


rule eval_set:
    """A balanced evaluation set over the evaluation classes (world split val or v2)."""
    input:
        metadata=f"{WORLD}/metadata/{{evalset}}.parquet",
        classes=f"{WORLD}/classes.tsv",
        concepts=f"{WORLD}/concepts.parquet",
        code=code("curate.world_datasets"),
    output:
        manifest="results/data/eval_{evalset}/manifest.parquet",
        classes="results/data/eval_{evalset}/classes.tsv",
    log:
        "results/logs/curate/eval_{evalset}.log",
    wildcard_constraints:
        evalset=r"val|v2",
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/eval_set.py"


EMBEDDED_DATASETS = {run.dataset for run in PLAN.runs.values() if uses_frozen_text(run)}


def embed_captions_inputs(wildcards):
    inputs = {"manifest": f"results/data/{wildcards.dataset}/manifest.parquet",
              "code": code("models.text_encoder")}
    donor = PLAN.caption_donor(wildcards.dataset, EMBEDDED_DATASETS)
    if donor:
        inputs["reuse_source"] = f"results/data/{donor}/manifest.parquet"
        inputs["reuse_embeddings"] = f"results/data/{donor}/text_embeddings.npy"
    return inputs


def embed_prompts_inputs(wildcards):
    inputs = {"classes": f"results/data/eval_{wildcards.evalset}/classes.tsv",
              "code": code("models.text_encoder", "evaluate.zeroshot")}
    first = config["evalsets"][0]
    if wildcards.evalset != first:  # evaluation sets usually share their classes
        inputs["reuse_source"] = f"results/data/eval_{first}/classes.tsv"
        inputs["reuse_embeddings"] = f"results/data/eval_{first}/prompt_embeddings.npy"
    return inputs


rule embed_captions:
    """Pre-trained encoder embeddings of a dataset's captions (frozen text tower); a subset of a
    dataset that is embedded anyway copies its rows (only captions it lacks are encoded)."""
    input:
        unpack(embed_captions_inputs),
    output:
        embeddings="results/data/{dataset}/text_embeddings.npy",
    params:
        encoder=config["text_encoder"],
    log:
        "results/logs/embed/{dataset}_captions.log",
    benchmark:
        "results/benchmarks/embed_captions/{dataset}.tsv"
    threads: 1  # one core each: a 2-thread job would wait behind single-thread jobs
    priority: 10  # frozen-text training waits on these: start them first
    resources:
        mem_mb=3000,
        runtime=60,
    script:
        "../workflow/scripts/embed_texts.py"


rule embed_class_prototypes:
    """Frozen SL prototypes: sentence-encoder embeddings of "a {name}" for a dataset's classes."""
    input:
        classes="results/data/{dataset}/classes.tsv",
        code=code("models.text_encoder"),
    output:
        embeddings="results/data/{dataset}/class_embeddings.npy",
    params:
        encoder=config["text_encoder"],
    log:
        "results/logs/embed/{dataset}_classes.log",
    threads: 1  # one core each: a 2-thread job would wait behind single-thread jobs
    priority: 10  # frozen-text training waits on these: start them first
    resources:
        mem_mb=3000,
        runtime=10,
    script:
        "../workflow/scripts/embed_texts.py"


rule embed_eval_prompts:
    """Zero-shot prompts (80 templates x evaluation class names) for frozen-text CLIP."""
    input:
        unpack(embed_prompts_inputs),
    output:
        embeddings="results/data/eval_{evalset}/prompt_embeddings.npy",
    params:
        encoder=config["text_encoder"],
    log:
        "results/logs/embed/eval_{evalset}_prompts.log",
    threads: 1  # one core each: a 2-thread job would wait behind single-thread jobs
    priority: 10  # frozen-text training waits on these: start them first
    resources:
        mem_mb=3000,
        runtime=30,
    script:
        "../workflow/scripts/embed_texts.py"
