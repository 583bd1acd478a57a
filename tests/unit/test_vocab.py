"""Vocabulary subsampling for SL: known answers for sampling, re-indexing and the loss."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from cliptail.train.vocab import (
    class_weights,
    reindex,
    sample_vocabulary,
    shard_vocabularies,
    subsampled_cross_entropy,
)


def test_class_weights():
    freq = np.array([0, 1, 4, 9])
    assert class_weights(freq, "linear").tolist() == [0, 1, 4, 9]
    assert class_weights(freq, "sqrt").tolist() == [0, 1, 2, 3]
    assert class_weights(freq, "uniform").tolist() == [1, 1, 1, 1]
    with pytest.raises(ValueError, match="unknown vocabulary weight"):
        class_weights(freq, "cubic")


def test_reindex_known_answer():
    vocab = np.array([2, 5, 9])
    assert reindex(np.array([9, 2, 5, 9]), vocab).tolist() == [2, 0, 1, 2]
    with pytest.raises(ValueError, match="missing"):
        reindex(np.array([3]), vocab)


def test_shard_with_at_least_k_classes_adds_nothing():
    rng = np.random.default_rng(0)
    labels = np.array([7, 1, 4, 1, 9])
    vocab = sample_vocabulary(labels, 2, np.ones(10), rng)
    assert vocab.tolist() == [1, 4, 7, 9]  # K=2 < 4 present classes: the present classes only


def test_topped_up_vocabulary_is_sorted_unique_and_contains_the_shard():
    weights = class_weights(np.arange(1, 51), "linear")
    for seed in range(50):
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, 50, 8)
        vocab = sample_vocabulary(labels, 20, weights, rng)
        assert len(vocab) == 20
        assert len(np.unique(vocab)) == 20 and np.all(np.diff(vocab) > 0)
        assert set(labels.tolist()) <= set(vocab.tolist())


def test_zero_weight_classes_are_never_drawn_and_vocabulary_may_stay_smaller():
    freq = np.array([5, 0, 3, 0, 0, 1])
    for seed in range(20):
        vocab = sample_vocabulary(
            np.array([0]), 5, class_weights(freq, "linear"), np.random.default_rng(seed)
        )
        # only classes 2 and 5 have positive weight besides the present class 0
        assert vocab.tolist() == [0, 2, 5]
    vocab = sample_vocabulary(
        np.array([0]), 5, class_weights(freq, "uniform"), np.random.default_rng(0)
    )
    assert len(vocab) == 5  # uniform weights include the unseen classes


@pytest.mark.parametrize("weight", ["linear", "sqrt", "uniform"])
def test_first_draw_follows_the_weights(weight):
    freq = np.array([100, 1, 4, 9, 16])
    w = class_weights(freq, weight)
    expected = w[1:] / w[1:].sum()
    n = 4000
    counts = np.zeros(5)
    rng = np.random.default_rng(1)
    for _ in range(n):
        vocab = sample_vocabulary(np.array([0]), 2, w, rng)
        counts[vocab[1]] += 1
    observed = counts[1:] / n
    sigma = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(observed - expected) < 4 * sigma + 1e-9), (observed, expected)


def test_draws_are_successive_without_replacement():
    # weights 1, 1, 8 for the candidates: P({1, 2}) = 2 * (1/10) * (1/9) under successive draws
    w = np.array([0.0, 1.0, 1.0, 8.0])
    rng = np.random.default_rng(2)
    n = 6000
    pairs = sum(sample_vocabulary(np.array([0]), 3, w, rng).tolist() == [0, 1, 2] for _ in range(n))
    expected = 2 * (1 / 10) * (1 / 9)
    assert abs(pairs / n - expected) < 4 * np.sqrt(expected * (1 - expected) / n)


def test_shard_vocabularies_split_the_batch():
    labels = np.array([0, 0, 1, 1, 2, 3, 3])
    rngs = [np.random.default_rng(k) for k in range(3)]
    vocabs = shard_vocabularies(labels, size=1, shard=3, weights=np.ones(4), rngs=rngs)
    assert [v.tolist() for v in vocabs] == [[0, 1], [1, 2, 3], [3]]
    with pytest.raises(ValueError, match="shards"):
        shard_vocabularies(labels, size=1, shard=3, weights=np.ones(4), rngs=rngs[:2])


def test_subsampled_cross_entropy_known_answer():
    logits = torch.tensor([[1.0, 2.0, 3.0, 4.0], [0.5, 0.0, -1.0, 2.0]])
    labels = torch.tensor([2, 0])
    vocabs = [np.array([0, 2]), np.array([0, 1])]  # shard = 1 image each
    loss = subsampled_cross_entropy(logits, labels, vocabs, shard=1)
    row0 = -(3.0 - np.log(np.exp(1.0) + np.exp(3.0)))
    row1 = -(0.5 - np.log(np.exp(0.5) + np.exp(0.0)))
    assert loss.item() == pytest.approx((row0 + row1) / 2, rel=1e-6)


def test_full_vocabulary_equals_plain_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(12, 6, requires_grad=True)
    labels = torch.randint(0, 6, (12,))
    rngs = [np.random.default_rng(k) for k in range(3)]
    vocabs = shard_vocabularies(labels.numpy(), size=6, shard=4, weights=np.ones(6), rngs=rngs)
    assert all(v.tolist() == list(range(6)) for v in vocabs)
    ours = subsampled_cross_entropy(logits, labels, vocabs, shard=4)
    plain = F.cross_entropy(logits, labels)
    assert ours.item() == pytest.approx(plain.item(), rel=1e-6)
    (g1,) = torch.autograd.grad(ours, logits)
    (g2,) = torch.autograd.grad(plain, logits)
    assert torch.allclose(g1, g2, atol=1e-7)
