"""Label manipulation: the first m points of a random order change cluster.

One random order per (file, type); each level relabels a prefix of it, so a lower
level's points are among a higher level's.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from metricate.degradations.context import Change, Original, Outcome, share
from metricate.degradations.levels import Level


def degrade_label_swap_random(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Each selected point gets a label drawn uniformly from the other clusters."""
    order = rng.permutation(original.n_points)
    # One draw for every position of the order (not just the largest level's
    # prefix), so a level's variant does not depend on which other levels run.
    offset = rng.integers(original.n_clusters - 1, size=original.n_points)
    own = original.codes[order]
    targets = offset + (offset >= own)  # skip the point's own cluster
    return [_swap(original, order, targets, level, "a random other cluster") for level in levels]


def degrade_label_swap_neighboring(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Each selected point gets the label of the other cluster with the nearest centroid."""
    return _swap_to_centroid(original, levels, rng, farthest=False)


def degrade_label_swap_distant(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Each selected point gets the label of the other cluster with the farthest centroid."""
    return _swap_to_centroid(original, levels, rng, farthest=True)


def _swap_to_centroid(
    original: Original, levels: Sequence[Level], rng: np.random.Generator, farthest: bool
) -> list[Outcome]:
    order = rng.permutation(original.n_points)
    # The target of a point does not depend on the level, so computing it only for
    # the largest prefix needed gives the same variants as computing it for all.
    needed = max(original.budget(level) for level in levels)
    targets = original.other_cluster(order[:needed], farthest=farthest)
    which = "farthest" if farthest else "nearest"
    return [
        _swap(original, order, targets, level, f"the {which} other cluster") for level in levels
    ]


def _swap(
    original: Original, order: np.ndarray, targets: np.ndarray, level: Level, to_what: str
) -> Change:
    m = original.budget(level)
    point_labels = original.point_labels.copy()
    point_labels[order[:m]] = original.cluster_labels[targets[:m]]
    return Change(
        labels=original.labels_with(point_labels),
        points_affected=m,
        achieved_fraction=m / original.n_points,
        description=f"relabelled {share(m, original.n_points)} with {to_what}",
    )
