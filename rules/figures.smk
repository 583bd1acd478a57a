# Figures and tables of the paper: the catalogue (cliptail.figures.catalogue) says what each reads
# and which function draws it; FIGURES holds the jobs this configuration can draw, including the
# web-frequency figures and Table 1, drawn from the released frequencies shipped with cliptail.
# A figure reads only its own inputs, so changing one study reruns only its figures.


rule figure:
    """One paper figure (PNG for the report and the README, PDF for papers, and its caption)."""
    input:
        unpack(lambda w: FIGURES[w.figure].inputs),
        code=code("figures"),
    output:
        png=report(
            "results/figures/{figure}.png",
            caption="../report/figure.rst",
            category="Figures",
            labels={"figure": "{figure}"},
        ),
        pdf="results/figures/{figure}.pdf",
        caption="results/figures/{figure}.caption.txt",
    log:
        "results/logs/figures/{figure}.log",
    wildcard_constraints:
        figure=one_of(s for s, job in FIGURES.items() if not job.entry.table),
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=5,
    params:
        job=lambda w: FIGURES[w.figure].params,
    script:
        "../workflow/scripts/figure.py"


use rule figure as table with:
    output:
        csv=report(
            "results/tables/{figure}.csv",
            caption="../report/figure.rst",
            category="Tables",
            labels={"table": "{figure}"},
        ),
    log:
        "results/logs/tables/{figure}.log",
    wildcard_constraints:
        figure=one_of(s for s, job in FIGURES.items() if job.entry.table),


rule image_similarity:
    """Intra-class image similarity of one training set (Fig. 4a): per class, the mean cosine
    similarity of the pairs of a seeded sample of its images, encoded by the image tower of the
    default CLIP run (the same encoder for every training set)."""
    input:
        unpack(lambda w: FILES.image_similarity(w.dataset)),
        code=code(
            "evaluate.image_similarity",
            "evaluate.metrics",
            "evaluate.probe_features",
            "evaluate.zeroshot",
            "models",
            "data.images",
            "data.dataset_dir",
            "data.manifest",
            "openclip",
            "io",
        ),
    output:
        similarity=layout.image_similarity_file("{dataset}"),
    log:
        "results/logs/similarity/{dataset}.log",
    benchmark:
        "results/benchmarks/similarity/{dataset}.tsv"
    wildcard_constraints:
        dataset=one_of(PLAN.datasets),
    conda:
        ENV
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=3000,
        runtime=30,
    params:
        encoder=layout.similarity_encoder(PLAN),
        per_class=image_similarity.IMAGES_PER_CLASS,
        seed=image_similarity.SEED,
    script:
        "../workflow/scripts/image_similarity.py"


rule figures:
    """Every figure and table of the catalogue this configuration can draw."""
    input:
        [
            f"results/tables/{stem}.csv" if job.entry.table else layout.figure_file(stem)
            for stem, job in FIGURES.items()
        ],


rule web_frequency_figures:
    """Fig. 1a, 21, 13 and Table 1 (frequency part) from the authors' released frequencies."""
    input:
        [
            f"results/tables/{stem}.csv" if job.entry.table else layout.figure_file(stem)
            for stem, job in FIGURES.items()
            if job.entry.reads == "released_frequencies"
        ],
