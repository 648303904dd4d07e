"""A small seeded 2-means (Lloyd's algorithm with k-means++ starts) for splits.

Written here rather than taken from scikit-learn's KMeans so that a split depends
only on the type's generator and numpy, not on thread counts or library versions,
and costs no per-call setup (a 50pct split type runs dozens of them).
"""

from __future__ import annotations

import numpy as np

N_INIT = 3
MAX_ITER = 100


def two_means(points: np.ndarray, rng: np.random.Generator) -> np.ndarray | None:
    """A boolean mask of the points in the second of two parts, or None when the
    points cannot be split (all identical).

    The best of ``N_INIT`` k-means++ starts by within-part sum of squares; both parts
    are never empty (the mean of a part lies on its side of the bisector).
    """
    n = points.shape[0]
    best: np.ndarray | None = None
    best_inertia = np.inf
    for _ in range(N_INIT):
        first = points[rng.integers(n)]
        to_first = ((points - first) ** 2).sum(axis=1)
        total = to_first.sum()
        if total == 0.0:
            return None
        second = points[rng.choice(n, p=to_first / total)]
        centers = np.stack([first, second])
        in_second = np.zeros(n, dtype=bool)
        for iteration in range(MAX_ITER):
            to_a = ((points - centers[0]) ** 2).sum(axis=1)
            to_b = ((points - centers[1]) ** 2).sum(axis=1)
            assigned = to_b < to_a  # ties stay with the first center
            if iteration and np.array_equal(assigned, in_second):
                break
            in_second = assigned
            if in_second.all() or not in_second.any():
                break
            centers = np.stack([points[~in_second].mean(axis=0), points[in_second].mean(axis=0)])
        if in_second.all() or not in_second.any():
            continue
        inertia = float(np.where(in_second, to_b, to_a).sum())
        if inertia < best_inertia:
            best, best_inertia = in_second, inertia
    return best
