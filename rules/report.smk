# The claims table (paper value vs ours) and the HTML report
# (`snakemake --report results/report/report.html`, made after the run by `make reproduce`).


rule claims:
    """Which of the paper's claims hold on this study: the paper's and our numbers, 95 % bootstrap
    intervals and a verdict (holds / does not hold / inconclusive / not tested)."""
    input:
        table=layout.RUNS_TABLE,
        bootstrap=list(FILES.bootstrap_records().values()),
        transfer_tables=[layout.study_table(s) for s in PLAN.probe_studies()],
        audit_table=[AUDIT_TABLE] if AUDIT.enabled else [],
        audit_bootstrap=list(AUDIT.bootstrap_files().values()),
        code=code(
            "evaluate.audit_claims",
            "evaluate.claims",
            "evaluate.verdicts",
            "evaluate.claims_report",
            "evaluate.metrics",
            "evaluate.transfer_claims",
            "evaluate.transfer",
        ),
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
        bootstrap_keys=[list(key) for key in FILES.bootstrap_records()],
        audit_keys=[list(key) for key in AUDIT.bootstrap_files()],
        audit_evalset=audit_claims_evalset(),
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
