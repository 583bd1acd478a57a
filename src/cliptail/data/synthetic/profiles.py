"""Long-tailed concept-frequency profiles and their conversion to integer image counts.

A *profile* is the ranked, normalised class-count curve of a real (or parametric) dataset: the
value at rank position ``p`` in [0, 1] (0 = most frequent class, 1 = rarest) is that class's
count divided by the mean count. To give a world of ``n`` concepts the same shape, the curve is
evaluated at ``p_i = i / (n - 1)`` by linear interpolation of log-values between knots.

The two embedded curves summarise the authors' released per-class counts over the 1000
ImageNet classes (sorted descending, divided by their mean), sampled at 64 Chebyshev-spaced rank
positions ``p_k = (1 - cos(pi k / 63)) / 2`` (dense at both ends, where the head and the tail
live). The sources are ``metadata/freqs/class_frequency_incaps_imagenet.txt`` (ImageNet-Captions,
448,896 images, max/mean 2.14, one class with 0 images) and
``class_frequency_laion400m_imagenet.txt`` (caption-matched LAION-400M concept counts, max/mean
65.5, min/mean 2.3e-4). The curves reproduce the source at 1000 ranks within 26% relative error
(worst at the near-empty tail).
"""

from __future__ import annotations

import numpy as np

NUM_KNOTS = 64
KNOT_POSITIONS = 0.5 - 0.5 * np.cos(np.pi * np.arange(NUM_KNOTS) / (NUM_KNOTS - 1))

# count / mean count at KNOT_POSITIONS (ImageNet-Captions, ranked descending)
INCAPS_CURVE = np.array(
    [
        2.141,
        2.034,
        1.898,
        1.846,
        1.779,
        1.705,
        1.664,
        1.646,
        1.622,
        1.597,
        1.571,
        1.553,
        1.533,
        1.502,
        1.486,
        1.455,
        1.427,
        1.401,
        1.37,
        1.343,
        1.302,
        1.286,
        1.266,
        1.234,
        1.205,
        1.181,
        1.156,
        1.131,
        1.099,
        1.072,
        1.043,
        1.023,
        1.0,
        0.9828,
        0.9646,
        0.9356,
        0.9119,
        0.8822,
        0.8541,
        0.8265,
        0.7864,
        0.7499,
        0.7307,
        0.7051,
        0.6817,
        0.6462,
        0.6171,
        0.5859,
        0.5502,
        0.5101,
        0.4767,
        0.4473,
        0.421,
        0.3664,
        0.2984,
        0.2473,
        0.2169,
        0.1724,
        0.104,
        0.05993,
        0.05007,
        0.02335,
        0.009682,
        0.0,
    ]
)

# count / mean count at KNOT_POSITIONS (LAION-400M concept frequency, ranked descending)
LAION_CURVE = np.array(
    [
        65.53,
        45.61,
        21.77,
        16.18,
        10.79,
        9.0,
        7.877,
        6.695,
        5.652,
        4.691,
        3.883,
        3.391,
        3.005,
        2.702,
        2.166,
        1.83,
        1.566,
        1.144,
        1.007,
        0.873,
        0.7503,
        0.6591,
        0.5629,
        0.5027,
        0.4556,
        0.3794,
        0.3332,
        0.3019,
        0.2576,
        0.2276,
        0.2091,
        0.1859,
        0.1635,
        0.1408,
        0.1297,
        0.1121,
        0.09854,
        0.08173,
        0.06884,
        0.06302,
        0.05682,
        0.05111,
        0.04533,
        0.03845,
        0.03155,
        0.02711,
        0.02279,
        0.01977,
        0.01792,
        0.01525,
        0.01327,
        0.01058,
        0.009192,
        0.007544,
        0.006273,
        0.004963,
        0.004145,
        0.003137,
        0.002563,
        0.001741,
        0.001047,
        0.0005209,
        0.0002813,
        0.0002349,
    ]
)

PROFILES = ("incaps", "laion", "zipf")
_CURVES = {"incaps": INCAPS_CURVE, "laion": LAION_CURVE}
_LOG_FLOOR = 1e-6  # a zero knot is interpolated as this (relative to the mean), i.e. ~0 images


def ranked_weights(profile: str, n: int, zipf_exponent: float = 1.0) -> np.ndarray:
    """Relative frequency of the concept at each rank (descending), normalised to sum 1.

    ``zipf``: ``w_r = r ** -zipf_exponent`` for ranks ``r = 1..n``. ``incaps`` / ``laion``: the
    embedded curve evaluated at ``p_i = i / (n - 1)``, interpolated linearly in log-value.
    """
    if n < 1:
        raise ValueError(f"need at least one concept, got n={n}")
    if profile == "zipf":
        weights = np.arange(1, n + 1, dtype=np.float64) ** -float(zipf_exponent)
    elif profile in _CURVES:
        positions = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(1)
        log_curve = np.log(np.maximum(_CURVES[profile], _LOG_FLOOR))
        weights = np.exp(np.interp(positions, KNOT_POSITIONS, log_curve))
    else:
        raise ValueError(f"unknown frequency profile {profile!r}; choose one of {PROFILES}")
    return weights / weights.sum()


def allocate(weights: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing exactly to ``total``, proportional to ``weights``.

    Largest-remainder (Hamilton) rounding of ``total * weights``: every count is the floor of its
    quota or one more, so the counts keep the order of the weights (ties broken by position).
    """
    quotas = np.asarray(weights, dtype=np.float64) * total
    counts = np.floor(quotas).astype(np.int64)
    remainder = int(total - counts.sum())
    if remainder:
        order = np.argsort(-(quotas - counts), kind="stable")
        counts[order[:remainder]] += 1
    return counts


def correlated_ranks(
    reference_ranks: np.ndarray, correlation: float, rng: np.random.Generator
) -> np.ndarray:
    """A rank permutation whose rank correlation with ``reference_ranks`` is about ``correlation``.

    Gaussian copula: ``z = rho * Phi^-1((r + 0.5) / n) + sqrt(1 - rho^2) * eps``, ranked. For
    ``rho = 1`` the reference ranks are returned, for ``rho = 0`` an independent permutation.
    """
    from scipy.special import ndtri

    n = len(reference_ranks)
    scores = ndtri((np.asarray(reference_ranks, dtype=np.float64) + 0.5) / n)
    z = correlation * scores + np.sqrt(max(0.0, 1.0 - correlation**2)) * rng.standard_normal(n)
    ranks = np.empty(n, dtype=np.int64)
    ranks[np.argsort(z, kind="stable")] = np.arange(n)
    return ranks
