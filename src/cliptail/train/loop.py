"""The training loop shared by CLIP, SL and DINO: :func:`train_run`.

Outputs in ``out_dir`` (written by process 0 only, each atomically):

- ``checkpoint.pt``: final weights + what :func:`cliptail.models.build.load_checkpoint` needs;
- ``train.jsonl``: one JSON object per line, ``{"event": "step", "step", "epoch", "loss", "lr",
  "logit_scale", "images_per_s"}`` every ``log_every`` steps (DINO: ``momentum``, ``teacher_temp``
  and ``prototypes`` in place of ``logit_scale``), ``{"event": "epoch", ...,
  "time_s"}`` after each epoch (mean loss of the epoch), ``{"event": "resume", "epoch", "step"}``
  where a restarted run continued; ``logit_scale`` is exp(s), ``images_per_s`` counts all
  processes. Rewritten after every epoch;
- ``run.json``: resolved spec, seeds, versions, device, world size, data size, wall time.

CLIP loss: open_clip ``ClipLoss``; with several processes the features of all processes are
gathered with gradients and each process takes the rows of its own images (``local_loss``), which
makes the update equal to one process on the whole global batch. SL loss: cross-entropy over all
classes, or over each shard's vocabulary (:mod:`cliptail.train.vocab`). DINO: multi-crop batches,
a Sinkhorn-Knopp teacher and an EMA teacher update after each step
(:mod:`cliptail.train.dino_step`).

Convolutions run in the channels-last memory format (about 1.4x faster for the small modified
ResNets on CPU, and the format tensor cores prefer).
"""

from __future__ import annotations

import json
import logging
import os
import platform
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel
from tqdm.auto import tqdm

from cliptail import io
from cliptail.data.images import ImageTransform
from cliptail.models.batchnorm import convert_sync_batchnorm
from cliptail.models.build import CHECKPOINT_FORMAT, build_model, resolve_model_config
from cliptail.models.clip import (
    init_text_tower,
    load_pretrained_clip,
    pretrained_text_config,
    tokenizer_for,
)
from cliptail.models.sl import load_prototypes
from cliptail.openclip import load_open_clip
from cliptail.train import checkpoint as ckpt_io
from cliptail.train import distributed
from cliptail.train.data import EpochBatches, TrainData, load_train_data, vocab_rng
from cliptail.train.dino_step import DinoStep
from cliptail.train.optim import build_optimizer, learning_rate, set_learning_rate
from cliptail.train.spec import TrainSpec
from cliptail.train.vocab import class_weights, shard_vocabularies, subsampled_cross_entropy

open_clip = load_open_clip()
ClipLoss = open_clip.loss.ClipLoss
logger = logging.getLogger("cliptail.train")

#: the files a run writes to its ``out_dir``
OUTPUT_FILES = ("checkpoint.pt", "train.jsonl", "run.json")

SEEDS = {
    "init": "torch.manual_seed(seed) before the model is built",
    "data_order": "numpy default_rng([seed, epoch, 0]).permutation(rows)",
    "crops": "numpy default_rng([seed, epoch, step, 1]) per global batch",
    "vocabulary": "numpy default_rng([seed, epoch, step, 2, first row of the shard])",
    "prototypes": "numpy default_rng([seed, epoch, step, 3]) (DINO prototype subset)",
}


