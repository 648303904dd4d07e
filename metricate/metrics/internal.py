"""The 32 internal validity indices, one function each, reading a shared ``Partition``.

Each function takes the ``Partition`` of one labelling (noise points already removed, at
least two clusters) and returns a float. Its docstring gives the formula, the range and
which direction is better, when the value is undefined, and the reference.

Notation: N points x_i in R^p, K clusters C_k of n_k points, G_k the centroid of C_k, G the
centroid of all points, k(i) the cluster of point i, d(.,.) the Euclidean distance.
Scatter matrices: WG_k = sum_{i in C_k} (x_i - G_k)(x_i - G_k)^T, WG = sum_k WG_k,
BG = sum_k n_k (G_k - G)(G_k - G)^T and T = WG + BG; WGSS_k = tr WG_k, WGSS = tr WG,
BGSS = tr BG, TSS = tr T. Pairs: N_T = N(N-1)/2 point pairs, N_W = sum_k n_k(n_k-1)/2 of
them within a cluster and N_B = N_T - N_W between clusters; S_W and S_B are the sums of
the within and of the between pair distances. Concordance: over all couples of a within
pair w and a between pair b, s+ = #{d_w < d_b} and s- = #{d_w > d_b}; ties count in
neither. V_k and V are the vectors of per-dimension variances (dividing by n) of C_k and
of all points.

Most definitions follow the clusterCrit vignette: B. Desgraupes, "Clustering Indices",
University Paris Ouest, Lab Modal'X, 2013, revised November 2017 (vignette of the R package
clusterCrit), cited as cC x.y by its section number; the original publication is cited
beside it.

A function raises ``Undefined`` with a reason where its definition breaks down; it never
returns a stand-in number. The indices that read pair distances also raise ``Undefined``
when the caller did not compute them.

Floating-point noise: an index that is a ratio is undefined when its denominator, or its
numerator, is floating-point noise at the data's scale: the value would be rounding error
(huge, or a tiny stand-in for 0), and a 0 that is rounding cannot be told from an exact 0,
so both are undefined. A distance (or a root-mean-square distance) is noise at or below
``Partition.tolerance``, 1e-9 times the scale sqrt(TSS / N) (or the worst-case rounding
error of a centroid, if larger); a scatter summed over m points at or below m tolerance^2;
a variance computed as a difference of means of squares at or below 1e-9 of the mean square
(cancellation). Determinants are handled through log-determinants, an eigenvalue counting
as 0 below a relative tolerance or the scatter floor. Indices in the data's own units (SSE,
Ball-Hall, RMSSTD) report a WGSS at noise as it is: 0 to within rounding at that scale.
Distances between data points (diameters, nearest neighbours, pair sums) are computed from
coordinate differences, exact for coincident points; only as denominators are they checked.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable

import numpy as np

from metricate.metrics.context import Partition, Undefined


def _offdiag_min(m: np.ndarray) -> float:
    return float(np.min(m[~np.eye(m.shape[0], dtype=bool)]))


def _others_masked(values: np.ndarray, codes: np.ndarray, fill: float) -> np.ndarray:
    """Copy of a (K x n) array with each point's own-cluster entry set to ``fill``."""
    out = values.copy()
    out[codes, np.arange(codes.size)] = fill
    return out


