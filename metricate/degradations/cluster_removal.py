"""Cluster removal: whole clusters go, in a fixed order, until the budget is removed.

The order comes from the original clustering (sizes, spread); each level removes
the shortest prefix of it that takes at least m points. A level that cannot be
reached while keeping 2 clusters is not produced.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricate.degradations.context import Change, NotProduced, Original, Outcome, share
from metricate.degradations.levels import Level


def degrade_remove_smallest_clusters(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Remove whole clusters, smallest first (equal sizes: lower label first)."""
    order = np.lexsort((original.cluster_labels, original.sizes))
    return _remove_clusters(original, levels, order, "smallest")


def degrade_remove_largest_clusters(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Remove whole clusters, largest first (equal sizes: higher label first).

    The exact reverse of the smallest-first order, so that clusters of equal size are
    not removed in the same order by both types (which would repeat one clustering).
    """
    order = np.lexsort((-original.cluster_labels, -original.sizes))
    return _remove_clusters(original, levels, order, "largest")


def degrade_remove_tightest_clusters(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Remove whole clusters, smallest mean distance to centroid first."""
    order = np.lexsort((original.cluster_labels, original.spread))
    return _remove_clusters(original, levels, order, "tightest")


def _remove_clusters(
    original: Original, levels: Sequence[Level], order: np.ndarray, kind: str
) -> list[Outcome]:
    k, n = original.n_clusters, original.n_points
    removed = np.cumsum(original.sizes[order])  # points gone after removing 1, 2, ... clusters
    outcomes: list[Outcome] = []
    for level in levels:
        m = original.budget(level)
        count = int(np.searchsorted(removed, m)) + 1  # clusters to remove
        if k - count < 2:
            most = int(removed[k - 3]) if k > 2 else 0
            left = max(k - count, 0)
            outcomes.append(
                NotProduced(
                    f"it would leave {left} cluster{'' if left == 1 else 's'} (removing all "
                    f"but 2 clusters removes {most} of the {m} points needed)"
                )
            )
            continue
        gone = np.isin(original.codes, order[:count])
        keep = np.ones(original.n_rows, dtype=bool)
        keep[original.point_rows[gone]] = False
        rows = np.flatnonzero(keep)
        points = int(removed[count - 1])
        outcomes.append(
            Change(
                labels=original.labels[rows],
                rows=rows,
                points_affected=points,
                achieved_fraction=points / n,
                description=(
                    f"removed the {count} {kind} cluster{'s' if count > 1 else ''} "
                    f"({k} -> {k - count}), {share(points, n)}"
                ),
            )
        )
    return outcomes
