"""Zero-shot classification of a trained checkpoint (docs/study.md section 2).

Classifier (one unit vector per evaluation class, [C, D]):

- CLIP, trainable text tower: ``normalise(mean_t normalise(text(template_t(name_c))))`` over the
  80 OpenAI ImageNet templates (``open_clip.zero_shot_metadata``) or the given ``templates``;
- CLIP, frozen text tower: the same with ``text = trained projection(frozen embedding)``, from
  ``prompt_embeddings`` precomputed by the frozen encoder for :func:`prompt_texts`;
- SL: the normalised head prototypes.

Class names in the prompts (:func:`zeroshot_class_names`, config ``evaluation.zeroshot_names``):
for ImageNet evaluation sets open_clip's ``IMAGENET_CLASSNAMES`` (the authors' choice, default) or
the names of ``classes.tsv`` (``descriptors_imagenet.json``, used by captions and SL heads; the two
differ at classes 27, 638, 744 and 836); other evaluation sets use their own names.

Prediction = the class whose vector has the largest cosine with the image embedding. The
evaluation classes are the first C classes of the model's label set (a model trained with extra
open-world classes is evaluated over the first C only; CLIP builds its classifier from the names).

**Class subsets** (``class_subset``, e.g. the IN-100 evaluation set): only the K listed classes
compete (K-way): the classifier has their K rows only (CLIP: their prompts; SL: their prototypes),
images of other classes are left out, and targets and predictions are positions 0..K-1 in the
sorted subset (:attr:`ZeroShotResult.classes` maps them back to the evaluation set's classes). An
SL model trained on a class subset (checkpoint ``class_ids``, e.g. IN-Caps-100 trained 100-way)
finds each evaluation class's prototype through ``class_ids``; evaluated on classes it was not
trained on, it is evaluated over the classes it knows (logged), since it has no prototype for
the others.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from cliptail.data import manifest as manifest_lib
from cliptail.data.images import ImageTransform, open_image_store
from cliptail.data.synthetic.text import prompt_templates as world_prompt_templates
from cliptail.models.build import load_checkpoint
from cliptail.models.clip import ClipModel, FrozenTextClipModel, tokenizer_for
from cliptail.models.sl import PrototypeClassifier
from cliptail.openclip import open_clip_data

logger = logging.getLogger("cliptail.evaluate")

_METADATA = open_clip_data("zero_shot_metadata")
IMAGENET_CLASSNAMES = _METADATA.IMAGENET_CLASSNAMES
OPENAI_IMAGENET_TEMPLATES = _METADATA.OPENAI_IMAGENET_TEMPLATES
SIMPLE_IMAGENET_TEMPLATES = _METADATA.SIMPLE_IMAGENET_TEMPLATES

Template = str | Callable[[str], str]

#: Choices of ``evaluation.zeroshot_names``.
ZEROSHOT_NAMES = ("openclip", "descriptors")


#: Prompt template sets (config ``evaluation.templates``): OpenAI's 80 ImageNet templates (the
#: paper's) or open_clip's 7-template subset of them (a tenth of the text-encoding cost).
def _name_template(template: str) -> Template:
    return lambda name: template.format(name=name, Name=name.capitalize())


#: Prompt sets of ``evaluation.templates``: ``openai`` (the 80 OpenAI ImageNet templates, the
#: paper's), ``simple`` (open_clip's 7-template subset) and ``world`` (the synthetic world's own
#: name titles, :func:`cliptail.data.synthetic.text.prompt_templates`: prompts in the style of
#: the world's captions, as the OpenAI templates are in the style of web alt-text).
TEMPLATE_SETS: dict[str, tuple[Template, ...]] = {
    "openai": tuple(OPENAI_IMAGENET_TEMPLATES),
    "simple": tuple(SIMPLE_IMAGENET_TEMPLATES),
    "world": tuple(_name_template(t) for t in world_prompt_templates()),
}


def zeroshot_templates(name: str = "openai") -> tuple[Template, ...]:
    """The prompt templates called ``name`` (a key of :data:`TEMPLATE_SETS`)."""
    if name not in TEMPLATE_SETS:
        raise ValueError(f"unknown template set {name!r}; use one of {sorted(TEMPLATE_SETS)}")
    return TEMPLATE_SETS[name]


@dataclass
class ZeroShotResult:
    features: np.ndarray  # float32 [N, D]: unnormalised image embeddings
    targets: np.ndarray  # int64 [N]
    preds: np.ndarray  # int64 [N]: top-1 class
    top5: np.ndarray  # int64 [N, min(5, C)]: best classes first
    classifier: np.ndarray  # float32 [C, D]: unit class vectors
    #: int64 [C]: the evaluation set's class index of each evaluated class (targets and
    #: predictions index this array); 0..C-1 without a class subset.
    classes: np.ndarray | None = None


def _fill(template: Template, name: str) -> str:
    return template(name) if callable(template) else template.format(name)


def prompt_texts(
    class_names: Sequence[str], templates: Sequence[Template] | None = None
) -> list[str]:
    """All prompts, class-major: text ``c * T + t`` is template t filled with class c's name.

    ``templates``: callables or format strings with one ``{}``; default: the 80 OpenAI ImageNet
    templates. Embeddings of this list, in this order, are the ``prompt_embeddings`` of
    :func:`evaluate_checkpoint` ([C * T, D] or [C, T, D]).
    """
    templates = OPENAI_IMAGENET_TEMPLATES if templates is None else templates
    return [_fill(t, name) for name in class_names for t in templates]


def zeroshot_class_names(classes: pd.DataFrame, choice: str = "openclip") -> list[str]:
    """The names filled into the zero-shot prompts of an evaluation set's classes.

    ``classes``: its ``classes.tsv`` (``id``, ``name``). ``openclip``: when every id is an
    ImageNet wnid, open_clip's ``IMAGENET_CLASSNAMES`` entry of that wnid (ImageNet, ImageNetV2,
    an ImageNet subset); else the table's names. ``descriptors``: the table's names.
    """
    if choice not in ZEROSHOT_NAMES:
        raise ValueError(f"zero-shot names must be one of {list(ZEROSHOT_NAMES)}, got {choice!r}")
    names = classes["name"].tolist()
    if choice == "descriptors":
        return names
    from cliptail.data.metadata import imagenet_wnids

    index = {w: i for i, w in enumerate(imagenet_wnids())}
    ids = classes["id"].tolist()
    if not ids or not all(w in index for w in ids):
        return names
    return [IMAGENET_CLASSNAMES[index[w]] for w in ids]


def _mean_of_normalised(text_features: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[C*T, D] class-major text features -> [C, D] unit vectors of the per-class means of the
    unit vectors."""
    per_class = F.normalize(text_features.float(), dim=-1).view(
        num_classes, -1, text_features.shape[-1]
    )
    return F.normalize(per_class.mean(dim=1), dim=-1)


