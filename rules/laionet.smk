# LAIONet (docs/study.md section 4): LAION-400M captions matched to lemmas unique to one ImageNet
# synset, scored against the synset's definition with CLIP, thresholded, downloaded with
# img2dataset into webdataset shards, and read into results/data/laionet/. With
# sources.laionet.metadata (the authors' table) steps 1-2 are skipped.

LAION_PART = sources.LAION_PART.replace("{part:05d}", "{part}")


rule download_laion_part:
    """One LAION-400M metadata part (about 1.6 GB)."""
    output:
        f"resources/laion400m/parts/{LAION_PART}",
    log:
        "results/logs/download/laion400m/part-{part}.log",
    wildcard_constraints:
        part=r"\d{5}",
    conda:
        ENV
    resources:
        mem_mb=500,
        runtime=120,
    params:
        url=lambda w: sources.laion_part_url(SOURCES, int(w.part)),
        sha256=lambda w: sources.laion_part_sha256(SOURCES, int(w.part)),
        download=SOURCES["download"],
    script:
        "../workflow/scripts/download.py"


rule laionet_match_part:
    """LAIONet step 1: captions containing lemmas of exactly one ImageNet synset (authors' rule)."""
    input:
        **layout.IMAGENET_METADATA,
        part=f"resources/laion400m/parts/{LAION_PART}",
        wordnet=layout.WORDNET,
        code=code("data.laion", "data.web_captions", "data.wordnet"),
    output:
        matched=temp("resources/laionet/matched/part-{part}.parquet"),
        report="resources/laionet/matched/part-{part}.json",
    log:
        "results/logs/laionet/match/part-{part}.log",
    benchmark:
        "results/benchmarks/laionet/match/part-{part}.tsv"
    conda:
        ENV
    resources:
        mem_mb=16000,
        runtime=600,
    params:
        match=SOURCES["laionet"]["match"],
    script:
        "../workflow/scripts/laionet_match.py"


rule laionet_score_part:
    """LAIONet step 2: CLIP similarity of caption and '<name> which is <definition>'."""
    input:
        **layout.IMAGENET_METADATA,
        matched="resources/laionet/matched/part-{part}.parquet",
        wordnet=layout.WORDNET,
        code=code("data.laion", "data.wordnet", "models.text_encoder"),
    output:
        scored="resources/laionet/scored/part-{part}.parquet",
    log:
        "results/logs/laionet/score/part-{part}.log",
    benchmark:
        "results/benchmarks/laionet/score/part-{part}.tsv"
    conda:
        ENV
    resources:
        mem_mb=16000,
        runtime=240,
        gpu=1,
    params:
        clip=SOURCES["laionet"]["clip"],
    script:
        "../workflow/scripts/laionet_score.py"


rule laionet_candidates:
    """LAIONet step 3: NSFW filter, similarity threshold, one label per image."""
    input:
        **layout.IMAGENET_METADATA,
        scored=(
            []
            if SOURCES["laionet"]["metadata"]
            else [
                f"resources/laionet/scored/part-{p:05d}.parquet"
                for p in SOURCES["laion400m"]["parts"]
            ]
        ),
        authors=[SOURCES["laionet"]["metadata"]] if SOURCES["laionet"]["metadata"] else [],
        code=code("data.laion"),
    output:
        candidates="resources/laionet/candidates.parquet",
        report="resources/laionet/candidates.json",
    log:
        "results/logs/laionet/candidates.log",
    conda:
        ENV
    resources:
        mem_mb=32000,
        runtime=60,
    params:
        threshold=SOURCES["laionet"]["threshold"],
        remove_nsfw=SOURCES["laionet"]["remove_nsfw"],
    script:
        "../workflow/scripts/laionet_candidates.py"


rule download_laionet_images:
    """LAIONet step 4: img2dataset into webdataset shards (256 px)."""
    input:
        candidates="resources/laionet/candidates.parquet",
    output:
        shards=directory(sources.get("laionet").proof[0]),
        stats="resources/laionet/download_stats.json",
    log:
        "results/logs/laionet/download_images.log",
    benchmark:
        "results/benchmarks/laionet/download_images.tsv"
    conda:
        ENV
    threads: 16
    resources:
        mem_mb=32000,
        runtime=2880,
    params:
        img2dataset=SOURCES["laionet"]["img2dataset"],
    script:
        "../workflow/scripts/download_laionet_images.py"


