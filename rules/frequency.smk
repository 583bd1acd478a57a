# Concept frequency of web caption sets (PAPER.md section 4) and the figures drawn from the
# authors' released web-dataset frequencies (Fig. 1a, 21, 13; Table 1 frequency part).
#
# Config (all optional; absent = no caption set to count):
#   concept_frequency:
#     workers: 4            # processes per counting job (the job's threads)
#     batch_size: 20000     # captions per batch
#     nltk_morphy: "3.8"    # "3.8" = the authors' NLTK (repeated suffix rules) | "3.9"
#     runtime: 1440         # minutes allowed per counting job (cluster time limit)
#     sets:
#       <name>:
#         captions: [files]           # parquet/tsv/csv/jsonl/txt(.gz) or a MetaCLIP datacard .json
#         column: TEXT                # caption column/key (default: caption, TEXT or text)
#         format: parquet             # default: from the file suffix
#         concepts: imagenet          # a concept set, a synonyms .json path, or a list of them
# Outputs: results/frequency/<name>_<concepts>.tsv (class order) and .sorted.tsv (by count).

import re

from cliptail.figures import web_frequency as WF

FREQ = config.get("concept_frequency") or {}
FREQ_SETS = FREQ.get("sets") or {}
FREQ_METADATA = "resources/metadata"


def _concept_list(value):
    return [value] if isinstance(value, str) else list(value)


def _concept_key(concepts):
    """Output name of a concept set: its name, or a synonyms file's stem."""
    return concepts if concepts in WF.CONCEPT_SET_LABELS else Path(concepts).stem


FREQ_JOBS = {  # (name, concept key) -> concept set or synonyms file
    (name, _concept_key(c)): c
    for name, spec in FREQ_SETS.items()
    for c in _concept_list(spec.get("concepts", "imagenet"))
}
FREQ_OUTPUTS = [f"results/frequency/{name}_{key}.tsv" for name, key in FREQ_JOBS]


def _alternation(values):
    return "|".join(re.escape(v) for v in sorted(set(values), key=len, reverse=True)) or "(?!)"


def concept_inputs(wildcards):
    concepts = FREQ_JOBS[(wildcards.name, wildcards.concepts)]
    if concepts == "imagenet":
        names = ["imagenet", "imagenet_synset"]
    elif concepts in WF.CONCEPT_SET_LABELS:
        names = [concepts]
    else:
        return {"captions": FREQ_SETS[wildcards.name]["captions"], "concepts": [concepts]}
    return {
        "captions": FREQ_SETS[wildcards.name]["captions"],
        "concepts": [f"{FREQ_METADATA}/descriptors/descriptors_{n}.json" for n in names],
    }


rule concept_frequency:
    """Per-class concept frequency of one configured caption set for one concept set."""
    input:
        unpack(concept_inputs),
        code=code("curate.concept_frequency", "curate.concept_sets", "curate.wordnet"),
    output:
        frequency="results/frequency/{name}_{concepts}.tsv",
        sorted="results/frequency/{name}_{concepts}.sorted.tsv",
    wildcard_constraints:
        name=_alternation(FREQ_SETS),
        concepts=_alternation(k for _, k in FREQ_JOBS),
    params:
        concepts=lambda w: FREQ_JOBS[(w.name, w.concepts)],
        column=lambda w: FREQ_SETS[w.name].get("column"),
        format=lambda w: FREQ_SETS[w.name].get("format"),
        metadata=FREQ_METADATA,
        batch_size=FREQ.get("batch_size", 20000),
        nltk_morphy=str(FREQ.get("nltk_morphy", "3.8")),
    log:
        "results/logs/frequency/{name}_{concepts}.log",
    benchmark:
        "results/benchmarks/concept_frequency/{name}_{concepts}.tsv"
    threads: FREQ.get("workers", 4)
    resources:
        mem_mb=lambda wildcards, threads: 1000 + 500 * threads,
        runtime=FREQ.get("runtime", 1440),
    script:
        "../workflow/scripts/concept_frequency.py"


rule concept_frequencies:
    """Every configured caption set x concept set."""
    input:
        FREQ_OUTPUTS,


# --- figures from the authors' released frequency files ------------------------------------

WEB_FREQ_FIGURES = {  # output stem -> (figure kind, concept sets it reads)
    "fig01a_web_frequency": ("fig01a", ["imagenet"]),
    "fig21_web_frequency_bands": ("fig21", ["imagenet"]),
    "fig13_web_frequency_spearman": ("fig13", list(WF.CONCEPT_SET_LABELS)),
}


def released_files(concept_sets):
    """{concept set: {dataset: released file path}} for the six web datasets."""
    return {
        c: {d: f"{FREQ_METADATA}/freqs/{WF.released_frequency_file(d, c)}" for d in WF.WEB_DATASETS}
        for c in concept_sets
    }


rule web_frequency_figure:
    """Fig. 1a, 21 or 13 from the released web-dataset frequencies."""
    input:
        freqs=lambda w: [p for files in released_files(WEB_FREQ_FIGURES[w.stem][1]).values()
                         for p in files.values()],
        code=code("figures.web_frequency", "figures.style", "figures.output"),
    output:
        png="results/figures/{stem}.png",
        pdf="results/figures/{stem}.pdf",
    wildcard_constraints:
        stem=_alternation(WEB_FREQ_FIGURES),
    params:
        kind=lambda w: WEB_FREQ_FIGURES[w.stem][0],
        files=lambda w: released_files(WEB_FREQ_FIGURES[w.stem][1]),
        rank_by=WF.RANK_BY,
        window=WF.SMOOTH_WINDOW,
    log:
        "results/logs/figures/{stem}.log",
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/web_frequency_figures.py"


rule table01_yfcc_rare_classes:
    """Table 1, frequency part: YFCC-15M's ImageNet classes with frequency below the threshold."""
    input:
        freqs=[f"{FREQ_METADATA}/freqs/{WF.released_frequency_file('yfcc15m', 'imagenet')}"],
        code=code("figures.web_frequency"),
    output:
        table="results/tables/table01_yfcc_rare_classes.csv",
    params:
        kind="table01",
        files={"imagenet": {"yfcc15m": f"{FREQ_METADATA}/freqs/"
                                       f"{WF.released_frequency_file('yfcc15m', 'imagenet')}"}},
        threshold=WF.RARE_THRESHOLD,
    log:
        "results/logs/tables/table01_yfcc_rare_classes.log",
    resources:
        mem_mb=500,
        runtime=5,
    script:
        "../workflow/scripts/web_frequency_figures.py"



rule web_frequency_figures:
    """Fig. 1a, 21, 13 and Table 1 (frequency part) from the released frequencies."""
    input:
        expand("results/figures/{stem}.png", stem=WEB_FREQ_FIGURES),
        "results/tables/table01_yfcc_rare_classes.csv",
