"""Build a model from a training spec, and rebuild a trained one from its checkpoint.

A checkpoint (``checkpoint.pt``, written by the trainer) is a dict with
``format`` (:data:`CHECKPOINT_FORMAT`), ``spec`` (the resolved training spec), ``method``,
``text_tower``, ``text_projection``, ``model_config`` (the full open_clip config, overrides
applied), ``text_dim`` (frozen text tower), ``num_classes``, ``class_names`` (training label set),
``state_dict`` and ``versions``. Nothing else is needed to rebuild the model.

DINO checkpoints (``method: dino``) have the same keys (``text_tower`` ``None``; ``num_classes``
and ``class_names`` describe the manifest, which DINO does not use) and the same format; their
``state_dict`` holds the student and the teacher (``student.*``, ``teacher.*``), and the head's
settings come from ``spec["dino"]``. :func:`load_checkpoint` returns the whole
:class:`cliptail.models.dino.DinoModel` (eval mode), whose ``encode_image`` gives the teacher
backbone's features [B, embed_dim] (256 for ``cliptail-tiny-rn``, 1024 for ``RN50``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

from cliptail.models.clip import ClipModel, FrozenTextClipModel
from cliptail.models.configs import model_config
from cliptail.models.dino import DinoModel
from cliptail.models.sl import PrototypeClassifier

CHECKPOINT_FORMAT = "cliptail-checkpoint/1"


def resolve_model_config(spec, prototypes: np.ndarray | None = None) -> dict[str, Any]:
    """The open_clip config of ``spec.model`` (a :class:`cliptail.train.TrainSpec`).

    With a frozen SL head the feature dimension is the prototypes' D.
    """
    cfg = model_config(spec.model.name, **spec.model.overrides())
    if prototypes is not None:
        dim = int(prototypes.shape[1])
        if spec.model.embed_dim not in (None, dim):
            raise ValueError(
                f"model.embed_dim is {spec.model.embed_dim} but the frozen head's "
                f"prototypes are {dim}-d; leave model.embed_dim unset"
            )
        cfg["embed_dim"] = dim
    return cfg


def build_model(
    method: str,
    cfg: dict[str, Any],
    *,
    num_classes: int,
    text_tower: str = "rand",
    text_dim: int | None = None,
    text_projection: str = "linear",
    prototypes: np.ndarray | torch.Tensor | None = None,
    dino: Mapping[str, Any] | None = None,
) -> nn.Module:
    """A freshly initialised model (initialisation follows the global torch seed).

    ``text_tower``: ``rand`` and ``clip_init`` build a trainable open_clip text tower (the
    trainer then copies the pre-trained weights into a ``clip_init`` one,
    :func:`cliptail.models.clip.init_text_tower`); ``frozen`` and ``roberta`` take pre-computed
    embeddings of ``text_dim`` through the projection ``text_projection``. ``dino``: the
    ``dino`` settings of the spec (method ``dino``; the head's size comes from them).
    """
    if method == "clip" and text_tower in ("rand", "clip_init"):
        return ClipModel(cfg)
    if method == "clip" and text_tower in ("frozen", "roberta"):
        if text_dim is None:
            raise ValueError("a frozen text tower needs the dimension of the text embeddings")
        return FrozenTextClipModel(cfg, text_dim, text_projection)
    if method == "sl":
        return PrototypeClassifier(cfg, num_classes, prototypes)
    if method == "dino":
        if dino is None:
            raise ValueError("method 'dino' needs the run's dino settings (TrainSpec.dino)")
        return DinoModel(cfg, dino)
    raise ValueError(f"unknown method {method!r} / text tower {text_tower!r}")


def read_checkpoint(
    path: str | os.PathLike, map_location: str | torch.device = "cpu"
) -> dict[str, Any]:
    """The checkpoint dict saved at ``path``; a truncated or foreign file raises a ValueError
    that names it and says what to do."""
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=False)
    except FileNotFoundError:
        raise
    except Exception as exc:  # torch reports a truncated or foreign file in many ways
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise ValueError(
            f"checkpoint {path} is unreadable (truncated, or not a torch file: "
            f"{type(exc).__name__}: {first_line}); delete it and rerun Snakemake to train the "
            "run again"
        ) from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path}: not a cliptail checkpoint (format {CHECKPOINT_FORMAT!r}); delete it and "
            "rerun Snakemake to train the run again"
        )
    return ckpt


def load_checkpoint(
    path_or_dict: str | os.PathLike | dict[str, Any], map_location: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """The trained model (eval mode) and the checkpoint dict."""
    ckpt = path_or_dict if isinstance(path_or_dict, dict) else read_checkpoint(path_or_dict)
    if ckpt.get("format") != CHECKPOINT_FORMAT:
        raise ValueError(
            f"{path_or_dict}: not a cliptail checkpoint (format "
            f"{CHECKPOINT_FORMAT!r}); train it with cliptail.train.train_run"
        )
    prototypes = None
    if ckpt["method"] == "sl" and ckpt["spec"]["head"] == "frozen":
        prototypes = ckpt["state_dict"]["prototypes"]
    model = build_model(
        ckpt["method"],
        ckpt["model_config"],
        num_classes=ckpt["num_classes"],
        text_tower=ckpt["text_tower"],
        text_dim=ckpt.get("text_dim"),
        text_projection=ckpt["text_projection"],
        prototypes=prototypes,
        dino=ckpt["spec"].get("dino"),
    )
    model.load_state_dict(ckpt["state_dict"])
    model.eval()
    return model, ckpt
