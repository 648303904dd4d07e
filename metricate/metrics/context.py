"""The shared context of one labelling: everything two or more indices use.

One place builds it; each index is a small function reading from it. Quantities are
computed on first use and cached, so excluding every index that needs pair distances
also skips building them.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cached_property

import numpy as np
from scipy.spatial.distance import cdist

from metricate.metrics.pairstats import PairStatistics

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


class Points:
    """What depends on the points alone, shared by every labelling of them: the grand
    centroid, the total scatter T and its eigenvalues, the data's scale and tolerance."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.n, self.p = X.shape

    @cached_property
    def grand_centroid(self) -> np.ndarray:
        return self.X.mean(axis=0)

    @cached_property
    def centered(self) -> np.ndarray:
        """x_i - G for every point."""
        return self.X - self.grand_centroid

    @cached_property
    def tss_matrix(self) -> np.ndarray:
        d = self.centered
        return d.T @ d

    @cached_property
    def tss_eigenvalues(self) -> np.ndarray:
        return np.linalg.eigvalsh(self.tss_matrix)

    @cached_property
    def tss(self) -> float:
        d = self.centered
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

    @cached_property
    def variances(self) -> np.ndarray:
        return self.X.var(axis=0)


class Partition:
    """One labelling of a point set, with the statistics the indices share.

    ``codes`` are cluster indices 0..K-1 of the ``n`` scored points (noise removed).
    ``points`` shares what depends on the points alone with other labellings of them;
    ``pairs`` are the pair statistics, or how to compute them on first use.
    """

    def __init__(
        self,
        X: np.ndarray,
        codes: np.ndarray,
        pairs: PairStatistics | Callable[[], PairStatistics] | None = None,
        reference: np.ndarray | None = None,
        points: Points | None = None,
    ) -> None:
        self.X = X
        self.codes = codes
        self.n, self.p = X.shape
        self.sizes = np.bincount(codes)
        self.k = int(self.sizes.size)
        self._pairs = pairs
        self.reference = reference
        self.points = points if points is not None else Points(X)

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

    @property
    def grand_centroid(self) -> np.ndarray:
        return self.points.grand_centroid

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

    @property
    def tss_matrix(self) -> np.ndarray:
        return self.points.tss_matrix

    @cached_property
    def wg_eigenvalues(self) -> np.ndarray:
        return np.linalg.eigvalsh(self.wg)

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

    @property
    def tss(self) -> float:
        return self.points.tss

    @property
    def scale(self) -> float:
        """The data's scale: sqrt(TSS / N) (see ``Points.scale``)."""
        return self.points.scale

    @property
    def tolerance(self) -> float:
        """Distances at or below this are floating-point noise (see ``Points.tolerance``)."""
        return self.points.tolerance

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
    def cluster_scatters(self) -> list[np.ndarray]:
        """WG_k for every cluster."""
        return [self.cluster_scatter(k) for k in range(self.k)]

    @cached_property
    def cluster_eigenvalues(self) -> list[np.ndarray]:
        """The eigenvalues of every WG_k (asked only when every n_k > p)."""
        return [np.linalg.eigvalsh(m) for m in self.cluster_scatters]

    @cached_property
    def cluster_variances(self) -> np.ndarray:
        """V_k (K x p): per-dimension variances (divide by n_k) within each cluster."""
        return self.group_sum(self.deviations**2) / self.sizes[:, None]

    @property
    def variances(self) -> np.ndarray:
        return self.points.variances

    # ---- pair distances --------------------------------------------------------

    @cached_property
    def pairs(self) -> PairStatistics:
        if self._pairs is None:
            raise Undefined("pair distances were not computed")
        return self._pairs() if callable(self._pairs) else self._pairs

    @cached_property
    def concordance(self) -> tuple[int, int]:
        """(s+, s-): within/between pair couples with d_w < d_b, and with d_w > d_b."""
        pairs = self.pairs
        if pairs.n_within == 0:
            raise Undefined("no within-cluster pairs (every cluster is a singleton)")
        if pairs.n_within == pairs.n_pairs:
            raise Undefined("no between-cluster pairs")
        if pairs.concordance is None:
            raise Undefined("concordance counts were not computed")
        return pairs.concordance
