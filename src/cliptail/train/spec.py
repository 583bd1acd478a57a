"""The training spec: a run's resolved training configuration, parsed and validated.

The workflow hands :func:`cliptail.train.train_run` a plain dict; :meth:`TrainSpec.from_dict`
turns it into dataclasses, rejecting unknown keys and bad values with a message naming the key
(``train spec: optim.lr: must be > 0, got -1``). Keys left ``None`` take the method's default
from docs/study.md section 3 when the spec is resolved (:meth:`TrainSpec.resolved`).

A third method, ``dino`` (self-supervised DINO with cosine prototypes, a Sinkhorn-Knopp teacher
and prototype subsampling, the paper's Sec. 4.2), takes its settings from the ``dino`` key
(:class:`DinoSpec`). CLIP and SL specs have no ``dino`` key at all (:meth:`TrainSpec.to_dict`
leaves it out), so their dicts, checkpoints and resume keys are those of specs written before the
method existed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass, field
from typing import Any

METHODS = ("clip", "sl", "dino")
TEXT_TOWERS = ("rand", "frozen", "clip_init", "roberta")
SCHEDULES = ("cosine", "multistep")
SCHEDULE_UNITS = ("step", "epoch")
VOCAB_WEIGHTS = ("linear", "sqrt", "uniform")

#: Settings of the job that runs the training (threads, data-loader workers, device): they come
#: from Snakemake's ``threads`` and the rule's resources, never from the configuration.
JOB_SETTINGS = ("threads", "workers", "device")
#: Keys that change neither the trained weights nor the data: left out of the resume key.
RUNTIME_KEYS = ("run", "log_every") + JOB_SETTINGS


class SpecError(ValueError):
    """A training spec key is unknown or has a bad value."""


@dataclass(frozen=True)
class VocabSpec:
    """SL vocabulary subsampling (docs/study.md section 3, paper Sec. 3.3; :mod:`cliptail.train.vocab`).

    - ``size``: target vocabulary size K per shard; ``None`` = full softmax over all classes.
    - ``weight``: sampling weight of the added classes, ``linear`` (training frequency),
      ``sqrt`` (its square root) or ``uniform``.
    - ``shard``: images per vocabulary shard (the paper's per-GPU batch of 64): every shard of
      the batch has its own vocabulary.
    """

    size: int | None = None
    weight: str = "linear"
    shard: int = 64


@dataclass(frozen=True)
class ModelSpec:
    """The network: an open_clip model config and optional overrides (``None`` = the config's).

    - ``name``: open_clip config name (``cliptail-tiny-rn`` for the 32x32 world, ``RN50``).
    - ``image_size``, ``embed_dim``, ``context_length``: input size, joint embedding / SL feature
      dimension, text length in tokens.
    - ``vision_width``, ``vision_layers``: modified-ResNet base width and blocks per stage.
    - ``text_width``, ``text_heads``, ``text_layers``: the trainable text transformer.
    - ``eval_resize``: evaluation resize before the centre crop (PAPER: 224 for CLIP, 256 for SL
      at image_size 224); ``None`` = ``image_size``.
    """

    name: str = "cliptail-tiny-rn"
    image_size: int | None = None
    embed_dim: int | None = None
    context_length: int | None = None
    vision_width: int | None = None
    vision_layers: tuple[int, ...] | None = None
    text_width: int | None = None
    text_heads: int | None = None
    text_layers: int | None = None
    eval_resize: int | None = None

    def overrides(self) -> dict[str, Any]:
        """The overrides for :func:`cliptail.models.configs.model_config`."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("name", "eval_resize")
        }


@dataclass(frozen=True)
class OptimSpec:
    """Optimiser and learning-rate schedule. ``None`` = the method's default (CLIP / SL below;
    DINO: :meth:`TrainSpec.resolved`, SGD like SL).

    - ``epochs`` (32 / 90), ``batch_size`` (global batch: 1024 / 256).
    - ``lr`` (1e-3 / 0.1 x batch_size / 256), ``weight_decay`` (0.2 / 1e-4).
    - ``decay_all`` (false): apply the weight decay to every trainable parameter; false leaves
      norms, biases and the logit scale undecayed (open_clip's rule). The released SL scripts
      decayed every parameter (the paper preset's SL recipe).
    - CLIP uses AdamW with ``betas`` (0.9, 0.999) and ``eps`` 1e-8; SL uses SGD with
      ``momentum`` 0.9 and ``nesterov`` (default: on for ``multistep``, off for ``cosine``).
    - ``warmup_steps`` (500 / 0): linear warm-up from 0 over that many optimiser steps.
    - ``schedule`` (``cosine`` / ``multistep``): ``cosine`` decays to 0 at the end of training;
      ``multistep`` multiplies the lr by ``gamma`` (0.1) at each of ``milestones``, given as
      fractions of the epochs (default 1/3, 5/9, 7/9: the paper's epochs 30/50/70 of 90),
      rounded to whole epochs.
    - ``schedule_unit`` (``step`` / ``epoch``): how often the lr changes; per epoch means the lr
      of epoch e is the schedule's value at e (the released SL scripts' per-epoch cosine).
    """

    epochs: int | None = None
    batch_size: int | None = None
    lr: float | None = None
    weight_decay: float | None = None
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    warmup_steps: int | None = None
    schedule: str | None = None
    schedule_unit: str | None = None
    milestones: tuple[float, ...] = (1 / 3, 5 / 9, 7 / 9)
    gamma: float = 0.1
    momentum: float = 0.9
    nesterov: bool | None = None
    decay_all: bool = False


@dataclass(frozen=True)
class DinoSpec:
    """DINO settings (``method: dino``; :mod:`cliptail.models.dino`,
    :mod:`cliptail.train.dino_loss`, :mod:`cliptail.data.multicrop`). Defaults: the paper's RN50
    recipe (Sec. 4.2).

    - ``prototypes`` (65536): K, the cosine prototypes of the head.
    - ``subsample`` (``None``): S, the prototypes drawn uniformly (without replacement) for each
      optimiser step, the same for teacher, student and every process; the Sinkhorn-Knopp
      targets and the loss cover those S only. ``None`` = all K.
    - ``head_hidden`` (2048), ``head_layers`` (3), ``bottleneck`` (256): the head's MLP (GELU
      between its linear layers, ``head_layers`` of them) and its output dimension, which is
      L2-normalised before the cosine prototypes.
    - ``student_temp`` (0.1): student scores are cosine / ``student_temp``.
    - ``teacher_temp`` (0.04): the Sinkhorn-Knopp temperature of the teacher scores. With
      ``warmup_teacher_temp_epochs`` > 0 it rises linearly, once per epoch, from
      ``warmup_teacher_temp`` (0.04) to ``teacher_temp`` over that many epochs (DINO's warm-up,
      e.g. 0.04 -> 0.07 over 30 epochs); the default 0 keeps it constant.
    - ``sinkhorn_iterations`` (3): Sinkhorn-Knopp normalisation steps (DINOv2's default).
    - ``momentum`` (0.996) -> ``momentum_final`` (1.0): the EMA teacher's momentum, on a cosine
      schedule over all optimiser steps (DINO's ``cosine_scheduler``).
    - ``global_scale`` ((0.14, 1.0)), ``local_scale`` ((0.05, 0.14)): area fractions of the 2
      global crops (at the model's image size) and of the ``local_crops`` local crops.
    - ``local_crops`` (6): number of local crops per image; ``local_size`` (``None`` =
      ``round(image_size * 96 / 224)``: 96 at 224 px, 14 at the world's 32 px) their side.
    """

    prototypes: int = 65536
    subsample: int | None = None
    head_hidden: int = 2048
    bottleneck: int = 256
    head_layers: int = 3
    student_temp: float = 0.1
    teacher_temp: float = 0.04
    warmup_teacher_temp: float = 0.04
    warmup_teacher_temp_epochs: int = 0
    sinkhorn_iterations: int = 3
    momentum: float = 0.996
    momentum_final: float = 1.0
    global_scale: tuple[float, float] = (0.14, 1.0)
    local_scale: tuple[float, float] = (0.05, 0.14)
    local_crops: int = 6
    local_size: int | None = None

    def validate(self) -> None:
        _int("dino.prototypes", self.prototypes, 1)
        _int("dino.subsample", self.subsample, 1, optional=True)
        if self.subsample is not None and self.subsample > self.prototypes:
            raise SpecError(
                f"train spec: dino.subsample: must be <= dino.prototypes ({self.prototypes}), "
                f"got {self.subsample}"
            )
        for key in ("head_hidden", "bottleneck", "head_layers", "sinkhorn_iterations"):
            _int(f"dino.{key}", getattr(self, key), 1)
        for key in ("student_temp", "teacher_temp", "warmup_teacher_temp"):
            _number(f"dino.{key}", getattr(self, key), 0, exclusive=True)
        _int("dino.warmup_teacher_temp_epochs", self.warmup_teacher_temp_epochs, 0)
        for key in ("momentum", "momentum_final"):
            value = getattr(self, key)
            _number(f"dino.{key}", value, 0)
            if value > 1:
                raise SpecError(f"train spec: dino.{key}: must be in [0, 1], got {value!r}")
        for key in ("global_scale", "local_scale"):
            value = getattr(self, key)
            if not (
                len(value) == 2
                and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)
                and 0 < value[0] <= value[1] <= 1
            ):
                raise SpecError(
                    f"train spec: dino.{key}: must be two area fractions 0 < lo <= hi <= 1, "
                    f"got {list(value)!r}"
                )
        _int("dino.local_crops", self.local_crops, 0)
        _int("dino.local_size", self.local_size, 1, optional=True)


