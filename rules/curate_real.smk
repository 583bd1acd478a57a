# Curation of the real data (paper preset): training-set variants of the base datasets of
# rules/download.smk, one rule per variant family (PAPER.md section 4), and the real evaluation
# sets. Which planned dataset belongs to which family is decided in rules/common.smk
# (REAL_DATASETS, from cliptail.curate.real_datasets.family); the synthetic world's variants stay
# with rule curate_dataset. Every rule runs workflow/scripts/curate_real.py.
#
#   sources.laionet.in_caps_size     size of the IN-Caps-sized LAIONet variants (448,896)
#   sources.laionet.retrieval_pool   =freq top-up pool (parquet: image, label, caption,
#                                    retrieval_score; images in the LAIONet shards); unset: none
#   sources.wordnet_dir              WordNet 3.0 folder for synset templates (auto-detected)


def _family_names(fam):
    return one_of([n for n, f in REAL_DATASETS.items() if f == fam])


def _real_inputs(wildcards):
    factors = PLAN.datasets[wildcards.dataset].factors
    base = f"results/data/{REAL.base_dataset(factors['source'])}"
    inputs = {
        "manifest": f"{base}/manifest.parquet",
        "classes": f"{base}/classes.tsv",
        "source": f"{base}/source.json",
        "code": code("curate.real_datasets", "curate.captions", "curate.subsets",
                     "curate.laionet_variants", "curate.matching"),
    }
    if factors["classes"] != "eval":
        inputs["imagenet100"] = f"{_META}/imagenet100_idxs.txt"
    if factors["source"] == "laionet_freq":
        inputs["incaps_frequency"] = "results/data/incaps/frequency.tsv"
        pool = source_option("laionet", "retrieval_pool")
        if pool:
            inputs["pool"] = pool
    return inputs


REAL_CURATE_OUTPUT = {
    "manifest": "results/data/{dataset}/manifest.parquet",
    "classes": "results/data/{dataset}/classes.tsv",
    "frequency": "results/data/{dataset}/frequency.tsv",
    "report": "results/data/{dataset}/curation.json",
}
REAL_CURATE_PARAMS = dict(
    factors=lambda w: PLAN.datasets[w.dataset].factors,
    in_caps_size=int(source_option("laionet", "in_caps_size", 448_896)),
    wordnet_dir=WORDNET_DIR,
)


rule curate_incaps_captions:
    """IN-Caps caption variant (nine types; class name prepended; 448,896 rows each)."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("incaps_captions"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule curate_incaps_subsets:
    """IN-Caps-100 (the classes of imagenet100_idxs.txt) and IN-Caps (10%) (same size, all classes)."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("incaps_subsets"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule curate_incaps_trim_tail:
    """IN-Caps with its k rarest classes trimmed to at most 0 or 1 image (seeded)."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("incaps_trim_tail"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule curate_laionet_variants:
    """LAIONet threshold variants at IN-Caps size and the scale fractions of the t=0.7 set."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("laionet_variants"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=16000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule curate_laionet_freq:
    """LAIONet "=freq": IN-Caps per-class counts from LAIONet, topped up from a retrieval pool."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("laionet_freq"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=16000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule curate_web_cls:
    """YFCC-15M-Cls / CC-12M-Cls training sets (optionally subsampled or trimmed)."""
    input:
        unpack(_real_inputs),
    output:
        **REAL_CURATE_OUTPUT,
    wildcard_constraints:
        dataset=_family_names("web_cls"),
    params:
        **REAL_CURATE_PARAMS,
    log:
        "results/logs/curate/{dataset}.log",
    resources:
        mem_mb=16000,
        runtime=30,
    script:
        "../workflow/scripts/curate_real.py"


rule real_eval_set:
    """A real evaluation set (ImageNet val, ImageNetV2 matched-frequency) from its base dataset."""
    input:
        manifest="results/data/{evalset}/manifest.parquet",
        classes="results/data/{evalset}/classes.tsv",
        code=code("curate.real_datasets"),
    output:
        manifest="results/data/eval_{evalset}/manifest.parquet",
        classes="results/data/eval_{evalset}/classes.tsv",
    wildcard_constraints:
        evalset=one_of(REAL.REAL_EVALSETS),
    log:
        "results/logs/curate/eval_{evalset}.log",
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/real_eval_set.py"


# User-provided inputs that no rule can fetch: a missing one fails with what to place where.
USER_FILES = {
    "yfcc15m_captions.jsonl": "the YFCC-15M caption list (jsonl with 'filepath' and 'caption'; "
                              "sources.yfcc15m.captions)",
    "cc12m_captions.tsv": "the CC-12M caption list (tsv/jsonl/parquet with an image and a caption "
                          "column; sources.cc12m.captions)",
}


rule user_provided_file:
    """Fail with a clear message when a user-provided file under resources/user/ is missing."""
    output:
        protected("resources/user/{user_file}"),
    wildcard_constraints:
        user_file=one_of(USER_FILES),
    params:
        what=lambda w: USER_FILES[w.user_file],
    log:
        "results/logs/download/user_{user_file}.log",
    script:
        "../workflow/scripts/require_user_file.py"
