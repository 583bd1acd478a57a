"""Training: CLIP and SL runs, vocabulary subsampling, resumable checkpoints, multi-process DDP.

``train_run(spec, *, manifest, classes, images_root, out_dir, ...)`` trains one run
(:mod:`cliptail.train.loop`); :class:`TrainSpec` documents every key of ``spec``;
:mod:`cliptail.train.launch` runs the same under torchrun on several GPUs.
"""

from cliptail.train.loop import train_run
from cliptail.train.spec import SpecError, TrainSpec

__all__ = ["SpecError", "TrainSpec", "train_run"]
