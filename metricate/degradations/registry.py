"""The degradation registry: one plain table row per type, in the order of
degradations.md.

Adding a type is adding one function and one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from metricate.degradations.cluster_removal import (
    degrade_remove_largest_clusters,
    degrade_remove_smallest_clusters,
    degrade_remove_tightest_clusters,
)
from metricate.degradations.context import Original, Outcome
from metricate.degradations.embedding import (
    degrade_centroid_displacement,
    degrade_embedding_perturbation,
)
from metricate.degradations.label_swaps import (
    degrade_label_swap_distant,
    degrade_label_swap_neighboring,
    degrade_label_swap_random,
)
from metricate.degradations.levels import Level
from metricate.degradations.merges import (
    degrade_merge_farthest,
    degrade_merge_nearest,
    degrade_merge_random,
)
from metricate.degradations.points import (
    degrade_boundary_reassignment,
    degrade_core_removal,
    degrade_noise_injection,
    degrade_random_removal,
)
from metricate.degradations.splits import (
    degrade_split_largest,
    degrade_split_loosest,
    degrade_split_random,
)
from metricate.errors import InvalidOptionError

# What a variant of the type changes, which decides how it is scored: "labels" keeps
# the original points, "subset" keeps some of them (both reuse the original's pair
# distances), "coordinates" makes a new point set.
Changes = Literal["labels", "subset", "coordinates"]
VariantKind = Literal["labels", "structure", "subset", "coordinates"]
DegradationFunction = Callable[[Original, Sequence[Level], np.random.Generator], list[Outcome]]


@dataclass(frozen=True)
class Degradation:
    name: str
    category: str
    changes: Changes
    description: str
    function: DegradationFunction

    @property
    def kind(self) -> VariantKind:
        """The training table's ``variant_kind``: label swaps and reassignments
        ("labels"), merges and splits ("structure"), removals ("subset"), new
        coordinates ("coordinates")."""
        if self.changes == "labels":
            return "structure" if self.category == "cluster structure" else "labels"
        return self.changes


DEGRADATIONS: tuple[Degradation, ...] = (
    Degradation(
        "label_swap_random",
        "label manipulation",
        "labels",
        "m random points take a random other cluster's label",
        degrade_label_swap_random,
    ),
    Degradation(
        "label_swap_neighboring",
        "label manipulation",
        "labels",
        "m random points take the label of the nearest other centroid",
        degrade_label_swap_neighboring,
    ),
    Degradation(
        "label_swap_distant",
        "label manipulation",
        "labels",
        "m random points take the label of the farthest other centroid",
        degrade_label_swap_distant,
    ),
    Degradation(
        "merge_random",
        "cluster structure",
        "labels",
        "merge random pairs of clusters until m points are relabelled",
        degrade_merge_random,
    ),
    Degradation(
        "merge_nearest",
        "cluster structure",
        "labels",
        "merge the pair with the nearest centroids until m points are relabelled",
        degrade_merge_nearest,
    ),
    Degradation(
        "merge_farthest",
        "cluster structure",
        "labels",
        "merge the pair with the farthest centroids until m points are relabelled",
        degrade_merge_farthest,
    ),
    Degradation(
        "split_random",
        "cluster structure",
        "labels",
        "2-means-split random clusters until m points are relabelled",
        degrade_split_random,
    ),
    Degradation(
        "split_largest",
        "cluster structure",
        "labels",
        "2-means-split the largest cluster until m points are relabelled",
        degrade_split_largest,
    ),
    Degradation(
        "split_loosest",
        "cluster structure",
        "labels",
        "2-means-split the loosest cluster until m points are relabelled",
        degrade_split_loosest,
    ),
    Degradation(
        "noise_injection",
        "point manipulation",
        "coordinates",
        "add m points near random points (noise std 2 sigma), random labels",
        degrade_noise_injection,
    ),
    Degradation(
        "random_removal",
        "point manipulation",
        "subset",
        "remove m random points",
        degrade_random_removal,
    ),
    Degradation(
        "core_removal",
        "point manipulation",
        "subset",
        "remove each cluster's share f of points nearest its centroid",
        degrade_core_removal,
    ),
    Degradation(
        "boundary_reassignment",
        "point manipulation",
        "labels",
        "each cluster's share f of farthest points take the nearest other label",
        degrade_boundary_reassignment,
    ),
    Degradation(
        "remove_smallest_clusters",
        "cluster removal",
        "subset",
        "remove whole clusters, smallest first, until m points are gone",
        degrade_remove_smallest_clusters,
    ),
    Degradation(
        "remove_largest_clusters",
        "cluster removal",
        "subset",
        "remove whole clusters, largest first, until m points are gone",
        degrade_remove_largest_clusters,
    ),
    Degradation(
        "remove_tightest_clusters",
        "cluster removal",
        "subset",
        "remove whole clusters, tightest first, until m points are gone",
        degrade_remove_tightest_clusters,
    ),
    Degradation(
        "embedding_perturbation",
        "embedding manipulation",
        "coordinates",
        "move every point by f sigma N(0, I)",
        degrade_embedding_perturbation,
    ),
    Degradation(
        "centroid_displacement",
        "embedding manipulation",
        "coordinates",
        "move each cluster (one of 2) a share f of the way to another's centroid",
        degrade_centroid_displacement,
    ),
)
DEGRADATIONS_BY_NAME = {d.name: d for d in DEGRADATIONS}
DEGRADATION_NAMES = tuple(d.name for d in DEGRADATIONS)


def parse_types(names: str | Iterable[str] | None) -> list[str]:
    """The requested types in registry order (all when None; a string is a
    comma-separated list). Unknown names are an error listing the valid ones."""
    if names is None:
        return list(DEGRADATION_NAMES)
    if isinstance(names, str):
        names = names.split(",")
    requested = [name.strip() for name in names if name.strip()]
    unknown = [name for name in requested if name not in DEGRADATIONS_BY_NAME]
    if unknown:
        raise InvalidOptionError(
            f"unknown degradation type(s) {unknown}; valid names are: "
            f"{', '.join(DEGRADATION_NAMES)}"
        )
    if not requested:
        raise InvalidOptionError(
            f"no degradation types given; valid names are: {', '.join(DEGRADATION_NAMES)}"
        )
    return [name for name in DEGRADATION_NAMES if name in set(requested)]
