# The open-source CLIP audit (E0 / E6): released open_clip checkpoints evaluated zero-shot on
# ImageNet val, ImageNetV2 and the other concept sets of Fig. 12, never trained. Weights are
# downloaded once per checkpoint; a checkpoint's text classifier and image embeddings are
# encoded once per evaluation set and cached, so a change of the frequency files reruns only
# the records. AUDIT (cliptail.audit.plan.AuditPlan) is built in rules/common.smk.

from dataclasses import asdict


rule fetch_openclip_checkpoint:
    """Download the weights of one released checkpoint (resumable; digest checked)."""
    input:
        code=code("audit.checkpoints", "data.download"),
    output:
        weights="resources/openclip/{checkpoint}.bin",
    log:
        "results/logs/download/openclip_{checkpoint}.log",
    wildcard_constraints:
        checkpoint=one_of(AUDIT.downloads()),
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=120,
    params:
        entry=lambda w: asdict(AUDIT.by_checkpoint[w.checkpoint]),
    script:
        "../workflow/scripts/fetch_openclip_checkpoint.py"


rule audit_encode:
    """A released checkpoint's zero-shot classifier and image embeddings on one set."""
    input:
        weights=lambda w: AUDIT.by_checkpoint[w.checkpoint].weights,
        evalset=lambda w: DatasetDir.layout(AUDIT.by_set[w.aset].folder, EVALUATION_PARTS).values(),
        code=code("audit.encode", "audit.prompts", "audit.records", "data.images", "openclip"),
    output:
        encoded="results/audit/{checkpoint}/{aset}.features.npz",
    log:
        "results/logs/audit/{checkpoint}/{aset}.encode.log",
    benchmark:
        "results/benchmarks/audit/{checkpoint}/{aset}.encode.tsv"
    wildcard_constraints:
        checkpoint=one_of(AUDIT.by_checkpoint),
        aset=one_of(AUDIT.by_set),
    conda:
        ENV
    threads: 1
    resources:
        gpu=0,
        cpus_per_gpu=4,
        mem_mb=8000,
        runtime=60,
    params:
        entry=lambda w: asdict(AUDIT.by_checkpoint[w.checkpoint]),
        evalset=lambda w: AUDIT.by_set[w.aset].folder,
        concept_set=lambda w: AUDIT.by_set[w.aset].concept_set,
        templates=AUDIT.templates,
        zeroshot_names=AUDIT.zeroshot_names,
        batch_size=AUDIT.batch_size,
    script:
        "../workflow/scripts/audit_encode.py"


rule audit_records:
    """Per-class record, scalars and t-SNE sample of a checkpoint on one set."""
    input:
        unpack(audit_frequency),
        encoded=rules.audit_encode.output.encoded,
        classes=lambda w: DatasetDir.layout(AUDIT.by_set[w.aset].folder)["classes"],
        code=code("audit.records", "audit.frequencies", "evaluate.records", "evaluate.metrics"),
    output:
        record="results/audit/{checkpoint}/{aset}.parquet",
        scalars="results/audit/{checkpoint}/{aset}.json",
        sample="results/audit/{checkpoint}/{aset}.sample.npz",
        bootstrap="results/audit/{checkpoint}/{aset}.bootstrap.parquet",
    log:
        "results/logs/audit/{checkpoint}/{aset}.records.log",
    wildcard_constraints:
        checkpoint=one_of(AUDIT.by_checkpoint),
        aset=one_of(AUDIT.by_set),
    conda:
        ENV
    resources:
        mem_mb=4000,
        runtime=10,
    params:
        info=lambda w: {
            **AUDIT.by_checkpoint[w.checkpoint].info(),
            "evalset": w.aset,
            "concept_set": AUDIT.by_set[w.aset].concept_set,
        },
        nc1_pinv=AUDIT.nc1_pinv,
        sample_per_class=AUDIT.sample_per_class,
    script:
        "../workflow/scripts/audit_records.py"


rule audit_table:
    """The tidy audit table: one row per checkpoint and evaluation set."""
    input:
        scalars=AUDIT.scalars_files(),
        code=code("audit.table"),
    output:
        table=AUDIT_TABLE,
    log:
        "results/logs/audit/table.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=5,
    script:
        "../workflow/scripts/audit_table.py"


rule audit:
    """The whole audit: every checkpoint on every set, the table and the audit's figures."""
    input:
        AUDIT_TABLE if AUDIT.enabled else [],
        AUDIT.record_files(),
        [
            f"results/tables/{stem}.csv" if job.entry.table else layout.figure_file(stem)
            for stem, job in FIGURES.items()
            if job.entry.reads == "audit"
        ],
