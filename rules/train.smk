# Training: one job per run; CLIP and SL are separate rules so that profiles can size them apart.
# The recipe reaches the job as `params.spec` (a change retrains exactly the affected runs); the
# job's threads (`threads`, `--set-threads`), device (`gpu` resource) and data-loader workers
# (`loader_workers` resource) are runtime settings: changing them retrains nothing. Resume state
# lives in results/resume/<run>/, outside the declared outputs (which Snakemake deletes before a
# rerun), keyed by a hash of the spec, so a changed run starts afresh.


rule train_clip:
    """Train CLIP (open_clip, contrastive loss over the batch) on one dataset variant."""
    input:
        unpack(lambda w: FILES.train(w.run)),
        code=code("models", "train", "data.images", "data.dataset_dir"),
    output:
        **layout.RUN_FILES,
    log:
        "results/logs/train/{run}.log",
    benchmark:
        "results/benchmarks/train/{run}.tsv"
    wildcard_constraints:
        run=r"clip_.+",
    conda:
        ENV
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        loader_workers=0,
        torchrun=0,  # 1: start torchrun (DDP) even for one process, the multi-GPU code path
        mem_mb=4000,
        runtime=120,
    params:
        spec=lambda w: train_spec(PLAN.runs[w.run]),
        resume_dir=lambda w: f"{layout.RESUME}/{w.run}",
    script:
        "../workflow/scripts/train.py"


use rule train_clip as train_sl with:
    wildcard_constraints:
        run=r"sl_.+",


use rule train_clip as train_dino with:
    wildcard_constraints:
        run=r"dino_.+",
