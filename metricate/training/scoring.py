"""Scoring one file's versions: which point set scores which version, and in what order.

The original's pair distances are computed once. Variants that keep its points
(label changes) are scored on its ``PointSet``, variants that keep a subset on a
``.subset()`` of it, and only variants with new coordinates get a point set of their
own, after the original's distances are released, so at most one set of N^2
distances is held at once.
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
from metricate.metrics import MetricNames, PointSet
from metricate.parallel import parallel_map
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


def scoring_input(
    variant: Variant, clustering: Clustering, points: PointSet
) -> tuple[PointSet, np.ndarray]:
    """The point set to score ``variant`` on and its labels (noise left out).

    ``points`` is ``PointSet(clustering.points)``, the original's non-noise points.
    A "labels" variant is scored on ``points`` itself and a "subset" variant on
    ``points.subset(...)``, so both reuse its pair distances; only "coordinates"
    variants get a new point set.
    """
    if variant.changes == "coordinates":
        assert variant.X is not None
        scored = variant.labels != NOISE
        points_moved = PointSet(variant.X[scored], large_n=points.large_n, single_use=True)
        return points_moved, variant.labels[scored]
    noise = clustering.noise_mask
    if variant.changes == "labels":
        return points, variant.labels[~noise]
    assert variant.rows is not None
    # Position of each original row among the non-noise points.
    point_index = np.cumsum(~noise) - 1
    kept = ~noise[variant.rows]
    return points.subset(point_index[variant.rows[kept]]), variant.labels[kept]


@dataclass
class VersionScorer:
    """Scores the original and the variants of one clustering into records."""

    clustering: Clustering
    points: PointSet
    base: dict[str, Any]  # clustering_name and topic
    exclude: MetricNames
    force_all: bool
    progress: Progress | None = None

    def score(self, point_set: PointSet, labels: Any, labelling: dict[str, Any]) -> Scored:
        result = point_set.evaluate(labels, exclude=self.exclude, force_all=self.force_all)
        values = result.values()
        if self.progress is not None:
            self.progress(1)
        record = {
            **self.base,
            "n_clusters": result.metadata["n_clusters"],
            "n_samples": result.metadata["n_samples"],
            **labelling,
            **{metric: values[metric] for metric in METRIC_COLUMNS},
            "metrics_computed": result.metrics_computed,
            "metrics_failed": ",".join(result.metrics_failed),
            "n_dims": self.clustering.n_dimensions,
        }
        return record, list(result.warnings)

    def original(self) -> Scored:
        labels = self.clustering.point_labels
        return self.score(self.points, labels, ORIGINAL_LABELS)

    def variant(self, variant: Variant) -> Scored:
        point_set, labels = scoring_input(variant, self.clustering, self.points)
        # Labelled with what was done, not what was asked: 1 - the achieved fraction.
        labelling = {
            "quality": 0,
            "quality_score": variant.quality_score,
            "degradation_type": variant.type,
            "degradation_level": variant.level,
            "achieved_fraction": variant.achieved_fraction,
            "points_affected": variant.points_affected,
            "variant_kind": variant.kind,
        }
        return self.score(point_set, labels, labelling)


def score_versions(
    scorer: VersionScorer, variants: list[Variant], timing: dict[str, float]
) -> list[Scored]:
    """The original's and every variant's record, in that order; adds the time spent
    on each kind of point set to ``timing``."""
    clock = _Clock(timing)
    scored: dict[int, Scored] = {-1: scorer.original()}
    clock.lap("evaluate_original")
    # Variants on the original's points, then on subsets of them, share its distances;
    # the budget's threads score that many at a time, since much of one evaluation
    # runs on a single core.
    for changes, key in (("labels", "evaluate_same_points"), ("subset", "evaluate_subsets")):
        batch = [i for i, v in enumerate(variants) if v.changes == changes]
        scored.update(
            zip(batch, parallel_map(scorer.variant, [variants[i] for i in batch]), strict=True)
        )
        clock.lap(key)
    # New coordinates come last, one at a time, after the original's distances are gone.
    scorer.points.release()
    for i, variant in enumerate(variants):
        if variant.changes == "coordinates":
            scored[i] = scorer.variant(variant)
    scorer.points.release()
    clock.lap("evaluate_new_points")
    timing["evaluate"] = sum(v for k, v in timing.items() if k.startswith("evaluate_"))
    return [scored[i] for i in range(-1, len(variants))]


class _Clock:
    """Seconds since the previous lap, stored under the lap's name."""

    def __init__(self, timing: dict[str, float]) -> None:
        self._timing = timing
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self._timing[name] = now - self._last
        self._last = now