@dataclass(frozen=True)
class TrainSpec:
    """A training run.

    - ``run``: the run's name (logs, progress bar).
    - ``method``: ``clip`` (contrastive image-text), ``sl`` (supervised prototype classifier) or
      ``dino`` (self-supervised DINO on the images alone; labels and captions are ignored).
    - ``seed``: model initialisation, data order, augmentation and vocabulary sampling.
    - ``text_tower`` (CLIP): ``rand`` (trained from scratch), ``frozen`` (pre-computed
      embeddings of a frozen pre-trained encoder, passed as ``text_embeddings``), ``clip_init``
      (the text tower and projection of the open_clip model ``text_encoder``, fine-tuned) or
      ``roberta`` (pre-computed embeddings of a frozen RoBERTa, like ``frozen``).
    - ``text_projection`` (CLIP, frozen text tower): ``linear`` (trainable) or ``none``.
    - ``text_encoder`` (CLIP): the pre-trained encoder behind the text tower:
      ``openclip:<model>@<tag or checkpoint file>`` for ``clip_init`` (required there), the
      encoder of the embeddings otherwise (recorded only).
    - ``head`` (SL): ``rand`` (learned prototypes) or ``frozen`` (``class_embeddings``).
    - ``vocab`` (SL): :class:`VocabSpec`; ``model``: :class:`ModelSpec`; ``optim``:
      :class:`OptimSpec`; ``dino`` (DINO): :class:`DinoSpec` (``None`` = its defaults).
    - ``threads``: torch CPU threads (``None`` = leave torch's setting); ``workers``: data-loader
      worker processes (0 = load in the training process, best for in-memory arrays).
    - ``device``: ``auto`` (CUDA when available), ``cpu``, ``cuda``.
    - ``amp``: mixed precision (fp16 with loss scaling on CUDA, bf16 on CPU).
    - ``sync_bn``: synchronise batch-norm statistics across processes (multi-GPU runs).
    - ``log_every``: optimiser steps between lines of ``train.jsonl``.
    """

    run: str = "run"
    method: str = "clip"
    seed: int = 0
    text_tower: str = "rand"
    text_projection: str = "linear"
    text_encoder: str | None = None
    head: str = "rand"
    vocab: VocabSpec = field(default_factory=VocabSpec)
    model: ModelSpec = field(default_factory=ModelSpec)
    optim: OptimSpec = field(default_factory=OptimSpec)
    dino: DinoSpec | None = None
    threads: int | None = None
    workers: int = 0
    device: str = "auto"
    amp: bool = False
    sync_bn: bool = False
    log_every: int = 50

    # --- construction -------------------------------------------------------------------------

    @classmethod
    def from_dict(cls, data: dict[str, Any] | TrainSpec) -> TrainSpec:
        """Parse and validate ``data``; raises :class:`SpecError` naming the offending key."""
        if isinstance(data, TrainSpec):
            return data
        spec = _build(cls, data, "")
        spec.validate()
        return spec

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the spec; ``dino`` only where it is set (never for CLIP / SL)."""
        data = _plain(dataclasses.asdict(self))
        if data["dino"] is None:
            del data["dino"]
        return data

    def resolved(self) -> TrainSpec:
        """The spec with every method-dependent default filled in (see :class:`OptimSpec`).

        DINO (``method: dino``, the paper's Sec. 4.2 RN50 recipe): 100 epochs, batch 1024, SGD
        (momentum 0.9, no Nesterov) with lr 0.03 x batch_size / 256, weight decay 1e-4, cosine
        decay per step, no warm-up unless set; ``dino`` = :class:`DinoSpec` defaults when unset.
        """
        if self.method == "dino":
            return self._resolved_dino()
        clip = self.method == "clip"
        o = self.optim
        batch = o.batch_size if o.batch_size is not None else (1024 if clip else 256)
        schedule = o.schedule or ("cosine" if clip else "multistep")
        optim = dataclasses.replace(
            o,
            epochs=o.epochs if o.epochs is not None else (32 if clip else 90),
            batch_size=batch,
            lr=o.lr if o.lr is not None else (1e-3 if clip else 0.1 * batch / 256),
            weight_decay=(
                o.weight_decay if o.weight_decay is not None else (0.2 if clip else 1e-4)
            ),
            warmup_steps=o.warmup_steps if o.warmup_steps is not None else (500 if clip else 0),
            schedule=schedule,
            schedule_unit=o.schedule_unit or ("step" if clip else "epoch"),
            nesterov=(
                o.nesterov if o.nesterov is not None else (not clip and schedule == "multistep")
            ),
        )
        return dataclasses.replace(self, optim=optim)

    def _resolved_dino(self) -> TrainSpec:
        o = self.optim
        batch = o.batch_size if o.batch_size is not None else 1024
        optim = dataclasses.replace(
            o,
            epochs=o.epochs if o.epochs is not None else 100,
            batch_size=batch,
            lr=o.lr if o.lr is not None else 0.03 * batch / 256,
            weight_decay=o.weight_decay if o.weight_decay is not None else 1e-4,
            warmup_steps=o.warmup_steps if o.warmup_steps is not None else 0,
            schedule=o.schedule or "cosine",
            schedule_unit=o.schedule_unit or "step",
            nesterov=o.nesterov if o.nesterov is not None else False,
        )
        return dataclasses.replace(self, optim=optim, dino=self.dino or DinoSpec())

    def resume_key(self, data_fingerprint: str = "") -> str:
        """Hash of everything that shapes the result (spec minus :data:`RUNTIME_KEYS`, data)."""
        payload = {k: v for k, v in self.resolved().to_dict().items() if k not in RUNTIME_KEYS}
        if payload.get("text_encoder") is None:  # keys of runs from before the key existed
            payload.pop("text_encoder", None)
        blob = json.dumps({"spec": payload, "data": data_fingerprint}, sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    # --- validation ---------------------------------------------------------------------------

    def validate(self) -> None:
        _choice("method", self.method, METHODS)
        _choice("text_tower", self.text_tower, TEXT_TOWERS)
        _choice("text_projection", self.text_projection, ("linear", "none"))
        _choice("head", self.head, ("rand", "frozen"))
        if self.method != "sl" and (self.head != "rand" or self.vocab != VocabSpec()):
            raise SpecError("train spec: 'head' and 'vocab' apply to method 'sl' only")
        if self.method != "clip" and (
            self.text_tower != "rand"
            or self.text_projection != "linear"
            or self.text_encoder is not None
        ):
            raise SpecError(
                "train spec: 'text_tower', 'text_projection' and 'text_encoder' apply to "
                "method 'clip' only"
            )
        if self.text_encoder is not None and not isinstance(self.text_encoder, str):
            raise SpecError(
                f"train spec: text_encoder: must be a string, got {self.text_encoder!r}"
            )
        if self.text_tower == "clip_init" and not str(self.text_encoder or "").startswith(
            "openclip:"
        ):
            raise SpecError(
                "train spec: text_tower 'clip_init' needs text_encoder "
                f"'openclip:<model>@<tag or checkpoint path>', got {self.text_encoder!r}"
            )
        if self.dino is not None and self.method != "dino":
            raise SpecError("train spec: 'dino' applies to method 'dino' only")
        if self.method == "dino":
            (self.dino or DinoSpec()).validate()
        _int("seed", self.seed, 0)
        _int("vocab.size", self.vocab.size, 1, optional=True)
        _choice("vocab.weight", self.vocab.weight, VOCAB_WEIGHTS)
        _int("vocab.shard", self.vocab.shard, 1)
        m = self.model
        if not isinstance(m.name, str) or not m.name:
            raise SpecError(
                f"train spec: model.name: must be an open_clip config name, got {m.name!r}"
            )
        for key in (
            "image_size",
            "embed_dim",
            "context_length",
            "vision_width",
            "text_width",
            "text_heads",
            "text_layers",
            "eval_resize",
        ):
            _int(f"model.{key}", getattr(m, key), 1, optional=True)
        if m.vision_layers is not None:
            if not (
                isinstance(m.vision_layers, tuple)
                and m.vision_layers
                and all(isinstance(v, int) and v >= 1 for v in m.vision_layers)
            ):
                raise SpecError(
                    f"train spec: model.vision_layers: must be a list of positive "
                    f"integers, got {m.vision_layers!r}"
                )
        o = self.optim
        _int("optim.epochs", o.epochs, 1, optional=True)
        _int("optim.batch_size", o.batch_size, 1, optional=True)
        _number("optim.lr", o.lr, 0, exclusive=True, optional=True)
        _number("optim.weight_decay", o.weight_decay, 0, optional=True)
        if len(o.betas) != 2 or not all(
            isinstance(b, (int, float)) and 0 <= b < 1 for b in o.betas
        ):
            raise SpecError(
                f"train spec: optim.betas: must be two numbers in [0, 1), got {o.betas!r}"
            )
        _number("optim.eps", o.eps, 0, exclusive=True)
        _int("optim.warmup_steps", o.warmup_steps, 0, optional=True)
        if o.schedule is not None:
            _choice("optim.schedule", o.schedule, SCHEDULES)
        if o.schedule_unit is not None:
            _choice("optim.schedule_unit", o.schedule_unit, SCHEDULE_UNITS)
        if not all(isinstance(v, (int, float)) and 0 < v <= 1 for v in o.milestones):
            raise SpecError(
                f"train spec: optim.milestones: must be fractions of the epochs in "
                f"(0, 1], got {list(o.milestones)!r}"
            )
        _number("optim.gamma", o.gamma, 0, exclusive=True)
        _number("optim.momentum", o.momentum, 0)
        if o.nesterov is not None:
            _bool("optim.nesterov", o.nesterov)
        _bool("optim.decay_all", o.decay_all)
        _int("threads", self.threads, 1, optional=True)
        _int("workers", self.workers, 0)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu", "cuda") or self.device.startswith("cuda:")
        ):
            raise SpecError(
                f"train spec: device: must be 'auto', 'cpu' or 'cuda', got {self.device!r}"
            )
        _bool("amp", self.amp)
        _bool("sync_bn", self.sync_bn)
        _int("log_every", self.log_every, 1)


# --- helpers -------------------------------------------------------------------------------------

_NESTED = {"vocab": VocabSpec, "model": ModelSpec, "optim": OptimSpec, "dino": DinoSpec}
#: Nested keys whose ``None`` means "not set" rather than "all defaults".
_OPTIONAL_NESTED = {"dino"}
_TUPLES = {"betas", "milestones", "vision_layers", "global_scale", "local_scale"}


def _build(cls, data: Any, prefix: str):
    where = prefix.rstrip(".") or "the spec"
    if not isinstance(data, dict):
        raise SpecError(f"train spec: {where}: must be a mapping, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - names)
    if unknown:
        raise SpecError(
            f"train spec: unknown key(s) {[prefix + k for k in unknown]}; "
            f"known keys of {where}: {sorted(names)}"
        )
    kwargs = {}
    for key, value in data.items():
        if cls is TrainSpec and key in _OPTIONAL_NESTED and value is None:
            pass
        elif cls is TrainSpec and key in _NESTED:
            value = _build(_NESTED[key], value if value is not None else {}, f"{prefix}{key}.")
        elif key in _TUPLES and value is not None:
            if not isinstance(value, (list, tuple)):
                raise SpecError(f"train spec: {prefix}{key}: must be a list, got {value!r}")
            value = tuple(value)
        kwargs[key] = value
    return cls(**kwargs)


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    return obj


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise SpecError(f"train spec: {key}: must be one of {list(choices)}, got {value!r}")


def _bool(key: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SpecError(f"train spec: {key}: must be true or false, got {value!r}")


def _int(key: str, value: Any, minimum: int, optional: bool = False) -> None:
    if value is None and optional:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise SpecError(
            f"train spec: {key}: must be an integer >= {minimum}"
            f"{' or null' if optional else ''}, got {value!r}"
        )


def _number(
    key: str, value: Any, minimum: float, exclusive: bool = False, optional: bool = False
) -> None:
    if value is None and optional:
        return
    ok = (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > minimum if exclusive else value >= minimum)
    )
    if not ok:
        raise SpecError(
            f"train spec: {key}: must be a number {'>' if exclusive else '>='} "
            f"{minimum}, got {value!r}"
        )
