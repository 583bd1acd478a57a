# Zero-shot evaluation sets of the seven concept sets besides ImageNet (Fig. 12: released open_clip
# checkpoints evaluated zero-shot): each dataset's official test split, its classes in the order
# and under the names of the authors' descriptors_<set>.json, the names of the web-frequency files
# class_frequency_<dataset>_<set>.txt (cliptail.data.zeroshot_sets).

from cliptail.data import zeroshot_sets

ZEROSHOT = SOURCES.get("zeroshot_sets") or {}


rule prepare_zeroshot_set:
    """Download, verify, extract and read one zero-shot evaluation set (its test split; classes
    mapped onto the descriptor file's names and order; test images in the dataset folder)."""
    input:
        # a set that is also a planned transfer dataset reuses that job's downloads
        # (resources/transfer/<name>/): it runs after it, so the files are complete
        unpack(
            lambda w: (
                {"transfer": f"{layout.probe_set_dir(w.name)}/report.json"}
                if w.name in PROBE_SETS
                else {}
            )
        ),
        code=code(
            "data.zeroshot_sets",
            "data.transfer",
            "data.metadata",
            "data.download",
            "data.dataset_dir",
            "data.manifest",
            "io",
        ),
    output:
        **DatasetDir.layout("results/data/zeroshot_{name}", EVALUATION_PARTS + ("report",)),
    log:
        "results/logs/download/zeroshot_{name}.log",
    wildcard_constraints:
        name=one_of(zeroshot_sets.ZEROSHOT_SETS),
    conda:
        ENV
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        dataset=lambda w: w.name,
        downloads="resources/zeroshot",
        url_base=lambda w: (
            f"{ZEROSHOT['url_base'].rstrip('/')}/{w.name}" if ZEROSHOT.get("url_base") else None
        ),
        urls=lambda w: (ZEROSHOT.get("urls") or {}).get(w.name) or {},
        # the configured folder, then the transfer datasets' downloads (DTD, Flowers-102, ...)
        local_dir=lambda w: zeroshot_sets.local_folders(w.name, ZEROSHOT.get("local_dir")),
        verify_checksums=ZEROSHOT.get("verify_checksums", True),
        verify_images=ZEROSHOT.get("verify_images", True),
    script:
        "../workflow/scripts/prepare_zeroshot_set.py"
