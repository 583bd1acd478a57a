"""Zero-shot classification of a trained checkpoint (docs/study.md section 2).

Classifier (one unit vector per evaluation class, [C, D]):

- CLIP, trainable text tower: ``normalise(mean_t normalise(text(template_t(name_c))))`` over the
  80 OpenAI ImageNet templates (``open_clip.zero_shot_metadata``) or the given ``templates``;
- CLIP, frozen text tower: the same with ``text = trained projection(frozen embedding)``, from
  ``prompt_embeddings`` precomputed by the frozen encoder for :func:`prompt_texts`;
- SL: the normalised head prototypes.

Prediction = the class whose vector has the largest cosine with the image embedding. The
evaluation classes are the first C classes of the model's label set (a model trained with extra
open-world classes is evaluated over the first C only; CLIP builds its classifier from the names).
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
from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES
from tqdm.auto import tqdm

from cliptail.data import manifest as manifest_lib
from cliptail.data.images import ImageTransform, open_image_store
from cliptail.models.build import load_checkpoint
from cliptail.models.clip import ClipModel, FrozenTextClipModel, tokenizer_for
from cliptail.models.sl import PrototypeClassifier

logger = logging.getLogger("cliptail.evaluate")

Template = str | Callable[[str], str]


@dataclass
class ZeroShotResult:
    features: np.ndarray  # float32 [N, D]: unnormalised image embeddings
    targets: np.ndarray  # int64 [N]
    preds: np.ndarray  # int64 [N]: top-1 class
    top5: np.ndarray  # int64 [N, min(5, C)]: best classes first
    classifier: np.ndarray  # float32 [C, D]: unit class vectors


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


@torch.no_grad()
def sl_classifier(
    model: PrototypeClassifier, ckpt: dict[str, Any], class_names: Sequence[str]
) -> torch.Tensor:
    """[C, D] normalised prototypes of the first C classes of the model's label set."""
    trained = ckpt["class_names"]
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
    """Unnormalised image embeddings float32 [N, D] of the images ``handles``."""
    device = model.logit_scale.device
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


def evaluate_checkpoint(
    checkpoint: str | os.PathLike | dict[str, Any],
    *,
    manifest: str | os.PathLike | pd.DataFrame,
    images_root: str | os.PathLike,
    class_names: Sequence[str],
    templates: Sequence[Template] | None = None,
    prompt_embeddings: np.ndarray | None = None,
    batch_size: int = 512,
    progress: bool = True,
) -> ZeroShotResult:
    """Zero-shot predictions of a trained run on an evaluation manifest (labels in 0..C-1)."""
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model, ckpt = load_checkpoint(checkpoint)
    model = model.to(device, memory_format=torch.channels_last)
    class_names = list(class_names)
    num_classes = len(class_names)
    if isinstance(model, ClipModel):
        classifier = clip_text_classifier(
            model, ckpt["model_config"], class_names, templates, batch_size
        )
    elif isinstance(model, FrozenTextClipModel):
        if prompt_embeddings is None:
            raise ValueError(
                "a CLIP model with a frozen text tower needs prompt_embeddings: the "
                "frozen encoder's embeddings of prompt_texts(class_names)"
            )
        classifier = frozen_text_classifier(model, prompt_embeddings, num_classes)
    else:
        classifier = sl_classifier(model, ckpt, class_names)
    df = manifest if isinstance(manifest, pd.DataFrame) else manifest_lib.read(manifest)
    df = manifest_lib.validate(
        df,
        num_classes,
        where=str(manifest) if not isinstance(manifest, pd.DataFrame) else "evaluation manifest",
        allow_empty_captions=True,
    )
    store = open_image_store(images_root)
    handles = store.locate(df["image"].tolist())
    cfg = ckpt["model_config"]
    transform = ImageTransform(
        size=int(cfg["vision_cfg"]["image_size"]),
        train=False,
        resize=ckpt["spec"]["model"].get("eval_resize"),
    )
    features = encode_images(model, store, handles, transform, batch_size, progress)
    sims = F.normalize(torch.from_numpy(features).to(device), dim=-1) @ classifier.to(device).T
    top = sims.topk(min(5, num_classes), dim=-1).indices.cpu().numpy().astype(np.int64)
    return ZeroShotResult(
        features=features.astype(np.float32),
        targets=df["label"].to_numpy(np.int64),
        preds=top[:, 0].copy(),
        top5=top,
        classifier=classifier.float().cpu().numpy(),
    )