def train_run(
    spec: dict[str, Any] | TrainSpec,
    *,
    manifest: str | os.PathLike | pd.DataFrame,
    classes: str | os.PathLike | pd.DataFrame,
    images_root: str | os.PathLike,
    out_dir: str | os.PathLike,
    text_embeddings: str | os.PathLike | None = None,
    class_embeddings: str | os.PathLike | None = None,
    resume_dir: str | os.PathLike | None = None,
    progress: bool = True,
    class_subset=None,
) -> dict[str, Any]:
    """Train one run and write ``checkpoint.pt``, ``train.jsonl`` and ``run.json`` to ``out_dir``.

    ``spec``: the run's training config (keys of :class:`TrainSpec`). ``text_embeddings``: .npy
    [rows, D] aligned with the manifest (CLIP with ``text_tower: frozen`` or ``roberta``); a
    ``clip_init`` text tower is loaded from ``spec['text_encoder']``. ``class_embeddings``:
    [C, D] prototypes, .npy or torch tensor file (SL with ``head: frozen``). ``resume_dir``: where
    the per-epoch resume state lives; a restarted run continues from its last finished epoch.
    Under torchrun (several processes) the processes train together with DDP. ``class_subset``:
    class indices an SL run trains over (K-way, labels remapped to 0..K-1; a frozen head takes
    those rows of ``class_embeddings``); the checkpoint's ``class_ids`` maps the K outputs back
    to the dataset's classes.

    Returns a summary: run, method, epochs, steps, loss, images_per_s, wall_time_s,
    resumed_from (epochs at which the run was restarted), checkpoint.
    """
    spec = TrainSpec.from_dict(spec).resolved()
    _check_inputs(spec, text_embeddings, class_embeddings)
    if spec.threads is not None:
        torch.set_num_threads(spec.threads)
    env = distributed.setup(spec.device)
    try:
        return _Trainer(spec, env, progress).run(
            manifest=manifest,
            classes=classes,
            images_root=images_root,
            out_dir=Path(out_dir),
            text_embeddings=text_embeddings,
            class_embeddings=class_embeddings,
            resume_dir=resume_dir,
            class_subset=class_subset,
        )
    finally:
        distributed.teardown(env)


#: CLIP text towers that train on pre-computed caption embeddings.
EMBEDDED_TOWERS = ("frozen", "roberta")


def _embedded_text(spec: TrainSpec) -> bool:
    return spec.method == "clip" and spec.text_tower in EMBEDDED_TOWERS


def _check_inputs(spec: TrainSpec, text_embeddings, class_embeddings) -> None:
    if _embedded_text(spec) and text_embeddings is None:
        raise ValueError(
            f"text_tower {spec.text_tower!r} needs text_embeddings: the captions embedded by the "
            "frozen encoder (cliptail.models.text_encoder.embed_texts), row-aligned"
        )
    if spec.method == "sl" and spec.head == "frozen" and class_embeddings is None:
        raise ValueError("head 'frozen' needs class_embeddings: a [classes, dim] array file")


