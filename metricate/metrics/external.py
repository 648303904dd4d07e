"""The 4 external indices: agreement between a labelling and a reference labelling.

They need ground truth, so they are never part of the training data; ``evaluate``
computes them when a reference labelling is given. Each function's docstring gives the
formula, the range and which direction is better, when the value is undefined, and the
reference.

Notation: U is the labelling scored (the clusters of the ``Partition``, noise removed) and
V the reference labelling of the same N points; n_ij is the number of points in cluster i
of U and class j of V (the contingency table), a_i = sum_j n_ij, b_j = sum_i n_ij, and
C(m, 2) = m (m - 1) / 2. Entropies are in nats. Every function raises ``Undefined`` when
no reference labelling was given.
"""

from __future__ import annotations

import numpy as np

from metricate.metrics.context import Partition, Undefined


def _contingency(c: Partition) -> np.ndarray:
    if c.reference is None:
        raise Undefined("no reference labelling given")
    _, ref_codes = np.unique(c.reference, return_inverse=True)
    table = np.zeros((c.k, int(ref_codes.max()) + 1), dtype=np.int64)
    np.add.at(table, (c.codes, ref_codes), 1)
    return table


def _pairs_of(counts: np.ndarray) -> int:
    counts = counts.astype(np.int64)
    return int(np.sum(counts * (counts - 1) // 2))


def _pair_agreement(c: Partition) -> tuple[int, int, int, int]:
    """(pairs together in both, together in the labelling, in the reference, all)."""
    table = _contingency(c)
    n = int(table.sum())
    return (
        _pairs_of(table),
        _pairs_of(table.sum(axis=1)),
        _pairs_of(table.sum(axis=0)),
        n * (n - 1) // 2,
    )


def adjusted_rand_index(c: Partition) -> float:
    """Adjusted Rand Index: agreement on point pairs, corrected for chance.

    ARI = (I - E) / (M - E), with I = sum_ij C(n_ij, 2) the pairs together in both,
    E = sum_i C(a_i, 2) sum_j C(b_j, 2) / C(N, 2) its expected value under random labellings
    with the same cluster sizes, and M = (sum_i C(a_i, 2) + sum_j C(b_j, 2)) / 2. Equals
    scikit-learn's ``adjusted_rand_score`` wherever both are defined.

    Range [-1, 1]: 1 for identical labellings (up to renaming), near 0 for chance agreement;
    higher is better.

    Undefined when M = E, e.g. when both labellings put all points in one cluster or both put
    every point in its own.

    References
    ----------
    .. [1] L. Hubert and P. Arabie (1985). "Comparing partitions". Journal of Classification
       2:193-218. doi:10.1007/BF01908075
    """
    both, rows, cols, total = _pair_agreement(c)
    expected = rows * cols / total
    maximum = 0.5 * (rows + cols)
    if maximum == expected:
        raise Undefined("both labellings are trivial (chance-corrected agreement is 0/0)")
    return (both - expected) / (maximum - expected)


def van_dongen(c: Partition) -> float:
    """Van Dongen criterion: share of points outside the best-matching cluster, both ways.

    VD = (2N - sum_i max_j n_ij - sum_j max_i n_ij) / (2N), van Dongen's criterion
    normalised by 2N.

    Range [0, 1): 0 exactly when the labellings agree up to renaming; lower is better.

    Always defined when a reference labelling is given.

    References
    ----------
    .. [1] S. van Dongen (2000). "Performance criteria for graph clustering and Markov cluster
       experiments". Technical Report INS-R0012, Centrum voor Wiskunde en Informatica (CWI),
       Amsterdam.
    """
    table = _contingency(c)
    n = int(table.sum())
    return float(2 * n - table.max(axis=1).sum() - table.max(axis=0).sum()) / (2 * n)


def variation_of_information(c: Partition) -> float:
    """Variation of information between the labelling U and the reference V.

    VI = H(U|V) + H(V|U) = 2 H(U, V) - H(U) - H(V), the entropies being those of the
    empirical distributions n_ij / N, a_i / N and b_j / N, in nats.

    Range [0, log N]: 0 exactly when the labellings agree up to renaming; lower is better.

    Always defined when a reference labelling is given.

    References
    ----------
    .. [1] M. Meila (2007). "Comparing clusterings - an information based distance". Journal
       of Multivariate Analysis 98(5):873-895. doi:10.1016/j.jmva.2006.11.013
    """
    table = _contingency(c).astype(np.float64)
    n = table.sum()

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / n
        return float(-np.sum(p * np.log(p)))

    return 2.0 * entropy(table.ravel()) - entropy(table.sum(axis=1)) - entropy(table.sum(axis=0))


def omega(c: Partition) -> float:
    """Omega index of Collins & Dent over all point pairs.

    With P_U and P_V the numbers of pairs together in U and in V, P_UV those together in
    both, and N_T = C(N, 2):

    - A = (P_UV + (N_T - P_U - P_V + P_UV)) / N_T, the share of pairs both labellings treat
      alike (together in both or apart in both);
    - E = (P_U P_V + (N_T - P_U)(N_T - P_V)) / N_T^2, its expected value by chance;
    - Omega = (A - E) / (1 - E).

    Omega extends the Adjusted Rand Index to overlapping clusterings; for partitions, as
    here, it equals the ARI.

    Range [-1, 1], as the ARI: 1 for identical labellings; higher is better.

    Undefined when E = 1, the same trivial cases in which the ARI is undefined.

    References
    ----------
    .. [1] L. M. Collins and C. W. Dent (1988). "Omega: a general formulation of the Rand
       index of cluster recovery suitable for non-disjoint solutions". Multivariate
       Behavioral Research 23(2):231-242. doi:10.1207/s15327906mbr2302_6
    """
    both, rows, cols, total = _pair_agreement(c)
    agree = (both + (total - rows - cols + both)) / total
    expected = (rows * cols + (total - rows) * (total - cols)) / (total * total)
    if expected == 1.0:
        raise Undefined("both labellings are trivial (expected agreement is 1)")
    return (agree - expected) / (1.0 - expected)
