"""Where the workflow keeps everything, and which files each of its jobs reads.

Paths are relative to the working directory (the project root). The rules in ``rules/`` name their
outputs with the templates below and take their inputs from :class:`JobFiles`, which turns the
study plan (:mod:`cliptail.study`) and the source registry (:mod:`cliptail.data.sources`) into
file lists. Keeping both here makes the rule files pure wiring and the file graph testable without
Snakemake.

Layout (docs/architecture.md "Data flow")::

    resources/world/                       the synthetic world (images, metadata, concepts)
    resources/<source>/                    downloaded or located raw data of a source
    resources/metadata/                    the authors' released metadata
    results/data/<dataset>/                a dataset folder (cliptail.data.dataset_dir)
    results/data/eval_<evalset>/           an evaluation set (same layout, no frequency/report)
    results/runs/<run>/                    checkpoint.pt, train.jsonl, run.json
    results/resume/<run>/                  resume state (outside the declared outputs)
    results/eval/<run>/<evalset>.{parquet,json}   per-class record and scalars
    results/eval/<run>/<evalset>.classifier.npy   the run's class embeddings (classifier_file)
    results/eval/<run>/<evalset>.bootstrap.parquet   class-bootstrap replicates (bootstrap_file)
    results/data/probe_<task>/             a linear-probe task of the world (train/val/test)
    results/data/transfer_<name>/          a transfer dataset of the paper (train/val/test)
    results/probe/<run>/<set>.features.npy frozen features of a probed run (DINO) on a probe set
    results/probe/<run>/<set>.json         its linear probe: chosen L2 penalty, scores
    results/tables/                        study tables, runs.parquet, summary.json, plot data
    results/figures/<stem>.{png,pdf}       figures; tables as CSV
    results/frequency/<set>_<concepts>.tsv concept frequencies of web caption sets
    results/report/                        claims table and the HTML report
    results/logs/, results/benchmarks/     one log and one benchmark file per job
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cliptail import factors
from cliptail.data import sources as source_registry
from cliptail.data.dataset_dir import EVALUATION_PARTS, DatasetDir
from cliptail.data.metadata import released_root

WORLD = source_registry.get("world").images
WORLD_SPLITS = ("train", "web", "val", "v2")
METADATA = "resources/metadata"
WORDNET = "resources/wordnet"
DATA = "results/data"
RUNS = "results/runs"
RESUME = "results/resume"
EVAL = "results/eval"
PROBE = "results/probe"
TABLES = "results/tables"
FIGURES = "results/figures"
FREQUENCY = "results/frequency"
SIMILARITY = "results/similarity"
REPORT = "results/report"

#: The outputs of a training job.
RUN_FILES = {
    "model": f"{RUNS}/{{run}}/checkpoint.pt",
    "log": f"{RUNS}/{{run}}/train.jsonl",
    "meta": f"{RUNS}/{{run}}/run.json",
}
RUNS_TABLE = f"{TABLES}/runs.parquet"
SUMMARY = f"{TABLES}/summary.json"

#: The ImageNet class files of the authors' metadata that every ImageNet reader needs.
IMAGENET_METADATA = {
    "synsets": f"{METADATA}/descriptors/descriptors_imagenet_synset.json",
    "names": f"{METADATA}/descriptors/descriptors_imagenet.json",
}
IMAGENET100 = f"{METADATA}/imagenet100_idxs.txt"
#: The =freq retrieval pool built by rules/laionet.smk (cliptail.data.laion_retrieval).
RETRIEVAL_POOL = "resources/laionet/retrieval_pool.parquet"


def dataset_dir(name: str) -> str:
    return f"{DATA}/{name}"


def evalset_dir(evalset: str) -> str:
    return f"{DATA}/{DatasetDir.evalset_name(evalset)}"


def per_class_record(run: str, evalset: str) -> str:
    return f"{EVAL}/{run}/{evalset}.parquet"


def eval_scalars(run: str, evalset: str) -> str:
    return f"{EVAL}/{run}/{evalset}.json"


def classifier_file(run: str, evalset: str) -> str:
    """The class embeddings a run was evaluated with on an evaluation set (float32 [C, D],
    L2-normalised, one row per row of :func:`per_class_record`)."""
    return f"{EVAL}/{run}/{evalset}.classifier.npy"


def bootstrap_file(run: str, evalset: str) -> str:
    """The class-bootstrap replicates of a run on an evaluation set (one row per class resample;
    columns of :data:`cliptail.evaluate.metrics.BOOTSTRAP_COLUMNS`), read by the claims."""
    return f"{EVAL}/{run}/{evalset}.bootstrap.parquet"


def caption_embeddings_file(dataset: str, tower: str = "frozen") -> str:
    """Caption embeddings of a dataset by the encoder of an embedded text tower
    (``text_embeddings.npy`` for ``frozen``, ``text_embeddings_roberta.npy`` for ``roberta``)."""
    return f"{dataset_dir(dataset)}/text_embeddings{factors.EMBEDDED_TOWERS[tower]}.npy"


def prompt_embeddings_file(evalset: str, tower: str = "frozen") -> str:
    """Zero-shot prompt embeddings of an evaluation set (``prompt_embeddings[_roberta].npy``)."""
    return f"{evalset_dir(evalset)}/prompt_embeddings{factors.EMBEDDED_TOWERS[tower]}.npy"


def probe_set_dir(probe_set: str) -> str:
    """The dataset folder of a probe set: a world task (``probe_<task>``) or a transfer
    dataset of the paper (``transfer_<name>``)."""
    from cliptail.data.probe_tasks import WORLD_TASKS, folder_name

    if probe_set in WORLD_TASKS:
        return dataset_dir(folder_name(probe_set))
    return dataset_dir(f"transfer_{probe_set}")


def probe_features_file(run: str, probe_set: str) -> str:
    return f"{PROBE}/{run}/{probe_set}.features.npy"


def probe_result(run: str, probe_set: str) -> str:
    return f"{PROBE}/{run}/{probe_set}.json"


def study_table(study: str) -> str:
    return f"{TABLES}/studies/{study}.parquet"


def similarity_encoder(plan: Any) -> str | None:
    """The run whose image tower measures the intra-class image similarity of every training set
    (Fig. 4a): the default CLIP run, or None when the plan has none."""
    return plan.baselines().get("CLIP")


def image_similarity_file(dataset: str) -> str:
    """Per-class intra-class image similarity of a training set (Fig. 4a;
    :mod:`cliptail.evaluate.image_similarity`). Outside the dataset folder: it is measured by a
    trained run, and the dataset folders are made before any training."""
    return f"{SIMILARITY}/{dataset}.parquet"


def figure_file(stem: str, suffix: str = "png") -> str:
    return f"{FIGURES}/{stem}.{suffix}"


def released_frequency(file: str) -> str:
    """A released frequency file of the authors' metadata (``class_frequency_*.txt``)."""
    return f"{METADATA}/freqs/{file}"


