# Real data sources of the paper preset (registry: cliptail.data.sources): download or locate each
# into resources/<source>/, and read the base datasets into dataset folders under results/data/.
# Settings: `sources.*` in the configuration (typed, with defaults, in the schema); the pinned
# URLs and checksums are the registry's. LAION-400M and LAIONet: rules/laionet.smk.


rule download_imagenetv2:
    """The ImageNetV2 matched-frequency archive (1.26 GB; resumable, sha256-checked)."""
    output:
        temp("resources/imagenetv2/imagenetv2-matched-frequency.tar.gz"),
    log:
        "results/logs/download/imagenetv2.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=120,
    params:
        url=SOURCES["imagenetv2"]["url"],
        sha256=SOURCES["imagenetv2"]["sha256"],
        download=SOURCES["download"],
    script:
        "../workflow/scripts/download.py"


use rule download_imagenetv2 as download_incaps with:
    output:
        "resources/incaps/imagenet_captions.zip",
    log:
        "results/logs/download/incaps.log",
    params:
        url=SOURCES["incaps"]["url"],
        sha256=SOURCES["incaps"]["sha256"],
        download=SOURCES["download"],


use rule download_imagenetv2 as download_metadata_file with:
    output:
        f"{layout.METADATA}/{{metadata_path}}",
    log:
        "results/logs/download/metadata/{metadata_path}.log",
    wildcard_constraints:
        metadata_path=r"(freqs|descriptors|heads)/[^/]+|imagenet100_idxs\.txt",
    params:
        url=lambda w: metadata.metadata_url(w.metadata_path, SOURCES["metadata"]["base_url"]),
        sha256=lambda w: metadata.pinned(w.metadata_path).sha256,
        size=lambda w: metadata.pinned(w.metadata_path).size,
        download=SOURCES["download"],


rule download_metadata:
    """Every released metadata file (118 files, 21 MB)."""
    input:
        [f"{layout.METADATA}/{p}" for p in metadata.pinned_files()],


rule wordnet:
    """The WordNet 3.0 database: a configured folder, the machine's copy, or the release."""
    output:
        folder=directory(layout.WORDNET),
    log:
        "results/logs/download/wordnet.log",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=30,
    params:
        dir=SOURCES["wordnet"]["dir"],
        url=SOURCES["wordnet"]["url"],
        sha256=SOURCES["wordnet"]["sha256"],
        download=SOURCES["download"],
    script:
        "../workflow/scripts/fetch_wordnet.py"


rule locate_imagenet:
    """Check the user's ImageNet tree (sources.imagenet.root) and record it."""
    input:
        **layout.IMAGENET_METADATA,
        code=code("data.imagenet"),
    output:
        located="resources/imagenet/imagenet.json",
    log:
        "results/logs/download/locate_imagenet.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=30,
    params:
        root=SOURCES["imagenet"]["root"],
    script:
        "../workflow/scripts/locate_imagenet.py"


rule extract_imagenetv2:
    """Unpack ImageNetV2 (1000 folders x 10 images, layout checked)."""
    input:
        archive="resources/imagenetv2/imagenetv2-matched-frequency.tar.gz",
    output:
        folder=directory(sources.get("imagenetv2").proof[0]),
    log:
        "results/logs/download/extract_imagenetv2.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=30,
    script:
        "../workflow/scripts/extract_imagenetv2.py"


rule extract_incaps:
    """imagenet_captions.json out of the zip (atomic write)."""
    input:
        zip="resources/incaps/imagenet_captions.zip",
    output:
        json="resources/incaps/imagenet_captions.json",
    log:
        "results/logs/download/extract_incaps.log",
    conda:
        ENV
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../workflow/scripts/extract_incaps.py"


# --- base datasets (results/data/<source>/) --------------------------------------------------


