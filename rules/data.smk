# Raw inputs: the embedded synthetic world (real sources live in rules/download.smk).


rule generate_world:
    """Render the synthetic long-tailed image-text world (all splits)."""
    output:
        world=f"{WORLD}/world.json",
        classes=f"{WORLD}/classes.tsv",
        concepts=f"{WORLD}/concepts.parquet",
        images=expand(f"{WORLD}/images/{{split}}.npy", split=WORLD_SPLITS),
        metadata=expand(f"{WORLD}/metadata/{{split}}.parquet", split=WORLD_SPLITS),
    input:
        code("data.synthetic"),
    params:
        world=config["world"],
    log:
        "results/logs/generate_world.log",
    benchmark:
        "results/benchmarks/generate_world.tsv"
    resources:
        mem_mb=4000,
        runtime=30,
    script:
        "../workflow/scripts/generate_world.py"
