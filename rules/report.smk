# The claims table (paper value vs ours) and the HTML report
# (`snakemake --report results/report/report.html`, made after the run by `make reproduce`).


rule claims:
    """Which of the paper's claims hold on this study, with the paper's and our numbers."""
    input:
        table=layout.RUNS_TABLE,
        code=code("evaluate.claims"),
    output:
        csv="results/report/claims.csv",
        markdown="results/report/claims.md",
        html=report("results/report/claims.html", caption="../report/claims.rst", category="Claims"),
    log:
        "results/logs/report/claims.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        evalset=config["figures"]["evalset"],
        defaults=PLAN.defaults,
    script:
        "../workflow/scripts/claims.py"


rule report:
    """Everything the HTML report shows."""
    input:
        rules.claims.output,
        layout.RUNS_TABLE,
        layout.SUMMARY,
        rules.plot_data.output,
        rules.figures.input,
