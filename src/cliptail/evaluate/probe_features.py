"""Frozen image features of a trained run for linear probes.

:func:`encode_dataset` loads a checkpoint (:func:`cliptail.models.build.load_checkpoint`: any
method whose model has ``encode_image``; for DINO that is the teacher backbone, the features
the paper's probes use) and encodes the images of a manifest with the run's evaluation
preprocessing (resize, centre crop, normalisation of :class:`cliptail.data.images.ImageTransform`).
The features are the backbone's raw output, unnormalised, float32 [N, D], in manifest order.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import torch

from cliptail.data.images import ImageTransform, open_image_store
from cliptail.evaluate.zeroshot import encode_images
from cliptail.models.build import load_checkpoint


def eval_transform(ckpt: dict[str, Any]) -> ImageTransform:
    """The evaluation preprocessing of a checkpoint's run."""
    return ImageTransform(
        size=int(ckpt["model_config"]["vision_cfg"]["image_size"]),
        train=False,
        resize=ckpt["spec"]["model"].get("eval_resize"),
    )


def encode_dataset(
    checkpoint: str | os.PathLike | dict[str, Any],
    manifest: pd.DataFrame,
    images_root: str | os.PathLike,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> np.ndarray:
    """float32 [len(manifest), D]: the run's image features of the manifest's ``image`` rows."""
    device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, ckpt = load_checkpoint(checkpoint)
    model = model.to(device, memory_format=torch.channels_last).eval()
    store = open_image_store(images_root)
    handles = store.locate(manifest["image"].tolist())
    if not len(handles):
        raise ValueError("the manifest has no images to encode")
    features = encode_images(model, store, handles, eval_transform(ckpt), batch_size, progress)
    return features.astype(np.float32)
