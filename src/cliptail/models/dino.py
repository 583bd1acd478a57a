"""The DINO model (``method: dino``): student and EMA teacher, each a modified ResNet + DINO head.

Backbone: the open_clip image tower of the run's model config, built exactly as CLIP's and SL's
(:func:`cliptail.models.clip.build_vision_tower`: the modified ResNet with attention pooling,
output ``embed_dim``: 256 for ``cliptail-tiny-rn``, 1024 for ``RN50``). Multi-crop training
feeds it local crops smaller than the config's image size, which the tower as built cannot take;
:func:`multi_resolution` makes two changes that leave its output at the config's image size
bit-identical:

- every ``AvgPool2d`` (the stem's and the anti-aliasing pools of the strided blocks) rounds its
  output size up (``ceil_mode``), so an odd or 1-pixel feature map still shrinks by 2 instead of
  failing (a 16 px crop of the 4-stage tiny tower reaches 1 x 1 before the last stage); on the
  even sizes of the config's image size nothing changes;
- the attention pool's positional embedding (one row per cell of the ``image_size / 32`` grid,
  plus the mean token) is resized bicubically to the grid of a smaller crop, as ViTs do for
  other resolutions (RN50's 7 x 7 grid becomes 3 x 3 for 96 px local crops; the tiny tower's
  1 x 1 grid stays 1 x 1).

Head (:class:`DinoHead`): an MLP of ``head_layers`` linear layers (GELU between, hidden width
``head_hidden``, DINO's initialisation: truncated normal std 0.02, zero bias) to ``bottleneck``
dimensions, L2-normalised, then K cosine prototypes: ``score[i, k] = <z_i / |z_i|, w_k / |w_k|>``
with ``W`` [K, bottleneck] normalised row by row in the forward pass (DINO's weight-normalised
last layer with its norm fixed to 1). The temperatures are applied by the loss
(:mod:`cliptail.train.dino_loss`), since student and teacher use different ones. Given a subset
of prototype indices, only those rows are gathered and scored, so prototype subsampling also
saves the [N, K] product; the gradient reaches only those rows. The cosine layer runs in float32
even under autocast: its scores are divided by temperatures as small as 0.04, where bfloat16
cosines (3 significant digits) would put errors of 0.1 into the teacher's exponents.

:class:`DinoModel` holds the student and a deep copy of it as the teacher (no gradients; updated
by :meth:`DinoModel.update_teacher`, an EMA of the student's parameters after each optimiser step;
the teacher's batch-norm statistics come from its own forward passes, as in DINO). Its
``encode_image`` is the TEACHER backbone's output (pre-head features), which linear probes use.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cliptail.models.clip import build_vision_tower
from cliptail.openclip import load_open_clip

open_clip = load_open_clip()
AttentionPool2d = open_clip.modified_resnet.AttentionPool2d

#: The :class:`cliptail.train.spec.DinoSpec` keys that shape the model (the rest shape training).
HEAD_KEYS = ("prototypes", "head_hidden", "bottleneck", "head_layers")


class MultiResolutionAttentionPool2d(AttentionPool2d):
    """open_clip's ``AttentionPool2d`` whose positional embedding follows the input's grid.

    At the grid it was built for the forward pass is open_clip's own; at another grid the
    spatial rows (a ``s x s`` map) are resized bicubically (``align_corners=False``) to it, the
    mean token's row kept. Parameters and state-dict keys are unchanged.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cells = x.shape[2] * x.shape[3]
        if cells + 1 == self.positional_embedding.shape[0]:
            return super().forward(x)
        return self.pool(x, self.resized_embedding(x.shape[2], x.shape[3]))

    def resized_embedding(self, height: int, width: int) -> torch.Tensor:
        """The positional embedding [height * width + 1, C] of a ``height x width`` grid."""
        pos = self.positional_embedding
        side = math.isqrt(pos.shape[0] - 1)
        grid = pos[1:].T.reshape(1, -1, side, side).float()
        grid = F.interpolate(grid, size=(height, width), mode="bicubic", align_corners=False)
        return torch.cat([pos[:1], grid.reshape(pos.shape[1], height * width).T.to(pos.dtype)])

    def pool(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        """open_clip's ``AttentionPool2d.forward`` with the positional embedding ``pos``."""
        x = x.reshape(x.shape[0], x.shape[1], x.shape[2] * x.shape[3]).permute(2, 0, 1)
        x = torch.cat([x.mean(dim=0, keepdim=True), x], dim=0)
        x = x + pos[:, None, :].to(x.dtype)
        x, _ = F.multi_head_attention_forward(
            query=x,
            key=x,
            value=x,
            embed_dim_to_check=x.shape[-1],
            num_heads=self.num_heads,
            q_proj_weight=self.q_proj.weight,
            k_proj_weight=self.k_proj.weight,
            v_proj_weight=self.v_proj.weight,
            in_proj_weight=None,
            in_proj_bias=torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),
            bias_k=None,
            bias_v=None,
            add_zero_attn=False,
            dropout_p=0.0,
            out_proj_weight=self.c_proj.weight,
            out_proj_bias=self.c_proj.bias,
            use_separate_proj_weight=True,
            training=self.training,
            need_weights=False,
        )
        return x[0]


