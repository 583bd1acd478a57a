"""Linear probes on frozen features: L2-regularised logistic regression fitted with L-BFGS.

The transfer protocol of the paper's DINO experiment (Sec. 4.2), after Kornblith et al. (2019):

- a multinomial logistic regression on the frozen features of each image (one-vs-rest binary
  logistic regressions for a multi-label task, VOC2007), minimising

      ( sum_i loss(x_i W + b, y_i) + lambda / 2 * ||W||^2 ) / n

  with L-BFGS (strong-Wolfe line search) in float64; the bias is not penalised. Dividing by n
  does not move the minimiser; lambda has the meaning of scikit-learn's ``1 / C``;
- lambda is chosen from :data:`L2_GRID`, 45 values log-spaced over [1e-6, 1e5], by the score on
  the validation split of a fit on the training split; ties go to the larger lambda (the simpler
  model). The grid is walked from the strongest penalty down, each fit starting from the
  previous solution (warm start), which makes the 45 fits cost a few cold ones;
- the chosen lambda is refitted on train + val, and the test score of that fit is the result.

Features are standardised with the mean and standard deviation of the data each fit sees
(train for the search, train + val for the final fit), so that one lambda grid suits backbones
whose features differ in scale. Scores are in [0, 1]: ``top1`` (accuracy), ``mean_per_class``
(the mean of the per-class accuracies over the classes present), ``map11`` (VOC's 11-point
interpolated average precision, averaged over the classes; :func:`map11`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F

#: The penalties searched: 45 values log-spaced over [1e-6, 1e5] (Kornblith et al. 2019).
L2_GRID = np.logspace(-6, 5, 45)
METRICS = ("top1", "mean_per_class", "map11")
#: A multi-label target left out of both the fit and the score (VOC's "difficult" objects).
IGNORE = -1
#: L-BFGS stops when every gradient entry of the (1 / n-scaled) objective is below this, or after
#: ``max_iter`` (1000) iterations. 1e-5 gives the same chosen penalty and test scores as 1e-7 on
#: the world's probes at a third of the time (README "Performance").
TOLERANCE = 1e-5


@dataclass(frozen=True)
class ProbeResult:
    """One dataset's probe: the chosen penalty, the validation curve and the test score."""

    metric: str
    l2: float
    test_score: float
    val_scores: dict[float, float] = field(default_factory=dict)
    num_train: int = 0
    num_val: int = 0
    num_test: int = 0


@dataclass
class _Standardiser:
    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def fit(cls, x: torch.Tensor) -> _Standardiser:
        std = x.std(dim=0, unbiased=False)
        return cls(x.mean(dim=0), torch.where(std > 1e-12, std, torch.ones_like(std)))

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


def _as_features(x) -> torch.Tensor:
    t = torch.as_tensor(np.array(x, dtype=np.float64))
    if t.ndim != 2:
        raise ValueError(f"features must be a 2-d array [n, d], got shape {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError("features contain NaN or infinite values")
    return t


def _targets(y, multilabel: bool, num_classes: int) -> torch.Tensor:
    t = torch.as_tensor(np.array(y))  # a copy: the input may be read-only
    if multilabel:
        if t.ndim != 2 or t.shape[1] != num_classes:
            raise ValueError(f"multi-label targets must be [n, {num_classes}] 0/1 indicators")
        if len(t) and not bool(((t == 0) | (t == 1) | (t == IGNORE)).all()):
            raise ValueError("multi-label targets must be 0, 1 or -1 (ignored)")
        return t.to(torch.float64)
    t = t.to(torch.int64)
    if t.ndim != 1 or (len(t) and (t.min() < 0 or t.max() >= num_classes)):
        raise ValueError(f"class targets must be integers in 0..{num_classes - 1}")
    return t


def fit_logistic(
    x: torch.Tensor,
    y: torch.Tensor,
    num_classes: int,
    l2: float,
    *,
    multilabel: bool = False,
    init: torch.Tensor | None = None,
    max_iter: int = 1000,
    tol: float = TOLERANCE,
) -> torch.Tensor:
    """The minimiser [d + 1, C] (weights, then the bias row) of the module's objective.

    ``x`` float64 [n, d] (already standardised), ``y`` int64 [n] classes or, with
    ``multilabel``, float64 [n, C] 0/1 indicators (independent binary problems per class;
    entries :data:`IGNORE` are left out of the loss). ``init`` warm-starts L-BFGS.
    """
    n, d = x.shape
    if multilabel:
        weight = (y != IGNORE).to(torch.float64)
        y = y.clamp(min=0)
    params = (
        torch.zeros(d + 1, num_classes, dtype=torch.float64)
        if init is None
        else init.detach().clone()
    ).requires_grad_(True)
    optimizer = torch.optim.LBFGS(
        [params],
        lr=1.0,
        max_iter=max_iter,
        tolerance_grad=tol,
        tolerance_change=1e-12,
        history_size=20,
        line_search_fn="strong_wolfe",
    )

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        logits = x @ params[:d] + params[d]
        if multilabel:
            data = F.binary_cross_entropy_with_logits(logits, y, weight=weight, reduction="sum")
        else:
            data = F.cross_entropy(logits, y, reduction="sum")
        loss = (data + 0.5 * l2 * params[:d].pow(2).sum()) / n
        loss.backward()
        return loss

    optimizer.step(closure)
    return params.detach()


def _scores(params: torch.Tensor, x: torch.Tensor) -> np.ndarray:
    d = x.shape[1]
    return (x @ params[:d] + params[d]).numpy()


# --- metrics ------------------------------------------------------------------------------------


def top1(scores: np.ndarray, targets: np.ndarray) -> float:
    """Accuracy of the highest-scoring class."""
    return float(np.mean(np.argmax(scores, axis=1) == np.asarray(targets)))


def mean_per_class(scores: np.ndarray, targets: np.ndarray) -> float:
    """The mean over the classes present in ``targets`` of their accuracy."""
    targets = np.asarray(targets)
    correct = np.argmax(scores, axis=1) == targets
    return float(np.mean([correct[targets == c].mean() for c in np.unique(targets)]))


def average_precision_11(scores: np.ndarray, positives: np.ndarray) -> float:
    """VOC2007's 11-point interpolated average precision of one class: the mean over recall
    levels t in {0, 0.1, ..., 1} of the highest precision at a recall >= t (0 where none).
    ``positives`` 0/1; a class without positives has no AP (NaN)."""
    positives = np.asarray(positives, dtype=bool)
    if not positives.any():
        return float("nan")
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    hits = positives[order]
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / hits.sum()
    levels = np.linspace(0.0, 1.0, 11)
    return float(
        np.mean(
            [
                precision[recall >= t - 1e-12].max() if (recall >= t - 1e-12).any() else 0.0
                for t in levels
            ]
        )
    )


def map11(scores: np.ndarray, targets: np.ndarray) -> float:
    """Mean over classes (with at least one positive) of :func:`average_precision_11`;
    ``targets`` [n, C] 0/1 indicators, :data:`IGNORE` where an image counts neither way for
    a class (VOC's difficult objects)."""
    targets = np.asarray(targets)
    aps = []
    for c in range(targets.shape[1]):
        keep = targets[:, c] != IGNORE
        aps.append(average_precision_11(scores[keep, c], targets[keep, c]))
    return float(np.nanmean(aps))


SCORERS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "top1": top1,
    "mean_per_class": mean_per_class,
    "map11": map11,
}


