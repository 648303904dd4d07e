"""Point manipulation: add noise points, remove points, move boundary points."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricate.degradations.context import Change, Original, Outcome, share
from metricate.degradations.levels import Level

NOISE_SCALE = 2.0  # added points scatter with standard deviation 2 sigma


def degrade_noise_injection(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Append m points: a random existing point plus N(0, (2 sigma)^2 I), with a
    uniformly random cluster's label."""
    n, d = original.n_points, original.X.shape[1]
    # Draws for all N_v possible points whatever the levels (m <= N_v), so each
    # level's added points are the first m of one sequence.
    base = rng.integers(n, size=n)
    noise = rng.standard_normal((n, d))
    cluster = rng.integers(original.n_clusters, size=n)
    scale = NOISE_SCALE * original.sigma
    outcomes: list[Outcome] = []
    for level in levels:
        m = original.budget(level)
        added = original.points[base[:m]] + scale * noise[:m]
        outcomes.append(
            Change(
                labels=np.concatenate([original.labels, original.cluster_labels[cluster[:m]]]),
                X=np.concatenate([original.X, added]),
                points_affected=m,
                achieved_fraction=m / n,
                description=(
                    f"added {m} points ({100.0 * m / n:.3g}% of {n}) around random points, "
                    f"noise std 2 sigma = {scale:.4g}, random cluster labels"
                ),
            )
        )
    return outcomes


def degrade_random_removal(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Remove the first m points of a random order of non-noise points."""
    order = rng.permutation(original.n_points)
    outcomes: list[Outcome] = []
    for level in levels:
        m = original.budget(level)
        keep = np.ones(original.n_rows, dtype=bool)
        keep[original.point_rows[order[:m]]] = False
        outcomes.append(
            _removal(original, keep, m, f"removed {share(m, original.n_points)} at random")
        )
    return outcomes


def degrade_core_removal(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """In every cluster of at least 2 points, remove the max(1, round(f n_k)) points
    nearest its centroid, always leaving at least 1."""
    rank = original.rank_in_cluster(nearest_first=True)
    outcomes: list[Outcome] = []
    for level in levels:
        count = np.minimum(_per_cluster_count(original, level), original.sizes - 1)
        removed = rank < count[original.codes]
        keep = np.ones(original.n_rows, dtype=bool)
        keep[original.point_rows[removed]] = False
        m = int(removed.sum())
        outcomes.append(
            _removal(
                original,
                keep,
                m,
                f"removed the {share(m, original.n_points)} nearest their cluster's centroid",
            )
        )
    return outcomes


def degrade_boundary_reassignment(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """In every cluster of at least 2 points, the max(1, round(f n_k)) points farthest
    from its centroid take the label of the nearest other centroid (chosen once, on
    the original, so no point moves twice)."""
    rank = original.rank_in_cluster(nearest_first=False)
    counts = [_per_cluster_count(original, level) for level in levels]
    # Levels select nested sets (farthest first), so the largest covers them all.
    widest = np.flatnonzero(rank < np.max(counts, axis=0)[original.codes])
    target = np.empty(original.n_points, dtype=np.int64)
    target[widest] = original.other_cluster(widest, farthest=False)
    outcomes: list[Outcome] = []
    for count in counts:
        moved = np.flatnonzero(rank < count[original.codes])
        point_labels = original.point_labels.copy()
        point_labels[moved] = original.cluster_labels[target[moved]]
        outcomes.append(
            Change(
                labels=original.labels_with(point_labels),
                points_affected=int(moved.size),
                achieved_fraction=moved.size / original.n_points,
                description=(
                    f"relabelled the {share(int(moved.size), original.n_points)} farthest "
                    f"from their centroid with the nearest other cluster"
                ),
            )
        )
    return outcomes


def _per_cluster_count(original: Original, level: Level) -> np.ndarray:
    """max(1, round(f n_k)) for clusters of at least 2 points, 0 for single points.

    ``np.rint`` rounds halves to even, like Python's ``round`` in the budget m.
    """
    count = np.maximum(1, np.rint(level.fraction * original.sizes)).astype(np.int64)
    return np.where(original.sizes >= 2, count, 0)


def _removal(original: Original, keep: np.ndarray, removed: int, description: str) -> Change:
    rows = np.flatnonzero(keep)
    return Change(
        labels=original.labels[rows],
        rows=rows,
        points_affected=removed,
        achieved_fraction=removed / original.n_points,
        description=description,
    )
