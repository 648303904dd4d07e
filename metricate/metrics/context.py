"""The shared context of one labelling: everything two or more indices use.

One place builds it; each index is a small function reading from it. Quantities are
computed on first use and cached, so excluding every index that needs pair distances
also skips building them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.spatial.distance import cdist

from metricate.metrics.distances import DistanceStore
from metricate.parallel import parallel_map

# Rows of the distance matrix reduced at a time (cache-sized), and rows per unit of
# work; both fixed so the summation order, and so every bit of the result, does not
# depend on the number of threads.
_CHUNK_ROWS = 64
_SEGMENT_ROWS = 1024

# A distance at most this share of the data's scale is taken for floating-point noise. The
# distances the indices divide by are differences of centroids, and a centroid is a sum of
# n_k rows added one after the other: each of its coordinates carries a rounding error of
# about sqrt(n_k) eps max|x| (at worst n_k eps max|x|), eps = 2.2e-16. For data about as
# far from the origin as it is spread (max|x| a few times the scale), 100,000 points in
# 1,000 dimensions give a typical error of sqrt(1e5 * 1e3) * 2.2e-16 * 5 ~ 1e-11 of the
# scale over a whole centroid distance: 1e-9 leaves a margin of 100 over that and many
# orders more for smaller data. It is also far below any separation that means something:
# an index dividing by a distance of 1e-9 of the scale is near 1e9 already (1e18 when the
# distance is squared), beyond the values it takes on real clusterings.
RELATIVE_TOLERANCE = 1e-9


class Undefined(Exception):  # noqa: N818 - it is a result, not an error
    """An index whose definition breaks down on this clustering; carries the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class PairStatistics:
    """Distances of one labelling, reduced per (cluster, point).

    ``sum_to[k, i]``, ``max_to[k, i]`` and ``min_to[k, i]`` are the sum, largest and
    smallest distance from point i to the members of cluster k (i itself left out of
    the minimum). ``within_sorted`` holds every within-cluster pair distance.
    """

    sum_to: np.ndarray
    max_to: np.ndarray
    min_to: np.ndarray
    within_sorted: np.ndarray
    n_pairs: int
    n_within: int
    sum_within: float
    sum_all: float


class Partition:
    """One labelling of a point set, with the statistics the indices share.

    ``codes`` are cluster indices 0..K-1 of the ``n`` scored points (noise removed).
    """

    def __init__(
        self,
        X: np.ndarray,
        codes: np.ndarray,
        distances: DistanceStore | None = None,
        rows: np.ndarray | None = None,
        reference: np.ndarray | None = None,
    ) -> None:
        self.X = X
        self.codes = codes
        self.n, self.p = X.shape
        self.sizes = np.bincount(codes)
        self.k = int(self.sizes.size)
        self._distances = distances
        self._rows = rows  # the scored points' row numbers in the distance store
        self.reference = reference

    # ---- centroids and scatter -------------------------------------------------

    @cached_property
    def _order(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.codes, kind="stable")
        starts = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
        return order, starts

    def group_sum(self, values: np.ndarray) -> np.ndarray:
        """Per-cluster sums of the rows of ``values`` (K x ...), in a fixed order."""
        order, starts = self._order
        return np.add.reduceat(values[order], starts, axis=0)

    @cached_property
    def centroids(self) -> np.ndarray:
        return self.group_sum(self.X) / self.sizes[:, None]

    @cached_property
    def grand_centroid(self) -> np.ndarray:
        return self.X.mean(axis=0)

    @cached_property
    def deviations(self) -> np.ndarray:
        """x_i - G_k(i) for every point."""
        return self.X - self.centroids[self.codes]

    @cached_property
    def dist_to_own_centroid(self) -> np.ndarray:
        return np.sqrt(np.einsum("ij,ij->i", self.deviations, self.deviations))

    @cached_property
    def dist_to_centroids(self) -> np.ndarray:
        """n x K distances from every point to every centroid."""
        return cdist(self.X, self.centroids)

    @cached_property
    def centroid_distances(self) -> np.ndarray:
        return cdist(self.centroids, self.centroids)

    @cached_property
    def mean_dist_to_centroid(self) -> np.ndarray:
        """S_k: mean distance of the members of cluster k to its centroid."""
        return self.group_sum(self.dist_to_own_centroid) / self.sizes

    @cached_property
    def wg(self) -> np.ndarray:
        d = self.deviations
        return d.T @ d

    @cached_property
    def tss_matrix(self) -> np.ndarray:
        d = self.X - self.grand_centroid
        return d.T @ d

    @cached_property
    def bg(self) -> np.ndarray:
        d = self.centroids - self.grand_centroid
        return (d * self.sizes[:, None]).T @ d

    @cached_property
    def wgss(self) -> float:
        return float(np.einsum("ij,ij->", self.deviations, self.deviations))

    @cached_property
    def bgss(self) -> float:
        d = self.centroids - self.grand_centroid
        return float(np.einsum("k,kj,kj->", self.sizes.astype(float), d, d))

    @cached_property
    def tss(self) -> float:
        d = self.X - self.grand_centroid
        return float(np.einsum("ij,ij->", d, d))

    @cached_property
    def scale(self) -> float:
        """The data's scale: sqrt(TSS / N), the root-mean-square distance of the points to G."""
        scale = math.sqrt(self.tss / self.n)
        if not math.isfinite(scale):
            raise Undefined("the sum of squares of the coordinates overflows float64")
        return scale

    @cached_property
    def tolerance(self) -> float:
        """Distances at or below this are floating-point noise for these points.

        RELATIVE_TOLERANCE (1e-9) times the scale, or the worst-case rounding error of a
        centroid distance, n sqrt(p) eps max|x|, if that is larger: it is for very many
        points in many dimensions, and for data far from the origin compared with its
        spread, where the coordinates' own rounding exceeds 1e-9 of the spread. A scatter (a
        sum of squared distances over m points) is noise at or below m tolerance^2, as its
        root-mean-square distance is then at or below the tolerance.
        """
        magnitude = max(float(self.X.max()), -float(self.X.min()))
        rounding = self.n * math.sqrt(self.p) * float(np.finfo(np.float64).eps) * magnitude
        return max(RELATIVE_TOLERANCE * self.scale, rounding)

    def is_noise(self, distance: float) -> bool:
        """Whether a distance (or a root-mean-square distance) is floating-point noise."""
        return distance <= self.tolerance

    @cached_property
    def cluster_wgss(self) -> np.ndarray:
        """tr WG_k per cluster."""
        return self.group_sum(np.einsum("ij,ij->i", self.deviations, self.deviations))

    def cluster_scatter(self, k: int) -> np.ndarray:
        """WG_k, the scatter matrix of cluster k."""
        d = self.deviations[self.codes == k]
        return d.T @ d

    @cached_property
    def cluster_variances(self) -> np.ndarray:
        """V_k (K x p): per-dimension variances (divide by n_k) within each cluster."""
        return self.group_sum(self.deviations**2) / self.sizes[:, None]

    @cached_property
    def variances(self) -> np.ndarray:
        return self.X.var(axis=0)

    # ---- pair distances --------------------------------------------------------

    @cached_property
    def pairs(self) -> PairStatistics:
        if self._distances is None:
            raise Undefined("pair distances were not computed")
        return _pair_statistics(self._distances, self._rows, self.codes, self.k)

    @cached_property
    def concordance(self) -> tuple[int, int]:
        """(s+, s-): within/between pair couples with d_w < d_b, and with d_w > d_b."""
        pairs = self.pairs
        if pairs.n_within == 0:
            raise Undefined("no within-cluster pairs (every cluster is a singleton)")
        if pairs.n_within == pairs.n_pairs:
            raise Undefined("no between-cluster pairs")
        assert self._distances is not None
        counter = self._distances.pair_counter(self._rows)
        within = pairs.within_sorted
        step = counter.chunk or within.size
        within_ties = bool(np.any(within[1:] == within[:-1]))
        s_minus = ties = 0
        # In chunks of the sorted within distances, so memory stays small when most
        # pairs are within clusters (a merge down to a few clusters).
        for start in range(0, within.size, step):
            chunk = within[start : start + step]
            less_all, multiplicity = counter.count(chunk)
            # Within pairs strictly below each value (its sorted position if no ties).
            if within_ties:
                less_within = np.searchsorted(within, chunk, "left")
                s_minus += int(np.sum(less_all - less_within))
            else:
                less_within = np.arange(start, start + chunk.size)
                s_minus += int(np.sum(less_all)) - (chunk.size * (2 * start + chunk.size - 1)) // 2
            if multiplicity is not None:  # (w, b) couples with d_w == d_b count in neither
                equal_within = np.searchsorted(within, chunk, "right") - less_within
                ties += int(np.sum(multiplicity - equal_within))
        n_between = pairs.n_pairs - pairs.n_within
        s_plus = pairs.n_within * n_between - s_minus - ties
        return s_plus, s_minus


