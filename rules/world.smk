# The embedded synthetic long-tailed world (resources/world/), the default study's raw data.


rule generate_world:
    """Render the synthetic long-tailed image-text world (all splits)."""
    input:
        code=code("data.synthetic"),
    output:
        world=f"{layout.WORLD}/world.json",
        classes=f"{layout.WORLD}/classes.tsv",
        concepts=f"{layout.WORLD}/concepts.parquet",
        images=expand(f"{layout.WORLD}/images/{{split}}.npy", split=layout.WORLD_SPLITS),
        metadata=expand(f"{layout.WORLD}/metadata/{{split}}.parquet", split=layout.WORLD_SPLITS),
    log:
        "results/logs/generate_world.log",
    benchmark:
        "results/benchmarks/generate_world.tsv"
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=30,
    params:
        world=config["world"],
    script:
        "../workflow/scripts/generate_world.py"
