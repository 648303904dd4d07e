"""The 4 external indices: agreement between a labelling and a reference labelling.

They need ground truth, so they are never part of the training data; ``evaluate``
computes them when a reference labelling is given.
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
    """Hubert & Arabie 1985; equals scikit-learn's adjusted_rand_score."""
    both, rows, cols, total = _pair_agreement(c)
    expected = rows * cols / total
    maximum = 0.5 * (rows + cols)
    if maximum == expected:
        raise Undefined("both labellings are trivial (chance-corrected agreement is 0/0)")
    return (both - expected) / (maximum - expected)


def van_dongen(c: Partition) -> float:
    """(2n - sum_i max_j n_ij - sum_j max_i n_ij) / (2n). Range [0, 1], lower is better."""
    table = _contingency(c)
    n = int(table.sum())
    return float(2 * n - table.max(axis=1).sum() - table.max(axis=0).sum()) / (2 * n)


def variation_of_information(c: Partition) -> float:
    """H(U|V) + H(V|U) in nats (Meila 2007). Lower is better."""
    table = _contingency(c).astype(np.float64)
    n = table.sum()

    def entropy(counts: np.ndarray) -> float:
        p = counts[counts > 0] / n
        return float(-np.sum(p * np.log(p)))

    return 2.0 * entropy(table.ravel()) - entropy(table.sum(axis=1)) - entropy(table.sum(axis=0))


def omega(c: Partition) -> float:
    """Omega index of Collins & Dent 1988 over all point pairs (for partitions, the
    chance-corrected share of pairs on which both labellings agree). Higher is better.
    """
    both, rows, cols, total = _pair_agreement(c)
    agree = (both + (total - rows - cols + both)) / total
    expected = (rows * cols + (total - rows) * (total - cols)) / (total * total)
    if expected == 1.0:
        raise Undefined("both labellings are trivial (expected agreement is 1)")
    return (agree - expected) / (1.0 - expected)
