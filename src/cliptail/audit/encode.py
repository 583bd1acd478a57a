"""Load a released checkpoint through open_clip and encode an evaluation set with it.

:func:`load_released` builds ``open_clip.create_model(model, pretrained=<weight file>)`` (the
same route for downloaded and local files, QuickGELU as the weights were trained) and returns it
with its evaluation transform: open_clip's (resize the shorter side with bicubic interpolation,
centre crop, the checkpoint's mean and std), done by cliptail's batched
:class:`cliptail.data.images.ImageTransform`, which reads every image store of the workflow.
:func:`encode_set` gives the text classifier (mean of the normalised prompt embeddings of each
class, re-normalised; docs/study.md section 2) and the unnormalised image embeddings.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from cliptail.data.images import ImageTransform, open_image_store

logger = logging.getLogger("cliptail.audit")


@dataclass
class EncodedSet:
    features: np.ndarray  # float32 [N, D]: unnormalised image embeddings
    targets: np.ndarray  # int64 [N]
    classifier: np.ndarray  # float32 [C, D]: unit class vectors


def load_released(
    model_name: str,
    weights: str,
    *,
    quick_gelu: bool = False,
    device: str | torch.device = "cpu",
) -> tuple[torch.nn.Module, ImageTransform, Any]:
    """(model in eval mode, evaluation transform, tokenizer) of a released checkpoint.

    ``weights``: a state-dict file (``.bin``, ``.pt`` or ``.safetensors``) that open_clip loads
    with ``pretrained=<file>``. A file that does not fit the model raises with both names.
    """
    from cliptail.models.configs import open_clip, register_model_configs

    register_model_configs()
    try:
        model = open_clip.create_model(
            model_name, pretrained=str(weights), device=device, force_quick_gelu=quick_gelu
        )
    except OSError:  # a missing or unreadable file says so itself
        raise
    except Exception as exc:
        # state-dict keys or shapes that do not fit (RuntimeError; open_clip asserts on the text
        # positional embedding's width first), or no state dict at all (e.g. an HTML page: torch's
        # unpickler raises whatever its parse of the bytes ends in)
        raise ValueError(
            f"{weights}: not a checkpoint of open_clip model {model_name!r} ({exc}); check the "
            "entry's `model` or delete the file to download it again"
        ) from exc
    model.eval()
    size = model.visual.image_size
    size = int(size[0] if isinstance(size, (tuple, list)) else size)
    mean = tuple(getattr(model.visual, "image_mean", None) or _OPENAI_MEAN)
    std = tuple(getattr(model.visual, "image_std", None) or _OPENAI_STD)
    transform = ImageTransform(size=size, train=False, resize=size, mean=mean, std=std)
    return model, transform, open_clip.get_tokenizer(model_name)


_OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
_OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)


@torch.no_grad()
def text_classifier(
    model: torch.nn.Module,
    tokenizer: Any,
    class_names: Sequence[str],
    templates: Sequence,
    batch_size: int = 256,
) -> np.ndarray:
    """[C, D] unit class vectors: per class, the mean of the unit embeddings of its prompts,
    re-normalised."""
    from cliptail.evaluate.zeroshot import _mean_of_normalised, prompt_texts

    texts = prompt_texts(class_names, templates)
    device = next(model.parameters()).device
    chunks = [
        model.encode_text(tokenizer(texts[i : i + batch_size]).to(device)).float().cpu()
        for i in range(0, len(texts), batch_size)
    ]
    return _mean_of_normalised(torch.cat(chunks), len(class_names)).numpy()


def encode_set(
    model: torch.nn.Module,
    transform: ImageTransform,
    tokenizer: Any,
    *,
    manifest,
    images_root: str,
    class_names: Sequence[str],
    templates: Sequence,
    batch_size: int = 256,
    progress: bool = True,
) -> EncodedSet:
    """Classifier and image embeddings of one evaluation set (``manifest``: a DataFrame with
    ``image`` and ``label`` in 0..C-1)."""
    from cliptail.evaluate.zeroshot import encode_images

    classifier = text_classifier(model, tokenizer, class_names, templates, batch_size)
    store = open_image_store(images_root)
    handles = store.locate(manifest["image"].tolist())
    features = encode_images(model, store, handles, transform, batch_size, progress)
    return EncodedSet(
        features=features.astype(np.float32),
        targets=manifest["label"].to_numpy(np.int64),
        classifier=classifier.astype(np.float32),
    )
