# Curation: the training-set variants of the studies and the evaluation sets, as dataset folders
# (cliptail.data.dataset_dir). World variants come from resources/world/; real variants from
# the base datasets of rules/download.smk, one rule per curation family so that profiles can
# size them apart (cliptail.curate.real_datasets.family decides the family).


rule curate_world:
    """One training-set variant of the synthetic world (caption type, scale, classes, tail, source)."""
    input:
        **FILES.world_dataset(),
        code=code("curate.captions", "curate.subsets", "curate.world_datasets", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/{dataset}"),
    log:
        "results/logs/curate/{dataset}.log",
    wildcard_constraints:
        dataset=one_of(FILES.world_datasets()),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        factors=lambda w: PLAN.datasets[w.dataset].factors,
    script:
        "../workflow/scripts/curate_world.py"


rule world_eval_set:
    """A balanced evaluation set over the evaluation concepts (world split val or v2)."""
    input:
        metadata=f"{layout.WORLD}/metadata/{{evalset}}.parquet",
        concepts=f"{layout.WORLD}/concepts.parquet",
        code=code("curate.world_datasets"),
    output:
        **DatasetDir.layout("results/data/eval_{evalset}", EVALUATION_PARTS),
    log:
        "results/logs/curate/eval_{evalset}.log",
    wildcard_constraints:
        evalset=one_of(factors.WORLD_EVALSETS),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/curate_world.py"


rule curate_incaps_captions:
    """IN-Caps caption variant (nine types; class name prepended; 448,896 rows each)."""
    input:
        unpack(lambda w: FILES.real_dataset(w.dataset)),
        code=code(
            "curate.real_datasets",
            "curate.captions",
            "curate.subsets",
            "curate.laionet_variants",
            "curate.matching",
            "data.dataset_dir",
            "data.wordnet",
        ),
    output:
        **DatasetDir.layout("results/data/{dataset}"),
    log:
        "results/logs/curate/{dataset}.log",
    wildcard_constraints:
        dataset=family_datasets("incaps_captions"),
    conda:
        ENV
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        factors=lambda w: PLAN.datasets[w.dataset].factors,
        # only the IN-Caps-sized LAIONet variants read it: a change reruns only them
        in_caps_size=lambda w: (
            SOURCES["laionet"]["in_caps_size"]
            if real_datasets.sized_to_incaps(PLAN.datasets[w.dataset].factors)
            else None
        ),
    script:
        "../workflow/scripts/curate_real.py"


use rule curate_incaps_captions as curate_incaps_subsets with:
    wildcard_constraints:
        dataset=family_datasets("incaps_subsets"),


use rule curate_incaps_captions as curate_incaps_trim_tail with:
    wildcard_constraints:
        dataset=family_datasets("incaps_trim_tail"),


use rule curate_incaps_captions as curate_laionet_variants with:
    wildcard_constraints:
        dataset=family_datasets("laionet_variants"),
    resources:
        mem_mb=16000,
        runtime=30,


use rule curate_laionet_variants as curate_laionet_freq with:
    wildcard_constraints:
        dataset=family_datasets("laionet_freq"),


use rule curate_laionet_variants as curate_web_cls with:
    wildcard_constraints:
        dataset=family_datasets("web_cls"),


use rule curate_laionet_variants as curate_imagenet with:
    wildcard_constraints:
        dataset=family_datasets("imagenet"),


rule real_eval_set:
    """A real evaluation set (ImageNet val, ImageNetV2, IN-100 = ImageNet val on 100 classes)."""
    input:
        unpack(lambda w: FILES.real_evalset(w.evalset)),
        code=code("curate.real_datasets", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/eval_{evalset}", EVALUATION_PARTS),
    log:
        "results/logs/curate/eval_{evalset}.log",
    wildcard_constraints:
        evalset=one_of(factors.REAL_EVALSETS),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        max_per_class=config["evaluation"]["max_per_class"],
    script:
        "../workflow/scripts/curate_real.py"
