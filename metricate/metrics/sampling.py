"""The pair sample above ``large_n``: a seeded sample stratified by cluster.

Each cluster gets its share of the sample, in proportion to its size (largest
remainders first, ties to the lower cluster), and at least 2 points where it has them,
so every cluster keeps within-cluster pairs; noise points (label -1) are never drawn.
The positions are returned ascending. The same labels, size and seed give the same
sample on every machine.
"""

from __future__ import annotations

import numpy as np

from metricate.defaults import NOISE


def stratified_sample(labels: np.ndarray, size: int, seed: int) -> np.ndarray:
    """Positions of ``size`` points of ``labels`` (ascending), each cluster in proportion."""
    points = np.flatnonzero(labels != NOISE)
    if size >= points.size:
        return points
    clusters, codes = np.unique(labels[points], return_inverse=True)
    counts = np.bincount(codes)
    exact = counts * (size / points.size)
    quota = np.floor(exact).astype(np.int64)
    left = size - int(quota.sum())
    if left > 0:
        order = np.lexsort((np.arange(counts.size), -(exact - quota)))
        quota[order[:left]] += 1
    quota = np.maximum(quota, np.minimum(counts, 2))
    while quota.sum() > size:  # the minimum of 2 overdrew: take back from the largest
        quota[np.argmax(quota - np.minimum(counts, 2))] -= 1
    rng = np.random.default_rng(np.random.SeedSequence([seed, size, int(points.size)]))
    chosen = [
        rng.choice(points[codes == c], int(quota[c]), replace=False) for c in range(clusters.size)
    ]
    return np.sort(np.concatenate(chosen))
