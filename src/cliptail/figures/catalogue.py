"""The catalogue of the paper's figures and tables that cliptail draws: one entry each.

An :class:`Entry` says what a figure is (paper id, output file stem, caption), what it reads and
which function draws it (``module:function``, imported only when drawing, so the workflow can
read the catalogue without matplotlib). :func:`plan_figures` turns the catalogue and a study plan
into the figure jobs of the workflow: the figures whose inputs the plan provides, each with its
input files and drawing parameters. ``rules/figures.smk`` only expands these jobs and
``workflow/scripts/figure.py`` (through :func:`cliptail.figures.render.render`) draws any of them.

What an entry reads (:data:`READS`):

- ``studies``: the tidy tables of the listed studies (drawn when at least one is planned);
- ``baseline_records``: per-class records of the default CLIP and SL runs (docs/study.md
  section 7: the headline correlations);
- ``trim_tail_records``: per-class records and dataset reports of the ``trim_tail`` runs (and
  for Fig. 8 the ``trim_tail`` study table);
- ``training_frequencies``: the training-set frequencies of the datasets of the listed studies;
- ``released_frequencies``: the authors' released web-dataset frequencies of the listed concept
  sets (target ``web_frequency_figures``; they need the downloaded metadata).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cliptail import factors, layout
from cliptail.data.metadata import released_frequency_file

READS = (
    "studies",
    "baseline_records",
    "trim_tail_records",
    "training_frequencies",
    "released_frequencies",
)


@dataclass(frozen=True)
class Entry:
    """One figure or table of the paper."""

    id: str
    stem: str
    caption: str
    reads: str
    draw: str
    studies: tuple[str, ...] = ()
    concept_sets: tuple[str, ...] = ()
    #: A CSV table (``results/tables/<stem>.csv``) rather than a figure.
    table: bool = False
    #: The evaluation set this figure shows when it is configured (else ``figures.evalset``).
    evalset: str | None = None
    #: Drawn only when a run of its studies has one of these ``source`` values.
    needs_sources: tuple[str, ...] = ()


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "fig01a",
        "fig01a_web_frequency",
        "Frequency of the ImageNet classes in six web-scale image-text datasets, ranked by "
        "LAION-400M (log scale; thin = raw, bold = smoothed).",
        "released_frequencies",
        "cliptail.figures.web_frequency:fig01a",
        concept_sets=("imagenet",),
    ),
    Entry(
        "fig03",
        "fig03_descriptiveness_vocabulary",
        "Robustness of CLIP trained on the nine caption types (ordered by descriptiveness) and "
        "of SL with subsampled vocabularies (K), both from random initialisation: (a) Corr. "
        "freq vs #pred and (b) top-1 accuracy against Corr. freq vs acc, with a linear fit per "
        "family.",
        "studies",
        "cliptail.figures.robustness:fig03",
        studies=("descriptiveness", "vocabulary"),
    ),
    Entry(
        "fig04a",
        "fig04a_frequency_variants",
        "Class frequencies of the training-set variants ranked from the most to the least "
        "frequent class (log scale) and, where given, the densities of intra-class image-image "
        "similarity (lower = more diverse).",
        "training_frequencies",
        "cliptail.figures.distribution:fig04a",
        studies=("distribution", "scale"),
    ),
    Entry(
        "fig04b",
        "fig04b_distribution",
        "Top-1 accuracy and Corr. freq vs acc of CLIP and SL trained on the curated source and "
        "on the distribution-shifted web source at equal size.",
        "studies",
        "cliptail.figures.distribution:fig04b",
        studies=("distribution",),
    ),
    Entry(
        "fig05",
        "fig05_scale",
        "Top-1 accuracy, Corr. freq vs acc, NC1 and NC2 of the class means against the number "
        "of training images (log2 scale), one line per CLIP text tower (from scratch, frozen "
        "CLIP, CLIP-init, frozen RoBERTa) and the SL point (frozen head) where present.",
        "studies",
        "cliptail.figures.scale:fig05",
        studies=("scale",),
    ),
    Entry(
        "fig06",
        "fig06_open_world",
        "Corr. freq vs acc, Corr. freq vs #pred and top-1 accuracy on the evaluation concepts "
        "(real data: the 100 classes of IN-100, evaluated 100-way) when training on those "
        "concepts only (IN-Caps-100), on all concepts at the same size (IN-Caps (10%)), and on "
        "all concepts with all their data (IN-Caps).",
        "studies",
        "cliptail.figures.open_world:fig06",
        studies=("open_world",),
        evalset="imagenet100_val",
    ),
    Entry(
        "fig06b",
        "fig06b_open_world_web",
        "Corr. freq vs acc, Corr. freq vs #pred and top-1 accuracy of models trained on "
        "YFCC-15M-Cls (captions naming an ImageNet class) and on the whole YFCC-15M.",
        "studies",
        "cliptail.figures.open_world:fig06b",
        studies=("open_world",),
        needs_sources=(*factors.WEB_FULL_SOURCES,),
    ),
    Entry(
        "fig07a",
        "fig07a_nc_correlations",
        "Spearman correlation, over classes, of each per-class neural-collapse metric with the "
        "class's accuracy (left) and with its training frequency (right), one row per run; "
        "blank cells are undefined.",
        "studies",
        "cliptail.figures.neural_collapse:fig07a",
        studies=("descriptiveness", "vocabulary", "text_tower"),
    ),
    Entry(
        "fig08",
        "fig08_trim_tail",
        "Accuracy on the k trimmed tail classes and on the remaining head & mid classes when "
        "the k rarest classes keep one (1-shot) or no (0-shot) training image; dashed: the "
        "untrimmed model on the same classes.",
        "trim_tail_records",
        "cliptail.figures.trim_tail:fig08",
        studies=("trim_tail",),
    ),
    Entry(
        "fig09b",
        "fig09b_tail_classes",
        "Per-class accuracy and number of predictions on the trimmed tail classes (0-shot) for "
        "each model.",
        "trim_tail_records",
        "cliptail.figures.trim_tail:fig09b_from_study",
        studies=("trim_tail",),
    ),
    Entry(
        "fig11",
        "fig11_pearson_spearman",
        "Per-class accuracy and number of predictions against training frequency (log scale; "
        "classes never seen in training at f = 0), with Pearson r on the frequency, Pearson r "
        "on log(1 + frequency) and Spearman rho in each panel.",
        "baseline_records",
        "cliptail.figures.per_class:fig11",
    ),
    Entry(
        "fig13",
        "fig13_web_frequency_spearman",
        "Spearman correlation of class frequencies between web datasets, per concept set.",
        "released_frequencies",
        "cliptail.figures.web_frequency:fig13",
        concept_sets=tuple(factors.CONCEPT_SETS),
    ),
    Entry(
        "fig15",
        "fig15_binned",
        "Mean and standard deviation of per-class accuracy and number of predictions over "
        "log-spaced training-frequency bins (classes never seen in training form their own bin "
        "at f = 0).",
        "baseline_records",
        "cliptail.figures.per_class:fig15",
    ),
    Entry(
        "fig19",
        "fig19_frozen_text",
        "As Fig. 3 with a frozen pre-trained text tower for CLIP and frozen text-derived "
        "prototypes for SL: (a) Corr. freq vs #pred and (b) top-1 accuracy against Corr. freq "
        "vs acc, with a linear fit per family.",
        "studies",
        "cliptail.figures.robustness:fig19",
        studies=("text_tower",),
    ),
    Entry(
        "fig21",
        "fig21_web_frequency_bands",
        "Fig. 1a on a linear scale, in bands of class ranks (ranked by LAION-400M).",
        "released_frequencies",
        "cliptail.figures.web_frequency:fig21",
        concept_sets=("imagenet",),
    ),
    Entry(
        "table01",
        "table01_yfcc_rare_classes",
        "YFCC-15M's ImageNet classes with fewer than 10 matching captions (frequency part of "
        "Table 1).",
        "released_frequencies",
        "cliptail.figures.web_frequency:table01_rare_classes",
        concept_sets=("imagenet",),
        table=True,
    ),
)

BY_ID: dict[str, Entry] = {e.id: e for e in CATALOGUE}
BY_STEM: dict[str, Entry] = {e.stem: e for e in CATALOGUE}


@dataclass(frozen=True)
class FigureJob:
    """One figure of a planned study: the catalogue entry, its input files and parameters."""

    entry: Entry
    inputs: dict[str, list[str]]
    params: dict[str, Any]

    @property
    def stem(self) -> str:
        return self.entry.stem


def released_files(concept_sets: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """{concept set: {web dataset: released file path}}."""
    return {
        c: {
            d: layout.released_frequency(released_frequency_file(d, c))
            for d in factors.WEB_DATASETS
        }
        for c in concept_sets
    }


def _job(entry: Entry, plan: Any, evalset: str) -> FigureJob | None:
    params: dict[str, Any] = {
        "id": entry.id,
        "draw": entry.draw,
        "reads": entry.reads,
        "caption": entry.caption,
        "evalset": evalset,
    }
    if entry.reads == "released_frequencies":
        files = released_files(entry.concept_sets)
        params["files"] = files
        return FigureJob(entry, {"freqs": [p for f in files.values() for p in f.values()]}, params)
    studies = [s for s in entry.studies if s in plan.studies]
    if entry.needs_sources and not any(
        r.factors["source"] in entry.needs_sources for s in studies for r in plan.runs_of(s)
    ):
        return None
    if entry.reads == "studies":
        if not studies:
            return None
        return FigureJob(entry, {"tables": [layout.study_table(s) for s in studies]}, params)
    if entry.reads == "training_frequencies":
        datasets = sorted({r.dataset for s in studies for r in plan.runs_of(s)})
        if not datasets:
            return None
        params["labels"] = datasets
        freqs = [f"{layout.dataset_dir(d)}/frequency.tsv" for d in datasets]
        return FigureJob(entry, {"frequencies": freqs}, params)
    if entry.reads == "baseline_records":
        runs = plan.baselines()
    else:  # trim_tail_records
        runs = {r.name: r.name for s in studies for r in plan.runs_of(s)}
    if not runs:
        return None
    params["labels"] = list(runs)
    inputs = {"per_class": [layout.per_class_record(run, evalset) for run in runs.values()]}
    if entry.reads == "trim_tail_records":
        inputs["reports"] = [
            f"{layout.dataset_dir(plan.runs[run].dataset)}/report.json" for run in runs.values()
        ]
        inputs["tables"] = [layout.study_table(s) for s in studies]
    return FigureJob(entry, inputs, params)


def plan_figures(
    plan: Any, evalset: str, evalsets: Sequence[str] | None = None
) -> dict[str, FigureJob]:
    """Stem -> figure job of every catalogue entry the plan can draw (``evalset`` shown).

    ``evalsets``: the configured evaluation sets; an entry that names its own evaluation set
    (Fig. 6: ``imagenet100_val``) shows that one when it is among them.
    """
    configured = set(evalsets or ())
    jobs = (
        _job(entry, plan, entry.evalset if entry.evalset in configured else evalset)
        for entry in CATALOGUE
    )
    return {job.stem: job for job in jobs if job is not None}
