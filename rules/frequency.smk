# Concept frequency of web caption sets (docs/study.md section 4): how many captions of a set
# name each class of a concept set. Configure `concept_frequency.sets` (schema: every key);
# outputs results/frequency/<set>_<concepts>.tsv (class order) and .sorted.tsv (by count).
# Processes per job = the job's threads (default 4; `--set-threads concept_frequency=N`).

FREQUENCY_JOBS = FILES.concept_frequency_jobs()


rule concept_frequency:
    """Per-class concept frequency of one configured caption set for one concept set."""
    input:
        unpack(lambda w: FREQUENCY_JOBS[w.job]["inputs"]),
        code=code("curate.concept_frequency", "curate.concept_sets", "data.wordnet"),
    output:
        frequency="results/frequency/{job}.tsv",
        sorted="results/frequency/{job}.sorted.tsv",
    log:
        "results/logs/frequency/{job}.log",
    benchmark:
        "results/benchmarks/concept_frequency/{job}.tsv"
    wildcard_constraints:
        job=one_of(FREQUENCY_JOBS),
    conda:
        ENV
    threads: 4
    resources:
        mem_mb=lambda wildcards, threads: 1000 + 500 * threads,
        runtime=1440,
    params:
        job=lambda w: FREQUENCY_JOBS[w.job]["params"],
        metadata=layout.METADATA,
        batch_size=config["concept_frequency"]["batch_size"],
        nltk_morphy=config["concept_frequency"]["nltk_morphy"],
    script:
        "../workflow/scripts/concept_frequency.py"


rule concept_frequencies:
    """Every configured caption set x concept set."""
    input:
        expand("results/frequency/{job}.tsv", job=FREQUENCY_JOBS),
