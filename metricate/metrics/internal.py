"""The 32 internal validity indices, one function each, reading a shared ``Partition``.

Definitions follow ``spec/metrics.md`` (mostly the clusterCrit vignette, B. Desgraupes,
"Clustering Indices", 2017, cited as cC x.y). A function raises ``Undefined`` with a
reason where its definition breaks down; it never returns a stand-in number.
"""

from __future__ import annotations

import math

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


def _spd_logdet(matrix: np.ndarray, what: str, detail: str) -> float:
    """log det of a symmetric positive semi-definite matrix, or Undefined if singular."""
    eig = np.linalg.eigvalsh(matrix)
    tol = max(float(eig[-1]), 0.0) * matrix.shape[0] * np.finfo(np.float64).eps
    if eig[0] <= tol:
        raise Undefined(f"{what} is singular ({detail})")
    return float(np.sum(np.log(eig)))


def _wg_logdet(c: Partition) -> float:
    return _spd_logdet(c.wg, "within-cluster scatter matrix", f"p={c.p}, N-K={c.n - c.k}")


def _exp_or_undefined(log_value: float, what: str) -> float:
    value = math.exp(log_value) if log_value < 709.0 else math.inf
    if not math.isfinite(value) or value == 0.0:
        raise Undefined(f"{what} is outside float64 range (log = {log_value:.6g})")
    return value


def _centroid_separation(c: Partition) -> float:
    d = _offdiag_min(c.centroid_distances)
    if d == 0.0:
        raise Undefined("two clusters have the same centroid")
    return d


def _diameters(c: Partition) -> np.ndarray:
    """Largest within-cluster distance of each cluster."""
    own = _own(c.pairs.max_to, c.codes)
    out = np.zeros(c.k)
    np.maximum.at(out, c.codes, own)
    return out


