"""DINO's loss with a Sinkhorn-Knopp teacher and prototype subsampling (the paper's Sec. 4.2).

Per optimiser step, with G = 2 global crops and L local crops of a global batch of B images:

1. :func:`prototype_subset` draws S of the K prototypes uniformly without replacement (or takes
   all, ``S = None``). The draw is a pure function of (seed, epoch, step), so every process
   draws the same subset without communicating (:func:`assert_same_on_ranks` checks it).
2. The teacher scores its G x B global crops against the S prototypes (cosines ``t``);
   :func:`sinkhorn_knopp` turns them into targets ``q``: Q = exp(t / T_t) as an S x GB matrix,
   scaled to sum 1, then ``iterations`` times rows (prototypes) to 1/S each and columns (crops)
   to 1/GB each; finally each column is scaled to sum 1. Rows and columns are sums over the
   global batch (all-reduced over the processes), so the targets equal those of one process on
   the whole batch. This is SwAV's / DINOv2's ``sinkhorn_knopp_teacher``, applied jointly to both
   global crops as in DINOv2; it replaces DINO's centring. A constant (the global maximum score)
   is subtracted before the exponential, which the first normalisation cancels exactly; it only
   keeps exp() from overflowing at any temperature.
3. :func:`dino_loss`: the student's scores ``s / T_s`` of every crop v against the target of
   every global crop g != v: the mean over those (g, v) pairs of the batch-mean cross-entropy
   ``-sum_k q_gk log softmax(s_v / T_s)_k``. Under DDP each process takes the mean over its
   images and DDP averages the gradients, which is the mean over the global batch.

Restricting both the Sinkhorn normalisation and the softmax to the subset makes each step a
DINO step of an S-prototype head (the subset's rows); the other rows get no gradient (zeros:
weight decay and SGD momentum still act on them, as the optimiser does for any parameter; decay
only shrinks a row, which the cosine normalisation ignores).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F


def subset_rng(seed: int, epoch: int, step: int) -> np.random.Generator:
    """The random generator of the prototype subset of one step (stream 3 of the run's seeds)."""
    return np.random.default_rng([seed, epoch, step, 3])


def prototype_subset(
    num_prototypes: int, size: int | None, seed: int, epoch: int, step: int
) -> torch.Tensor | None:
    """Sorted int64 indices of ``size`` distinct prototypes out of ``num_prototypes``, uniform,
    deterministic in (seed, epoch, step); ``None`` when ``size`` is ``None`` (all prototypes).

    Sorting keeps the gathered rows in memory order and makes ``size == num_prototypes`` the
    identity subset, whose loss is that of the full head bit for bit.
    """
    if size is None:
        return None
    if not 1 <= size <= num_prototypes:
        raise ValueError(f"subset size {size} outside [1, {num_prototypes}]")
    picked = subset_rng(seed, epoch, step).choice(num_prototypes, size=size, replace=False)
    return torch.from_numpy(np.sort(picked).astype(np.int64))


def _world(world: int | None) -> int:
    if world is None:
        return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1
    return world


def assert_same_on_ranks(x: torch.Tensor, what: str = "tensor") -> None:
    """Raise ``RuntimeError`` unless ``x`` (integer) is identical on every process.

    Cheap: one all-gather of a 3-number fingerprint (length, sum, sum of squares mod 2^61 - 1).
    """
    world = _world(None)
    if world == 1:
        return
    v = x.detach().to("cpu", torch.int64).flatten()
    prime = (1 << 61) - 1
    fingerprint = torch.tensor(
        [v.numel(), int(v.sum()) % prime, int((v * v).sum()) % prime], dtype=torch.int64
    )
    if dist.get_backend() == "nccl":
        fingerprint = fingerprint.to(torch.device("cuda", torch.cuda.current_device()))
    gathered = [torch.empty_like(fingerprint) for _ in range(world)]
    dist.all_gather(gathered, fingerprint)
    if any(not torch.equal(g, gathered[0]) for g in gathered):
        raise RuntimeError(
            f"the {what} differs between processes: {[g.tolist() for g in gathered]}"
        )


def _all_reduce(x: torch.Tensor, world: int, maximum: bool = False) -> torch.Tensor:
    """Sum (or maximum) of ``x`` over the processes, in place; ``x`` itself with one."""
    if world > 1:
        dist.all_reduce(x, op=dist.ReduceOp.MAX if maximum else dist.ReduceOp.SUM)
    return x


@torch.no_grad()
def sinkhorn_knopp(
    scores: torch.Tensor, temp: float, iterations: int = 3, world: int | None = None
) -> torch.Tensor:
    """Sinkhorn-Knopp targets [N, K] (rows sum to 1) of teacher scores [N, K].

    ``N`` is this process's share of the samples; with ``world`` > 1 processes (``None``: the
    default process group's size, 1 without one) the prototype sums and the total are
    all-reduced, so the result is this process's rows of the single-process result on the
    concatenated samples. After the last iteration the prototype marginals (column sums of the
    result over all samples) are close to uniform, ``N_total / K`` each.

    Cosine scores span at most 2, so exp() stays a normal float32 number for temperatures down
    to about 0.025 (2 / 87). Below that a prototype (or a sample) can underflow to all zeros; its
    sums are then clamped to the smallest normal number instead of dividing 0 by 0, so such a
    prototype gets no mass (a sample, an all-zero target) rather than NaNs.
    """
    world = _world(world)
    scores = scores.float()
    top = _all_reduce(scores.max().reshape(1), world, maximum=True)
    q = torch.exp((scores - top) / temp).T  # K x N, as in the SwAV / DINOv2 notation
    num_prototypes, total = q.shape[0], q.shape[1] * world
    tiny = torch.finfo(q.dtype).tiny
    q /= _all_reduce(q.sum().reshape(1), world)
    for _ in range(iterations):
        q /= _all_reduce(q.sum(dim=1, keepdim=True), world).clamp_(min=tiny)  # prototypes: 1 / K
        q /= num_prototypes
        q /= q.sum(dim=0, keepdim=True).clamp_(min=tiny)  # each sample: total 1 / N_total
        q /= total
    q *= total  # each sample's column is a distribution
    return q.T


def dino_loss(
    student_scores: Sequence[torch.Tensor],
    teacher_targets: Sequence[torch.Tensor],
    student_temp: float,
) -> torch.Tensor:
    """Mean over the pairs (global crop g, crop v != g) of the batch-mean cross-entropy between
    the target ``teacher_targets[g]`` [B, K] and ``softmax(student_scores[v] / student_temp)``.

    ``student_scores``: [B, K] per crop, the global crops first, in the order of
    ``teacher_targets``.
    """
    if len(teacher_targets) > len(student_scores):
        raise ValueError("more teacher crops than student crops")
    log_p = F.log_softmax(torch.stack(list(student_scores)).float() / student_temp, dim=-1)
    q = torch.stack(list(teacher_targets)).float()
    batch = q.shape[1]
    cross = -torch.einsum("gbk,vbk->gv", q, log_p) / batch  # [G, V] batch-mean cross-entropies
    keep = torch.ones_like(cross, dtype=torch.bool)
    keep[:, : q.shape[0]].fill_diagonal_(False)
    pairs = int(keep.sum())
    if pairs == 0:
        raise ValueError("the DINO loss needs at least two crops")
    return cross[keep].sum() / pairs


def teacher_temperature(
    teacher_temp: float, warmup_temp: float, warmup_epochs: int, epoch: int
) -> float:
    """DINO's teacher-temperature schedule: linear from ``warmup_temp`` (epoch 0) towards
    ``teacher_temp`` over ``warmup_epochs`` epochs (``np.linspace(warmup_temp, teacher_temp,
    warmup_epochs)[epoch]``), then ``teacher_temp``."""
    if epoch >= warmup_epochs:
        return teacher_temp
    if warmup_epochs == 1:
        return warmup_temp
    return warmup_temp + (teacher_temp - warmup_temp) * epoch / (warmup_epochs - 1)


def teacher_momentum(base: float, final: float, step: int, total_steps: int) -> float:
    """DINO's cosine schedule of the EMA momentum: ``final + (base - final) * (1 + cos(pi *
    step / total_steps)) / 2`` for optimiser step ``step`` (0-based) of ``total_steps``."""
    return final + (base - final) * 0.5 * (1 + math.cos(math.pi * step / max(total_steps, 1)))
