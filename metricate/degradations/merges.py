"""Cluster structure, merges: pairs of clusters merge until the budget is relabelled.

A merge relabels the smaller cluster with the larger one's label (equal sizes: the
lower label survives). The merge sequence down to 2 clusters does not depend on the
level; each level takes the shortest prefix that relabels at least m points. A
level that 2 clusters cannot reach is not produced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy.spatial.distance import cdist

from metricate.degradations.context import Change, NotProduced, Original, Outcome, share
from metricate.degradations.levels import Level

# (current clusters as original-cluster codes, their sizes, their coordinate sums, rng)
# -> the two clusters (codes) to merge.
ChoosePair = Callable[[list[int], np.ndarray, np.ndarray, np.random.Generator], tuple[int, int]]


def degrade_merge_random(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Merge random pairs of current clusters."""
    return _merge(original, levels, rng, _random_pair, "random")


def degrade_merge_nearest(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Merge the pair whose current centroids are nearest (recomputed after each merge)."""
    return _merge(original, levels, rng, _nearest_pair, "nearest")


def degrade_merge_farthest(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Merge the pair whose current centroids are farthest apart."""
    return _merge(original, levels, rng, _farthest_pair, "farthest")


def _random_pair(
    alive: list[int], sizes: np.ndarray, sums: np.ndarray, rng: np.random.Generator
) -> tuple[int, int]:
    first, second = rng.choice(len(alive), size=2, replace=False)
    return alive[int(first)], alive[int(second)]


def _nearest_pair(
    alive: list[int], sizes: np.ndarray, sums: np.ndarray, rng: np.random.Generator
) -> tuple[int, int]:
    return _extreme_pair(alive, sizes, sums, farthest=False)


def _farthest_pair(
    alive: list[int], sizes: np.ndarray, sums: np.ndarray, rng: np.random.Generator
) -> tuple[int, int]:
    return _extreme_pair(alive, sizes, sums, farthest=True)


def _extreme_pair(
    alive: list[int], sizes: np.ndarray, sums: np.ndarray, farthest: bool
) -> tuple[int, int]:
    centroids = sums[alive] / sizes[alive, None]
    distances = cdist(centroids, centroids)
    upper = np.triu(np.ones(distances.shape, dtype=bool), k=1)
    distances[~upper] = -np.inf if farthest else np.inf
    # argmin/argmax take the first of equal pairs in row-major order: deterministic.
    flat = np.argmax(distances) if farthest else np.argmin(distances)
    i, j = np.unravel_index(flat, distances.shape)
    return alive[int(i)], alive[int(j)]


def _merge(
    original: Original,
    levels: Sequence[Level],
    rng: np.random.Generator,
    choose_pair: ChoosePair,
    kind: str,
) -> list[Outcome]:
    k = original.n_clusters
    owner = np.arange(k)  # code of the cluster whose label each original cluster now has
    sizes = original.sizes.copy()
    sums = original.sums.copy()
    alive = list(range(k))
    owners: list[np.ndarray] = []  # after each merge
    relabelled: list[int] = []
    while len(alive) > 2:
        a, b = choose_pair(alive, sizes, sums, rng)
        keeper, absorbed = (a, b) if (sizes[a], -a) > (sizes[b], -b) else (b, a)
        owner[owner == absorbed] = keeper
        sizes[keeper] += sizes[absorbed]
        sums[keeper] += sums[absorbed]
        alive.remove(absorbed)
        owners.append(owner.copy())
        relabelled.append(int(original.sizes[owner != np.arange(k)].sum()))

    n = original.n_points
    outcomes: list[Outcome] = []
    for level in levels:
        m = original.budget(level)
        step = int(np.searchsorted(relabelled, m))  # first prefix relabelling >= m
        if step == len(relabelled):
            most = relabelled[-1] if relabelled else 0
            outcomes.append(
                NotProduced(
                    f"it would leave 1 cluster (merging down to 2 clusters relabels "
                    f"{most} of the {m} points needed)"
                )
            )
            continue
        point_labels = original.cluster_labels[owners[step][original.codes]]
        merges = step + 1
        outcomes.append(
            Change(
                labels=original.labels_with(point_labels),
                points_affected=relabelled[step],
                achieved_fraction=relabelled[step] / n,
                description=(
                    f"merged {merges} {kind} pair{'s' if merges > 1 else ''} of clusters "
                    f"({k} -> {k - merges}), relabelling {share(relabelled[step], n)}"
                ),
            )
        )
    return outcomes
