# Training: one job per run. CLIP and SL are separate rules so that profiles can size them apart.
# Resume state lives in results/resume/<run>/ (outside the declared outputs, which Snakemake
# deletes before a rerun); it is keyed by a hash of the spec, so a changed run starts afresh.


def train_inputs(wildcards):
    run = PLAN.runs[wildcards.run]
    data = f"results/data/{run.dataset}"
    inputs = {
        "manifest": f"{data}/manifest.parquet",
        "classes": f"{data}/classes.tsv",
        "images": images_inputs(PLAN.datasets[run.dataset].base)
        if run.dataset in REAL_DATASETS
        else expand(f"{WORLD}/images/{{split}}.npy", split=["train", "web"]),
        "code": code("models", "train", "data.images"),
    }
    if uses_frozen_text(run):
        inputs["text_embeddings"] = f"{data}/text_embeddings.npy"
    if uses_frozen_head(run):
        inputs["class_embeddings"] = f"{data}/class_embeddings.npy"
    return inputs


TRAIN_OUTPUT = dict(
    model="results/runs/{run}/checkpoint.pt",
    log="results/runs/{run}/train.jsonl",
    meta="results/runs/{run}/run.json",
)


rule train_clip:
    """Train CLIP (open_clip, contrastive loss over the batch) on one dataset variant."""
    input:
        unpack(train_inputs),
    output:
        **TRAIN_OUTPUT,
    wildcard_constraints:
        run=r"clip_.+",
    params:
        spec=lambda w: train_spec(PLAN.runs[w.run]),
        images_root=run_images_root,
        resume_dir=lambda w: f"results/resume/{w.run}",
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=4000,
        runtime=120,
    script:
        "../workflow/scripts/train.py"


rule train_sl:
    """Train a supervised prototype classifier (optionally with vocabulary subsampling)."""
    input:
        unpack(train_inputs),
    output:
        **TRAIN_OUTPUT,
    wildcard_constraints:
        run=r"sl_.+",
    params:
        spec=lambda w: train_spec(PLAN.runs[w.run]),
        images_root=run_images_root,
        resume_dir=lambda w: f"results/resume/{w.run}",
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=4000,
        runtime=120,
    script:
        "../workflow/scripts/train.py"
