"""The supervised (SL) model: CLIP's image tower + a cosine prototype head (docs/study.md section 3).

logits[i, c] = exp(s) * <h_i / |h_i|, w_c / |w_c|>, with h = image tower output, w_c the
prototype of class c (no bias) and s a learnable temperature, init ln(1/0.07), clamped to
[0, ln 100]. Random prototypes are initialised N(0, std = D^-0.5); frozen prototypes (a [C, D]
array, e.g. text embeddings of "a {name}") are a buffer, never updated.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from cliptail.models.clip import LOGIT_SCALE_INIT, _ScaledModel, build_vision_tower


class PrototypeClassifier(_ScaledModel):
    def __init__(
        self,
        cfg: dict[str, Any],
        num_classes: int,
        prototypes: np.ndarray | torch.Tensor | None = None,
    ):
        super().__init__()
        dim = int(cfg["embed_dim"])
        self.visual = build_vision_tower(cfg)
        if prototypes is None:
            weight = torch.empty(num_classes, dim)
            nn.init.normal_(weight, std=dim**-0.5)
            self.prototypes = nn.Parameter(weight)
        else:
            frozen = torch.as_tensor(np.asarray(prototypes, dtype=np.float32))
            if tuple(frozen.shape) != (num_classes, dim):
                raise ValueError(
                    f"frozen head has shape {tuple(frozen.shape)}, expected "
                    f"({num_classes}, {dim}) = (classes, model embed_dim)"
                )
            self.register_buffer("prototypes", frozen)
        self.logit_scale = nn.Parameter(torch.tensor(LOGIT_SCALE_INIT))

    @property
    def frozen_head(self) -> bool:
        return not isinstance(self.prototypes, nn.Parameter)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """Unnormalised image embeddings [B, D]."""
        return self.visual(images)

    def classifier(self) -> torch.Tensor:
        """The L2-normalised prototypes [C, D]."""
        return F.normalize(self.prototypes.float(), dim=-1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Scaled cosine logits [B, C] over all classes."""
        features = F.normalize(self.encode_image(images), dim=-1)
        weights = F.normalize(self.prototypes.to(features.dtype), dim=-1)
        return self.logit_scale.exp() * features @ weights.T


def load_prototypes(path: str | Path) -> np.ndarray:
    """A frozen head [C, D] from ``.npy`` or a torch tensor file (``.pt``/``.pth``, any dtype),
    as float32 (not normalised: the classifier normalises)."""
    path = Path(path)
    if path.suffix == ".npy":
        array = np.load(path)
    elif path.suffix in (".pt", ".pth"):
        tensor = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(tensor, torch.Tensor):
            raise ValueError(
                f"{path}: expected a tensor [classes, dim], got {type(tensor).__name__}"
            )
        array = tensor.float().numpy()
    else:
        raise ValueError(f"{path}: class embeddings must be a .npy or .pt file")
    if array.ndim != 2:
        raise ValueError(f"{path}: expected a [classes, dim] array, got shape {array.shape}")
    return array.astype(np.float32)