def multi_resolution(tower: nn.Module) -> nn.Module:
    """Let an open_clip modified ResNet take crops of any size (module docstring); in place."""
    for module in tower.modules():
        if isinstance(module, nn.AvgPool2d):
            module.ceil_mode = True
        if type(module) is AttentionPool2d:
            module.__class__ = MultiResolutionAttentionPool2d
    return tower


class DinoHead(nn.Module):
    """MLP -> L2-normalised bottleneck -> cosine scores against K prototypes (module docstring)."""

    def __init__(self, in_dim: int, prototypes: int, hidden: int, bottleneck: int, layers: int):
        super().__init__()
        dims = [in_dim] + [hidden] * (layers - 1) + [bottleneck]
        modules: list[nn.Module] = []
        for k in range(layers):
            modules.append(nn.Linear(dims[k], dims[k + 1]))
            if k < layers - 1:
                modules.append(nn.GELU())
        self.mlp = nn.Sequential(*modules)
        for module in self.mlp:
            if isinstance(module, nn.Linear):
                nn.init.trunc_normal_(module.weight, std=0.02)
                nn.init.zeros_(module.bias)
        weight = torch.empty(prototypes, bottleneck)
        nn.init.normal_(weight, std=bottleneck**-0.5)
        self.prototypes = nn.Parameter(weight)

    def forward(self, features: torch.Tensor, subset: torch.Tensor | None = None) -> torch.Tensor:
        """Cosine scores [N, K] (or [N, len(subset)] for the prototype rows ``subset``)."""
        z = self.mlp(features)
        weight = self.prototypes if subset is None else self.prototypes.index_select(0, subset)
        with torch.autocast(z.device.type, enabled=False):
            z = F.normalize(z.float(), dim=-1)
            return z @ F.normalize(weight.float(), dim=-1).T


class DinoNetwork(nn.Module):
    """Backbone + head; crops of one resolution share a backbone pass (DINO's multi-crop
    wrapper), so batch-norm statistics are those of each resolution's crops together."""

    def __init__(self, cfg: dict[str, Any], head: Mapping[str, int]):
        super().__init__()
        self.backbone = multi_resolution(build_vision_tower(cfg))
        self.head = DinoHead(
            int(cfg["embed_dim"]),
            prototypes=int(head["prototypes"]),
            hidden=int(head["head_hidden"]),
            bottleneck=int(head["bottleneck"]),
            layers=int(head["head_layers"]),
        )

    def features(self, crops: Sequence[torch.Tensor]) -> torch.Tensor:
        """Backbone features of all crops, in order, [sum of crop batches, embed_dim]."""
        out, start = [], 0
        while start < len(crops):
            end = start
            while end < len(crops) and crops[end].shape[-2:] == crops[start].shape[-2:]:
                end += 1
            out.append(self.backbone(torch.cat(list(crops[start:end]))))
            start = end
        return torch.cat(out) if len(out) > 1 else out[0]

    def forward(
        self, crops: Sequence[torch.Tensor], subset: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Cosine prototype scores of all crops, stacked in crop order [crops x B, S]."""
        return self.head(self.features(crops), subset)


class DinoModel(nn.Module):
    """Student and EMA teacher (module docstring). ``head``: the :data:`HEAD_KEYS` settings."""

    def __init__(self, cfg: dict[str, Any], head: Mapping[str, Any]):
        super().__init__()
        missing = [k for k in HEAD_KEYS if k not in head]
        if missing:
            raise ValueError(f"the DINO head needs the settings {missing} (TrainSpec.dino)")
        self.student = DinoNetwork(cfg, head)
        self.teacher = copy.deepcopy(self.student)
        for param in self.teacher.parameters():
            param.requires_grad_(False)

    @property
    def embed_dim(self) -> int:
        return int(self.teacher.backbone.output_dim)

    def encode_image(self, images: torch.Tensor) -> torch.Tensor:
        """The teacher backbone's features [B, embed_dim] (unnormalised, before the head)."""
        return self.teacher.backbone(images)

    def forward(
        self,
        global_crops: Sequence[torch.Tensor],
        local_crops: Sequence[torch.Tensor],
        subset: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(student scores of all crops [(G + L) x B, S], teacher scores of the global crops
        [G x B, S], no gradient), crops stacked in order: global first, then local."""
        student = self.student(list(global_crops) + list(local_crops), subset)
        with torch.no_grad():
            teacher = self.teacher(list(global_crops), subset)
        return student, teacher

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """teacher <- momentum * teacher + (1 - momentum) * student, parameters only."""
        teacher = list(self.teacher.parameters())
        student = [p.detach() for p in self.student.parameters()]
        torch._foreach_lerp_(teacher, student, 1.0 - momentum)
