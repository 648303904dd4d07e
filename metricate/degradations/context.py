"""What every degradation type works from and what it returns.

``Original`` holds the statistics of the original clustering, computed once and
shared by the 18 types (spec: statistics come from the original unless a type
recomputes them step by step). A type returns, per level, a ``Change`` or a
``NotProduced`` saying why not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

from metricate.defaults import NOISE
from metricate.degradations.levels import Level

# Rows of points per block when comparing points with every centroid, so memory
# stays near block x clusters however many points and clusters there are.
_BLOCK_ROWS = 4096


@dataclass(frozen=True, eq=False)
class Original:
    """The original clustering's arrays and statistics (noise excluded from statistics).

    ``point_rows[i]`` is the row of non-noise point i; ``codes[i]`` its cluster's
    position in ``cluster_labels`` (sorted). Everything else is per cluster
    (``sizes``, ``centroids``, ``spread``) or per point (``own_distance``).
    """

    X: np.ndarray
    labels: np.ndarray
    point_rows: np.ndarray
    cluster_labels: np.ndarray
    codes: np.ndarray
    sizes: np.ndarray
    sums: np.ndarray
    centroids: np.ndarray
    own_distance: np.ndarray
    spread: np.ndarray
    sigma: float

    @classmethod
    def from_arrays(cls, X: np.ndarray, labels: np.ndarray) -> Original:
        X = np.ascontiguousarray(X, dtype=np.float64)
        labels = np.asarray(labels, dtype=np.int64)
        point_rows = np.flatnonzero(labels != NOISE)
        points = X[point_rows]
        cluster_labels, codes = np.unique(labels[point_rows], return_inverse=True)
        codes = codes.astype(np.int64)
        k = cluster_labels.size
        sizes = np.bincount(codes, minlength=k).astype(np.int64)
        by_cluster = np.argsort(codes, kind="stable")
        starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
        sums = np.add.reduceat(points[by_cluster], starts, axis=0)
        centroids = sums / sizes[:, None]
        own_distance = np.sqrt(((points - centroids[codes]) ** 2).sum(axis=1))
        spread = np.bincount(codes, weights=own_distance, minlength=k) / sizes
        return cls(
            X=X,
            labels=labels,
            point_rows=point_rows,
            cluster_labels=cluster_labels,
            codes=codes,
            sizes=sizes,
            sums=sums,
            centroids=centroids,
            own_distance=own_distance,
            spread=spread,
            sigma=float(points.std()),
        )

    @property
    def n_rows(self) -> int:
        return int(self.labels.size)

    @property
    def n_points(self) -> int:
        """N_v: the non-noise points, the ones a budget is a share of."""
        return int(self.point_rows.size)

    @property
    def n_clusters(self) -> int:
        return int(self.cluster_labels.size)

    @property
    def points(self) -> np.ndarray:
        return self.X[self.point_rows]

    @property
    def point_labels(self) -> np.ndarray:
        return self.labels[self.point_rows]

    def budget(self, level: Level) -> int:
        """m = max(1, round(f N_v)) points (Python's round: halves go to even)."""
        return max(1, round(level.fraction * self.n_points))

    def labels_with(self, point_labels: np.ndarray) -> np.ndarray:
        """Labels of every row, noise kept, with new labels for the non-noise points."""
        labels = self.labels.copy()
        labels[self.point_rows] = point_labels
        return labels

    def rank_in_cluster(self, nearest_first: bool) -> np.ndarray:
        """Each point's rank by distance to its own centroid within its cluster.

        Ties are broken by point order, so the ranking is the same on every run.
        """
        key = self.own_distance if nearest_first else -self.own_distance
        order = np.lexsort((np.arange(self.n_points), key, self.codes))
        starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        rank = np.empty(self.n_points, dtype=np.int64)
        rank[order] = np.arange(self.n_points) - np.repeat(starts, self.sizes)
        return rank

    def other_cluster(self, point_indices: np.ndarray, farthest: bool) -> np.ndarray:
        """For each given point, the code of the other cluster whose centroid is
        nearest (or farthest); ties go to the lower label."""
        result = np.empty(point_indices.size, dtype=np.int64)
        fill = np.inf if not farthest else -np.inf
        for start in range(0, point_indices.size, _BLOCK_ROWS):
            block = point_indices[start : start + _BLOCK_ROWS]
            # cdist takes coordinate differences: no cancellation, same on every run.
            distances = cdist(self.points[block], self.centroids)
            distances[np.arange(block.size), self.codes[block]] = fill
            pick = np.argmax(distances, axis=1) if farthest else np.argmin(distances, axis=1)
            result[start : start + block.size] = pick
        return result


@dataclass(eq=False)
class Change:
    """One produced variant, before it is named: what a type did at one level.

    ``rows`` (original rows kept, ascending) is None when every row is kept; ``X`` is
    set only by the types that create coordinates, and then covers every row of the
    variant (appended rows included).
    """

    labels: np.ndarray
    points_affected: int
    achieved_fraction: float
    description: str
    rows: np.ndarray | None = None
    X: np.ndarray | None = None


@dataclass(frozen=True)
class NotProduced:
    """A level a type cannot reach, with the reason (``it would leave 1 cluster``)."""

    reason: str


Outcome = Change | NotProduced


def share(count: int, total: int) -> str:
    """``"520 of 10000 points (5.2%)"`` for descriptions."""
    return f"{count} of {total} points ({100.0 * count / total:.3g}%)"