rule read_laionet:
    """LAIONet base manifest (downloaded images only)."""
    input:
        **layout.IMAGENET_METADATA,
        shards=sources.get("laionet").proof[0],
        code=code("data.laion", "data.metadata", "data.dataset_dir"),
    output:
        **DatasetDir.layout("results/data/laionet"),
    log:
        "results/logs/data/read_laionet.log",
    conda:
        ENV
    resources:
        mem_mb=16000,
        runtime=30,
    params:
        source=sources.images_record("laionet", SOURCES),
    script:
        "../workflow/scripts/read_laionet.py"


# The =freq retrieval pool (cliptail.data.laion_retrieval): LAION captions most similar to the
# IN-Caps captions, one per IN-Caps image, downloaded beside LAIONet's shards. Planned when a
# laionet_freq dataset is and sources.laionet.retrieval_pool names no file of the user's.


rule laionet_retrieval_queries:
    """=freq pool step 1: the IN-Caps captions (file-name order) and their CLIP text embeddings."""
    input:
        manifest="results/data/incaps/manifest.parquet",
        code=code("data.laion_retrieval", "data.laion", "models.text_encoder"),
    output:
        queries="resources/laionet/retrieval/queries.parquet",
        embeddings="resources/laionet/retrieval/queries.npy",
    log:
        "results/logs/laionet/retrieval/queries.log",
    conda:
        ENV
    resources:
        mem_mb=16000,
        runtime=60,
        gpu=1,
    params:
        clip=SOURCES["laionet"]["clip"],
    script:
        "../workflow/scripts/laionet_retrieval.py"


rule laionet_retrieve_part:
    """=freq pool step 2: per IN-Caps caption, the k most similar captions of one LAION part."""
    input:
        part=f"resources/laion400m/parts/{LAION_PART}",
        embeddings="resources/laionet/retrieval/queries.npy",
        code=code("data.laion_retrieval", "data.laion", "models.text_encoder"),
    output:
        topk="resources/laionet/retrieval/part-{part}.npz",
    log:
        "results/logs/laionet/retrieval/part-{part}.log",
    benchmark:
        "results/benchmarks/laionet/retrieval/part-{part}.tsv"
    wildcard_constraints:
        part=r"\d{5}",
    conda:
        ENV
    resources:
        mem_mb=32000,
        runtime=240,
        gpu=1,
    params:
        clip=SOURCES["laionet"]["clip"],
        retrieval=SOURCES["laionet"]["retrieval"],
    script:
        "../workflow/scripts/laionet_retrieval.py"


rule laionet_retrieval_candidates:
    """=freq pool step 3: merge the parts' top-k, one LAION row per IN-Caps caption (greedy)."""
    input:
        **layout.IMAGENET_METADATA,
        queries="resources/laionet/retrieval/queries.parquet",
        topk=[
            f"resources/laionet/retrieval/part-{p:05d}.npz" for p in SOURCES["laion400m"]["parts"]
        ],
        parts=[
            f"resources/laion400m/parts/{sources.laion_part_file(p)}"
            for p in SOURCES["laion400m"]["parts"]
        ],
        code=code("data.laion_retrieval", "data.laion"),
    output:
        candidates="resources/laionet/retrieval/candidates.parquet",
        report="resources/laionet/retrieval/candidates.json",
    log:
        "results/logs/laionet/retrieval/candidates.log",
    conda:
        ENV
    resources:
        mem_mb=32000,
        runtime=120,
    script:
        "../workflow/scripts/laionet_retrieval.py"


use rule download_laionet_images as download_laionet_retrieval_images with:
    input:
        candidates="resources/laionet/retrieval/candidates.parquet",
    output:
        shards=directory("resources/laionet/retrieval_shards"),
        stats="resources/laionet/retrieval/download_stats.json",
    log:
        "results/logs/laionet/download_retrieval_images.log",
    benchmark:
        "results/benchmarks/laionet/download_retrieval_images.tsv"


rule read_laionet_retrieval_pool:
    """=freq pool step 4: the pool manifest (images named from LAIONet's shard folder)."""
    input:
        **layout.IMAGENET_METADATA,
        shards="resources/laionet/retrieval_shards",
        code=code("data.laion_retrieval", "data.laion"),
    output:
        pool=layout.RETRIEVAL_POOL,
        report="resources/laionet/retrieval_pool.json",
    log:
        "results/logs/laionet/retrieval/pool.log",
    conda:
        ENV
    resources:
        mem_mb=8000,
        runtime=30,
    script:
        "../workflow/scripts/laionet_retrieval.py"
