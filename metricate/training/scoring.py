"""Scoring one file's versions: which point set scores which version, and in what order.

The original and every variant that keeps its points (label changes) or a subset of
them (removals) are scored in one batch on the original's ``PointSet``: its distances
and their ranks are computed once, and one pass over them reduces every labelling.
Variants with new coordinates come after, each a point set of its own scored once:
added noise points extend the original's distances (copied, not recomputed), and two
such variants are scored at a time when the memory budget holds both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from metricate.defaults import NOISE
from metricate.degradations import Variant
from metricate.io.load import Clustering
from metricate.memory import resident_bytes, trim
from metricate.metrics import EvaluationResult, MetricNames, PointSet
from metricate.metrics.distances import reused_tables
from metricate.metrics.pairing import OncePairs
from metricate.metrics.pointset import PLANNED_SHARE
from metricate.parallel import bounded_map
from metricate.training.schema import METRIC_COLUMNS

Progress = Callable[[int], None]
# One version's record and its evaluation's warnings (not yet naming the file).
Scored = tuple[dict[str, Any], list[str]]

ORIGINAL_LABELS = {
    "quality": 1,
    "quality_score": 1.0,
    "degradation_type": None,
    "degradation_level": None,
    "achieved_fraction": 0.0,
    "points_affected": 0,
    "variant_kind": "original",
}
# Bytes a variant with new coordinates holds beside its distances (its coordinates,
# the reductions), so two at a time are only started when both fit.
_MOVED_MARGIN = 64 * 10**6


def scoring_input(
    variant: Variant, clustering: Clustering, points: PointSet, pair_memory: int | None = None
) -> tuple[PointSet, np.ndarray]:
    """The point set to score ``variant`` on and its labels (noise left out).

    ``points`` is ``PointSet(clustering.points)``, the original's non-noise points.
    A "labels" variant is scored on ``points`` itself and a "subset" variant on
    ``points.subset(...)``, so both reuse its pair distances; only "coordinates"
    variants get a new point set (scored once: ``pair_memory`` bounds its distances).
    Added noise points come after the original's, so that point set extends
    ``points``; moved points keep their positions, so they keep its pair sample.
    """
    if variant.changes == "coordinates":
        assert variant.X is not None
        scored = variant.labels != NOISE
        X = variant.X[scored]
        same_rows = X.shape[0] == points.n
        points_moved = PointSet(
            X,
            large_n=points.large_n,
            single_use=True,
            memory_budget=points.memory_budget,
            seed=points.seed,
            sample=points.sample_rows if same_rows else None,
            pair_memory=pair_memory,
            extends=None if same_rows else points,
        )
        return points_moved, variant.labels[scored]
    noise = clustering.noise_mask
    if variant.changes == "labels":
        return points, variant.labels[~noise]
    assert variant.rows is not None
    # Position of each original row among the non-noise points.
    point_index = np.cumsum(~noise) - 1
    kept = ~noise[variant.rows]
    return points.subset(point_index[variant.rows[kept]]), variant.labels[kept]


def _labelling(variant: Variant) -> dict[str, Any]:
    """A variant's labels in the table: what was done, not what was asked."""
    return {
        "quality": 0,
        "quality_score": variant.quality_score,
        "degradation_type": variant.type,
        "degradation_level": variant.level,
        "achieved_fraction": variant.achieved_fraction,
        "points_affected": variant.points_affected,
        "variant_kind": variant.kind,
    }


@dataclass
class VersionScorer:
    """Scores the original and the variants of one clustering into records."""

    clustering: Clustering
    points: PointSet
    base: dict[str, Any]  # clustering_name and topic
    exclude: MetricNames
    force_all: bool
    progress: Progress | None = None

    def record(self, result: EvaluationResult, labelling: dict[str, Any]) -> Scored:
        values = result.values()
        record = {
            **self.base,
            "n_clusters": result.metadata["n_clusters"],
            "n_samples": result.metadata["n_samples"],
            **labelling,
            **{metric: values[metric] for metric in METRIC_COLUMNS},
            "metrics_computed": result.metrics_computed,
            "metrics_failed": ",".join(result.metrics_failed),
            "n_dims": self.clustering.n_dimensions,
            "metrics_sampled": ",".join(result.sampled),
            "pair_sample_size": result.metadata.get("pair_sample_size"),
        }
        return record, list(result.warnings)

    def shared(self, variants: list[Variant]) -> list[Scored]:
        """The original and every variant on its points or a subset of them, in one batch."""
        items: list[Any] = [self.clustering.point_labels]
        items += [scoring_input(v, self.clustering, self.points) for v in variants]
        results = self.points.evaluate_many(
            items, exclude=self.exclude, force_all=self.force_all, progress=self.progress
        )
        labellings = [ORIGINAL_LABELS, *(_labelling(v) for v in variants)]
        return [self.record(r, lab) for r, lab in zip(results, labellings, strict=True)]

    def moved(self, variant: Variant, pair_memory: int | None = None) -> Scored:
        """A variant with new coordinates, on a point set of its own (its distances
        within ``pair_memory`` bytes)."""
        point_set, labels = scoring_input(variant, self.clustering, self.points, pair_memory)
        result = point_set.evaluate(labels, exclude=self.exclude, force_all=self.force_all)
        point_set.release()
        trim()
        if self.progress is not None:
            self.progress(1)
        return self.record(result, _labelling(variant))


