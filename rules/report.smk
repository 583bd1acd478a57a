# The claims table (paper value vs ours) and the inputs of the HTML report
# (`snakemake --report results/report/report.html`, run by `make reproduce`).


rule claims:
    """Which of the paper's claims hold on this study, with the paper's and our numbers."""
    input:
        table="results/tables/runs.parquet",
        code=code("evaluate.claims"),
    output:
        csv="results/report/claims.csv",
        markdown=report("results/report/claims.md", caption="../report/claims.rst", category="Claims"),
    params:
        evalset=EVALSET,
    log:
        "results/logs/report/claims.log",
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/claims.py"


rule report:
    input:
        "results/report/claims.md",
        "results/tables/runs.parquet",
        "results/tables/summary.json",
        rules.figures.input,