@torch.no_grad()
def clip_text_classifier(
    model: ClipModel,
    cfg: dict[str, Any],
    class_names: Sequence[str],
    templates: Sequence[Template] | None = None,
    batch_size: int = 512,
) -> torch.Tensor:
    """[C, D] classifier of a CLIP model with a trainable text tower."""
    tokenizer = tokenizer_for(cfg)
    texts = prompt_texts(class_names, templates)
    device = model.logit_scale.device
    feats = [
        model.encode_text(tokenizer(texts[i : i + batch_size]).to(device))
        for i in range(0, len(texts), batch_size)
    ]
    return _mean_of_normalised(torch.cat(feats), len(class_names))


@torch.no_grad()
def frozen_text_classifier(
    model: FrozenTextClipModel, prompt_embeddings: np.ndarray, num_classes: int
) -> torch.Tensor:
    """[C, D] classifier of a CLIP model with a frozen text tower from prompt embeddings."""
    emb = np.asarray(prompt_embeddings, dtype=np.float32)
    if emb.ndim == 3:
        if emb.shape[0] != num_classes:
            raise ValueError(
                f"prompt embeddings are for {emb.shape[0]} classes, expected {num_classes}"
            )
        emb = emb.reshape(-1, emb.shape[-1])
    if emb.ndim != 2 or len(emb) % num_classes:
        raise ValueError(
            f"prompt embeddings of shape {emb.shape} are not [C*T, D] or [C, T, D] "
            f"for C={num_classes}; embed prompt_texts(class_names) again"
        )
    device = model.logit_scale.device
    return _mean_of_normalised(model.encode_text(torch.from_numpy(emb).to(device)), num_classes)