def released_path(file: str) -> str:
    """Path of a released frequency file: the copy shipped with cliptail (relative to the working
    directory when inside it, so a moved project does not redraw), or the downloaded one
    (``resources/metadata/freqs/``) when the installation lacks it."""
    packaged = released_root() / "freqs" / file
    if not packaged.is_file():
        return released_frequency(file)
    try:
        return str(packaged.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(packaged)


def concept_frequency(name: str, concepts: str) -> str:
    return f"{FREQUENCY}/{name}_{concepts}.tsv"


class JobFiles:
    """The input files of each job of a planned study.

    ``plan``: a :class:`cliptail.study.Plan`; ``config``: the validated configuration.
    """

    def __init__(self, plan: Any, config: Mapping[str, Any]):
        self.plan = plan
        self.config = config
        self.evalsets: list[str] = list(config["evalsets"])
        self.sources = source_registry.resolve(config.get("sources", {}))
        #: Embedded text tower -> the datasets whose captions it embeds.
        self.embedded_by = {
            tower: {r.dataset for r in plan.runs.values() if r.embedded_text == tower}
            for tower in factors.EMBEDDED_TOWERS
        }
        self.embedded = self.embedded_by["frozen"]

    # --- images -------------------------------------------------------------------------------

    def image_proof(self, source: source_registry.Source) -> list[str]:
        """Files whose presence shows the images of ``source`` exist."""
        return list(source.proof)

    def dataset_images(self, dataset: str) -> list[str]:
        return self.image_proof(
            source_registry.for_dataset_source(self._factors(dataset)["source"])
        )

    def evalset_images(self, evalset: str) -> list[str]:
        return self.image_proof(source_registry.for_evalset(evalset))

    def _factors(self, dataset: str) -> dict[str, Any]:
        return self.plan.datasets[dataset].factors

    # --- curation -----------------------------------------------------------------------------

    def world_dataset(self) -> dict[str, Any]:
        """Inputs of a world variant (rule curate_world)."""
        return {
            "train": f"{WORLD}/metadata/train.parquet",
            "web": f"{WORLD}/metadata/web.parquet",
            "concepts": f"{WORLD}/concepts.parquet",
        }

    def real_dataset(self, dataset: str) -> dict[str, Any]:
        """Inputs of a real variant (rules curate_incaps_* / curate_laionet_* / curate_web_cls)."""
        f = self._factors(dataset)
        base = DatasetDir.layout(dataset_dir(source_registry.base_dataset(f["source"])))
        inputs: dict[str, Any] = {k: base[k] for k in ("manifest", "classes", "source")}
        if f["classes"] != "eval":
            inputs["imagenet100"] = IMAGENET100
        if f["source"] == "laionet_freq":
            inputs["incaps_frequency"] = DatasetDir.layout(dataset_dir("incaps"))["frequency"]
            pool = self.retrieval_pool()
            if pool:
                inputs["pool"] = pool
        if f["caption"] == "synset_templates":
            inputs["wordnet"] = WORDNET
        return inputs

    def retrieval_pool(self) -> str | None:
        """The =freq retrieval pool: ``sources.laionet.retrieval_pool`` (a user file) if set, else
        the pool the retrieval rules build (``sources.laionet.retrieval.build``), else None."""
        laionet = self.sources["laionet"]
        if laionet.get("retrieval_pool"):
            return laionet["retrieval_pool"]
        if (laionet.get("retrieval") or {}).get("build", True):
            return RETRIEVAL_POOL
        return None

    def real_evalset(self, evalset: str) -> dict[str, Any]:
        """Inputs of rule real_eval_set: the base dataset (and the IN-100 class list)."""
        base = DatasetDir.layout(dataset_dir(factors.REAL_EVALSETS[evalset]), EVALUATION_PARTS)
        inputs: dict[str, Any] = dict(base)
        if factors.EVALSET_CLASSES.get(evalset) == "in100":
            inputs["imagenet100"] = IMAGENET100
        return inputs

    # --- text embeddings ----------------------------------------------------------------------

    def caption_embeddings(self, dataset: str, tower: str = "frozen") -> dict[str, Any]:
        """Inputs of rule embed_captions (``tower`` ``roberta``: embed_captions_roberta): the
        dataset, or a superset already embedded by the same encoder."""
        inputs: dict[str, Any] = {"manifest": f"{dataset_dir(dataset)}/manifest.parquet"}
        donor = self.plan.caption_donor(dataset, self.embedded_by[tower])
        if donor:
            inputs["reuse_source"] = f"{dataset_dir(donor)}/manifest.parquet"
            inputs["reuse_embeddings"] = caption_embeddings_file(donor, tower)
        return inputs

    def prompt_embeddings(self, evalset: str, tower: str = "frozen") -> dict[str, Any]:
        """Inputs of rule embed_eval_prompts (``roberta``: embed_eval_prompts_roberta); later
        evaluation sets reuse the first's prompts."""
        inputs: dict[str, Any] = {"classes": f"{evalset_dir(evalset)}/classes.tsv"}
        first = self.evalsets[0]
        if evalset != first:
            inputs["reuse_source"] = f"{evalset_dir(first)}/classes.tsv"
            inputs["reuse_embeddings"] = prompt_embeddings_file(first, tower)
        return inputs

    # --- training and evaluation --------------------------------------------------------------

    def train(self, run: str) -> dict[str, Any]:
        """Inputs of a training job (rules train_clip / train_sl)."""
        spec = self.plan.runs[run]
        data = DatasetDir.layout(dataset_dir(spec.dataset))
        inputs: dict[str, Any] = {
            "manifest": data["manifest"],
            "classes": data["classes"],
            "source": data["source"],
            "images": self.dataset_images(spec.dataset),
        }
        if spec.embedded_text:
            inputs["text_embeddings"] = caption_embeddings_file(spec.dataset, spec.embedded_text)
        if spec.frozen_head:
            inputs["class_embeddings"] = f"{dataset_dir(spec.dataset)}/class_embeddings.npy"
        return inputs

    def evaluate(self, run: str) -> dict[str, Any]:
        """Inputs of rule evaluate_run: the checkpoint and every evaluation set."""
        spec = self.plan.runs[run]
        data = DatasetDir.layout(dataset_dir(spec.dataset))
        sets = [DatasetDir.layout(evalset_dir(e), EVALUATION_PARTS) for e in self.evalsets]
        inputs: dict[str, Any] = {
            "model": RUN_FILES["model"].format(run=run),
            "frequency": data["frequency"],
            "report": data["report"],
            "manifests": [s["manifest"] for s in sets],
            "classes": [s["classes"] for s in sets],
            "sources": [s["source"] for s in sets],
            "images": sorted({p for e in self.evalsets for p in self.evalset_images(e)}),
        }
        if spec.embedded_text:
            inputs["prompt_embeddings"] = [
                prompt_embeddings_file(e, spec.embedded_text) for e in self.evalsets
            ]
        return inputs

    def image_similarity(self, dataset: str) -> dict[str, Any]:
        """Inputs of rule image_similarity: the encoder run's checkpoint (the default CLIP run,
        :func:`similarity_encoder`) and the training set."""
        encoder = similarity_encoder(self.plan)
        if encoder is None:
            raise ValueError(
                f"{dataset}: the intra-class image similarity needs a default CLIP run to "
                "encode the images, and the configuration plans none"
            )
        data = DatasetDir.layout(dataset_dir(dataset))
        return {
            "model": RUN_FILES["model"].format(run=encoder),
            "manifest": data["manifest"],
            "classes": data["classes"],
            "source": data["source"],
            "images": self.dataset_images(dataset),
        }

    def run_outputs(self) -> list[str]:
        """Every run's checkpoint, training log and run record (named by the default target, see
        :meth:`eval_records`)."""
        return [path.format(run=r) for r in self.plan.runs for path in RUN_FILES.values()]

    def eval_records(self) -> list[str]:
        """Every run's per-class record, scalars, classifier and bootstrap replicates on every
        evaluation set.

        The default target names these and :meth:`run_outputs` besides the tables and figures
        that summarise them: Snakemake rebuilds a missing intermediate file only when a target
        needs it, so a deleted or killed run would otherwise leave its old evaluation, table rows
        and figures in place.
        """
        return [
            path
            for r in self.plan.zeroshot_runs()
            for e in self.evalsets
            for path in (
                per_class_record(r, e),
                eval_scalars(r, e),
                classifier_file(r, e),
                bootstrap_file(r, e),
            )
        ]

    def bootstrap_records(self) -> dict[tuple[str, str], str]:
        """(run, evaluation set) -> its bootstrap replicates, for every run and evaluation set
        (rule claims)."""
        return {
            (r, e): bootstrap_file(r, e) for r in self.plan.zeroshot_runs() for e in self.evalsets
        }

    def study_scalars(self, study: str) -> list[str]:
        """Scalars of every run of ``study`` on every evaluation set (rule study_table)."""
        return [eval_scalars(r, e) for r in self.plan.studies[study] for e in self.evalsets]

    # --- linear probes (self-supervised runs) -------------------------------------------------

    @property
    def probe_sets(self) -> list[str]:
        """The configured probe sets (``transfer.probe_sets``): world tasks or transfer datasets."""
        return list((self.config.get("transfer") or {}).get("probe_sets") or [])

    def probe_features(self, run: str) -> dict[str, Any]:
        """Inputs of rule probe_features: the checkpoint and every probe set's folder."""
        folders = [
            path
            for p in self.probe_sets
            for path in DatasetDir.layout(probe_set_dir(p), EVALUATION_PARTS).values()
        ]
        return {"model": RUN_FILES["model"].format(run=run), "folders": folders}

    def probe_images(self) -> list[str]:
        """Files whose presence shows the probe sets' images exist: the evaluation sets' images
        of the world's tasks (a transfer dataset's images live in its own folder)."""
        from cliptail.data.probe_tasks import WORLD_TASKS

        return sorted(
            {
                path
                for p in self.probe_sets
                if p in WORLD_TASKS
                for path in self.evalset_images(WORLD_TASKS[p][0])
            }
        )

    def probe_results(self, study: str) -> list[str]:
        """Every (run of a probe study, probe set) result (rule transfer_table)."""
        return [probe_result(r, p) for r in self.plan.studies[study] for p in self.probe_sets]

    def all_probe_results(self) -> list[str]:
        """Every probed run's result on every probe set (named by the default target)."""
        return [probe_result(r, p) for r in self.plan.probed_runs() for p in self.probe_sets]

    # --- concept frequency of web caption sets -----------------------------------------------

    def concept_frequency_jobs(self) -> dict[str, dict[str, Any]]:
        """``<set>_<concepts>`` -> the inputs and parameters of one counting job.

        A concept set is a name of :data:`cliptail.factors.CONCEPT_SETS` (its descriptor files
        come from the authors' metadata; ImageNet also reads its synonyms) or a synonyms ``.json``
        path (output key: its stem).
        """
        settings = self.config.get("concept_frequency") or {}
        jobs = {}
        for name, spec in (settings.get("sets") or {}).items():
            concepts = spec.get("concepts", "imagenet")
            for concept in [concepts] if isinstance(concepts, str) else concepts:
                if concept in factors.CONCEPT_SETS:
                    key = concept
                    names = ["imagenet", "imagenet_synset"] if concept == "imagenet" else [concept]
                    files = [f"{METADATA}/descriptors/descriptors_{n}.json" for n in names]
                else:
                    key = concept.rsplit("/", 1)[-1].removesuffix(".json")
                    files = [concept]
                jobs[f"{name}_{key}"] = {
                    "inputs": {
                        "captions": list(spec["captions"]),
                        "concepts": files,
                        "wordnet": WORDNET,
                    },
                    "params": {
                        "concepts": concept,
                        "column": spec.get("column"),
                        "format": spec.get("format"),
                    },
                }
        return jobs

    # --- target lists -------------------------------------------------------------------------

    def real_datasets(self) -> list[str]:
        return [n for n, d in self.plan.datasets.items() if d.is_real]

    def world_datasets(self) -> list[str]:
        return [n for n, d in self.plan.datasets.items() if not d.is_real]