def _own(values: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """Each point's entry for its own cluster in a (K x n) array."""
    return values[codes, np.arange(codes.size)]


# A variance computed as mean(x^2) - mean(x)^2 loses to cancellation about the relative
# rounding error of the two sums times mean(x^2): the sums of up to N^2 / 2 pair distances
# are accumulated in chunks, at most some 1e-12 relative. At or below 1e-9 of mean(x^2), a
# margin of 1,000, the variance is taken for 0.
_CANCELLATION = 1e-9


def _spd_logdet(
    matrix: np.ndarray,
    eigenvalues: Callable[[], np.ndarray],
    rank: int,
    floor: float,
    what: str,
    detail: str,
) -> float:
    """log det of a symmetric positive semi-definite matrix, or Undefined if singular.

    Singular: its rank is at most ``rank`` < p (a scatter of m points about c centroids
    has rank at most m - c), decided without the O(p^3) eigenvalues; or the smallest
    eigenvalue is at most the largest times p eps (rounding of the eigenvalue solver), or
    at most ``floor`` (the scatter of that many points at the noise tolerance). The
    determinant itself is never formed, so it cannot overflow. ``eigenvalues`` are the
    matrix's, computed on first use and shared by every index that asks.
    """
    if not np.all(np.isfinite(matrix)):
        raise Undefined(f"{what} has entries outside float64 range")
    if rank < matrix.shape[0]:
        raise Undefined(f"{what} is singular ({detail})")
    eig = eigenvalues()
    tol = max(float(eig[-1]), 0.0) * matrix.shape[0] * np.finfo(np.float64).eps
    if eig[0] <= max(tol, floor):
        raise Undefined(f"{what} is singular ({detail})")
    return float(np.sum(np.log(eig)))


def _scatter_floor(c: Partition, points: int) -> float:
    """A scatter of ``points`` points at or below this is floating-point noise."""
    return points * c.tolerance**2


def _wg_logdet(c: Partition) -> float:
    return _spd_logdet(
        c.wg,
        lambda: c.wg_eigenvalues,
        c.n - c.k,
        _scatter_floor(c, c.n),
        "within-cluster scatter matrix",
        f"p={c.p}, N-K={c.n - c.k}",
    )


# log of the largest float64 (1.797e308), and the smallest normal one (2.2e-308).
_LOG_MAX = math.log(sys.float_info.max)
_LOG_MIN = math.log(sys.float_info.min)


def _exp_or_undefined(log_value: float, what: str) -> float:
    """exp(log_value), or Undefined when the value is outside the range of (normal) float64."""
    value = math.nan
    if _LOG_MIN <= log_value <= _LOG_MAX:
        try:
            value = math.exp(log_value)
        except OverflowError:  # within rounding of the largest float64
            value = math.inf
    if not (sys.float_info.min <= value < math.inf):
        raise Undefined(f"{what} is outside float64 range (log = {log_value:.6g})")
    return value


def _noise(c: Partition, what: str, value: float) -> str:
    """The end of a reason: ``value`` of ``what`` is floating-point noise."""
    return (
        f"{what} {value:.3g} is floating-point noise at the data's scale "
        f"{c.scale:.3g} (tolerance {c.tolerance:.3g})"
    )


def _centroid_separation(c: Partition) -> float:
    """The smallest distance between two centroids; Undefined when it is noise."""
    d = _offdiag_min(c.centroid_distances)
    if c.is_noise(d):
        raise Undefined(f"two clusters have the same centroid: {_noise(c, 'their distance', d)}")
    return d


def _require_spread(c: Partition) -> None:
    """Undefined when all points are identical (their spread is noise)."""
    if c.is_noise(c.scale):
        raise Undefined(
            "all points are identical: "
            f"their spread {c.scale:.3g} is at most the rounding tolerance {c.tolerance:.3g}"
        )


def _require_within_scatter(c: Partition) -> None:
    """Undefined when every point lies on its centroid (WGSS is noise)."""
    rms = math.sqrt(c.wgss / c.n)
    if c.is_noise(rms):
        raise Undefined(
            "every point lies on its cluster centroid: " + _noise(c, "sqrt(WGSS / N) =", rms)
        )


def _require_between_scatter(c: Partition) -> None:
    """Undefined when all centroids coincide with G (BGSS is noise)."""
    rms = math.sqrt(c.bgss / c.n)
    if c.is_noise(rms):
        raise Undefined(
            "all clusters have the same centroid: " + _noise(c, "sqrt(BGSS / N) =", rms)
        )


def _require_variance(variance: float, mean_square: float, what: str) -> None:
    """Undefined when a variance, computed by cancellation, is 0 to rounding."""
    if variance <= _CANCELLATION * mean_square:
        raise Undefined(f"{what} do not vary (variance at rounding level)")


def _diameters(c: Partition) -> np.ndarray:
    """Largest within-cluster distance of each cluster."""
    out = np.zeros(c.k)
    np.maximum.at(out, c.codes, c.pairs.own_max)
    return out


def _largest_diameter(c: Partition) -> float:
    """max_k diam(C_k); Undefined when it is 0 or noise."""
    diameter = float(_diameters(c).max())
    if c.is_noise(diameter):
        raise Undefined(f"every cluster has diameter 0: {_noise(c, 'the largest', diameter)}")
    return diameter


def silhouette(c: Partition) -> float:
    """Mean silhouette width over all points.

    For point i in C_k: a(i) = mean distance from x_i to the other points of C_k,
    b(i) = min_{k' != k} mean_{j in C_k'} d(x_i, x_j), and
    s(i) = (b(i) - a(i)) / max(a(i), b(i)), with s(i) = 0 for a point alone in its cluster
    (and where a(i) = b(i) = 0). Silhouette = (1/N) sum_i s(i), which equals scikit-learn's
    ``silhouette_score``. (cC 1.2.22 averages the per-cluster means instead.)

    Range [-1, 1]; higher is better.

    Undefined unless 2 <= K <= N - 1.

    References
    ----------
    .. [1] P. J. Rousseeuw (1987). "Silhouettes: a graphical aid to the interpretation and
       validation of cluster analysis". Journal of Computational and Applied Mathematics
       20:53-65. doi:10.1016/0377-0427(87)90125-7
    """
    if c.k >= c.n:
        raise Undefined(f"needs 2 to n-1 clusters, got {c.k} for {c.n} points")
    pairs = c.pairs
    own_size = c.sizes[c.codes]
    with np.errstate(invalid="ignore", divide="ignore"):
        a = _own(pairs.sum_to, c.codes) / (own_size - 1)
        mean_to = pairs.sum_to / c.sizes[:, None]
        b = _others_masked(mean_to, c.codes, np.inf).min(axis=0)
        s = (b - a) / np.maximum(a, b)
    s[own_size == 1] = 0.0
    s[np.isnan(s)] = 0.0  # a = b = 0: identical points, as scikit-learn does
    return float(np.mean(s))


def davies_bouldin(c: Partition) -> float:
    """Davies-Bouldin index: mean, over clusters, of the worst spread-to-separation ratio.

    DB = (1/K) sum_k max_{k' != k} (S_k + S_k') / d(G_k, G_k'), where
    S_k = (1/n_k) sum_{i in C_k} d(x_i, G_k). Equals scikit-learn's ``davies_bouldin_score``
    wherever both are defined.

    Range [0, inf); lower is better.

    Undefined when two clusters have the same centroid, or when every point lies on its
    centroid (the value would be 0 / d), exactly or to floating-point noise at the data's
    scale.

    References
    ----------
    .. [1] D. L. Davies and D. W. Bouldin (1979). "A cluster separation measure". IEEE
       Transactions on Pattern Analysis and Machine Intelligence 1(2):224-227.
       doi:10.1109/TPAMI.1979.4766909
    .. [2] cC 1.2.5.
    """
    _centroid_separation(c)
    _require_within_scatter(c)
    spread = c.mean_dist_to_centroid
    with np.errstate(divide="ignore"):
        ratio = (spread[:, None] + spread[None, :]) / c.centroid_distances
    np.fill_diagonal(ratio, -np.inf)
    return float(np.mean(ratio.max(axis=1)))


def calinski_harabasz(c: Partition) -> float:
    """Calinski-Harabasz index (variance ratio criterion).

    CH = [BGSS / (K - 1)] / [WGSS / (N - K)]. Equals scikit-learn's
    ``calinski_harabasz_score`` wherever both are defined.

    Range [0, inf); higher is better.

    Undefined when N = K (every point is its own cluster), when WGSS is 0 or floating-point
    noise at the data's scale (every point lies on its centroid), or when BGSS is (all
    clusters have the same centroid: the value would be rounding error).

    References
    ----------
    .. [1] T. Calinski and J. Harabasz (1974). "A dendrite method for cluster analysis".
       Communications in Statistics 3(1):1-27. doi:10.1080/03610927408827101
    .. [2] cC 1.2.4.
    """
    if c.n == c.k:
        raise Undefined("every point is its own cluster (N = K)")
    _require_within_scatter(c)
    _require_between_scatter(c)
    return c.bgss * (c.n - c.k) / (c.wgss * (c.k - 1))


def dunn_index(c: Partition) -> float:
    """Dunn index: smallest between-cluster distance over the largest cluster diameter.

    Dunn = min_{k != k'} min_{i in C_k, j in C_k'} d(x_i, x_j) / max_k diam(C_k), with
    diam(C_k) = max_{i, j in C_k} d(x_i, x_j) (0 for a singleton).

    Range [0, inf); higher is better.

    Undefined when every cluster has diameter 0, or floating-point noise at the data's
    scale.

    References
    ----------
    .. [1] J. C. Dunn (1974). "Well-separated clusters and optimal fuzzy partitions". Journal
       of Cybernetics 4(1):95-104. doi:10.1080/01969727408546059
    .. [2] cC 1.2.7.
    """
    diameter = _largest_diameter(c)
    nearest_other = c.pairs.other_min.min()
    return float(nearest_other) / diameter


def sse(c: Partition) -> float:
    """SSE: the within-group sum of squared distances to the centroids (what k-means minimises).

    SSE = WGSS = sum_k sum_{i in C_k} ||x_i - G_k||^2.

    Range [0, inf); lower is better. Always defined.

    References
    ----------
    .. [1] A. W. F. Edwards and L. L. Cavalli-Sforza (1965). "A method for cluster analysis".
       Biometrics 21:362-375.
    .. [2] cC 1.2.24 (the Trace_W index).
    """
    return c.wgss


def nci(c: Partition) -> float:
    """NCI: correlation between point distances and the distances of their clusters' centroids.

    Over all N_T pairs i < j, the Pearson correlation between d(x_i, x_j) and
    c_ij = d(G_k(i), G_k(j)), which is 0 for a pair within one cluster. This is the
    single-partition correlation NC of Wiroonsri (2024); the paper's final index, which
    compares NC at neighbouring numbers of clusters, needs several labellings and is not
    computed here.

    Range [-1, 1]; higher is better.

    Undefined when the pair distances, or the c_ij, are all equal (their variance 0 to
    rounding), or when all clusters have the same centroid (every c_ij is floating-point
    noise).

    References
    ----------
    .. [1] N. Wiroonsri (2024). "Clustering performance analysis using a new correlation-based
       cluster validity index". Pattern Recognition 145:109910.
       doi:10.1016/j.patcog.2023.109910
    """
    pairs = c.pairs
    n_pairs = pairs.n_pairs
    centroid_d = c.centroid_distances
    largest = float(np.max(centroid_d))
    if c.is_noise(largest):
        raise Undefined(
            "all clusters have the same centroid: "
            + _noise(c, "the largest centroid distance", largest)
        )
    sizes = c.sizes.astype(np.float64)
    # Sum of distances between the members of clusters k and l: K x K.
    block_sums = c.group_sum(pairs.sum_to.T)
    sum_dc = 0.5 * float(np.sum(centroid_d * block_sums))
    sum_c = 0.5 * float(sizes @ centroid_d @ sizes)
    sum_c2 = 0.5 * float(sizes @ (centroid_d**2) @ sizes)
    sum_d = pairs.sum_all
    sum_d2 = c.n * c.tss  # sum over pairs of squared distances
    mean_d, mean_c = sum_d / n_pairs, sum_c / n_pairs
    var_d = sum_d2 / n_pairs - mean_d**2
    var_c = sum_c2 / n_pairs - mean_c**2
    _require_variance(var_d, sum_d2 / n_pairs, "pair distances")
    _require_variance(var_c, sum_c2 / n_pairs, "centroid distances of the pairs")
    return (sum_dc / n_pairs - mean_d * mean_c) / math.sqrt(var_d * var_c)


def ball_hall(c: Partition) -> float:
    """Ball-Hall index: mean, over clusters, of the mean squared distance to the centroid.

    BH = (1/K) sum_k (1/n_k) sum_{i in C_k} ||x_i - G_k||^2 = (1/K) sum_k WGSS_k / n_k.

    Range [0, inf); lower is better. Always defined.

    References
    ----------
    .. [1] G. H. Ball and D. J. Hall (1965). "ISODATA, a novel method of data analysis and
       pattern classification". Technical report, Stanford Research Institute, Menlo Park.
    .. [2] cC 1.2.1.
    """
    return float(np.mean(c.cluster_wgss / c.sizes))


def ratkowsky_lance(c: Partition) -> float:
    """Ratkowsky-Lance index: mean between-group share of the variation per dimension.

    RL = sqrt( mean_j (BG_jj / T_jj) / K ), the mean running over the dimensions j that vary:
    a constant dimension has no variation to share and is left out. A dimension counts as
    constant when its spread sqrt(T_jj / N) is floating-point noise at the data's scale (a
    constant column whose mean is rounded has a tiny T_jj > 0). This is the form of
    cC 1.2.17 (square root of the mean ratio).

    Range [0, 1/sqrt(K)], so within [0, 1]; higher is better.

    Undefined when no dimension varies (all points identical), or when all clusters have the
    same centroid (BGSS is floating-point noise: every ratio would be rounding error).

    References
    ----------
    .. [1] D. A. Ratkowsky and G. N. Lance (1978). "A criterion for determining the number of
       groups in a classification". Australian Computer Journal 10(3):115-117.
    .. [2] cC 1.2.17.
    """
    total = np.einsum("ij,ij->j", c.points.centered, c.points.centered)
    d = c.centroids - c.grand_centroid
    between = np.einsum("k,kj,kj->j", c.sizes.astype(np.float64), d, d)
    varying = total > _scatter_floor(c, c.n)
    if not varying.any():
        raise Undefined("no dimension varies beyond floating-point noise")
    _require_between_scatter(c)
    return math.sqrt(float(np.mean(between[varying] / total[varying])) / c.k)


def ray_turi(c: Partition) -> float:
    """Ray-Turi index: mean squared distance to the centroid over the closest centroid pair.

    RT = (WGSS / N) / min_{k < k'} d(G_k, G_k')^2.

    Range [0, inf); lower is better.

    Undefined when two clusters have the same centroid, or when every point lies on its
    centroid (WGSS = 0), exactly or to floating-point noise at the data's scale.

    References
    ----------
    .. [1] S. Ray and R. H. Turi (1999). "Determination of number of clusters in K-means
       clustering and application in colour image segmentation". Proceedings of the 4th
       International Conference on Advances in Pattern Recognition and Digital Techniques
       (ICAPRDT'99), pp. 137-143.
    .. [2] cC 1.2.18.
    """
    separation = _centroid_separation(c)
    _require_within_scatter(c)
    return (c.wgss / c.n) / separation**2


def rmsstd(c: Partition) -> float:
    """RMSSTD: root-mean-square standard deviation of the clusters, pooled over dimensions.

    RMSSTD = sqrt( WGSS / (p (N - K)) ).

    Range [0, inf); lower is better.

    Undefined when N = K (every point is its own cluster).

    References
    ----------
    .. [1] S. Sharma (1996). Applied Multivariate Techniques. John Wiley & Sons, New York.
    .. [2] M. Halkidi, Y. Batistakis and M. Vazirgiannis (2001). "On clustering validation
       techniques". Journal of Intelligent Information Systems 17(2-3):107-145.
       doi:10.1023/A:1012801612483
    """
    if c.n == c.k:
        raise Undefined("every point is its own cluster (N = K)")
    return math.sqrt(c.wgss / (c.p * (c.n - c.k)))


def r_squared(c: Partition) -> float:
    """R-squared: share of the total sum of squares that lies between the groups.

    RS = BGSS / TSS = 1 - WGSS / TSS.

    Range [0, 1]; higher is better.

    Undefined when all points are identical (TSS = 0, or floating-point noise), or when all
    clusters have the same centroid (BGSS is floating-point noise at the data's scale: the
    value would be rounding error).

    References
    ----------
    .. [1] S. Sharma (1996). Applied Multivariate Techniques. John Wiley & Sons, New York.
    .. [2] M. Halkidi, Y. Batistakis and M. Vazirgiannis (2001). "On clustering validation
       techniques". Journal of Intelligent Information Systems 17(2-3):107-145.
       doi:10.1023/A:1012801612483
    """
    _require_spread(c)
    _require_between_scatter(c)
    return c.bgss / c.tss


def wemmert_gancarski(c: Partition) -> float:
    """Wemmert-Gancarski index: how much closer points are to their own centroid than to others.

    WGI = (1/N) sum_k max(0, n_k - sum_{i in C_k} R(x_i)), with
    R(x_i) = d(x_i, G_k(i)) / min_{k' != k(i)} d(x_i, G_k'). Equivalently the n_k-weighted
    mean of J_k = max(0, 1 - mean_{i in C_k} R(x_i)).

    Range [0, 1]; higher is better.

    Undefined when a point lies both on its own centroid and on another cluster's centroid
    (R = 0/0), which needs two clusters with the same centroid. A point on another cluster's
    centroid alone has R = inf and sets its cluster's term to 0. "On a centroid" means at a
    distance that is 0 or floating-point noise at the data's scale.

    References
    ----------
    .. [1] cC 1.2.26 (the vignette names no original publication).
    """
    others = _others_masked(c.dist_to_centroids.T, c.codes, np.inf).min(axis=0)
    own = c.dist_to_own_centroid
    on_other = others <= c.tolerance
    on_both = np.flatnonzero(on_other & (own <= c.tolerance))
    if on_both.size:
        i = int(on_both[0])
        raise Undefined(
            "a point lies on its own centroid and on another cluster's (two clusters have the "
            "same centroid): "
            + _noise(c, "its larger distance to the two", float(max(own[i], others[i])))
        )
    # A point on another cluster's centroid has R = inf: its cluster's term is 0.
    with np.errstate(divide="ignore"):
        ratio = c.group_sum(own / np.where(on_other, 0.0, others))
    return float(np.sum(np.maximum(0.0, c.sizes - ratio))) / c.n


def cs_index(c: Partition) -> float:
    """CS index: mean cluster diameter over centroid separation (Chou, Su & Lai 2004).

    CS = sum_k [(1/n_k) sum_{i in C_k} max_{j in C_k} d(x_i, x_j)]
         / sum_k min_{k' != k} d(G_k, G_k').

    Range [0, inf); lower is better.

    Undefined when the denominator is 0 (every cluster shares its centroid with another), i.e.
    when every nearest-centroid distance is floating-point noise at the data's scale. Two
    clusters sharing a centroid while others are apart leave it defined: their terms are 0
    (to rounding) in a sum that is not.

    References
    ----------
    .. [1] C.-H. Chou, M.-C. Su and E. Lai (2004). "A new cluster validity measure and its
       application to image compression". Pattern Analysis and Applications 7(2):205-220.
       doi:10.1007/s10044-004-0218-1
    """
    spread = c.group_sum(c.pairs.own_max) / c.sizes
    cd = c.centroid_distances.copy()
    np.fill_diagonal(cd, np.inf)
    nearest = cd.min(axis=1)
    if np.all(nearest <= c.tolerance):
        raise Undefined(
            "every cluster shares its centroid with another: "
            + _noise(c, "the largest nearest-centroid distance", float(nearest.max()))
        )
    return float(np.sum(spread)) / float(np.sum(nearest))


def cop(c: Partition) -> float:
    """COP index: cluster cohesion over the distance to the nearest outside point.

    COP = (1/N) sum_k n_k intra_k / inter_k, with intra_k = (1/n_k) sum_{i in C_k} d(x_i, G_k)
    and inter_k = min_{x_i not in C_k} max_{j in C_k} d(x_i, x_j).

    Range [0, inf); lower is better.

    Undefined when some inter_k is 0, i.e. all points of a cluster coincide with an outside
    point, or when every intra_k is 0 (every point lies on its centroid), exactly or to
    floating-point noise at the data's scale.

    References
    ----------
    .. [1] I. Gurrutxaga, I. Albisua, O. Arbelaitz, J. I. Martin, J. Muguerza, J. M. Perez and
       I. Perona (2010). "SEP/COP: an efficient method to find the best partition in
       hierarchical clustering based on a new cluster validity index". Pattern Recognition
       43(10):3364-3373. doi:10.1016/j.patcog.2010.04.021
    .. [2] O. Arbelaitz, I. Gurrutxaga, J. Muguerza, J. M. Perez and I. Perona (2013). "An
       extensive comparative study of cluster validity indices". Pattern Recognition
       46(1):243-256. doi:10.1016/j.patcog.2012.07.021
    """
    inter_k = c.pairs.cop_inter
    if np.any(inter_k <= c.tolerance):
        raise Undefined(
            "a cluster's points coincide with an outside point: "
            + _noise(c, "its inter_k", float(inter_k.min()))
        )
    _require_within_scatter(c)
    return float(np.sum(c.sizes * c.mean_dist_to_centroid / inter_k)) / c.n


def _scat(c: Partition) -> float:
    _require_spread(c)
    total = float(np.linalg.norm(c.variances))
    return float(np.mean(np.linalg.norm(c.cluster_variances, axis=1))) / total


def s_dbw(c: Partition) -> float:
    """S_Dbw index: average scattering plus inter-cluster density.

    S_Dbw = Scat + Dens_bw, computed here as:

    - Scat = (1/K) sum_k ||V_k|| / ||V||;
    - sigma = (1/K) sqrt( sum_k ||V_k|| );
    - for clusters k < k', gamma_kk'(u) = #{x in C_k u C_k' : d(x, u) <= sigma},
      H_kk' = (G_k + G_k')/2 their midpoint, and
      R_kk' = gamma_kk'(H_kk') / max(gamma_kk'(G_k), gamma_kk'(G_k'), 1);
    - Dens_bw = 2 / (K (K - 1)) sum_{k < k'} R_kk'.

    The 1 in the denominator of R_kk' is this project's convention; the paper's ratio has
    max(gamma_kk'(G_k), gamma_kk'(G_k')) alone, and the two agree whenever some point lies
    within sigma of either centroid. When none does (the usual case beyond a few
    dimensions, where sigma is far below the distance of any point to its centroid), the
    literal ratio is 0/0 or m/0. Then R_kk' = gamma_kk'(H_kk'): 0 when no point lies within
    sigma of the midpoint either (no density between the two clusters, so no overlap), and
    the count m at the midpoint otherwise, the value the ratio has with a single point near
    a centroid. So R_kk' stays finite (at most n_k + n_k'), grows with the density at the
    midpoint and never grows as density around the centroids increases. R_kk' exceeds 1
    when the midpoint is denser than both centroids.

    Range [0, inf); lower is better.

    Undefined only when all points are identical (||V|| = 0), or when every cluster's points
    are (sigma = 0, and densities within sigma would count rounding errors), exactly or to
    floating-point noise at the data's scale.

    References
    ----------
    .. [1] M. Halkidi and M. Vazirgiannis (2001). "Clustering validity assessment: finding the
       optimal partitioning of a data set". Proceedings of the IEEE International Conference
       on Data Mining (ICDM 2001), pp. 187-194. doi:10.1109/ICDM.2001.989517
    .. [2] cC 1.2.21.
    """
    scat = _scat(c)
    sigma = math.sqrt(float(np.sum(np.linalg.norm(c.cluster_variances, axis=1)))) / c.k
    if c.is_noise(sigma):
        raise Undefined(
            "every point lies on its cluster centroid, densities within sigma mean nothing: "
            + _noise(c, "sigma", sigma)
        )
    # near[c, k]: points of cluster c within sigma of centroid k.
    near = c.group_sum((c.dist_to_centroids <= sigma).astype(np.int64))
    mids = 0.5 * (c.centroids[:, None, :] + c.centroids[None, :, :])  # K x K x p
    at_mid = _near_midpoints(c, mids, sigma * sigma)  # at_mid[c, k]: of cluster c, near H_ck
    first, second = np.triu_indices(c.k, 1)  # the pairs k < k', in order
    at_pair = at_mid[first, second] + at_mid[second, first]
    at_first = near[first, first] + near[second, first]
    at_second = near[first, second] + near[second, second]
    # The 1: see the docstring.
    ratios = at_pair / np.maximum(np.maximum(at_first, at_second), 1)
    return scat + 2.0 * float(np.sum(ratios)) / (c.k * (c.k - 1))


def _near_midpoints(c: Partition, mids: np.ndarray, radius2: float) -> np.ndarray:
    """K x K counts: of cluster c's points, how many lie within sqrt(radius2) of the
    midpoint of c's and k's centroids (squared distances, as S_Dbw's definition)."""
    counts = np.zeros((c.k, c.k), dtype=np.int64)
    order, starts = c._order
    bounds = np.append(starts, c.n)
    # Rows at a time so the points x midpoints x p differences stay within ~32 MB.
    step = max(1, (4 << 20) // max(1, c.k * c.p))
    for k in range(c.k):
        members = order[bounds[k] : bounds[k + 1]]
        for first in range(0, members.size, step):
            points = c.X[members[first : first + step]]
            diff = points[:, None, :] - mids[k][None, :, :]
            close = np.einsum("ijk,ijk->ij", diff, diff) <= radius2
            counts[k] += np.count_nonzero(close, axis=0)
    return counts


def det_ratio(c: Partition) -> float:
    """Det_Ratio index: determinant of the total scatter over that of the within-group scatter.

    DR = det T / det WG, computed as exp(log det T - log det WG) from the eigenvalues, so
    neither determinant is formed and neither can overflow. As T = WG + BG with BG positive
    semi-definite, det T >= det WG.

    Range [1, inf); higher is better.

    Undefined when WG or T is singular (WG always is when p > N - K), when all clusters have
    the same centroid (BG is floating-point noise at the data's scale: the ratio would be 1
    plus rounding error), or when the ratio does not fit in a float64.

    References
    ----------
    .. [1] H. P. Friedman and J. Rubin (1967). "On some invariant criteria for grouping data".
       Journal of the American Statistical Association 62(320):1159-1178.
       doi:10.1080/01621459.1967.10500923
    .. [2] cC 1.2.6.
    """
    return _exp_or_undefined(_log_det_ratio_per_point(c), "det T / det WG")


def _log_det_ratio_per_point(c: Partition) -> float:
    log_wg = _wg_logdet(c)
    log_t = _total_logdet(c, "total scatter matrix")
    _require_between_scatter(c)
    return log_t - log_wg


def _total_logdet(c: Partition, what: str) -> float:
    return _spd_logdet(
        c.tss_matrix,
        lambda: c.points.tss_eigenvalues,
        c.n - 1,
        _scatter_floor(c, c.n),
        what,
        f"p={c.p}, N={c.n}",
    )


def gamma(c: Partition) -> float:
    """Baker-Hubert Gamma: rank correlation between pair distances and pair type.

    Gamma = (s+ - s-) / (s+ + s-): the Goodman-Kruskal gamma between the pair distances and
    the within/between indicator, counting a (within, between) couple as concordant when the
    within distance is the smaller.

    Range [-1, 1]; higher is better.

    Undefined when there are no within-cluster pairs (every cluster is a singleton) or no
    between-cluster pairs, or when every couple is a tie (s+ + s- = 0).

    References
    ----------
    .. [1] F. B. Baker and L. J. Hubert (1975). "Measuring the power of hierarchical cluster
       analysis". Journal of the American Statistical Association 70(349):31-38.
       doi:10.1080/01621459.1975.10480256
    .. [2] cC 1.2.8.
    """
    s_plus, s_minus = c.concordance
    if s_plus + s_minus == 0:
        raise Undefined("every within-cluster distance ties with every between distance")
    return (s_plus - s_minus) / (s_plus + s_minus)


def generalized_dunn(c: Partition) -> float:
    """Generalized Dunn index GDI_41: closest centroid pair over the largest cluster diameter.

    GDI_41 = min_{k != k'} d(G_k, G_k') / max_k diam(C_k), with
    diam(C_k) = max_{i, j in C_k} d(x_i, x_j): between-cluster distance delta_4 (centroid
    linkage) and diameter Delta_1 in Bezdek & Pal's numbering.

    Range [0, inf); higher is better.

    Undefined when every cluster has diameter 0, or when two clusters have the same centroid
    (the numerator would be rounding error); "0" includes floating-point noise at the data's
    scale.

    References
    ----------
    .. [1] J. C. Bezdek and N. R. Pal (1998). "Some new indexes of cluster validity". IEEE
       Transactions on Systems, Man, and Cybernetics, Part B 28(3):301-315.
       doi:10.1109/3477.678624
    .. [2] cC 1.2.9.
    """
    diameter = _largest_diameter(c)
    return _centroid_separation(c) / diameter


def g_plus(c: Partition) -> float:
    """G-plus index: share of discordant couples among all couples of pairs.

    G+ = 2 s- / (N_T (N_T - 1)), s- counting the (within, between) couples whose within
    distance is the larger.

    Range [0, 1]; lower is better.

    Undefined when there are no within-cluster pairs (every cluster is a singleton) or no
    between-cluster pairs.

    References
    ----------
    .. [1] F. J. Rohlf (1974). "Methods of comparing classifications". Annual Review of Ecology
       and Systematics 5:101-113. doi:10.1146/annurev.es.05.110174.000533
    .. [2] cC 1.2.10.
    """
    _, s_minus = c.concordance
    n_pairs = c.pairs.n_pairs
    return 2.0 * s_minus / (n_pairs * (n_pairs - 1))


def pbm(c: Partition) -> float:
    """PBM index (I-index of Pakhira, Bandyopadhyay & Maulik).

    PBM = ((1/K) (E_T / E_W) D_B)^2, with E_T = sum_i d(x_i, G),
    E_W = sum_i d(x_i, G_k(i)) and D_B = max_{k < k'} d(G_k, G_k').

    Range [0, inf); higher is better.

    Undefined when E_W = 0 (every point lies on its centroid) or D_B = 0 (all clusters have
    the same centroid), either exactly or to floating-point noise at the data's scale
    (E_W / N or D_B at most the tolerance).

    References
    ----------
    .. [1] M. K. Pakhira, S. Bandyopadhyay and U. Maulik (2004). "Validity index for crisp and
       fuzzy clusters". Pattern Recognition 37(3):487-501. doi:10.1016/j.patcog.2003.06.005
    .. [2] cC 1.2.15.
    """
    e_w = float(np.sum(c.dist_to_own_centroid))
    if c.is_noise(e_w / c.n):
        raise Undefined(
            "every point lies on its cluster centroid: " + _noise(c, "E_W / N =", e_w / c.n)
        )
    d_b = float(np.max(c.centroid_distances))
    if c.is_noise(d_b):
        raise Undefined(f"all clusters have the same centroid: {_noise(c, 'D_B =', d_b)}")
    diff = c.points.centered
    e_t = float(np.sum(np.sqrt(np.einsum("ij,ij->i", diff, diff))))
    return (e_t / e_w * d_b / c.k) ** 2


def log_det_ratio(c: Partition) -> float:
    """Log_Det_Ratio index: N log(det T / det WG).

    Computed as N (log det T - log det WG), each log-determinant a sum of logs of
    eigenvalues, so it stays finite where the ratio or the determinants themselves would
    overflow. As det T >= det WG, the value is never negative.

    Range [0, inf); higher is better.

    Undefined when WG or T is singular (WG always is when p > N - K), or when all clusters
    have the same centroid (BG is floating-point noise at the data's scale: the value would
    be rounding error).

    References
    ----------
    .. [1] A. J. Scott and M. J. Symons (1971). "Clustering methods based on likelihood ratio
       criteria". Biometrics 27(2):387-397. doi:10.2307/2529003
    .. [2] cC 1.2.12.
    """
    return c.n * _log_det_ratio_per_point(c)


def mcclain_rao(c: Partition) -> float:
    """McClain-Rao index: mean within-cluster over mean between-cluster pair distance.

    MR = (S_W / N_W) / (S_B / N_B).

    Range [0, inf); lower is better.

    Undefined when there are no within-cluster pairs (every cluster is a singleton) or all
    between-cluster distances are 0 (their mean at most floating-point noise at the data's
    scale).

    References
    ----------
    .. [1] J. O. McClain and V. R. Rao (1975). "CLUSTISZ: a program to test for the quality of
       clustering of a set of objects". Journal of Marketing Research 12(4):456-460.
    .. [2] cC 1.2.14.
    """
    pairs = c.pairs
    n_between = pairs.n_pairs - pairs.n_within
    if pairs.n_within == 0:
        raise Undefined("no within-cluster pairs (every cluster is a singleton)")
    mean_between = (pairs.sum_all - pairs.sum_within) / n_between
    if c.is_noise(mean_between):
        raise Undefined(
            "all between-cluster distances are 0: " + _noise(c, "their mean", mean_between)
        )
    return (pairs.sum_within / pairs.n_within) / mean_between


def point_biserial(c: Partition) -> float:
    """Point-biserial correlation between pair distances and being a between-cluster pair.

    Over all N_T pairs, the Pearson correlation between d(x_i, x_j) and the indicator that i
    and j lie in different clusters:
    PB = (S_B / N_B - S_W / N_W) sqrt(N_W N_B) / (N_T s_d), where s_d is the standard
    deviation (dividing by N_T) of the N_T distances. Equals scipy's ``pointbiserialr``.

    Range [-1, 1]; higher is better.

    Undefined when there are no within-cluster pairs (every cluster is a singleton) or all
    pair distances are equal (their variance, a difference of means, 0 to rounding).

    References
    ----------
    .. [1] G. W. Milligan (1980). "An examination of the effect of six types of error
       perturbation on fifteen clustering algorithms". Psychometrika 45(3):325-342.
       doi:10.1007/BF02293907
    .. [2] G. W. Milligan (1981). "A Monte Carlo study of thirty internal criterion measures
       for cluster analysis". Psychometrika 46(2):187-199. doi:10.1007/BF02293899
    """
    pairs = c.pairs
    n_pairs, n_within = pairs.n_pairs, pairs.n_within
    if n_within == 0:
        raise Undefined("no within-cluster pairs (every cluster is a singleton)")
    n_between = n_pairs - n_within
    mean_d = pairs.sum_all / n_pairs
    var_d = c.n * c.tss / n_pairs - mean_d**2
    _require_variance(var_d, c.n * c.tss / n_pairs, "pair distances")
    share_between = n_between / n_pairs
    mean_between = (pairs.sum_all - pairs.sum_within) / n_between
    mean_within = pairs.sum_within / n_within
    return (
        (mean_between - mean_within)
        * math.sqrt(share_between * (1.0 - share_between))
        / math.sqrt(var_d)
    )


def sd_validity(c: Partition) -> float:
    """SD validity index: average scattering plus total separation, with weight alpha = 1.

    SD = alpha Scat + Dis, with Scat = (1/K) sum_k ||V_k|| / ||V|| (as in S_Dbw) and
    Dis = (D_max / D_min) sum_k 1 / sum_{k' != k} d(G_k, G_k'), where D_max and D_min are the
    largest and smallest distances between two centroids. The paper sets alpha to Dis of the
    partition with the most clusters among those compared; one labelling has no such
    reference, so alpha = 1 here.

    Range [0, inf); lower is better.

    Undefined when all points are identical (||V|| = 0) or two clusters have the same centroid
    (D_min = 0), either exactly or to floating-point noise at the data's scale.

    References
    ----------
    .. [1] M. Halkidi, M. Vazirgiannis and Y. Batistakis (2000). "Quality scheme assessment in
       the clustering process". Principles of Data Mining and Knowledge Discovery (PKDD 2000),
       Lecture Notes in Computer Science 1910, Springer, pp. 265-276.
       doi:10.1007/3-540-45372-5_26
    .. [2] cC 1.2.20.
    """
    scat = _scat(c)
    cd = c.centroid_distances
    d_min = _centroid_separation(c)
    d_max = float(np.max(cd))
    dis = d_max / d_min * float(np.sum(1.0 / cd.sum(axis=1)))
    return scat + dis


def tau(c: Partition) -> float:
    """Tau index: Kendall-type rank correlation between pair distances and pair type.

    Tau = (s+ - s-) / sqrt( N_W N_B N_T (N_T - 1) / 2 ): Kendall's tau between the pair
    distances and the within/between indicator, corrected for the ties of the indicator;
    ties among the distances are neglected.

    Range [-1, 1]; higher is better.

    Undefined when there are no within-cluster pairs (every cluster is a singleton) or no
    between-cluster pairs.

    References
    ----------
    .. [1] G. W. Milligan (1981). "A Monte Carlo study of thirty internal criterion measures
       for cluster analysis". Psychometrika 46(2):187-199. doi:10.1007/BF02293899
    .. [2] cC 1.2.23.
    """
    s_plus, s_minus = c.concordance
    pairs = c.pairs
    n_t, n_w = pairs.n_pairs, pairs.n_within
    denominator = math.sqrt(n_w * (n_t - n_w) * (n_t * (n_t - 1) // 2))
    return (s_plus - s_minus) / denominator


def trace_wib(c: Partition) -> float:
    """Trace_WiB index: tr(WG^-1 BG), between-group scatter measured against within-group scatter.

    Range [0, inf); higher is better.

    Undefined when WG is singular (it always is when p > N - K), or when all clusters have the
    same centroid (BG is floating-point noise at the data's scale: the value would be rounding
    error).

    References
    ----------
    .. [1] H. P. Friedman and J. Rubin (1967). "On some invariant criteria for grouping data".
       Journal of the American Statistical Association 62(320):1159-1178.
       doi:10.1080/01621459.1967.10500923
    .. [2] cC 1.2.25.
    """
    _wg_logdet(c)
    _require_between_scatter(c)
    return float(np.trace(np.linalg.solve(c.wg, c.bg)))


def ksq_detw(c: Partition) -> float:
    """Ksq_DetW index: K^2 det WG, computed as exp(2 log K + log det WG).

    log det WG is the sum of the logs of WG's eigenvalues, so no product of them is formed
    and nothing overflows on the way; only the final exp can leave float64's range.

    Range [0, inf); lower is better.

    Undefined when WG is singular (it always is when p > N - K), or when K^2 det WG does not
    fit in a (normal) float64: above 1.8e308 or below 2.2e-308. It is then genuinely outside
    the range; no stand-in number is reported.

    References
    ----------
    .. [1] F. H. C. Marriott (1971). "Practical problems in a method of cluster analysis".
       Biometrics 27(3):501-514. doi:10.2307/2528592
    .. [2] cC 1.2.11.
    """
    return _exp_or_undefined(2.0 * math.log(c.k) + _wg_logdet(c), "K^2 det WG")


def banfield_raftery(c: Partition) -> float:
    """Banfield-Raftery index: n_k-weighted sum of the log mean squared distance to the centroid.

    BR = sum_k n_k log(tr WG_k / n_k) = sum_k n_k log(WGSS_k / n_k).

    Range (-inf, inf); lower is better.

    Undefined when some cluster has zero scatter (a singleton, or all its points identical),
    exactly or to floating-point noise at the data's scale (sqrt(WGSS_k / n_k) at most the
    tolerance): the log of a rounding error is not a value.

    References
    ----------
    .. [1] J. D. Banfield and A. E. Raftery (1993). "Model-based Gaussian and non-Gaussian
       clustering". Biometrics 49(3):803-821. doi:10.2307/2532201
    .. [2] cC 1.2.2.
    """
    flat = c.cluster_wgss <= c.sizes * c.tolerance**2
    if flat.any():
        raise Undefined(
            f"{int(flat.sum())} cluster(s) have zero scatter (singletons or identical points, "
            f"to the rounding tolerance {c.tolerance:.3g})"
        )
    return float(np.sum(c.sizes * np.log(c.cluster_wgss / c.sizes)))


def _cluster_logdets(c: Partition, what: str) -> np.ndarray:
    small = c.sizes <= c.p
    if small.any():
        raise Undefined(
            f"{what} needs more points than dimensions in every cluster "
            f"(p={c.p}, smallest cluster has {int(c.sizes.min())})"
        )
    return np.array(
        [
            _spd_logdet(
                c.cluster_scatters[k],
                lambda k=k: c.cluster_eigenvalues[k],  # type: ignore[misc]
                int(c.sizes[k]) - 1,
                _scatter_floor(c, int(c.sizes[k])),
                f"scatter matrix of cluster {k}",
                f"p={c.p}, n_k={int(c.sizes[k])}",
            )
            for k in range(c.k)
        ]
    )


def negentropy(c: Partition) -> float:
    """Negentropy increment: how far the clusters are from normal, relative to the whole data.

    NI = (1/2) sum_k p_k log det S_k - (1/2) log det S - sum_k p_k log p_k, with p_k = n_k / N
    and the sample covariance matrices S_k = WG_k / (n_k - 1) of C_k and S = T / (N - 1) of
    all points.

    Range (-inf, inf); lower is better.

    Undefined when some cluster has n_k <= p points, or some S_k, or S, is singular.

    References
    ----------
    .. [1] L. F. Lago-Fernandez and F. Corbacho (2010). "Normality-based validation for crisp
       clustering". Pattern Recognition 43(3):782-795.
    """
    logdets = _cluster_logdets(c, "cluster covariance")
    share = c.sizes / c.n
    log_cov_k = logdets - c.p * np.log(c.sizes - 1.0)
    log_cov = _total_logdet(c, "total covariance") - c.p * math.log(c.n - 1.0)
    return float(0.5 * np.sum(share * log_cov_k) - 0.5 * log_cov - np.sum(share * np.log(share)))


def niva(c: Partition) -> float:
    """NIVA: nearest-neighbour distance within clusters over nearest distance to other clusters.

    No published formula is available for this index; this is metricate's own definition.
    Over the set U of clusters with at least 2 points (singletons are left out):
    NIVA = sum_{k in U} mean_{i in C_k} min_{j in C_k, j != i} d(x_i, x_j)
           / sum_{k in U} mean_{i in C_k} min_{j not in C_k} d(x_i, x_j).

    Range [0, inf); lower is better.

    Undefined when every cluster is a singleton, or when the denominator is 0 or
    floating-point noise at the data's scale (points of different clusters coincide).

    References
    ----------
    None: the definition is this project's.
    """
    pairs = c.pairs
    usable = c.sizes >= 2
    if not usable.any():
        raise Undefined("every cluster is a singleton")
    nearest_own = c.group_sum(pairs.own_min) / c.sizes
    nearest_other = c.group_sum(pairs.other_min)
    nearest_other = nearest_other / c.sizes
    denominator = float(np.sum(nearest_other[usable]))
    if c.is_noise(denominator):
        raise Undefined(
            "points of different clusters coincide: " + _noise(c, "the denominator", denominator)
        )
    return float(np.sum(nearest_own[usable])) / denominator


def score_function(c: Partition) -> float:
    """Score Function: a bounded transform of between- minus within-class distance.

    SF = 1 - 1 / exp(exp(bcd - wcd)), with the between-class distance
    bcd = sum_k n_k d(G_k, G) / (N K) and the within-class distance
    wcd = sum_k (1/n_k) sum_{i in C_k} d(x_i, G_k). Computed as -expm1(-exp(bcd - wcd)), so
    no precision is lost to cancellation and an overflowing exp gives 1.

    Range [0, 1]; higher is better. Always defined.

    References
    ----------
    .. [1] S. Saitta, B. Raphael and I. F. C. Smith (2007). "A bounded index for cluster
       validity". Machine Learning and Data Mining in Pattern Recognition (MLDM 2007),
       Lecture Notes in Computer Science 4571, Springer, pp. 174-187.
       doi:10.1007/978-3-540-73499-4_14
    """
    bcd = float(np.sum(c.sizes * np.linalg.norm(c.centroids - c.grand_centroid, axis=1))) / (
        c.n * c.k
    )
    wcd = float(np.sum(c.mean_dist_to_centroid))
    # 1 - exp(-exp(x)) without cancellation; exp(x) = inf correctly gives 1.
    with np.errstate(over="ignore"):
        return float(-np.expm1(-np.exp(bcd - wcd)))


def scott_symons(c: Partition) -> float:
    """Scott-Symons index: n_k-weighted sum of the log-determinants of the cluster covariances.

    SS = sum_k n_k log det(WG_k / n_k), WG_k / n_k being the covariance matrix (dividing by
    n_k) of C_k.

    Range (-inf, inf); lower is better.

    Undefined when some cluster has n_k <= p points or a singular scatter matrix.

    References
    ----------
    .. [1] A. J. Scott and M. J. Symons (1971). "Clustering methods based on likelihood ratio
       criteria". Biometrics 27(2):387-397. doi:10.2307/2529003
    .. [2] cC 1.2.19.
    """
    logdets = _cluster_logdets(c, "log det(WG_k / n_k)")
    return float(np.sum(c.sizes * (logdets - c.p * np.log(c.sizes))))
