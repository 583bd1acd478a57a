"""What the shared trainer (:mod:`cliptail.train.loop`) does differently for ``method: dino``.

:class:`DinoStep` supplies the multi-crop transform (:mod:`cliptail.data.multicrop`), the loss of
one step (:mod:`cliptail.train.dino_loss`: prototype subset, Sinkhorn-Knopp teacher targets,
cross-entropy over crop pairs), the EMA teacher update after each optimiser step and the values
logged to ``train.jsonl`` in place of CLIP's logit scale (``momentum``: the EMA momentum used
after that step; ``teacher_temp``; ``prototypes``: the subset size). Everything it draws is a
function of (seed, epoch, step), and it keeps no state of its own between steps, so the
trainer's per-epoch resume and its multi-process runs need nothing more: the teacher is part of
the model's state dict, the rest is recomputed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cliptail.data.multicrop import MultiCropTransform
from cliptail.models.dino import DinoModel
from cliptail.train import distributed
from cliptail.train.dino_loss import (
    assert_same_on_ranks,
    dino_loss,
    prototype_subset,
    sinkhorn_knopp,
    teacher_momentum,
    teacher_temperature,
)
from cliptail.train.spec import TrainSpec


def local_crop_size(image_size: int) -> int:
    """DINO's local crop side for a global crop of ``image_size``: 96 px at 224."""
    return max(1, round(image_size * 96 / 224))


class DinoStep:
    """The DINO parts of a run (``spec`` resolved, ``cfg`` its model config)."""

    def __init__(
        self,
        spec: TrainSpec,
        env: distributed.DistEnv,
        cfg: dict[str, Any],
        steps_per_epoch: int,
    ):
        self.spec, self.env, self.d = spec, env, spec.dino
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = spec.optim.epochs * steps_per_epoch
        image_size = int(cfg["vision_cfg"]["image_size"])
        self.transform = MultiCropTransform(
            global_size=image_size,
            local_size=self.d.local_size or local_crop_size(image_size),
            local_crops=self.d.local_crops,
            global_scale=tuple(self.d.global_scale),
            local_scale=tuple(self.d.local_scale),
        )

    def describe(self) -> dict[str, Any]:
        """The resolved multi-crop settings (``run.json``)."""
        t = self.transform
        return {
            "global_size": t.global_size,
            "local_size": t.local_size,
            "local_crops": t.local_crops,
            "global_scale": list(t.global_scale),
            "local_scale": list(t.local_scale),
            "blur_sigma_px": list(t.sigma_range()),
        }

    def teacher_temp(self, epoch: int) -> float:
        d = self.d
        return teacher_temperature(
            d.teacher_temp, d.warmup_teacher_temp, d.warmup_teacher_temp_epochs, epoch
        )

    def momentum(self, step: int) -> float:
        """EMA momentum applied after optimiser step ``step`` (0-based, over the whole run)."""
        return teacher_momentum(self.d.momentum, self.d.momentum_final, step, self.total_steps)

    def loss(self, net: nn.Module, batch: dict[str, Any], epoch: int) -> torch.Tensor:
        """The DINO loss of one batch (``net``: the model, or its DDP wrapper)."""
        device = self.env.device
        crops = [
            c.to(device, non_blocking=True, memory_format=torch.channels_last)
            for c in batch["images"]
        ]
        subset = prototype_subset(
            self.d.prototypes, self.d.subsample, self.spec.seed, epoch, batch["step"]
        )
        if subset is not None:
            if batch["step"] == 0 and self.env.distributed:
                assert_same_on_ranks(subset, "prototype subset")
            subset = subset.to(device, non_blocking=True)
        student, teacher = net(crops[:2], crops[2:], subset)
        targets = sinkhorn_knopp(
            teacher, self.teacher_temp(epoch), self.d.sinkhorn_iterations, self.env.world_size
        )
        return dino_loss(student.chunk(len(crops)), targets.chunk(2), self.d.student_temp)

    def after_step(self, model: DinoModel, step: int) -> None:
        """The EMA teacher update after optimiser step ``step``."""
        model.update_teacher(self.momentum(step))

    def log_fields(self, epoch: int, step: int) -> dict[str, float]:
        """``train.jsonl`` values of optimiser step ``step`` of epoch ``epoch``."""
        return {
            "momentum": self.momentum(step),
            "teacher_temp": self.teacher_temp(epoch),
            "prototypes": self.d.subsample or self.d.prototypes,
        }
