# Figures: pure functions of the tidy tables (src/cliptail/figures), one output per paper figure.
# A figure reads only the tables of the studies it shows, so changing one study reruns only its
# figures; editing a figure module reruns only the figures made by it.

from cliptail import figures as FIGURES
from cliptail.study import normalise_factors, run_name

EVALSET = config["figures"]["evalset"]

# figure stem -> (function in cliptail.figures, studies whose tables it reads)
STUDY_FIGURES = {
    "fig03_descriptiveness_vocabulary": ("fig03", ["descriptiveness", "vocabulary"]),
    "fig19_frozen_text": ("fig19", ["text_tower"]),
    "fig04b_distribution": ("fig04b", ["distribution"]),
    "fig05_scale": ("fig05", ["scale"]),
    "fig06_open_world": ("fig06", ["open_world"]),
    "fig07a_nc_correlations": ("fig07a", ["descriptiveness", "vocabulary", "text_tower"]),
}
STUDY_FIGURES = {
    stem: (func, [s for s in studies if s in PLAN.studies])
    for stem, (func, studies) in STUDY_FIGURES.items()
    if any(s in PLAN.studies for s in studies)
}


def default_run(method):
    """The run with every factor at its default, for the given method (None if not planned)."""
    name = run_name(normalise_factors({**config["defaults"], "method": method}))
    return name if name in PLAN.runs else None


BASELINES = {label: default_run(m) for label, m in (("CLIP", "clip"), ("SL", "sl"))}
BASELINES = {label: name for label, name in BASELINES.items() if name}
TRIM_RUNS = [r.name for r in PLAN.runs_of("trim_tail")] if "trim_tail" in PLAN.studies else []

PER_CLASS_FIGURES = {}
if BASELINES:
    PER_CLASS_FIGURES["fig11_pearson_spearman"] = ("fig11", list(BASELINES.values()))
    PER_CLASS_FIGURES["fig15_binned"] = ("fig15", list(BASELINES.values()))
if TRIM_RUNS:
    PER_CLASS_FIGURES["fig08_trim_tail"] = ("fig08", TRIM_RUNS)
    PER_CLASS_FIGURES["fig09b_tail_classes"] = ("fig09b", TRIM_RUNS)

FIGURE_STEMS = list(STUDY_FIGURES) + list(PER_CLASS_FIGURES)
if "distribution" in PLAN.studies or "scale" in PLAN.studies:
    FIGURE_STEMS.append("fig04a_frequency_variants")
FREQUENCY_DATASETS = sorted({
    r.dataset for s in ("distribution", "scale") if s in PLAN.studies for r in PLAN.runs_of(s)
})


def figure_inputs(wildcards):
    stem = wildcards.figure
    inputs = {"code": code("figures")}
    if stem in STUDY_FIGURES:
        inputs["tables"] = [f"results/tables/studies/{s}.parquet" for s in STUDY_FIGURES[stem][1]]
    elif stem in PER_CLASS_FIGURES:
        runs = PER_CLASS_FIGURES[stem][1]
        inputs["per_class"] = [f"results/eval/{r}/{EVALSET}.parquet" for r in runs]
        if stem in ("fig08_trim_tail", "fig09b_tail_classes"):
            inputs["curation"] = [f"results/data/{PLAN.runs[r].dataset}/curation.json" for r in runs]
        if stem == "fig08_trim_tail":
            inputs["tables"] = ["results/tables/studies/trim_tail.parquet"]
    elif stem == "fig04a_frequency_variants":
        inputs["frequencies"] = [f"results/data/{d}/frequency.tsv" for d in FREQUENCY_DATASETS]
    return inputs


def figure_params(wildcards):
    stem = wildcards.figure
    if stem in STUDY_FIGURES:
        return {"function": STUDY_FIGURES[stem][0], "kind": "tables"}
    if stem in PER_CLASS_FIGURES:
        func, runs = PER_CLASS_FIGURES[stem]
        labels = {name: label for label, name in BASELINES.items()}
        return {"function": func, "kind": "per_class",
                "labels": [labels.get(r, r) for r in runs],
                "factors": {r: PLAN.runs[r].factors for r in runs}}
    return {"function": "fig04a", "kind": "frequencies", "labels": FREQUENCY_DATASETS}


rule figure:
    """One paper figure (PNG for the report and the README, PDF for papers)."""
    input:
        unpack(figure_inputs),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf="results/figures/{figure}.pdf",
        caption="results/figures/{figure}.caption.txt",
    wildcard_constraints:
        figure=one_of(FIGURE_STEMS),
    params:
        figure=figure_params,
        caption=lambda w: FIGURES.CAPTIONS[figure_params(w)["function"]],
        evalset=EVALSET,
    log:
        "results/logs/figures/{figure}.log",
    resources:
        mem_mb=2000,
        runtime=5,
    script:
        "../workflow/scripts/figure.py"


rule figures:
    input:
        expand("results/figures/{figure}.png", figure=FIGURE_STEMS),
