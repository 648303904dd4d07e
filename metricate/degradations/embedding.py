"""Embedding manipulation: new coordinates, labels unchanged.

For these two types the level is a displacement scale, not a share of points: every
point moves (every cluster, for centroid displacement), and the achieved fraction
recorded is the scale f applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricate.degradations.context import Change, NotProduced, Original, Outcome
from metricate.degradations.levels import Level


def degrade_embedding_perturbation(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Every point, noise included, moves by f sigma eps with eps ~ N(0, I)."""
    # One eps for all levels: the levels move each point along the same direction.
    eps = rng.standard_normal(original.X.shape)
    return [
        Change(
            labels=original.labels.copy(),
            X=original.X + (level.fraction * original.sigma) * eps,
            points_affected=original.n_rows,
            achieved_fraction=level.fraction,
            description=(
                f"moved all {original.n_rows} rows by N(0, (f sigma)^2 I) noise, "
                f"f sigma = {level.fraction * original.sigma:.4g}"
            ),
        )
        for level in levels
    ]


def degrade_centroid_displacement(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Every cluster moves as a whole by f (G_j - G_k) towards the centroid G_j of
    another cluster j drawn at random for it, never onto a cluster that moves onto it.

    Two clusters that head for each other meet at f = 0.5 (both centroids at their
    midpoint), so the targets follow one random cycle through all clusters: k -> j
    and j -> k never both happen. With 2 clusters the cycle is such a pair, so only
    one of them, drawn at random, moves towards the other.
    """
    k = original.n_clusters
    cycle = rng.permutation(k)
    towards = np.empty(k, dtype=np.int64)
    towards[cycle] = np.roll(cycle, -1)
    shift = original.centroids[towards] - original.centroids
    if k == 2:
        shift[cycle[1]] = 0.0
    moved = int(np.count_nonzero(np.any(shift != 0.0, axis=1)[original.codes]))
    outcomes: list[Outcome] = []
    for level in levels:
        moved_centroids = original.centroids + level.fraction * shift
        if _two_coincide(moved_centroids, original.centroids):
            outcomes.append(NotProduced("it would put two clusters on the same centroid"))
            continue
        X = original.X.copy()
        X[original.point_rows] += level.fraction * shift[original.codes]
        outcomes.append(
            Change(
                labels=original.labels.copy(),
                X=X,
                points_affected=moved,
                achieved_fraction=level.fraction,
                description=(
                    f"moved {'each of' if k > 2 else 'one of'} {k} clusters "
                    f"{100.0 * level.fraction:.3g}% of the way to another cluster's centroid"
                ),
            )
        )
    return outcomes


def _two_coincide(moved: np.ndarray, before: np.ndarray) -> bool:
    """Whether two moved centroids are closer than a billionth of the largest distance
    between the original ones (rounding error, not a separation)."""
    apart = np.sqrt(((moved[:, None, :] - moved[None, :, :]) ** 2).sum(axis=2))
    spread = np.sqrt(((before[:, None, :] - before[None, :, :]) ** 2).sum(axis=2)).max()
    np.fill_diagonal(apart, np.inf)
    return bool(apart.min() <= 1e-9 * spread)