def score_versions(
    scorer: VersionScorer,
    variants: list[Variant],
    timing: dict[str, float],
    moved_variants: Callable[[], list[Variant]] | None = None,
) -> list[Scored]:
    """The original's record, then every variant's in the order given; adds the time
    spent on each kind of point set to ``timing``.

    ``moved_variants``: builds more variants with new coordinates, called once the
    variants on the original's points are scored, so their coordinates are not held
    while those distances are (their records follow the others')."""
    clock = _Clock(timing)
    shared = [v for v in variants if v.changes != "coordinates"]
    records = scorer.shared(shared)
    scored: dict[int, Scored] = {id(v): r for v, r in zip(shared, records[1:], strict=True)}
    clock.lap("evaluate_shared_points")
    if moved_variants is not None:
        variants = variants + moved_variants()
        clock.lap("degrade_coordinates")  # the builder counted it in "degrade"
        del timing["degrade_coordinates"]
    moved = [v for v in variants if v.changes == "coordinates"]
    extends = [_extends(v, scorer.points) for v in moved]
    extending = [v for v, e in zip(moved, extends, strict=True) if e]
    rest = [v for v, e in zip(moved, extends, strict=True) if not e]
    # The original's ranks go; its distances stay while added noise can extend them
    # (never above large_n: those variants have a sample of their own), in ascending
    # order too when that fits beside the largest of them, so their counts sort only
    # the pairs with a new point.
    keep_sorted = bool(extending) and _sorted_copy_fits(extending, scorer.points)
    if scorer.points.n < scorer.points.large_n:
        scorer.points.drop_ranks(keep_sorted=keep_sorted)
    else:
        scorer.points.release()
    trim()
    for group in (extending, rest):
        if not group:
            scorer.points.release()  # nothing left extends the original's distances
            trim()
            continue
        order, costs, limit = _schedule(
            group, scorer.points, extending=group is extending and keep_sorted
        )
        jobs = [(group[j], cost) for j, cost in zip(order, costs, strict=True)]
        with reused_tables():  # each finished variant's distance array serves the next
            done = bounded_map(lambda job: scorer.moved(*job), jobs, costs, limit)
        scored.update((id(v), r) for (v, _), r in zip(jobs, done, strict=True))
        scorer.points.release()
        trim()
    clock.lap("evaluate_new_points")
    timing["evaluate"] = sum(v for k, v in timing.items() if k.startswith("evaluate_"))
    return [records[0], *(scored[id(v)] for v in variants)]


def _extends(variant: Variant, points: PointSet) -> bool:
    """Whether the variant adds points to the original's and is scored on all of them
    (not on a sample), so its distances extend the original's."""
    n = int(np.count_nonzero(variant.labels != NOISE))
    return points.n < n <= points.large_n


def _sorted_copy_fits(extending: list[Variant], points: PointSet) -> bool:
    """Whether a sorted copy of the original's distances fits the budget beside what
    the process holds (the ranks too, while it is made) and, once they go, beside the
    largest variant extending them."""
    copy = points.distance_bytes()
    n = points.n
    ranks = 4 * n * (n - 1) // 2
    largest = max(_schedule(extending, points, extending=True)[1])
    room = int(points.memory_budget * PLANNED_SHARE) - resident_bytes()
    return copy + max(0, largest - ranks) <= room


def _schedule(
    variants: list[Variant], points: PointSet, extending: bool = False
) -> tuple[list[int], list[int], int]:
    """The order in which to score variants with new coordinates (the largest first),
    the bytes each one's distances take, and how many bytes of them may be held at
    once: no more than the two largest together (two at a time), and what the budget
    leaves beside what the process holds. ``extending``: the variants add points to
    the original's, which keeps its sorted distances (each holds only its distances to
    its added points)."""
    sizes = [int(np.count_nonzero(v.labels != NOISE)) for v in variants]
    # Two at a time means a thread each. Beside its distances a variant holds copies
    # of its coordinates (its own, centred, per cluster) while its indices are scored.
    costs = [
        OncePairs.bytes_needed(
            min(size, points.large_n), threads=1, added=size - points.n if extending else 0
        )
        + _MOVED_MARGIN
        + 4 * 8 * size * points.points.shape[1]
        for size in sizes
    ]
    order = sorted(range(len(variants)), key=lambda i: -costs[i])
    limit = int(points.memory_budget * PLANNED_SHARE) - resident_bytes()
    if len(order) > 2:
        limit = min(limit, costs[order[0]] + costs[order[1]])
    return order, [costs[i] for i in order], limit


class _Clock:
    """Seconds since the previous lap, stored under the lap's name."""

    def __init__(self, timing: dict[str, float]) -> None:
        self._timing = timing
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self._timing[name] = now - self._last
        self._last = now