def select_prompt_embeddings(
    prompt_embeddings: np.ndarray, num_classes: int, classes: Sequence[int]
) -> np.ndarray:
    """The [K*T, D] prompt embeddings of ``classes`` out of those of all ``num_classes``
    ([C*T, D] class-major or [C, T, D])."""
    emb = np.asarray(prompt_embeddings)
    if emb.ndim == 2:
        if len(emb) % num_classes:
            raise ValueError(
                f"prompt embeddings of shape {emb.shape} are not [C*T, D] for C={num_classes}"
            )
        emb = emb.reshape(num_classes, -1, emb.shape[-1])
    if emb.ndim != 3 or emb.shape[0] != num_classes:
        raise ValueError(
            f"prompt embeddings of shape {emb.shape} are not for {num_classes} classes"
        )
    return emb[np.asarray(classes, dtype=np.int64)].reshape(-1, emb.shape[-1])


def sl_rows(ckpt: dict[str, Any], classes: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Head rows of the evaluation ``classes`` in an SL checkpoint: (rows, classes kept).

    A model trained on a class subset (``class_ids``) has row r for class ``class_ids[r]``;
    classes it was not trained on are left out (logged). Otherwise row c is class c.
    """
    classes = np.asarray(classes, dtype=np.int64)
    class_ids = ckpt.get("class_ids")
    if class_ids is None:
        return classes, classes
    row_of = {int(c): r for r, c in enumerate(class_ids)}
    known = np.array([int(c) in row_of for c in classes], dtype=bool)
    if not known.any():
        raise ValueError(
            f"the SL model was trained on {len(row_of)} classes, none of the "
            f"{len(classes)} evaluation classes"
        )
    if not known.all():
        logger.warning(
            "the SL model was trained on %d classes: evaluated over the %d of the %d "
            "evaluation classes it knows",
            len(row_of),
            int(known.sum()),
            len(classes),
        )
    kept = classes[known]
    return np.array([row_of[int(c)] for c in kept], dtype=np.int64), kept


@torch.no_grad()
def sl_classifier(
    model: PrototypeClassifier,
    ckpt: dict[str, Any],
    class_names: Sequence[str],
    rows: Sequence[int] | None = None,
) -> torch.Tensor:
    """[C, D] normalised prototypes of the first C classes of the model's label set, or of the
    head ``rows`` (:func:`sl_rows`) for the classes ``class_names``."""
    trained = ckpt["class_names"]
    if rows is not None:
        rows = np.asarray(rows, dtype=np.int64)
        differ = sum(class_names[i] != trained[r] for i, r in enumerate(rows))
        if differ:
            logger.info("%d evaluation class names differ from the training names", differ)
        return model.classifier()[torch.from_numpy(rows)]
    if len(class_names) > len(trained):
        raise ValueError(
            f"{len(class_names)} evaluation classes but the SL model knows only {len(trained)}"
        )
    differ = sum(a != b for a, b in zip(class_names, trained, strict=False))
    if differ:
        logger.info(
            "%d of %d evaluation class names differ from the training names; classes "
            "are matched by index",
            differ,
            len(class_names),
        )
    return model.classifier()[: len(class_names)]


@torch.no_grad()
def encode_images(
    model: torch.nn.Module,
    store,
    handles: np.ndarray,
    transform: ImageTransform,
    batch_size: int = 512,
    progress: bool = True,
) -> np.ndarray:
    """Unnormalised image embeddings float32 [N, D] of the images ``handles`` (any model with
    ``encode_image``: CLIP, SL, DINO's teacher backbone)."""
    device = next(model.parameters()).device
    chunks = []
    for start in tqdm(
        range(0, len(handles), batch_size),
        disable=not progress,
        desc="encoding images",
        unit="batch",
    ):
        images = transform(store.load(handles[start : start + batch_size]))
        images = images.to(device, memory_format=torch.channels_last)
        chunks.append(model.encode_image(images).float().cpu())
    return torch.cat(chunks).numpy() if chunks else np.zeros((0, 0), dtype=np.float32)


@torch.no_grad()
def top_classes(
    features: np.ndarray, classifier: torch.Tensor | np.ndarray, k: int = 5, device=None
) -> np.ndarray:
    """int64 [N, min(k, C)]: the classes (rows of ``classifier``, unit vectors [C, D]) with the
    largest cosine to each image embedding, best first; column 0 is the prediction. Only the
    rows given compete: pass the K rows of a class subset for a K-way evaluation."""
    device = device or torch.device("cpu")
    classifier = torch.as_tensor(classifier).to(device)
    sims = F.normalize(torch.as_tensor(features).to(device), dim=-1) @ classifier.T
    return sims.topk(min(k, classifier.shape[0]), dim=-1).indices.cpu().numpy().astype(np.int64)


def evaluate_checkpoint(
    checkpoint: str | os.PathLike | dict[str, Any],
    *,
    manifest: str | os.PathLike | pd.DataFrame,
    images_root: str | os.PathLike,
    class_names: Sequence[str],
    templates: Sequence[Template] | None = None,
    prompt_embeddings: np.ndarray | None = None,
    prompt_names: Sequence[str] | None = None,
    class_subset: Sequence[int] | None = None,
    batch_size: int = 512,
    progress: bool = True,
    text_head_cache: dict[tuple[str, ...], torch.Tensor] | None = None,
) -> ZeroShotResult:
    """Zero-shot predictions of a trained run on an evaluation manifest (labels in 0..C-1).

    ``prompt_names``: the names filled into the prompts of a CLIP text tower
    (:func:`zeroshot_class_names`); default ``class_names``. ``class_subset``: the classes
    evaluated (K-way; module docstring); default all C. ``prompt_embeddings`` are always those
    of all C classes. ``text_head_cache``: classifiers of this checkpoint's trainable text tower
    by prompt texts, filled and reused across calls (ImageNet val and ImageNetV2 share their
    classes, so their prompts are encoded once).
    """
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, ckpt = load_checkpoint(checkpoint)
    model = model.to(device, memory_format=torch.channels_last)
    class_names = list(class_names)
    num_classes = len(class_names)
    subset = class_subset is not None or ckpt.get("class_ids") is not None
    classes = np.arange(num_classes, dtype=np.int64)
    if class_subset is not None:
        classes = np.unique(np.asarray(class_subset, dtype=np.int64))
        if len(classes) == 0 or classes[0] < 0 or classes[-1] >= num_classes:
            raise ValueError(f"class subset out of range for {num_classes} classes")
    if isinstance(model, ClipModel):
        names = class_names if prompt_names is None else list(prompt_names)
        if len(names) != num_classes:
            raise ValueError(f"{len(names)} prompt names for {num_classes} classes")
        names = [names[c] for c in classes]
        key = tuple(prompt_texts(names, templates))
        cache = {} if text_head_cache is None else text_head_cache
        if key not in cache:
            cache[key] = clip_text_classifier(
                model, ckpt["model_config"], names, templates, batch_size
            )
        classifier = cache[key]
    elif isinstance(model, FrozenTextClipModel):
        if prompt_embeddings is None:
            raise ValueError(
                "a CLIP model with a frozen text tower needs prompt_embeddings: the "
                "frozen encoder's embeddings of prompt_texts(class_names)"
            )
        if subset:
            prompt_embeddings = select_prompt_embeddings(prompt_embeddings, num_classes, classes)
        classifier = frozen_text_classifier(model, prompt_embeddings, len(classes))
    elif subset:
        rows, classes = sl_rows(ckpt, classes)
        classifier = sl_classifier(model, ckpt, [class_names[c] for c in classes], rows)
    else:
        classifier = sl_classifier(model, ckpt, class_names)
    df = manifest if isinstance(manifest, pd.DataFrame) else manifest_lib.read(manifest)
    df = manifest_lib.validate(
        df,
        num_classes,
        where=str(manifest) if not isinstance(manifest, pd.DataFrame) else "evaluation manifest",
        allow_empty_captions=True,
    )
    if subset:
        df = df[df["label"].isin(classes)].reset_index(drop=True)
        df["label"] = np.searchsorted(classes, df["label"].to_numpy(np.int64))
    num_classes = len(classes)
    store = open_image_store(images_root)
    handles = store.locate(df["image"].tolist())
    cfg = ckpt["model_config"]
    transform = ImageTransform(
        size=int(cfg["vision_cfg"]["image_size"]),
        train=False,
        resize=ckpt["spec"]["model"].get("eval_resize"),
    )
    features = encode_images(model, store, handles, transform, batch_size, progress)
    top = top_classes(features, classifier, device=device)
    return ZeroShotResult(
        features=features.astype(np.float32),
        targets=df["label"].to_numpy(np.int64),
        preds=top[:, 0].copy(),
        top5=top,
        classifier=classifier.float().cpu().numpy(),
        classes=classes,
    )