class _Trainer:
    def __init__(self, spec: TrainSpec, env: distributed.DistEnv, progress: bool):
        self.spec, self.env, self.progress = spec, env, progress
        self.device = env.device
        self.dino: DinoStep | None = None

    # --- setup ---------------------------------------------------------------------------------

    def _build(self, data: TrainData, class_embeddings) -> None:
        spec = self.spec
        prototypes = None
        if spec.method == "sl" and spec.head == "frozen":
            prototypes = load_prototypes(class_embeddings)
            if data.class_ids is not None and prototypes.shape[0] > data.class_ids[-1]:
                prototypes = prototypes[data.class_ids]  # the K trained classes
            if prototypes.shape[0] != data.num_classes:
                raise ValueError(
                    f"{class_embeddings}: {prototypes.shape[0]} prototypes for "
                    f"{data.num_classes} classes"
                )
        self.cfg = resolve_model_config(spec, prototypes)
        source = None
        if spec.method == "clip" and spec.text_tower == "clip_init":
            source = load_pretrained_clip(spec.text_encoder)
            self.cfg = pretrained_text_config(self.cfg, source)
        self.text_dim = (
            int(data.text_embeddings.shape[1]) if data.text_embeddings is not None else None
        )
        torch.manual_seed(spec.seed)
        model = build_model(
            spec.method,
            self.cfg,
            num_classes=data.num_classes,
            text_tower=spec.text_tower,
            text_dim=self.text_dim,
            text_projection=spec.text_projection,
            prototypes=prototypes,
            dino=spec.to_dict().get("dino"),
        )
        if source is not None:
            init_text_tower(model, source, f"text_encoder {spec.text_encoder!r}")
            if self.env.is_main:
                logger.info("%s: text tower initialised from %s", spec.run, spec.text_encoder)
            del source
        if spec.sync_bn and self.env.distributed:
            model = convert_sync_batchnorm(model, self.device)
        self.model = model.to(self.device, memory_format=torch.channels_last)
        self.optimizer = build_optimizer(self.model, spec)
        cuda = self.device.type == "cuda"
        self.scaler = torch.amp.GradScaler("cuda", enabled=spec.amp and cuda)
        self.autocast_dtype = torch.float16 if cuda else torch.bfloat16
        self.clip_loss = ClipLoss(
            local_loss=self.env.distributed,
            gather_with_grad=self.env.distributed,
            rank=self.env.rank,
            world_size=self.env.world_size,
        )
        self.weights = (
            class_weights(data.frequencies(), spec.vocab.weight)
            if spec.method == "sl" and spec.vocab.size is not None
            else None
        )

    def _wrap(self) -> torch.nn.Module:
        if not self.env.distributed:
            return self.model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(self.model, device_ids=ids)

    # --- one step ------------------------------------------------------------------------------

    def _loss(self, net: torch.nn.Module, batch: dict[str, Any], epoch: int) -> torch.Tensor:
        if self.dino is not None:
            return self.dino.loss(net, batch, epoch)
        images = batch["images"].to(
            self.device, non_blocking=True, memory_format=torch.channels_last
        )
        if self.spec.method == "clip":
            image, text, scale = net(images, batch["text"].to(self.device, non_blocking=True))
            return self.clip_loss(image.float(), text.float(), scale.float())
        logits = net(images).float()
        labels = batch["labels"].to(self.device, non_blocking=True)
        vocab = self.spec.vocab
        if vocab.size is None:
            return F.cross_entropy(logits, labels)
        first = batch["first_row"]
        rngs = [
            vocab_rng(self.spec.seed, epoch, batch["step"], first + s)
            for s in range(0, len(labels), vocab.shard)
        ]
        vocabularies = shard_vocabularies(
            batch["labels"].numpy(),
            size=vocab.size,
            shard=vocab.shard,
            weights=self.weights,
            rngs=rngs,
        )
        return subsampled_cross_entropy(logits, labels, vocabularies, vocab.shard)

    # --- the run -------------------------------------------------------------------------------

    def run(
        self,
        *,
        manifest,
        classes,
        images_root,
        out_dir: Path,
        text_embeddings,
        class_embeddings,
        resume_dir,
        class_subset=None,
    ) -> dict[str, Any]:
        spec, env = self.spec, self.env
        started = time.time()
        frozen_text = _embedded_text(spec)
        data = load_train_data(
            manifest,
            classes,
            images_root,
            text_embeddings if frozen_text else None,
            class_subset=class_subset,
        )
        self._build(data, class_embeddings)
        o = spec.optim
        steps_per_epoch = len(data) // o.batch_size
        if steps_per_epoch == 0:
            raise ValueError(
                f"the training set has {len(data)} rows, fewer than one batch of "
                f"{o.batch_size}; lower optim.batch_size"
            )
        if spec.method == "dino":
            self.dino = DinoStep(spec, env, self.cfg, steps_per_epoch)
        key = spec.resume_key(data.fingerprint())
        state_file = ckpt_io.state_path(resume_dir, key)
        history: list[dict[str, Any]] = []
        start_epoch, wall_before, resumed_from = 0, 0.0, []
        if env.is_main:  # what a killed run of this job may have left half-written
            stale = ckpt_io.remove_temporaries(out_dir, OUTPUT_FILES)
            if state_file is not None:
                stale += ckpt_io.remove_temporaries(state_file.parent, ckpt_io.STATE_FILES)
            for path in stale:
                logger.info("%s: removed %s, left by an interrupted run", spec.run, path)
        state = ckpt_io.load_state(state_file, main=env.is_main)
        if state is None and state_file is not None and env.is_main:
            logger.info("%s: training from epoch 0 of %d (no resume state)", spec.run, o.epochs)
        if state is not None:
            self.model.load_state_dict(state["model"])
            self.optimizer.load_state_dict(state["optimizer"])
            self.scaler.load_state_dict(state["scaler"])
            ckpt_io.restore_rng_states(state["rng"])
            start_epoch, history = state["epoch"], state["history"]
            wall_before, resumed_from = (
                state["wall_time_s"],
                state["resumed_from"] + [state["epoch"]],
            )
            history.append(
                {"event": "resume", "epoch": start_epoch, "step": start_epoch * steps_per_epoch}
            )
            if env.is_main:
                logger.info(
                    "%s: resuming from epoch %d of %d (%s)",
                    spec.run,
                    start_epoch,
                    o.epochs,
                    state_file,
                )
        net = self._wrap()
        text_kind = None if spec.method != "clip" else ("embeddings" if frozen_text else "tokens")
        tokenizer = tokenizer_for(self.cfg) if text_kind == "tokens" else None
        transform = (
            self.dino.transform
            if self.dino is not None
            else ImageTransform(size=int(self.cfg["vision_cfg"]["image_size"]), train=True)
        )
        amp = (
            torch.autocast(self.device.type, dtype=self.autocast_dtype)
            if spec.amp
            else nullcontext()
        )
        bar = tqdm(
            total=o.epochs * steps_per_epoch,
            initial=start_epoch * steps_per_epoch,
            desc=spec.run,
            unit="step",
            disable=not (self.progress and env.is_main),
            dynamic_ncols=True,
        )
        loss_value = float("nan")
        for epoch in range(start_epoch, o.epochs):
            self.model.train()
            batches = EpochBatches(
                data,
                transform,
                seed=spec.seed,
                epoch=epoch,
                batch_size=o.batch_size,
                rank=env.rank,
                world_size=env.world_size,
                text=text_kind,
                tokenizer=tokenizer,
            )
            loader = torch.utils.data.DataLoader(
                batches, batch_size=None, shuffle=False, num_workers=spec.workers
            )
            epoch_start = window_start = time.time()
            epoch_loss = torch.zeros((), dtype=torch.float64, device=self.device)
            window = 0
            for batch in loader:
                step = epoch * steps_per_epoch + batch["step"]
                lr = learning_rate(o, step, steps_per_epoch)
                set_learning_rate(self.optimizer, lr)
                with amp:
                    loss = self._loss(net, batch, epoch)
                self.optimizer.zero_grad(set_to_none=True)
                self.scaler.scale(loss).backward()
                self.scaler.step(self.optimizer)
                self.scaler.update()
                if self.dino is not None:
                    self.dino.after_step(self.model, step)
                else:
                    self.model.clamp_logit_scale()
                epoch_loss += loss.detach()
                window += 1
                bar.update(1)
                if (step + 1) % spec.log_every == 0:
                    loss_value = distributed.mean_over_ranks(float(loss.item()), env)
                    now = time.time()
                    history.append(
                        {
                            "event": "step",
                            "step": step + 1,
                            "epoch": round(epoch + (batch["step"] + 1) / steps_per_epoch, 4),
                            "loss": loss_value,
                            "lr": lr,
                            **self._state_fields(epoch, step),
                            "images_per_s": window * o.batch_size / max(now - window_start, 1e-9),
                        }
                    )
                    window_start, window = now, 0
                    bar.set_postfix(loss=f"{loss_value:.4f}")
            elapsed = time.time() - epoch_start
            loss_value = distributed.mean_over_ranks(
                float(epoch_loss.item()) / steps_per_epoch, env
            )
            history.append(
                {
                    "event": "epoch",
                    "epoch": epoch + 1,
                    "step": (epoch + 1) * steps_per_epoch,
                    "loss": loss_value,
                    "lr": learning_rate(o, (epoch + 1) * steps_per_epoch - 1, steps_per_epoch),
                    **self._state_fields(epoch, (epoch + 1) * steps_per_epoch - 1),
                    "images_per_s": steps_per_epoch * o.batch_size / max(elapsed, 1e-9),
                    "time_s": elapsed,
                }
            )
            if env.is_main:
                logger.info(
                    "%s: epoch %d/%d loss %.4f (%.0f images/s)",
                    spec.run,
                    epoch + 1,
                    o.epochs,
                    loss_value,
                    history[-1]["images_per_s"],
                )
                wall = wall_before + time.time() - started
                if state_file is not None:
                    ckpt_io.save_state(
                        {
                            "epoch": epoch + 1,
                            "model": self.model.state_dict(),
                            "optimizer": self.optimizer.state_dict(),
                            "scaler": self.scaler.state_dict(),
                            "rng": ckpt_io.rng_states(),
                            "history": history,
                            "wall_time_s": wall,
                            "resumed_from": resumed_from,
                            "spec": spec.to_dict(),
                        },
                        state_file,
                    )
                _write_jsonl(out_dir / "train.jsonl", history)
        bar.close()
        wall = wall_before + time.time() - started
        epochs_logged = [h for h in history if h["event"] == "epoch"]
        summary = {
            "run": spec.run,
            "method": spec.method,
            "epochs": o.epochs,
            "steps": o.epochs * steps_per_epoch,
            "loss": epochs_logged[-1]["loss"] if epochs_logged else loss_value,
            "images_per_s": (
                float(np.mean([h["images_per_s"] for h in epochs_logged]))
                if epochs_logged
                else None
            ),
            "wall_time_s": wall,
            "resumed_from": resumed_from,
            "checkpoint": str(out_dir / "checkpoint.pt"),
        }
        if env.is_main:
            self._write_outputs(out_dir, data, history, summary, key)
            ckpt_io.clear_state(state_file)
        distributed.barrier(env)
        return summary

    def _state_fields(self, epoch: int, step: int) -> dict[str, float]:
        """Logged after optimiser step ``step``: CLIP / SL's logit scale, DINO's schedules."""
        if self.dino is not None:
            return self.dino.log_fields(epoch, step)
        return {"logit_scale": float(self.model.logit_scale.detach().exp().item())}

    def _write_outputs(
        self,
        out_dir: Path,
        data: TrainData,
        history: list[dict[str, Any]],
        summary: dict[str, Any],
        key: str,
    ) -> None:
        spec = self.spec
        ckpt_io.save_atomic(
            {
                "format": CHECKPOINT_FORMAT,
                "spec": spec.to_dict(),
                "method": spec.method,
                "text_tower": spec.text_tower if spec.method == "clip" else None,
                "text_projection": spec.text_projection,
                "model_config": self.cfg,
                "text_dim": self.text_dim,
                "num_classes": data.num_classes,
                "class_names": data.class_names,
                "class_ids": None if data.class_ids is None else data.class_ids.tolist(),
                "state_dict": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "versions": _versions(),
            },
            out_dir / "checkpoint.pt",
        )
        _write_jsonl(out_dir / "train.jsonl", history)
        with ckpt_io.naming(out_dir / "run.json"):
            self._write_run_json(out_dir, data, summary, key)

    def _write_run_json(
        self, out_dir: Path, data: TrainData, summary: dict[str, Any], key: str
    ) -> None:
        spec = self.spec
        io.write_json(
            out_dir / "run.json",
            {
                "run": spec.run,
                "spec": spec.to_dict(),
                "seed": spec.seed,
                "seeds": SEEDS,
                "versions": _versions(),
                "device": str(self.device),
                "device_name": (
                    torch.cuda.get_device_name(self.device)
                    if self.device.type == "cuda"
                    else platform.processor() or "cpu"
                ),
                "world_size": self.env.world_size,
                "threads": torch.get_num_threads(),
                "model_config": self.cfg,
                "parameters": sum(p.numel() for p in self.model.parameters()),
                "trainable_parameters": sum(
                    p.numel() for p in self.model.parameters() if p.requires_grad
                ),
                "data": {
                    "rows": len(data),
                    "classes": data.num_classes,
                    "fingerprint": data.fingerprint(),
                },
                "resume_key": key,
                **({"multicrop": self.dino.describe()} if self.dino is not None else {}),
                **{
                    k: summary[k]
                    for k in (
                        "epochs",
                        "steps",
                        "loss",
                        "images_per_s",
                        "wall_time_s",
                        "resumed_from",
                    )
                },
            },
        )


def _write_jsonl(path: Path, lines: list[dict[str, Any]]) -> None:
    with ckpt_io.naming(path):
        io.write_text(path, "".join(json.dumps(line, sort_keys=True) + "\n" for line in lines))


def _versions() -> dict[str, str]:
    import cliptail

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "open_clip": open_clip.__version__,
        "numpy": np.__version__,
        "cliptail": getattr(cliptail, "__version__", "unknown"),
    }