def silhouette(c: Partition) -> float:
    """Mean silhouette width (Rousseeuw 1987); equals scikit-learn's silhouette_score.

    s(i) = (b(i) - a(i)) / max(a(i), b(i)), 0 for a point alone in its cluster.
    Range [-1, 1], higher is better.
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
    """(1/K) sum_k max_{k'} (S_k + S_k') / d(G_k, G_k') (cC 1.2.5). Lower is better."""
    _centroid_separation(c)
    spread = c.mean_dist_to_centroid
    with np.errstate(divide="ignore"):
        ratio = (spread[:, None] + spread[None, :]) / c.centroid_distances
    np.fill_diagonal(ratio, -np.inf)
    return float(np.mean(ratio.max(axis=1)))


def calinski_harabasz(c: Partition) -> float:
    """[BGSS/(K-1)] / [WGSS/(N-K)] (cC 1.2.4). Higher is better."""
    if c.n == c.k:
        raise Undefined("every point is its own cluster (N = K)")
    if c.wgss == 0.0:
        raise Undefined("every point lies on its cluster centroid (WGSS = 0)")
    return c.bgss * (c.n - c.k) / (c.wgss * (c.k - 1))


def dunn_index(c: Partition) -> float:
    """Smallest between-cluster distance / largest cluster diameter (Dunn 1974)."""
    diameter = float(_diameters(c).max())
    if diameter == 0.0:
        raise Undefined("every cluster has diameter 0")
    nearest_other = _others_masked(c.pairs.min_to, c.codes, np.inf).min()
    return float(nearest_other) / diameter


def sse(c: Partition) -> float:
    """WGSS, the within-group sum of squared distances to the centroids."""
    return c.wgss


def nci(c: Partition) -> float:
    """Pearson correlation over point pairs between d(x_i, x_j) and the distance of
    their clusters' centroids (0 within a cluster): Wiroonsri 2024's single-partition
    NC. Range [-1, 1], higher is better.
    """
    pairs = c.pairs
    n_pairs = pairs.n_pairs
    centroid_d = c.centroid_distances
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
    if var_d <= 0.0 or var_c <= 0.0:
        raise Undefined("pair distances or centroid distances do not vary")
    return (sum_dc / n_pairs - mean_d * mean_c) / math.sqrt(var_d * var_c)


def ball_hall(c: Partition) -> float:
    """(1/K) sum_k mean squared distance to the centroid (cC 1.2.1). Lower is better."""
    return float(np.mean(c.cluster_wgss / c.sizes))


def ratkowsky_lance(c: Partition) -> float:
    """sqrt(mean_j (BG_jj / T_jj) / K) over the dimensions that vary (cC 1.2.16)."""
    total = np.einsum("ij,ij->j", c.X - c.grand_centroid, c.X - c.grand_centroid)
    d = c.centroids - c.grand_centroid
    between = np.einsum("k,kj,kj->j", c.sizes.astype(np.float64), d, d)
    varying = total > 0.0
    if not varying.any():
        raise Undefined("no dimension varies")
    return math.sqrt(float(np.mean(between[varying] / total[varying])) / c.k)


def ray_turi(c: Partition) -> float:
    """(WGSS/N) / min squared centroid distance (cC 1.2.17). Lower is better."""
    return (c.wgss / c.n) / _centroid_separation(c) ** 2


def rmsstd(c: Partition) -> float:
    """sqrt(WGSS / (p (N - K))) (Sharma 1996). Lower is better."""
    if c.n == c.k:
        raise Undefined("every point is its own cluster (N = K)")
    return math.sqrt(c.wgss / (c.p * (c.n - c.k)))


def r_squared(c: Partition) -> float:
    """BGSS / TSS. Higher is better."""
    if c.tss == 0.0:
        raise Undefined("all points are identical (TSS = 0)")
    return c.bgss / c.tss


def wemmert_gancarski(c: Partition) -> float:
    """(1/N) sum_k max(0, n_k - sum_{i in C_k} R(x_i)), R(x) = d(x, G_k) / nearest
    other centroid distance (cC 1.2.28). Range [0, 1], higher is better.
    """
    others = _others_masked(c.dist_to_centroids.T, c.codes, np.inf).min(axis=0)
    own = c.dist_to_own_centroid
    if np.any((others == 0.0) & (own == 0.0)):
        raise Undefined("two clusters have the same centroid")
    # A point on another cluster's centroid has R = inf: its cluster's term is 0.
    with np.errstate(divide="ignore"):
        ratio = c.group_sum(own / others)
    return float(np.sum(np.maximum(0.0, c.sizes - ratio))) / c.n


def cs_index(c: Partition) -> float:
    """sum_k mean_{x in C_k} max_{y in C_k} d(x, y) / sum_k nearest other centroid
    distance (Chou, Su & Lai 2004). Lower is better.
    """
    spread = c.group_sum(_own(c.pairs.max_to, c.codes)) / c.sizes
    cd = c.centroid_distances.copy()
    np.fill_diagonal(cd, np.inf)
    separation = float(np.sum(cd.min(axis=1)))
    if separation == 0.0:
        raise Undefined("every cluster shares its centroid with another")
    return float(np.sum(spread)) / separation


def cop(c: Partition) -> float:
    """(1/N) sum_k n_k intra_k / inter_k; intra_k = mean distance to the centroid,
    inter_k = min over outside points x of max over members y of d(x, y)
    (Gurrutxaga et al. 2010). Lower is better.
    """
    # Own-cluster entries masked, so the minimum runs over outside points only.
    inter_k = _others_masked(c.pairs.max_to, c.codes, np.inf).min(axis=1)
    if np.any(inter_k == 0.0):
        raise Undefined("a cluster's points coincide with an outside point")
    return float(np.sum(c.sizes * c.mean_dist_to_centroid / inter_k)) / c.n


def _scat(c: Partition) -> float:
    total = float(np.linalg.norm(c.variances))
    if total == 0.0:
        raise Undefined("all points are identical (zero variance)")
    return float(np.mean(np.linalg.norm(c.cluster_variances, axis=1))) / total


def s_dbw(c: Partition) -> float:
    """Scat + Dens_bw (Halkidi & Vazirgiannis 2001; cC 1.2.20). Lower is better.

    Dens_bw compares the number of points of two clusters within sigma of their
    centroids' midpoint to the number within sigma of the denser centroid.
    """
    scat = _scat(c)
    sigma = math.sqrt(float(np.sum(np.linalg.norm(c.cluster_variances, axis=1)))) / c.k
    near_centroid = c.dist_to_centroids <= sigma  # n x K
    members = [np.flatnonzero(c.codes == k) for k in range(c.k)]
    ratios = []
    empty_pairs = 0
    for k in range(c.k):
        for j in range(k + 1, c.k):
            rows = np.concatenate((members[k], members[j]))
            mid = 0.5 * (c.centroids[k] + c.centroids[j])
            diff = c.X[rows] - mid
            at_mid = int(np.count_nonzero(np.einsum("ij,ij->i", diff, diff) <= sigma * sigma))
            at_k = int(np.count_nonzero(near_centroid[rows, k]))
            at_j = int(np.count_nonzero(near_centroid[rows, j]))
            denominator = max(at_k, at_j)
            if denominator == 0:
                empty_pairs += 1
                continue
            ratios.append(at_mid / denominator)
    if empty_pairs:
        raise Undefined(
            f"no point lies within sigma={sigma:.4g} of either centroid for "
            f"{empty_pairs} of {c.k * (c.k - 1) // 2} cluster pairs (density ratio 0/0)"
        )
    return scat + 2.0 * float(np.sum(ratios)) / (c.k * (c.k - 1))


def det_ratio(c: Partition) -> float:
    """det T / det WG (cC 1.2.6). Higher is better."""
    return _exp_or_undefined(_log_det_ratio_per_point(c), "det T / det WG")


def _log_det_ratio_per_point(c: Partition) -> float:
    log_wg = _wg_logdet(c)
    log_t = _spd_logdet(c.tss_matrix, "total scatter matrix", f"p={c.p}, N={c.n}")
    return log_t - log_wg


def gamma(c: Partition) -> float:
    """(s+ - s-) / (s+ + s-) (Baker & Hubert 1975; cC 1.2.7). Higher is better."""
    s_plus, s_minus = c.concordance
    if s_plus + s_minus == 0:
        raise Undefined("every within-cluster distance ties with every between distance")
    return (s_plus - s_minus) / (s_plus + s_minus)


def generalized_dunn(c: Partition) -> float:
    """GDI_41: smallest centroid distance / largest diameter (Bezdek & Pal 1998)."""
    diameter = float(_diameters(c).max())
    if diameter == 0.0:
        raise Undefined("every cluster has diameter 0")
    return _offdiag_min(c.centroid_distances) / diameter


def g_plus(c: Partition) -> float:
    """2 s- / (N_T (N_T - 1)) (Rohlf 1974; cC 1.2.9). Lower is better."""
    _, s_minus = c.concordance
    n_pairs = c.pairs.n_pairs
    return 2.0 * s_minus / (n_pairs * (n_pairs - 1))


def pbm(c: Partition) -> float:
    """((1/K) (E_T / E_W) D_B)^2 (Pakhira et al. 2004; cC 1.2.14). Higher is better."""
    e_w = float(np.sum(c.dist_to_own_centroid))
    if e_w == 0.0:
        raise Undefined("every point lies on its cluster centroid (E_W = 0)")
    diff = c.X - c.grand_centroid
    e_t = float(np.sum(np.sqrt(np.einsum("ij,ij->i", diff, diff))))
    d_b = float(np.max(c.centroid_distances))
    return (e_t / e_w * d_b / c.k) ** 2


def log_det_ratio(c: Partition) -> float:
    """N log(det T / det WG) (cC 1.2.11), from log-determinants. Higher is better."""
    return c.n * _log_det_ratio_per_point(c)


def mcclain_rao(c: Partition) -> float:
    """(S_W / N_W) / (S_B / N_B) (cC 1.2.13). Lower is better."""
    pairs = c.pairs
    n_between = pairs.n_pairs - pairs.n_within
    if pairs.n_within == 0:
        raise Undefined("no within-cluster pairs (every cluster is a singleton)")
    sum_between = pairs.sum_all - pairs.sum_within
    if sum_between <= 0.0:
        raise Undefined("all between-cluster distances are 0")
    return (pairs.sum_within / pairs.n_within) / (sum_between / n_between)


def point_biserial(c: Partition) -> float:
    """Pearson correlation between pair distances and the between-cluster indicator
    (Milligan 1980); equals scipy's pointbiserialr. Higher is better.
    """
    pairs = c.pairs
    n_pairs, n_within = pairs.n_pairs, pairs.n_within
    if n_within == 0:
        raise Undefined("no within-cluster pairs (every cluster is a singleton)")
    n_between = n_pairs - n_within
    mean_d = pairs.sum_all / n_pairs
    var_d = c.n * c.tss / n_pairs - mean_d**2
    if var_d <= 0.0:
        raise Undefined("all pair distances are equal")
    share_between = n_between / n_pairs
    mean_between = (pairs.sum_all - pairs.sum_within) / n_between
    mean_within = pairs.sum_within / n_within
    return (
        (mean_between - mean_within)
        * math.sqrt(share_between * (1.0 - share_between))
        / math.sqrt(var_d)
    )


def sd_validity(c: Partition) -> float:
    """Scat + Dis (alpha = 1) (Halkidi et al. 2000; cC 1.2.19). Lower is better."""
    scat = _scat(c)
    cd = c.centroid_distances
    d_min = _centroid_separation(c)
    d_max = float(np.max(cd))
    dis = d_max / d_min * float(np.sum(1.0 / cd.sum(axis=1)))
    return scat + dis


def tau(c: Partition) -> float:
    """(s+ - s-) / sqrt(N_W N_B N_T (N_T - 1) / 2) (Milligan 1981; cC 1.2.24)."""
    s_plus, s_minus = c.concordance
    pairs = c.pairs
    n_t, n_w = pairs.n_pairs, pairs.n_within
    denominator = math.sqrt(n_w * (n_t - n_w) * (n_t * (n_t - 1) // 2))
    return (s_plus - s_minus) / denominator


def trace_wib(c: Partition) -> float:
    """tr(WG^-1 BG) (Friedman & Rubin 1967; cC 1.2.27). Higher is better."""
    _wg_logdet(c)
    return float(np.trace(np.linalg.solve(c.wg, c.bg)))


def ksq_detw(c: Partition) -> float:
    """K^2 det WG (Marriott 1971; cC 1.2.10). Lower is better."""
    return _exp_or_undefined(2.0 * math.log(c.k) + _wg_logdet(c), "K^2 det WG")


def banfield_raftery(c: Partition) -> float:
    """sum_k n_k log(tr WG_k / n_k) (Banfield & Raftery 1993; cC 1.2.2)."""
    flat = c.cluster_wgss == 0.0
    if flat.any():
        raise Undefined(
            f"{int(flat.sum())} cluster(s) have zero scatter (singletons or identical points)"
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
                c.cluster_scatter(k),
                f"scatter matrix of cluster {k}",
                f"p={c.p}, n_k={int(c.sizes[k])}",
            )
            for k in range(c.k)
        ]
    )


def negentropy(c: Partition) -> float:
    """Negentropy increment (Lago-Fernandez & Corbacho 2010). Lower is better.

    (1/2) sum_k p_k log det S_k - (1/2) log det S - sum_k p_k log p_k, with sample
    covariances (divide by n - 1).
    """
    logdets = _cluster_logdets(c, "cluster covariance")
    share = c.sizes / c.n
    log_cov_k = logdets - c.p * np.log(c.sizes - 1.0)
    log_cov = _spd_logdet(c.tss_matrix, "total covariance", f"p={c.p}, N={c.n}") - c.p * math.log(
        c.n - 1.0
    )
    return float(0.5 * np.sum(share * log_cov_k) - 0.5 * log_cov - np.sum(share * np.log(share)))


def niva(c: Partition) -> float:
    """Project definition (no published formula): mean nearest within-cluster
    neighbour distance over mean nearest other-cluster distance, summed over clusters
    of at least 2 points. Lower is better.
    """
    pairs = c.pairs
    usable = c.sizes >= 2
    if not usable.any():
        raise Undefined("every cluster is a singleton")
    nearest_own = c.group_sum(_own(pairs.min_to, c.codes)) / c.sizes
    nearest_other = c.group_sum(_others_masked(pairs.min_to, c.codes, np.inf).min(axis=0))
    nearest_other = nearest_other / c.sizes
    denominator = float(np.sum(nearest_other[usable]))
    if denominator == 0.0:
        raise Undefined("points of different clusters coincide")
    return float(np.sum(nearest_own[usable])) / denominator


def score_function(c: Partition) -> float:
    """1 - 1/exp(exp(bcd - wcd)) (Saitta, Raphael & Smith 2007). Higher is better."""
    bcd = float(np.sum(c.sizes * np.linalg.norm(c.centroids - c.grand_centroid, axis=1))) / (
        c.n * c.k
    )
    wcd = float(np.sum(c.mean_dist_to_centroid))
    # 1 - exp(-exp(x)) without cancellation; exp(x) = inf correctly gives 1.
    with np.errstate(over="ignore"):
        return float(-np.expm1(-np.exp(bcd - wcd)))


def scott_symons(c: Partition) -> float:
    """sum_k n_k log det(WG_k / n_k) (Scott & Symons 1971; cC 1.2.18). Lower is better."""
    logdets = _cluster_logdets(c, "log det(WG_k / n_k)")
    return float(np.sum(c.sizes * (logdets - c.p * np.log(c.sizes))))
