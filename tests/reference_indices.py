"""Straightforward reference implementations of the indices, for small inputs only.

Each follows the definition in spec/metrics.md literally, over the full pair list
(scipy's pdist) and plain per-cluster numpy, sharing no code with metricate. They
are O(N^2) or worse in memory and exist only to check the fast implementation.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform


def _clusters(X: np.ndarray, labels: np.ndarray) -> list[np.ndarray]:
    return [X[labels == k] for k in np.unique(labels)]


def pair_table(X: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All pair distances (pdist order) and whether each pair is within a cluster."""
    i, j = np.triu_indices(len(X), 1)
    return pdist(X), labels[i] == labels[j]


def concordance(X: np.ndarray, labels: np.ndarray) -> tuple[int, int]:
    d, within = pair_table(X, labels)
    w, b = d[within], d[~within]
    return int(np.sum(w[:, None] < b[None, :])), int(np.sum(w[:, None] > b[None, :]))


def gamma(X, labels):
    sp, sm = concordance(X, labels)
    return (sp - sm) / (sp + sm)


def g_plus(X, labels):
    _, sm = concordance(X, labels)
    nt = len(X) * (len(X) - 1) // 2
    return 2 * sm / (nt * (nt - 1))


def tau(X, labels):
    sp, sm = concordance(X, labels)
    d, within = pair_table(X, labels)
    nt, nw = d.size, int(within.sum())
    return (sp - sm) / math.sqrt(nw * (nt - nw) * nt * (nt - 1) / 2)


def mcclain_rao(X, labels):
    d, within = pair_table(X, labels)
    return d[within].mean() / d[~within].mean()


def dunn(X, labels):
    D = squareform(pdist(X))
    same = labels[:, None] == labels[None, :]
    return D[~same].min() / D[same].max()


def generalized_dunn_41(X, labels):
    cents = np.array([c.mean(axis=0) for c in _clusters(X, labels)])
    D = squareform(pdist(X))
    same = labels[:, None] == labels[None, :]
    return pdist(cents).min() / D[same].max()


def nci(X, labels):
    ks = np.unique(labels)
    cents = np.array([X[labels == k].mean(axis=0) for k in ks])
    code = np.searchsorted(ks, labels)
    i, j = np.triu_indices(len(X), 1)
    c = np.linalg.norm(cents[code[i]] - cents[code[j]], axis=1)
    return np.corrcoef(pdist(X), c)[0, 1]


def cs_index(X, labels):
    groups = _clusters(X, labels)
    cents = np.array([g.mean(axis=0) for g in groups])
    num = sum(squareform(pdist(g)).max(axis=1).mean() for g in groups)
    cd = squareform(pdist(cents))
    np.fill_diagonal(cd, np.inf)
    return num / cd.min(axis=1).sum()


def cop(X, labels):
    total = 0.0
    for k in np.unique(labels):
        members, outside = X[labels == k], X[labels != k]
        intra = np.linalg.norm(members - members.mean(axis=0), axis=1).mean()
        inter = cdist(outside, members).max(axis=1).min()
        total += len(members) * intra / inter
    return total / len(X)


def niva(X, labels):
    D = squareform(pdist(X))
    np.fill_diagonal(D, np.inf)
    num = den = 0.0
    for k in np.unique(labels):
        inside = labels == k
        if inside.sum() < 2:
            continue
        num += D[np.ix_(inside, inside)].min(axis=1).mean()
        den += D[np.ix_(inside, ~inside)].min(axis=1).mean()
    return num / den


def wemmert_gancarski(X, labels):
    ks = np.unique(labels)
    cents = np.array([X[labels == k].mean(axis=0) for k in ks])
    total = 0.0
    for idx, k in enumerate(ks):
        d = cdist(X[labels == k], cents)
        own = d[:, idx]
        other = np.delete(d, idx, axis=1).min(axis=1)
        total += max(0.0, (labels == k).sum() - np.sum(own / other))
    return total / len(X)


def _scat(X, labels):
    v = np.linalg.norm(X.var(axis=0))
    return np.mean([np.linalg.norm(g.var(axis=0)) for g in _clusters(X, labels)]) / v


def sd_validity(X, labels):
    cents = np.array([g.mean(axis=0) for g in _clusters(X, labels)])
    cd = squareform(pdist(cents))
    dis = cd.max() / pdist(cents).min() * np.sum(1.0 / cd.sum(axis=1))
    return _scat(X, labels) + dis


