# Frozen pre-trained text encoder embeddings (config `text_encoder`), computed once per caption
# set, class list or prompt set, and read by frozen-text training and evaluation. A dataset that
# is a subset of one embedded anyway, and a second evaluation set, copy the rows they share.


rule embed_captions:
    """Embeddings of a dataset's captions, row-aligned with its manifest."""
    input:
        unpack(lambda w: FILES.caption_embeddings(w.dataset)),
        code=code("models.text_encoder"),
    output:
        embeddings="results/data/{dataset}/text_embeddings.npy",
    log:
        "results/logs/embed/{dataset}_captions.log",
    benchmark:
        "results/benchmarks/embed/{dataset}_captions.tsv"
    priority: 10  # frozen-text training waits on these: start them first
    conda:
        ENV
    threads: 1  # one core each: a 2-thread job would wait behind single-thread jobs
    resources:
        mem_mb=3000,
        runtime=60,
    params:
        encoder=config["text_encoder"],
    script:
        "../workflow/scripts/embed_texts.py"


use rule embed_captions as embed_class_prototypes with:
    input:
        classes="results/data/{dataset}/classes.tsv",
        code=code("models.text_encoder"),
    output:
        embeddings="results/data/{dataset}/class_embeddings.npy",
    log:
        "results/logs/embed/{dataset}_classes.log",
    benchmark:
        "results/benchmarks/embed/{dataset}_classes.tsv"


use rule embed_captions as embed_eval_prompts with:
    input:
        unpack(lambda w: FILES.prompt_embeddings(w.evalset)),
        code=code("models.text_encoder", "evaluate.zeroshot"),
    output:
        embeddings="results/data/eval_{evalset}/prompt_embeddings.npy",
    log:
        "results/logs/embed/eval_{evalset}_prompts.log",
    benchmark:
        "results/benchmarks/embed/eval_{evalset}_prompts.tsv"
    params:
        encoder=config["text_encoder"],
        zeroshot_names=config["evaluation"]["zeroshot_names"],  # open_clip's or descriptor names
        templates=config["evaluation"]["templates"],


# The frozen RoBERTa of `text_tower: roberta` (config `roberta_encoder`): its own files, so a
# change of either encoder re-embeds (and retrains) only the runs that read it.
use rule embed_captions as embed_captions_roberta with:
    input:
        unpack(lambda w: FILES.caption_embeddings(w.dataset, "roberta")),
        code=code("models.text_encoder"),
    output:
        embeddings="results/data/{dataset}/text_embeddings_roberta.npy",
    log:
        "results/logs/embed/{dataset}_captions_roberta.log",
    benchmark:
        "results/benchmarks/embed/{dataset}_captions_roberta.tsv"
    params:
        encoder=f"roberta:{config['roberta_encoder']}",


use rule embed_captions as embed_eval_prompts_roberta with:
    input:
        unpack(lambda w: FILES.prompt_embeddings(w.evalset, "roberta")),
        code=code("models.text_encoder", "evaluate.zeroshot"),
    output:
        embeddings="results/data/eval_{evalset}/prompt_embeddings_roberta.npy",
    log:
        "results/logs/embed/eval_{evalset}_prompts_roberta.log",
    benchmark:
        "results/benchmarks/embed/eval_{evalset}_prompts_roberta.tsv"
    params:
        encoder=f"roberta:{config['roberta_encoder']}",
        zeroshot_names=config["evaluation"]["zeroshot_names"],
        templates=config["evaluation"]["templates"],
