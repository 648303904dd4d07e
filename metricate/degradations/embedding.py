"""Embedding manipulation: new coordinates, labels unchanged.

For these two types the level is a displacement scale, not a share of points: every
point moves (every cluster, for centroid displacement), and the achieved fraction
recorded is the scale f applied.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricate.degradations.context import Change, Original, Outcome
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
    another cluster j drawn at random for it."""
    k = original.n_clusters
    draw = rng.integers(k - 1, size=k)
    towards = draw + (draw >= np.arange(k))  # any cluster but itself
    shift = original.centroids[towards] - original.centroids
    moved = int(np.count_nonzero(np.any(shift != 0.0, axis=1)[original.codes]))
    outcomes: list[Outcome] = []
    for level in levels:
        X = original.X.copy()
        X[original.point_rows] += level.fraction * shift[original.codes]
        outcomes.append(
            Change(
                labels=original.labels.copy(),
                X=X,
                points_affected=moved,
                achieved_fraction=level.fraction,
                description=(
                    f"moved each of {k} clusters {100.0 * level.fraction:.3g}% of the way "
                    f"to a random other cluster's centroid"
                ),
            )
        )
    return outcomes
