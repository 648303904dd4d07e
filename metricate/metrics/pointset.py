"""``PointSet``: score many labellings of one set of points, sharing the distances.

A training run scores about 73 labellings per input file; most share the original's
points (label swaps, merges, splits) or a subset of them (removals). The pair
distances and their sort order are computed once per point set and reused by every
labelling and every subset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

from metricate.defaults import DEFAULT_LARGE_N, NOISE
from metricate.errors import InsufficientClustersError, InvalidOptionError
from metricate.metrics.context import Partition, Undefined
from metricate.metrics.distances import (
    CondensedDistances,
    DistanceStore,
    InMemoryDistances,
    SortedDistances,
    StreamedDistances,
)
from metricate.metrics.registry import (
    EXTERNAL_METRICS,
    INTERNAL_METRICS,
    METRICS,
    METRICS_BY_NAME,
    Metric,
)
from metricate.metrics.result import EvaluationResult, MetricValue

# The in-memory store holds the N x N matrix and the sorted pair distances, 12 N^2
# bytes (3.1 GB at 16,000 points). Larger sets stream their distances in blocks.
IN_MEMORY_MAX_POINTS = 16_000
# A point set scored once (single_use) gets the N x N matrix only while it stays
# under 1.5 GB; above that, the condensed distances alone (8 N^2 bytes).
SINGLE_USE_MATRIX_MAX_POINTS = 11_000
# Above IN_MEMORY_MAX_POINTS rows are recomputed for every labelling; up to this many
# points the sorted pair distances are still kept (8 N^2 / 2 bytes: 2.9 GB at 27,000).
SORTED_MAX_POINTS = 27_000


class MetricNames(frozenset[str]):
    """Metric names already checked against the registry (see ``check_metric_names``)."""


def check_metric_names(names: Iterable[str] | None) -> MetricNames:
    """Validate metric names (for ``exclude``) once; unknown ones are an error listing all.

    The result passes through unchanged when checked again, so options validated at
    the edge are not re-validated for every labelling.
    """
    if isinstance(names, MetricNames):
        return names
    names = list(names or [])
    unknown = [n for n in names if n not in METRICS_BY_NAME]
    if unknown:
        valid = ", ".join(m.name for m in METRICS)
        raise InvalidOptionError(f"unknown metric(s) {unknown}; valid names are: {valid}")
    return MetricNames(names)


class PointSet:
    """Points whose pair distances are computed once and shared by every labelling.

    >>> ps = PointSet(X)
    >>> ps.evaluate(labels)                    # all indices
    >>> ps.subset(kept_rows).evaluate(labels_of_kept_rows)   # reuses ps's distances
    """

    def __init__(
        self, X: np.ndarray, *, large_n: int = DEFAULT_LARGE_N, single_use: bool = False
    ) -> None:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise InvalidOptionError(f"points must be a 2-D array, got shape {X.shape}")
        self._X = X
        self.large_n = large_n
        # Scored once: above SINGLE_USE_MATRIX_MAX_POINTS, no N x N matrix.
        self.single_use = single_use
        self._rows: np.ndarray | None = None  # positions in the root point set
        # None for a root point set: a self-reference would be a cycle that keeps
        # the N^2 distances alive until the garbage collector happens to run.
        self._parent_root: PointSet | None = None
        self._store: DistanceStore | None = None

    @property
    def n(self) -> int:
        return self._X.shape[0] if self._rows is None else int(self._rows.size)

    @property
    def points(self) -> np.ndarray:
        return self._X if self._rows is None else self._X[self._rows]

    @property
    def root(self) -> PointSet:
        """The point set whose distances this one shares (itself if not a subset)."""
        return self if self._parent_root is None else self._parent_root

    @property
    def has_distances(self) -> bool:
        """Whether the shared pair distances have been computed (for tests and benches)."""
        return isinstance(self.root._store, InMemoryDistances | CondensedDistances)

    def subset(self, rows: Sequence[int] | np.ndarray) -> PointSet:
        """The points ``rows`` (indices into this set, ascending, no repeats), sharing
        this set's distances."""
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= self.n)):
            raise InvalidOptionError(f"subset rows must be indices in [0, {self.n})")
        if rows.size > 1 and np.any(np.diff(rows) <= 0):
            raise InvalidOptionError("subset rows must be strictly increasing")
        child = PointSet.__new__(PointSet)
        child._X = self._X
        child.large_n = self.large_n
        child.single_use = self.single_use
        child._rows = rows if self._rows is None else self._rows[rows]
        child._parent_root = self.root
        child._store = None
        return child

    def release(self) -> None:
        """Drop the shared pair distances (they are recomputed if needed again)."""
        self.root._store = None

    def _distances(
        self,
    ) -> tuple[DistanceStore, np.ndarray | None]:
        root = self.root
        if root._X.shape[0] <= IN_MEMORY_MAX_POINTS:
            spent = isinstance(root._store, CondensedDistances) and root._store.spent
            if root._store is None or spent:
                n = root._X.shape[0]
                condensed = root.single_use and n > SINGLE_USE_MATRIX_MAX_POINTS
                store = CondensedDistances if condensed else InMemoryDistances
                root._store = store(root._X)
            return root._store, self._rows
        if self.n <= IN_MEMORY_MAX_POINTS:
            if self._store is None:
                self._store = InMemoryDistances(self.points)
            return self._store, None
        if root._store is None:
            sorted_fits = root._X.shape[0] <= SORTED_MAX_POINTS
            root._store = (SortedDistances if sorted_fits else StreamedDistances)(root._X)
        return root._store, self._rows

    def evaluate(
        self,
        labels: Sequence[int] | np.ndarray,
        *,
        exclude: Iterable[str] | None = None,
        force_all: bool = False,
        reference: Sequence[int] | np.ndarray | None = None,
    ) -> EvaluationResult:
        """Score one labelling of these points (-1 = noise, left out)."""
        labels = np.asarray(labels)
        if labels.shape != (self.n,):
            raise InvalidOptionError(f"expected {self.n} labels, got shape {labels.shape}")
        ref = None if reference is None else np.asarray(reference)
        if ref is not None and ref.shape != labels.shape:
            raise InvalidOptionError(f"expected {self.n} reference labels, got {ref.shape}")
        scored = labels != NOISE
        if not scored.all():
            kept = np.flatnonzero(scored)
            result = self.subset(kept).evaluate(
                labels[kept],
                exclude=exclude,
                force_all=force_all,
                reference=None if ref is None else ref[kept],
            )
            result.metadata["n_noise"] = int(self.n - kept.size)
            return result
        excluded = check_metric_names(exclude)
        uniques, codes = np.unique(labels, return_inverse=True)
        if uniques.size < 2:
            raise InsufficientClustersError(
                f"needs at least 2 clusters after removing noise, found {uniques.size}"
            )
        skip_pairs = self.n > self.large_n and not force_all
        wanted = [m for m in INTERNAL_METRICS if m.name not in excluded]
        needs_pairs = any(m.needs_pairs for m in wanted) and not skip_pairs
        store, rows = self._distances() if needs_pairs else (None, None)
        partition = Partition(self.points, codes.astype(np.int64), store, rows, ref)
        metrics = INTERNAL_METRICS + (EXTERNAL_METRICS if ref is not None else ())
        values: list[MetricValue] = []
        warnings: list[str] = []
        skipped: list[str] = []
        for metric in metrics:
            if metric.name in excluded:
                values.append(_not_computed(metric, "excluded"))
            elif metric.needs_pairs and skip_pairs:
                skipped.append(metric.name)
                values.append(
                    _not_computed(
                        metric,
                        f"skipped: {self.n} points above large_n={self.large_n} "
                        f"(force_all computes it)",
                    )
                )
            else:
                value = _compute(metric, partition)
                values.append(value)
                if not value.computed:
                    warnings.append(f"{metric.name}: {value.reason}")
        if skipped:
            warnings.insert(
                0,
                f"skipped {len(skipped)} pair-based metrics ({', '.join(skipped)}): "
                f"{self.n} points above large_n={self.large_n}; force_all computes them",
            )
        metadata = {"n_samples": self.n, "n_clusters": int(uniques.size), "n_noise": 0}
        return EvaluationResult(values, metadata, warnings)


def _not_computed(metric: Metric, reason: str) -> MetricValue:
    return MetricValue(
        metric.name, math.nan, metric.direction, metric.range_text, metric.kind, False, reason
    )


def _compute(metric: Metric, partition: Partition) -> MetricValue:
    try:
        with np.errstate(all="ignore"):
            value = float(metric.function(partition))
    except Undefined as undefined:
        return _not_computed(metric, undefined.reason)
    except (np.linalg.LinAlgError, ZeroDivisionError, OverflowError) as exc:
        return _not_computed(metric, f"not computable ({exc})")
    if not math.isfinite(value):
        return _not_computed(metric, f"value is not finite ({value})")
    lo, hi = metric.range
    tolerance = 1e-9 * max(1.0, abs(value))
    if value < lo - tolerance or value > hi + tolerance:
        return _not_computed(metric, f"value {value:.6g} is outside the index's range")
    value = min(max(value, lo), hi)  # rounding error only, at most 1e-9 relative
    return MetricValue(metric.name, value, metric.direction, metric.range_text, metric.kind, True)