rule read_imagenet_val:
    """ImageNet validation manifest (50,000 images)."""
    input:
        **layout.IMAGENET_METADATA,
        located="resources/imagenet/imagenet.json",
        code=code("data.imagenet", "data.metadata", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/imagenet_val"),
    log:
        "results/logs/data/read_imagenet_val.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        split="val",
        verify_images=SOURCES["imagenet"]["verify_images"],
        source=sources.images_record("imagenet", SOURCES),
    script:
        "../workflow/scripts/read_imagenet.py"


use rule read_imagenet_val as read_imagenet_train with:
    output:
        **DatasetDir.layout("results/data/imagenet_train"),
    log:
        "results/logs/data/read_imagenet_train.log",
    resources:
        mem_mb=8000,
        runtime=240,
    params:
        split="train",
        verify_images=SOURCES["imagenet"]["verify_images"],
        source=sources.images_record("imagenet", SOURCES),


rule read_imagenetv2:
    """ImageNetV2 matched-frequency manifest (10,000 images)."""
    input:
        **layout.IMAGENET_METADATA,
        folder=sources.get("imagenetv2").proof[0],
        code=code("data.imagenetv2", "data.imagenet", "data.metadata", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/imagenetv2"),
    log:
        "results/logs/data/read_imagenetv2.log",
    conda:
        ENV
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        verify_images=SOURCES["imagenetv2"]["verify_images"],
        source=sources.images_record("imagenetv2", SOURCES),
    script:
        "../workflow/scripts/read_imagenetv2.py"


rule read_incaps:
    """IN-Caps base manifest (448,896 records in the release); bad records go to report.json."""
    input:
        **layout.IMAGENET_METADATA,
        json="resources/incaps/imagenet_captions.json",
        located=sources.get("imagenet").proof if SOURCES["imagenet"]["root"] else [],
        code=code("data.incaps", "data.metadata", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/incaps"),
    log:
        "results/logs/data/read_incaps.log",
    conda:
        ENV
    resources:
        mem_mb=8000,
        runtime=30,
    params:
        imagenet_root=SOURCES["imagenet"]["root"],
        check_images=SOURCES["incaps"]["check_images"] and bool(SOURCES["imagenet"]["root"]),
        keep_empty_text=SOURCES["incaps"]["keep_empty_text"],
        source=sources.images_record("incaps", SOURCES),
    script:
        "../workflow/scripts/read_incaps.py"


rule read_web_cls:
    """YFCC-15M-Cls / CC-12M-Cls: caption list -> ImageNet-class rows (WordNet lemma matching); YFCC-15M: every caption."""
    input:
        **layout.IMAGENET_METADATA,
        captions=lambda w: sources.web_captions(SOURCES, w.web_cls),
        wordnet=layout.WORDNET,
        code=code("data.web_captions", "data.wordnet", "data.metadata", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/{web_cls}"),
    log:
        "results/logs/data/read_{web_cls}.log",
    benchmark:
        "results/benchmarks/read_{web_cls}.tsv"
    wildcard_constraints:
        web_cls=one_of(factors.WEB_CLS_SOURCES + factors.WEB_FULL_SOURCES),
    conda:
        ENV
    threads: 4
    resources:
        mem_mb=32000,
        runtime=240,
    params:
        options=lambda w: SOURCES[sources.for_dataset_source(w.web_cls).name],
        source=lambda w: sources.images_record(sources.for_dataset_source(w.web_cls).name, SOURCES),
    script:
        "../workflow/scripts/read_web_cls.py"


rule user_provided_file:
    """A user-provided input under resources/user/ is missing: say what to place where, and fail."""
    output:
        protected("resources/user/{user_file}"),
    log:
        "results/logs/download/user_{user_file}.log",
    wildcard_constraints:
        user_file=one_of(sources.user_files(SOURCES)),
    conda:
        ENV
    params:
        what=lambda w: sources.user_files(SOURCES)[w.user_file],
    script:
        "../workflow/scripts/require_user_file.py"


rule real_datasets:
    """Every base real dataset whose source is configured (ImageNet and caption lists are user-provided)."""
    input:
        "results/data/imagenetv2/frequency.tsv",
        "results/data/incaps/frequency.tsv",
        "results/data/laionet/frequency.tsv",
        ["results/data/imagenet_val/frequency.tsv"] if SOURCES["imagenet"]["root"] else [],
        [
            f"results/data/{d}/frequency.tsv"
            for d in factors.WEB_CLS_SOURCES + factors.WEB_FULL_SOURCES
            if SOURCES[sources.for_dataset_source(d).name]["captions"]
        ],
