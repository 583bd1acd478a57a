"""Vocabulary subsampling for SL (docs/study.md section 3, paper Sec. 3.3): a softmax over a per-shard vocabulary.

The batch is split into consecutive shards of ``shard`` images (the paper ran this per GPU on
64-image shards). For each shard:

1. the vocabulary starts as the set of classes present in the shard;
2. if it has fewer than K classes, K - |present| more are drawn *without replacement* from the
   other classes, each draw with probability proportional to its weight among the classes not
   yet drawn: ``linear`` w_c = f_c (training frequency), ``sqrt`` w_c = sqrt(f_c), ``uniform``
   w_c = 1. Classes of weight 0 (never seen in training, under ``linear``/``sqrt``) are never
   drawn; when fewer classes of positive weight remain than are needed, all of them are taken
   and the vocabulary stays smaller than K;
3. if the shard already has >= K classes, nothing is added (the vocabulary can exceed K);
4. the loss is the cross-entropy over the vocabulary only: logits restricted to the vocabulary
   columns (kept in ascending class order) and targets re-indexed into it.

With K >= C and uniform weights the vocabulary is every class and the loss is the plain
cross-entropy.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def class_weights(freq: np.ndarray, weight: str) -> np.ndarray:
    """Sampling weights w_c of all classes from their training frequencies f_c."""
    freq = np.asarray(freq, dtype=np.float64)
    if weight == "linear":
        return freq.copy()
    if weight == "sqrt":
        return np.sqrt(freq)
    if weight == "uniform":
        return np.ones_like(freq)
    raise ValueError(f"unknown vocabulary weight {weight!r}; use linear, sqrt or uniform")


def sample_vocabulary(
    labels: np.ndarray, size: int, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """The sorted class ids of one shard's vocabulary (see the module docstring)."""
    present = np.unique(np.asarray(labels, dtype=np.int64))
    need = size - len(present)
    if need <= 0:
        return present
    available = np.ones(len(weights), dtype=bool)
    available[present] = False
    candidates = np.flatnonzero(available & (weights > 0))
    if len(candidates) <= need:
        drawn = candidates
    else:
        p = weights[candidates] / weights[candidates].sum()
        drawn = rng.choice(candidates, size=need, replace=False, p=p)
    return np.union1d(present, drawn)


def reindex(labels: np.ndarray, vocabulary: np.ndarray) -> np.ndarray:
    """Positions of ``labels`` in the sorted ``vocabulary`` (every label must be in it)."""
    idx = np.searchsorted(vocabulary, labels)
    if np.any(idx >= len(vocabulary)) or np.any(
        vocabulary[np.minimum(idx, len(vocabulary) - 1)] != labels
    ):
        raise ValueError("a label is missing from its vocabulary")
    return idx


def shard_vocabularies(
    labels: np.ndarray,
    *,
    size: int,
    shard: int,
    weights: np.ndarray,
    rngs: list[np.random.Generator],
) -> list[np.ndarray]:
    """One vocabulary per consecutive ``shard``-image slice of ``labels``, shard k from rngs[k]."""
    starts = range(0, len(labels), shard)
    if len(rngs) != len(starts):
        raise ValueError(f"{len(starts)} shards but {len(rngs)} random generators")
    return [
        sample_vocabulary(labels[s : s + shard], size, weights, rng)
        for s, rng in zip(starts, rngs, strict=True)
    ]


def subsampled_cross_entropy(
    logits: torch.Tensor, labels: torch.Tensor, vocabularies: list[np.ndarray], shard: int
) -> torch.Tensor:
    """Mean over the batch of the cross-entropy of each row over its shard's vocabulary.

    ``logits`` [B, C] over all classes; shard k covers rows ``k*shard .. (k+1)*shard - 1``.
    """
    total = logits.new_zeros(())
    labels_np = labels.cpu().numpy()
    for k, vocab in enumerate(vocabularies):
        rows = slice(k * shard, (k + 1) * shard)
        targets = torch.from_numpy(reindex(labels_np[rows], vocab)).to(logits.device)
        cols = torch.from_numpy(vocab).to(logits.device)
        total = total + F.cross_entropy(logits[rows][:, cols].float(), targets, reduction="sum")
    return total / logits.shape[0]
