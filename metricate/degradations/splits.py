"""Cluster structure, splits: clusters split in two with 2-means until the budget is
relabelled.

The smaller part of a split gets a new label (max label + 1, then + 2, ...; equal
parts: the one without the cluster's first point). Splitting a cluster that already
has a new label relabels no further original points, so the count of points whose
label differs from the original only grows, and each level takes the shortest prefix
of the one split sequence that reaches its budget.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from metricate.degradations.context import Change, NotProduced, Original, Outcome, share
from metricate.degradations.levels import Level
from metricate.degradations.two_means import two_means

# (candidate labels, ascending; members per label; spread per label; rng) -> label
ChooseCluster = Callable[
    [list[int], dict[int, np.ndarray], dict[int, float], np.random.Generator], int
]


def degrade_split_random(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Split a random current cluster of at least 2 points."""
    return _split(original, levels, rng, _random_cluster, "random")


def degrade_split_largest(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Split the currently largest cluster (equal sizes: the lower label)."""
    return _split(original, levels, rng, _largest_cluster, "largest")


def degrade_split_loosest(
    original: Original, levels: Sequence[Level], rng: np.random.Generator
) -> list[Outcome]:
    """Split the current cluster with the largest mean distance to its centroid."""
    return _split(original, levels, rng, _loosest_cluster, "loosest")


def _random_cluster(
    candidates: list[int],
    members: dict[int, np.ndarray],
    spread: dict[int, float],
    rng: np.random.Generator,
) -> int:
    return candidates[int(rng.integers(len(candidates)))]


def _largest_cluster(
    candidates: list[int],
    members: dict[int, np.ndarray],
    spread: dict[int, float],
    rng: np.random.Generator,
) -> int:
    return max(candidates, key=lambda label: (members[label].size, -label))


def _loosest_cluster(
    candidates: list[int],
    members: dict[int, np.ndarray],
    spread: dict[int, float],
    rng: np.random.Generator,
) -> int:
    return max(candidates, key=lambda label: (spread[label], -label))


def _mean_distance_to_centroid(points: np.ndarray) -> float:
    return float(np.sqrt(((points - points.mean(axis=0)) ** 2).sum(axis=1)).mean())


def _split(
    original: Original,
    levels: Sequence[Level],
    rng: np.random.Generator,
    choose_cluster: ChooseCluster,
    kind: str,
) -> list[Outcome]:
    n, k = original.n_points, original.n_clusters
    points = original.points
    current = original.point_labels.copy()
    labels = [int(label) for label in original.cluster_labels]
    original_labels = set(labels)
    members = {label: np.flatnonzero(original.codes == code) for code, label in enumerate(labels)}
    spread = {label: float(original.spread[code]) for code, label in enumerate(labels)}
    unsplittable: set[int] = set()  # all points identical: 2-means cannot split them
    next_label = max(labels) + 1
    relabelled = splits = 0
    # Each original label keeps at least one point, so at most n - k can change.
    reachable = n - k
    done: dict[int, Change] = {}
    exhausted = False
    for m in sorted({original.budget(level) for level in levels}):
        if m > reachable:
            break
        while relabelled < m:
            candidates = sorted(
                label
                for label, rows in members.items()
                if rows.size >= 2 and label not in unsplittable
            )
            if not candidates:
                exhausted = True
                break
            label = choose_cluster(candidates, members, spread, rng)
            rows = members[label]
            in_second = two_means(points[rows], rng)
            if in_second is None:
                unsplittable.add(label)
                continue
            first_part, second_part = rows[~in_second], rows[in_second]
            smaller_is_first = first_part.size < second_part.size or (
                first_part.size == second_part.size and bool(in_second[0])
            )
            moved, kept = (
                (first_part, second_part) if smaller_is_first else (second_part, first_part)
            )
            current[moved] = next_label
            members[label], members[next_label] = kept, moved
            spread[label] = _mean_distance_to_centroid(points[kept])
            spread[next_label] = _mean_distance_to_centroid(points[moved])
            if label in original_labels:
                relabelled += moved.size
            next_label += 1
            splits += 1
        if exhausted:
            break
        done[m] = Change(
            labels=original.labels_with(current),
            points_affected=relabelled,
            achieved_fraction=relabelled / n,
            description=(
                f"split {splits} {kind} cluster{'s' if splits > 1 else ''} with 2-means "
                f"({k} -> {k + splits}), relabelling {share(relabelled, n)}"
            ),
        )

    if relabelled < reachable and not exhausted:
        reachable_text = f"at most {reachable}"  # each original label keeps a point
    else:
        reachable_text = f"only {relabelled}"  # no cluster left that 2-means can split
    return [
        done.get(
            original.budget(level),
            NotProduced(
                f"splits can relabel {reachable_text} of the {original.budget(level)} points needed"
            ),
        )
        for level in levels
    ]