def _pair_statistics(
    distances: DistanceStore,
    rows: np.ndarray | None,
    codes: np.ndarray,
    k: int,
) -> PairStatistics:
    n = codes.size
    store_rows = np.arange(n) if rows is None else rows
    members = [store_rows[codes == c] for c in range(k)]
    # Units of work: (cluster, segment of its members), fixed sizes.
    units = [
        (c, members[c][start : start + _SEGMENT_ROWS])
        for c in range(k)
        for start in range(0, members[c].size, _SEGMENT_ROWS)
    ]

    def reduce_unit(unit: tuple[int, np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        _, seg = unit
        total = np.zeros(distances.n)
        largest = np.zeros(distances.n)
        smallest = np.full(distances.n, np.inf)
        for start in range(0, seg.size, _CHUNK_ROWS):
            chunk = seg[start : start + _CHUNK_ROWS]
            block = distances.to_rows(chunk)
            total += block.sum(axis=0)
            np.maximum(largest, block.max(axis=0), out=largest)
            block[np.arange(chunk.size), chunk] = np.inf  # leave each point itself out
            np.minimum(smallest, block.min(axis=0), out=smallest)
        return total, largest, smallest

    partial = parallel_map(reduce_unit, units)
    sum_to = np.zeros((k, distances.n))
    max_to = np.zeros((k, distances.n))
    min_to = np.full((k, distances.n), np.inf)
    for (c, _), (total, largest, smallest) in zip(units, partial, strict=True):
        sum_to[c] += total
        np.maximum(max_to[c], largest, out=max_to[c])
        np.minimum(min_to[c], smallest, out=min_to[c])
    if rows is not None or distances.n != n:
        sum_to, max_to, min_to = sum_to[:, store_rows], max_to[:, store_rows], min_to[:, store_rows]

    within_parts = parallel_map(distances.within, [m for m in members if m.size > 1])
    within = np.concatenate(within_parts) if within_parts else np.empty(0)
    within.sort()
    n_pairs = n * (n - 1) // 2
    return PairStatistics(
        sum_to=sum_to,
        max_to=max_to,
        min_to=min_to,
        within_sorted=within,
        n_pairs=n_pairs,
        n_within=int(within.size),
        sum_within=float(within.sum()),
        sum_all=float(sum_to.sum() / 2.0),
    )