# --- the protocol -------------------------------------------------------------------------------


def linear_probe(
    train: tuple[np.ndarray, np.ndarray],
    val: tuple[np.ndarray, np.ndarray],
    test: tuple[np.ndarray, np.ndarray],
    *,
    num_classes: int,
    metric: str = "top1",
    grid: np.ndarray | None = None,
    max_iter: int = 1000,
    progress: Callable[[int, float, float], None] | None = None,
) -> ProbeResult:
    """Search lambda on (train, val), refit on train + val, score on test (module docstring).

    Each split is ``(features [n, d], targets)``: class indices, or [n, C] 0/1 indicators for
    ``metric="map11"`` (multi-label). ``progress(i, lambda, val_score)`` is called after each
    of the grid's fits.
    """
    if metric not in SCORERS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    multilabel = metric == "map11"
    grid = np.sort(np.asarray(L2_GRID if grid is None else grid, dtype=np.float64))[::-1]
    xs = [_as_features(part[0]) for part in (train, val, test)]
    ys = [_targets(part[1], multilabel, num_classes) for part in (train, val, test)]
    if len({x.shape[1] for x in xs}) != 1:
        raise ValueError(f"splits differ in feature dimension: {[x.shape[1] for x in xs]}")
    for name, x in zip(("train", "val", "test"), xs, strict=True):
        if len(x) == 0:
            raise ValueError(f"the {name} split is empty")
    score = SCORERS[metric]

    fit_scale = _Standardiser.fit(xs[0])
    x_train, x_val = fit_scale(xs[0]), fit_scale(xs[1])
    params, val_scores = None, {}
    for i, l2 in enumerate(grid):
        params = fit_logistic(
            x_train,
            ys[0],
            num_classes,
            float(l2),
            multilabel=multilabel,
            init=params,
            max_iter=max_iter,
        )
        val_scores[float(l2)] = score(_scores(params, x_val), ys[1].numpy())
        if progress is not None:
            progress(i, float(l2), val_scores[float(l2)])
    best = max(val_scores.items(), key=lambda kv: (kv[1], kv[0]))[0]

    x_all = torch.cat([xs[0], xs[1]])
    y_all = torch.cat([ys[0], ys[1]])
    all_scale = _Standardiser.fit(x_all)
    final = fit_logistic(
        all_scale(x_all), y_all, num_classes, best, multilabel=multilabel, max_iter=max_iter
    )
    test_score = score(_scores(final, all_scale(xs[2])), ys[2].numpy())
    return ProbeResult(
        metric=metric,
        l2=best,
        test_score=test_score,
        val_scores=val_scores,
        num_train=len(xs[0]),
        num_val=len(xs[1]),
        num_test=len(xs[2]),
    )
