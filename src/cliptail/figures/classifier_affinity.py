"""Fig. 9a: affinity matrices of CLIP's classifier with a random-init and a frozen text tower.

The classifier of a run is its class embeddings on an evaluation set (``results/eval/<run>/
<evalset>.classifier.npy``, one unit vector per class); its affinity matrix holds the cosine
similarity of every pair of classes. A text tower whose class embeddings are better spread has
lower off-diagonal similarities, so its classifier confuses fewer classes with the frequent ones.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.figure import Figure

from cliptail.figures import style

#: Panel title of each text tower (the keys the catalogue labels the classifiers with).
TOWER_TITLES = {"rand": "rand init text tower", "frozen": "frozen text tower"}


def affinity(classifier: np.ndarray) -> np.ndarray:
    """[C, C] cosine similarity of the rows of a [C, D] classifier (rows are normalised here)."""
    rows = np.asarray(classifier, dtype=np.float64)
    if rows.ndim != 2 or not rows.size:
        raise ValueError(f"a classifier is a non-empty [C, D] matrix, got shape {rows.shape}")
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("a classifier row is zero: its cosine similarity is undefined")
    unit = rows / norms
    return np.clip(unit @ unit.T, -1.0, 1.0)


def frequency_order(freq: Sequence[int]) -> np.ndarray:
    """Class positions from the most to the least frequent in training; ties keep class order."""
    freq = np.asarray(freq, dtype=np.float64)
    return np.argsort(-freq, kind="stable")


def mean_off_diagonal(matrix: np.ndarray) -> float:
    """Mean of the entries of a square matrix off its diagonal (NaN for a 1 x 1 matrix)."""
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
        raise ValueError(f"expected a square matrix, got shape {matrix.shape}")
    n = matrix.shape[0]
    if n < 2:
        return float("nan")
    return float((matrix.sum() - np.trace(matrix)) / (n * (n - 1)))


def ordered_affinities(
    classifiers: Mapping[str, np.ndarray], freq: Sequence[int]
) -> dict[str, np.ndarray]:
    """Label -> affinity matrix of its classifier, rows and columns ordered by
    :func:`frequency_order` of ``freq`` (the training count of each classifier row)."""
    order = frequency_order(freq)
    out = {}
    for label, classifier in classifiers.items():
        matrix = affinity(classifier)
        if matrix.shape[0] != len(order):
            raise ValueError(
                f"the {label} classifier has {matrix.shape[0]} classes, the training "
                f"frequencies {len(order)}"
            )
        out[label] = matrix[np.ix_(order, order)]
    return out


def fig09a(classifiers: Mapping[str, np.ndarray], freq: Sequence[int]) -> Figure:
    """Fig. 9a: the classifier affinity matrices side by side, classes ordered from the most to
    the least frequent in training, on one colour scale with a shared colour bar.

    ``classifiers``: text tower (``rand``, ``frozen``; panel titles :data:`TOWER_TITLES`) ->
    [C, D] class embeddings, all in the same class order; ``freq``: the training count of each
    class in that order. Each title gives the mean off-diagonal similarity. The colour scale
    spans the off-diagonal similarities of all panels (the diagonal, 1, is shown at its top).
    """
    if not classifiers:
        raise ValueError("fig09a needs at least one classifier")
    matrices = ordered_affinities(classifiers, freq)
    n = len(next(iter(matrices.values())))
    off = ~np.eye(n, dtype=bool)
    values = np.concatenate([m[off] for m in matrices.values()]) if n > 1 else np.ones(1)
    vmin, vmax = float(values.min()), float(values.max())
    if vmax <= vmin:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    with style.context():
        fig, axes = style.new_figure(1, len(matrices), size=(3.2, 3.2))
        image = None
        for ax, (label, matrix) in zip(axes[0], matrices.items(), strict=True):
            image = ax.imshow(matrix, cmap="viridis", vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.grid(False)
            ax.set_title(
                f"{TOWER_TITLES.get(label, label)}\n"
                f"mean off-diagonal {mean_off_diagonal(matrix):.3f}"
            )
            ax.set_xlabel("class rank by training frequency")
            ax.set_ylabel("class rank by training frequency")
        fig.colorbar(image, ax=list(axes[0]), label="cosine similarity", shrink=0.8)
    return fig
