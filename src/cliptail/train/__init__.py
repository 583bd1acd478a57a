"""Training: CLIP, SL and DINO runs, vocabulary and prototype subsampling, resumable checkpoints,
multi-process DDP.

``train_run(spec, *, manifest, classes, images_root, out_dir, ...)`` trains one run
(:mod:`cliptail.train.loop`; DINO's parts in :mod:`cliptail.train.dino_step` and
:mod:`cliptail.train.dino_loss`); :class:`TrainSpec` documents every key of ``spec``;
:mod:`cliptail.train.launch` runs the same under torchrun on several GPUs.

The spec (:mod:`cliptail.train.spec`) imports no torch, so the workflow validates recipes while it
plans; ``train_run`` is imported on first use.
"""

from cliptail.train.spec import SpecError, TrainSpec

__all__ = ["SpecError", "TrainSpec", "train_run"]


def __getattr__(name: str):
    if name == "train_run":
        from cliptail.train.loop import train_run

        return train_run
    raise AttributeError(f"module 'cliptail.train' has no attribute {name!r}")
