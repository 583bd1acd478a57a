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
  section 7: the headline correlations) and of the runs that differ from them in the training
  source only, labelled ``<source>/<method>`` (:func:`baseline_runs`);
- ``trim_tail_records``: per-class records and dataset reports of the ``trim_tail`` runs (and
  for Fig. 8 the ``trim_tail`` study table);
- ``text_tower_classifiers``: the classifiers of the default CLIP run and of the run that differs
  from it in ``text_tower: frozen`` only, and the default run's per-class record (the training
  frequencies) (:func:`text_tower_runs`);
- ``training_frequencies``: the training-set frequencies of the datasets of the listed studies
  and, when the plan has a default CLIP run, their per-class intra-class image similarities
  measured by its image tower (:func:`cliptail.layout.image_similarity_file`);
- ``released_frequencies``: the authors' released web-dataset frequencies of the listed concept
  sets, read from the copy shipped inside the package (:func:`released_files`), so every
  configuration draws them (also alone: target ``web_frequency_figures``); Table 1 adds the
  accuracy column when the audit evaluates a YFCC-15M RN50 checkpoint on ImageNet
  (:func:`table01_checkpoint`);
- ``audit``: the open-source CLIP audit's table (:mod:`cliptail.audit`), and per the entry
  the per-class records and feature samples of one representative checkpoint per pre-training
  dataset and the study tables with SL runs on the web datasets' subsets (Fig. 1b). Drawn when
  the configuration enables the audit (``audit.enabled``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cliptail import factors, layout
from cliptail.data.metadata import released_frequency_file
from cliptail.evaluate import image_similarity

READS = (
    "studies",
    "baseline_records",
    "trim_tail_records",
    "text_tower_classifiers",
    "training_frequencies",
    "released_frequencies",
    "audit",
)
#: Separates the training source from the method in the labels of :func:`baseline_runs`.
SOURCE_SEPARATOR = "/"


#: Legend and axis names of the training sources (Fig. 4), in the order the figures show them:
#: the curated source, then the shifted web source; on real data IN-Caps, LAIONet, its
#: similarity-threshold variants (threshold ascending), then LAIONet "=freq". Kept here, free of
#: matplotlib, so that planning can name the training sets a figure draws.
SOURCE_NAMES: dict[str, str] = {
    "curated": "curated",
    "web": "web (shifted)",
    "incaps": "IN-Caps",
    "laionet": "LAIONet",
    **{f"laionet_t{t:g}": f"LAIONet t={t:g}" for t in sorted(factors.LAIONET_THRESHOLDS)},
    "laionet_freq": "LAIONet =freq",
    "cc12m_cls": "CC-12M-Cls",
    "yfcc15m_cls": "YFCC-15M-Cls",
    "yfcc15m": "YFCC-15M",
    "imagenet": "ImageNet",
}


def _scale_text(scale: float) -> str:
    """``1/4 of the data`` for scale 0.25, ``0.3 of the data`` for a fraction that is no 1/n."""
    inverse = 1.0 / float(scale)
    if abs(inverse - round(inverse)) < 1e-9:
        return f"1/{round(inverse)} of the data"
    return f"{float(scale):g} of the data"


def variant_labels(data: Sequence[Mapping[str, Any]]) -> list[str]:
    """Readable, distinct names of training sets from their data factors: the source's name
    (:data:`SOURCE_NAMES`) plus, in brackets, the data factors that differ among ``data`` (all
    the data is not mentioned), e.g. ``curated`` and ``curated (1/2 of the data)``."""
    shown = ("caption", "scale", "classes", "trim_k", "trim_ceil")
    varying = [f for f in shown if len({str(d[f]) for d in data}) > 1]
    labels = []
    for d in data:
        extras = []
        for f in varying:
            if f == "scale":
                if float(d[f]) != 1.0:
                    extras.append(_scale_text(d[f]))
            elif f == "caption":
                extras.append(f"{str(d[f]).replace('_', ' ')} captions")
            else:
                extras.append(f"{f}={d[f]}")
        name = SOURCE_NAMES.get(str(d["source"]), str(d["source"]))
        labels.append(f"{name} ({', '.join(extras)})" if extras else name)
    return labels


def _variant_order(data: Mapping[str, Any]) -> tuple:
    """Sort key of a training set in a figure: source order of :data:`SOURCE_NAMES`, then the
    largest scale first."""
    order = list(SOURCE_NAMES)
    source = str(data["source"])
    known = order.index(source) if source in order else len(order)
    return (known, source, -float(data["scale"]), str(data["caption"]), str(data["classes"]))


#: Caption sentence of the figures that draw the interval columns of the study tables (top-1,
#: Corr. freq vs acc, Corr. freq vs #pred) as error bars (:mod:`cliptail.figures.intervals`).
ERROR_BARS = "Error bars: bootstrap 95 % intervals over classes (and seeds)."
#: Statistics without a bootstrap over classes (neural collapse) get their seeds' t-interval.
SEED_BARS = "NC panels: seed t-intervals (95 %)."


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
    #: An ``audit`` entry's inputs besides the audit table: ``studies`` (study tables with SL
    #: runs on the web subsets), ``records`` and ``samples`` (of the representative models).
    audit_inputs: tuple[str, ...] = ()


CATALOGUE: tuple[Entry, ...] = (
    Entry(
        "fig01a",
        "fig01a_web_frequency",
        "Frequency of the ImageNet classes in six web-scale image-text datasets, ranked by "
        "LAION-400M (log scale; thin = raw, bold = smoothed by a Gaussian filter with a "
        "standard deviation of 3 ranks).",
        "released_frequencies",
        "cliptail.figures.web_frequency:fig01a",
        concept_sets=("imagenet",),
    ),
    Entry(
        "fig03",
        "fig03_descriptiveness_vocabulary",
        "Robustness of CLIP trained on each caption type and of SL with the full or a K-class "
        "vocabulary (random init): (a) Corr. freq vs #pred and (b) top-1 against Corr. freq "
        "vs acc. Linear fits: CLIP template (squares, dotted) and natural-language captions "
        "(dots, dashed), SL with linear sampling (dashed); open triangles: other sampling. "
        + ERROR_BARS,
        "studies",
        "cliptail.figures.robustness:fig03",
        studies=("descriptiveness", "vocabulary"),
    ),
    Entry(
        "fig04a",
        "fig04a_frequency_variants",
        "Training sets of the distribution study (real data: IN-Caps, LAIONet at each "
        "similarity threshold, LAIONet =freq): class frequencies ranked (log scale; the legend "
        "counts empty classes) and the density over classes of the intra-class image "
        "similarity, the mean pair cosine similarity of up to "
        f"{image_similarity.IMAGES_PER_CLASS} seeded images per class, encoded by the default "
        "CLIP run's image tower.",
        "training_frequencies",
        "cliptail.figures.distribution:fig04a",
        studies=("distribution",),
    ),
    Entry(
        "fig04b",
        "fig04b_distribution",
        "Top-1 accuracy and Corr. freq vs acc per training source, one line per model family "
        "(e.g. CLIP with the random and the frozen text tower): the curated and the "
        "distribution-shifted web source at equal size; on real data IN-Caps, LAIONet at "
        "similarity thresholds 0.7 to 0.82 (ascending, IN-Caps size), then LAIONet =freq. "
        + ERROR_BARS,
        "studies",
        "cliptail.figures.distribution:fig04b",
        studies=("distribution",),
    ),
    Entry(
        "fig05",
        "fig05_scale",
        "Top-1 accuracy, Corr. freq vs acc, NC1 and NC2 of the class means (NC2_M), side by "
        "side, against the number of training images (log2 scale): one line per CLIP text tower "
        "present, in the order from scratch, frozen, CLIP-init, frozen RoBERTa, and the SL point "
        "(frozen head) where present. " + SEED_BARS + " " + ERROR_BARS,
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
        "all concepts with all their data (IN-Caps). " + ERROR_BARS,
        "studies",
        "cliptail.figures.open_world:fig06",
        studies=("open_world",),
        evalset="imagenet100_val",
    ),
    Entry(
        "fig06b",
        "fig06b_open_world_web",
        "Corr. freq vs acc, Corr. freq vs #pred and top-1 accuracy of models trained on "
        "YFCC-15M-Cls (captions naming an ImageNet class) and on the whole YFCC-15M. " + ERROR_BARS,
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
        "the k rarest classes keep one (1-shot) or no (0-shot) training image; dashed with "
        "open markers: the untrimmed model of each family on the same classes. " + ERROR_BARS,
        "trim_tail_records",
        "cliptail.figures.trim_tail:fig08",
        studies=("trim_tail",),
    ),
    Entry(
        "fig09a",
        "fig09a_classifier_affinity",
        "Affinity (cosine similarity) matrices of the class embeddings of CLIP's zero-shot "
        "classifier with a random-init (left) and a frozen pre-trained (right) text tower, "
        "otherwise the default run; classes ordered from the most to the least frequent in "
        "training, one colour scale; titles give the mean off-diagonal similarity.",
        "text_tower_classifiers",
        "cliptail.figures.classifier_affinity:fig09a",
    ),
    Entry(
        "fig09b",
        "fig09b_tail_classes",
        "Per-class accuracy and number of predictions on the k = 50 trimmed tail classes (or "
        "the trimmed k closest to 50 that the study has), 0-shot, for each model.",
        "trim_tail_records",
        "cliptail.figures.trim_tail:fig09b_from_study",
        studies=("trim_tail",),
    ),
    Entry(
        "fig10",
        "fig10_dino_transfer",
        "DINO linear-probe transfer: per probe set and on average, each pre-training setting's "
        "score minus the reference setting's (DINO on ImageNet; in the world, on the curated "
        "pool), with all prototypes or a subsampled set per iteration. L-BFGS logistic "
        "regression on frozen teacher features, L2 penalty chosen on val. Error bars: seed "
        "t-intervals (95 %) where a setting has two or more seeds.",
        "studies",
        "cliptail.figures.transfer:fig10",
        studies=("dino",),
    ),
    Entry(
        "fig11",
        "fig11_pearson_spearman",
        "Per-class accuracy and number of predictions against training frequency (log scale; "
        "classes never seen in training at 0) of CLIP and SL, one row per training source, "
        "with Pearson r on the frequency, Pearson r on log(1 + frequency) and Spearman rho in "
        "each panel.",
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
        "at 0), one row per training source; error bars stop at 0.",
        "baseline_records",
        "cliptail.figures.per_class:fig15",
    ),
    Entry(
        "fig19",
        "fig19_frozen_text",
        "As Fig. 3 with a frozen pre-trained text tower for CLIP and frozen text-derived "
        "prototypes for SL: (a) Corr. freq vs #pred and (b) top-1 accuracy against Corr. freq "
        "vs acc, with separate linear fits for template and natural-language captions and for "
        "SL with linear vocabulary sampling (other sampling weights drawn, not fitted). "
        + ERROR_BARS,
        "studies",
        "cliptail.figures.robustness:fig19",
        studies=("text_tower",),
    ),
    Entry(
        "fig21",
        "fig21_web_frequency_bands",
        "Fig. 1a on a linear scale, in five bands of 200 class ranks (ranked by LAION-400M).",
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
    Entry(
        "table02",
        "table02_dino_transfer",
        "Mean DINO linear-probe score over the probe sets per pre-training setting (seed mean, "
        "95 % t-interval half-width over seeds), beside the paper's Table 2 where the setting "
        "is one of its six.",
        "studies",
        "cliptail.figures.transfer:table02",
        studies=("dino",),
        table=True,
    ),
    Entry(
        "fig01b",
        "fig01b_openclip_robustness",
        "Corr. freq vs acc and Corr. freq vs #pred on ImageNet per pre-training dataset: "
        "released CLIP models (mean with 95 % CI over models, n under each name) against web "
        "frequency, and SL trained on the dataset's class-matched subset (LAIONet, "
        "CC-12M-Cls, YFCC-15M-Cls) where the controlled study has one.",
        "audit",
        "cliptail.figures.audit:fig01b",
        audit_inputs=("studies",),
    ),
    Entry(
        "fig07a_openclip",
        "fig07a_openclip_nc_correlations",
        "Spearman correlation, over ImageNet classes, of each per-class neural-collapse metric "
        "with the class's accuracy (left) and with its web frequency (right), per pre-training "
        "dataset (mean over its released CLIP models), as the paper's Fig. 7a.",
        "audit",
        "cliptail.figures.audit:fig07a_openclip",
    ),
    Entry(
        "fig07b",
        "fig07b_tsne_text_centres",
        "t-SNE of the text centres (zero-shot class vectors on ImageNet) of one released CLIP "
        "model per pre-training dataset, coloured by the class's web frequency (one scale for "
        "every panel; grey where the pre-training data has no released frequencies).",
        "audit",
        "cliptail.figures.audit:fig07b",
        audit_inputs=("records", "samples"),
    ),
    Entry(
        "fig12",
        "fig12_openclip_concept_sets",
        "Corr. freq vs acc and Corr. freq vs #pred of released CLIP models on seven other "
        "concept sets, per pre-training dataset (mean with 95 % CI over models).",
        "audit",
        "cliptail.figures.audit:fig12",
    ),
    Entry(
        "fig17",
        "fig17_frequency_accuracy_examples",
        "The most and the least frequent ImageNet classes of each pre-training dataset (web "
        "frequency, log) with the accuracy of one released CLIP model trained on it.",
        "audit",
        "cliptail.figures.audit:fig17",
        audit_inputs=("records",),
    ),
    Entry(
        "fig18",
        "fig18_openclip_imagenet",
        "Each released CLIP model's Corr. freq vs acc and Corr. freq vs #pred against its "
        "top-1 accuracy on ImageNet val and ImageNetV2, coloured by pre-training dataset.",
        "audit",
        "cliptail.figures.audit:fig18",
    ),
    Entry(
        "fig20",
        "fig20_tsne_features",
        "t-SNE of image features (10 ImageNet images per class, dots) and text centres "
        "(crosses) of one released CLIP model per pre-training dataset, coloured by web "
        "frequency (grey where the pre-training data has no released frequencies).",
        "audit",
        "cliptail.figures.audit:fig20",
        audit_inputs=("records", "samples"),
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
    """{concept set: {web dataset: released file path}} (:func:`cliptail.layout.released_path`)."""
    return {
        c: {d: layout.released_path(released_frequency_file(d, c)) for d in factors.WEB_DATASETS}
        for c in concept_sets
    }


def baseline_runs(plan: Any) -> dict[str, str]:
    """Label ``<source>/<method>`` -> run of Fig. 11 and Fig. 15.

    The default runs (``plan.baselines()``: ``CLIP``, ``SL``) and, for every other training
    source, the runs that differ from them in ``source`` only, when the plan has one for each
    method of the default runs (e.g. the paper preset's LAIONet, CC-12M-Cls and YFCC-15M-Cls
    runs). The default runs' source comes first, then the others in :data:`SOURCE_NAMES` order.
    """
    defaults = {label: plan.runs[run].factors for label, run in plan.baselines().items()}
    if not defaults:
        return {}
    home = next(iter(defaults.values()))["source"]
    found: dict[str, dict[str, str]] = {}
    for run in plan.runs.values():
        for label, ref in defaults.items():
            if all(run.factors.get(k) == v for k, v in ref.items() if k != "source"):
                found.setdefault(run.factors["source"], {})[label] = run.name
    runs: dict[str, str] = {}
    for source in dict.fromkeys([home, *SOURCE_NAMES, *sorted(found)]):
        if source in found and (source == home or found[source].keys() == defaults.keys()):
            for label in defaults:
                runs[f"{source}{SOURCE_SEPARATOR}{label}"] = found[source][label]
    return runs


def text_tower_runs(plan: Any) -> dict[str, str]:
    """Text tower -> run of Fig. 9a: ``rand``, the default CLIP run, and ``frozen``, the run that
    differs from it in ``text_tower`` only; empty unless the plan has both."""
    default = plan.baselines().get("CLIP")
    if default is None:
        return {}
    ref = plan.runs[default].factors
    runs = {str(ref["text_tower"]): default}
    for run in plan.runs.values():
        f = run.factors
        if f.get("text_tower") == "frozen" and all(
            f.get(k) == v for k, v in ref.items() if k != "text_tower"
        ):
            runs["frozen"] = run.name
            break
    if set(runs) != {"rand", "frozen"}:
        return {}
    return {"rand": runs["rand"], "frozen": runs["frozen"]}


def audit_imagenet_sets(audit: Any) -> list[str]:
    """The audit's ImageNet-like evaluation sets (ImageNet val and V2; the world's sets)."""
    return [s.name for s in audit.sets if s.concept_set in ("imagenet", "world")]


def _audit_evalset(audit: Any, evalset: str) -> str | None:
    """The audit set the ImageNet figures show: ``evalset`` when audited, else the first."""
    sets = audit_imagenet_sets(audit)
    return evalset if evalset in sets else (sets[0] if sets else None)


def representatives(audit: Any) -> dict[str, str]:
    """Label -> checkpoint: the first checkpoint the configuration lists per pre-training
    dataset (Fig. 7b, 17, 20)."""
    from cliptail.factors import PRETRAINING_DATASETS

    out: dict[str, str] = {}
    seen: set[str] = set()
    for ckpt in audit.checkpoints:
        if ckpt.dataset not in seen:
            seen.add(ckpt.dataset)
            out[f"{PRETRAINING_DATASETS.get(ckpt.dataset, ckpt.dataset)}: {ckpt.model}"] = ckpt.name
    return out


def table01_checkpoint(audit: Any) -> str | None:
    """The checkpoint of Table 1's accuracy column (``audit.table01_checkpoint``: by default
    CLIP RN50 trained on YFCC-15M), or None."""
    if audit is None or not audit.enabled:
        return None
    return audit.table01_checkpoint


def _audit_job(entry: Entry, plan: Any, evalset: str, audit: Any, params: dict) -> FigureJob | None:
    from cliptail.audit.plan import AUDIT_TABLE, record_file, sample_file
    from cliptail.factors import SL_SOURCE_OF

    if audit is None or not audit.enabled:
        return None
    main = _audit_evalset(audit, evalset)
    inputs: dict[str, list[str]] = {"audit": [AUDIT_TABLE]}
    if entry.id == "fig12":
        if not any(s.concept_set in factors.CONCEPT_SETS for s in audit.sets if s.name != main):
            return None
    elif main is None:
        return None
    params.update(evalset=main, evalsets=audit_imagenet_sets(audit))
    if "studies" in entry.audit_inputs:
        inputs["tables"] = [
            layout.study_table(study)
            for study in plan.studies
            if any(
                r.factors["method"] == "sl" and r.factors["source"] in SL_SOURCE_OF.values()
                for r in plan.runs_of(study)
            )
        ]
    if {"records", "samples"} & set(entry.audit_inputs):
        chosen = representatives(audit)
        params["labels"] = list(chosen)
        inputs["records"] = [record_file(c, main) for c in chosen.values()]
        if "samples" in entry.audit_inputs:
            inputs["samples"] = [sample_file(c, main) for c in chosen.values()]
    return FigureJob(entry, inputs, params)


def _job(entry: Entry, plan: Any, evalset: str, audit: Any = None) -> FigureJob | None:
    params: dict[str, Any] = {
        "id": entry.id,
        "draw": entry.draw,
        "reads": entry.reads,
        "caption": entry.caption,
        "evalset": evalset,
    }
    if entry.reads == "audit":
        return _audit_job(entry, plan, evalset, audit, params)
    if entry.reads == "released_frequencies":
        files = released_files(entry.concept_sets)
        params["files"] = files
        inputs = {"freqs": [p for f in files.values() for p in f.values()]}
        accuracy_from = table01_checkpoint(audit) if entry.id == "table01" else None
        main = _audit_evalset(audit, evalset) if accuracy_from else None
        if accuracy_from and main and audit.by_set[main].concept_set == "imagenet":
            from cliptail.audit.plan import record_file

            params["accuracy_from"] = accuracy_from
            inputs["per_class"] = [record_file(accuracy_from, main)]
        return FigureJob(entry, inputs, params)
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
        names = sorted({r.dataset for s in studies for r in plan.runs_of(s)})
        datasets = sorted(names, key=lambda d: (_variant_order(plan.datasets[d].factors), d))
        if not datasets:
            return None
        params["labels"] = variant_labels([plan.datasets[d].factors for d in datasets])
        inputs = {"frequencies": [f"{layout.dataset_dir(d)}/frequency.tsv" for d in datasets]}
        encoder = layout.similarity_encoder(plan)
        if encoder is not None:
            # the intra-class image similarity of each set, by the default CLIP run's image tower
            inputs["similarities"] = [layout.image_similarity_file(d) for d in datasets]
            params["similarity_encoder"] = encoder
        return FigureJob(entry, inputs, params)
    if entry.reads == "text_tower_classifiers":
        runs = text_tower_runs(plan)
        if not runs:
            return None
        params["labels"] = list(runs)
        inputs = {
            "classifiers": [layout.classifier_file(run, evalset) for run in runs.values()],
            "per_class": [layout.per_class_record(runs["rand"], evalset)],
        }
        return FigureJob(entry, inputs, params)
    if entry.reads == "baseline_records":
        runs = baseline_runs(plan)
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
    plan: Any, evalset: str, evalsets: Sequence[str] | None = None, audit: Any = None
) -> dict[str, FigureJob]:
    """Stem -> figure job of every catalogue entry the plan can draw (``evalset`` shown).

    ``evalsets``: the configured evaluation sets; an entry that names its own evaluation set
    (Fig. 6: ``imagenet100_val``) shows that one when it is among them. ``audit``: the
    configured open-source audit (:func:`cliptail.audit.plan.audit_plan`), whose figures are
    planned only when it is enabled.
    """
    configured = set(evalsets or ())
    jobs = (
        _job(entry, plan, entry.evalset if entry.evalset in configured else evalset, audit)
        for entry in CATALOGUE
    )
    return {job.stem: job for job in jobs if job is not None}