def s_dbw(X, labels):
    groups = _clusters(X, labels)
    k = len(groups)
    cents = [g.mean(axis=0) for g in groups]
    sigma = math.sqrt(sum(np.linalg.norm(g.var(axis=0)) for g in groups)) / k
    total = 0.0
    for a in range(k):
        for b in range(a + 1, k):
            both = np.vstack([groups[a], groups[b]])

            def density(u, pts=both):
                return int(np.sum(np.linalg.norm(pts - u, axis=1) <= sigma))

            mid = (cents[a] + cents[b]) / 2
            at_mid = density(mid)
            at_centroids = max(density(cents[a]), density(cents[b]))
            if at_centroids > 0:
                total += at_mid / at_centroids  # Halkidi & Vazirgiannis literally
            elif at_mid == 0:
                total += 0.0  # no point near the centroids nor the midpoint: no overlap
            else:
                total += at_mid  # points only near the midpoint: as with one at a centroid
    return _scat(X, labels) + 2 * total / (k * (k - 1))


def ratkowsky_lance(X, labels):
    G = X.mean(axis=0)
    t = ((X - G) ** 2).sum(axis=0)
    bg = sum(len(g) * (g.mean(axis=0) - G) ** 2 for g in _clusters(X, labels))
    return math.sqrt(np.mean(bg / t) / len(np.unique(labels)))


def scatter_matrices(X, labels):
    G = X.mean(axis=0)
    wg = sum((g - g.mean(axis=0)).T @ (g - g.mean(axis=0)) for g in _clusters(X, labels))
    t = (X - G).T @ (X - G)
    return wg, t - wg, t


def score_function(X, labels):
    groups = _clusters(X, labels)
    G = X.mean(axis=0)
    k = len(groups)
    bcd = sum(len(g) * np.linalg.norm(g.mean(axis=0) - G) for g in groups) / (len(X) * k)
    wcd = sum(np.linalg.norm(g - g.mean(axis=0), axis=1).mean() for g in groups)
    return 1 - 1 / math.exp(math.exp(bcd - wcd))


def pbm(X, labels):
    groups = _clusters(X, labels)
    cents = np.array([g.mean(axis=0) for g in groups])
    e_t = np.linalg.norm(X - X.mean(axis=0), axis=1).sum()
    e_w = sum(np.linalg.norm(g - g.mean(axis=0), axis=1).sum() for g in groups)
    return (e_t / e_w * pdist(cents).max() / len(groups)) ** 2


def negentropy(X, labels):
    n = len(X)
    total = 0.0
    for g in _clusters(X, labels):
        p = len(g) / n
        total += 0.5 * p * np.linalg.slogdet(np.cov(g.T))[1] - p * math.log(p)
    return total - 0.5 * np.linalg.slogdet(np.cov(X.T))[1]


def scott_symons(X, labels):
    return sum(
        len(g) * np.linalg.slogdet((g - g.mean(axis=0)).T @ (g - g.mean(axis=0)) / len(g))[1]
        for g in _clusters(X, labels)
    )


def banfield_raftery(X, labels):
    return sum(
        len(g) * math.log(((g - g.mean(axis=0)) ** 2).sum() / len(g)) for g in _clusters(X, labels)
    )


def ball_hall(X, labels):
    return np.mean([((g - g.mean(axis=0)) ** 2).sum(axis=1).mean() for g in _clusters(X, labels)])


def ray_turi(X, labels):
    wg, _, _ = scatter_matrices(X, labels)
    cents = np.array([g.mean(axis=0) for g in _clusters(X, labels)])
    return np.trace(wg) / len(X) / pdist(cents).min() ** 2


def omega(u, v):
    i, j = np.triu_indices(len(u), 1)
    a, b = u[i] == u[j], v[i] == v[j]
    obs = np.mean(a == b)
    exp = a.mean() * b.mean() + (1 - a.mean()) * (1 - b.mean())
    return (obs - exp) / (1 - exp)


def van_dongen(u, v):
    _, ui = np.unique(u, return_inverse=True)
    _, vi = np.unique(v, return_inverse=True)
    table = np.zeros((ui.max() + 1, vi.max() + 1))
    np.add.at(table, (ui, vi), 1)
    n = len(u)
    return (2 * n - table.max(axis=1).sum() - table.max(axis=0).sum()) / (2 * n)
