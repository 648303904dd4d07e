"""Pair statistics of many labellings of one point set, in one pass over its distances.

For each labelling, the indices that read pair distances need, per point i and cluster
k, the sum, largest and smallest distance from i to the members of k, and the
within-cluster pairs themselves (their distances, and for the concordance counts their
ranks among all pairs). They are computed here for a batch of labellings at once: one
pass over the columns of the distance table (the distances from every point to one
block of points), each column assembled once and reduced for every labelling.

A cluster whose members are exactly those of a cluster of the batch's base labelling
(the original, for a training run) is not reduced again: its sums, maxima, minima and
within pairs are the base cluster's, bit for bit, since they are the same reductions
of the same distances. Merges, splits and whole-cluster removals so recompute only the
clusters they change.

The sum over the members of a cluster runs in their order (ascending point number), 64
members at a time in sequence, 1,024 to a segment, segments in sequence: a fixed order
that depends only on the members, never on the block, the batch or the threads, so a
labelling gets the same bits alone or in a batch, on a subset's parent or on a point
set of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from metricate.metrics.distances import BLOCK, PairLayout, thread_buffer
from metricate.parallel import bounded_map, parallel_map

_CHUNK = 64  # members summed in sequence, then chunk sums in sequence
_SEGMENT_CHUNKS = 16  # chunks per segment (1,024 members), segment sums in sequence

# How the pass collects a labelling's within-pair ranks: not at all, or one by one.
RANKS_NONE, RANKS_EACH = 0, 1


class Columns(Protocol):
    """What the pass reads: column ``block`` holds the values of the pairs of every
    point with the points of the block, (n + 1) x size, last row zeros."""

    layout: PairLayout

    def column(self, block: int) -> np.ndarray: ...


@dataclass(frozen=True)
class PairStatistics:
    """The pair distances of one labelling, reduced per (cluster, point).

    ``sum_to[k, i]``: the sum of the distances from point i to the members of cluster k.
    ``own_max[i]`` / ``own_min[i]``: the largest / smallest distance from i to another
    member of its cluster (0 / inf for a singleton); ``other_min[i]`` the smallest to a
    point of another cluster; ``cop_inter[k]`` the smallest, over points outside k, of
    their largest distance to k's members. ``sum_within`` and ``sum_all`` are the sums of
    the within-cluster and of all pair distances (from ``sum_to``), ``concordance`` (s+,
    s-) (None when not asked for, or when there are no within or no between pairs).
    """

    sum_to: np.ndarray
    own_max: np.ndarray
    own_min: np.ndarray
    other_min: np.ndarray
    cop_inter: np.ndarray
    n_pairs: int
    n_within: int
    sum_within: float
    sum_all: float
    concordance: tuple[int, int] | None


@dataclass
class Labelling:
    """One labelling of (some of) a point set's points: ``codes`` 0..k-1 for the points
    ``rows`` of the set (ascending; None for all of them)."""

    codes: np.ndarray
    rows: np.ndarray | None
    n_total: int  # points in the whole set
    k: int = field(init=False)
    members: list[np.ndarray] = field(init=False)  # set positions per cluster, ascending
    local: np.ndarray | None = field(init=False)  # each set position's index here, or -1

    def __post_init__(self) -> None:
        self.k = int(self.codes.max()) + 1
        points = np.arange(self.codes.size) if self.rows is None else self.rows
        order = np.argsort(self.codes, kind="stable")
        bounds = np.concatenate(([0], np.cumsum(np.bincount(self.codes, minlength=self.k))))
        self.members = [points[order[bounds[c] : bounds[c + 1]]] for c in range(self.k)]
        if self.rows is None:
            self.local = None
        else:
            self.local = np.full(self.n_total, -1, dtype=np.int64)
            self.local[self.rows] = np.arange(self.rows.size)

    @property
    def n(self) -> int:
        return int(self.codes.size)

    @property
    def n_within(self) -> int:
        return int(sum(m.size * (m.size - 1) // 2 for m in self.members))


@dataclass
class Collected:
    """What the pass gathered of one labelling's within pairs: their distances and
    their ranks (in no order)."""

    values: np.ndarray | None
    ranks: np.ndarray | None


@dataclass
class Collect:
    """What to gather of a labelling's within pairs."""

    values: bool = False
    ranks: int = RANKS_NONE


# Turns what was gathered of a labelling's within pairs into its concordance counts.
Finish = Callable[[Labelling, Collected], tuple[int, int] | None]
# Bytes of within pairs gathered at once, by default: the labellings of a batch are
# reduced in groups that gather at most this much (each group's pass reads every column).
GROUP_BYTES = 128 * 10**6


def gathered_bytes(labelling: Labelling, collect: Collect) -> int:
    """Bytes a pass gathers of a labelling's within pairs."""
    per_pair = 8 * collect.values + 4 * (collect.ranks == RANKS_EACH)
    return labelling.n_within * per_pair


class _Reductions:
    """Per-labelling accumulators filled block by block.

    Within pairs are gathered into arrays allocated once, cluster after cluster and,
    inside a cluster, block after block (the block of the pair's earlier point), so
    every block writes its own stretch and nothing small is left behind in memory.
    """

    def __init__(
        self,
        labelling: Labelling,
        reuse: np.ndarray,
        is_base: bool,
        collect: Collect,
        gather: Collect,
        n_blocks: int,
    ) -> None:
        n, k = labelling.n, labelling.k
        self.labelling = labelling
        self.reuse = reuse  # base cluster whose reductions cluster k shares, or -1
        self.collect = collect  # what this labelling needs of its within pairs
        self.gather = gather  # what the pass gathers of them (the base: for the others too)
        self.sum_to = np.zeros((k, n))
        self.own_max = np.zeros(n)
        self.own_min = np.full(n, np.inf)
        self.other_min = np.full(n, np.inf)
        self.cop = np.full((n_blocks, k), np.inf)
        # Where each (cluster, block) writes its within pairs; cluster c's are
        # offsets[c, 0] .. offsets[c, -1].
        self.offsets = _within_offsets(labelling, n_blocks)
        n_within = int(self.offsets[-1, -1]) if k else 0
        self.values = np.empty(n_within) if gather.values else None
        total = labelling.n_total * (labelling.n_total - 1) // 2
        rank_type = np.int32 if total < np.iinfo(np.int32).max else np.int64
        self.ranks = np.empty(n_within, dtype=rank_type) if gather.ranks == RANKS_EACH else None
        # The base labelling keeps its full K x n maxima and minima for the others.
        self.max_to = np.zeros((k, n)) if is_base else None
        self.min_to = np.full((k, n), np.inf) if is_base else None
        padded: list[np.ndarray | None] = []
        for c, m in enumerate(labelling.members):
            if reuse[c] >= 0:
                padded.append(None)
                continue
            length = -(-m.size // _CHUNK) * _CHUNK
            padded.append(np.concatenate((m, np.full(length - m.size, labelling.n_total))))
        self.padded = padded


def _within_offsets(labelling: Labelling, n_blocks: int) -> np.ndarray:
    """K x (blocks + 1): where the within pairs of each cluster, by the block of their
    earlier point, start in a labelling's within-pair array."""
    counts = np.zeros((labelling.k, n_blocks), dtype=np.int64)
    for c, m in enumerate(labelling.members):
        later = m.size - 1 - np.arange(m.size)  # members after each member
        np.add.at(counts[c], m // BLOCK, later)
    ends = np.cumsum(counts.ravel()).reshape(counts.shape)
    starts = np.concatenate(([0], ends.ravel()[:-1])).reshape(counts.shape)
    return np.concatenate((starts, ends[:, -1:]), axis=1)


def pair_statistics(
    columns: Columns,
    rank_columns: Columns | None,
    labellings: list[Labelling],
    collect: list[Collect],
    finish: Finish,
    progress: Callable[[float], None] | None = None,
    finish_cost: Callable[[Labelling, Collect], int] | None = None,
    finish_limit: int = 0,
    group_bytes: int = GROUP_BYTES,
) -> list[PairStatistics]:
    """Reduce every labelling's pair distances in passes over ``columns`` (and gather
    its within pairs' ranks from ``rank_columns``, as ``collect`` asks).

    ``labellings[0]`` is the base when it covers every point: the others reuse its
    clusters. The labellings are reduced in groups whose gathered within pairs fit in
    ``group_bytes``, one pass each; ``finish`` turns a labelling's gathered within pairs
    into its concordance counts as soon as its group is done, several at once while
    their ``finish_cost`` (bytes) stays within ``finish_limit``. ``progress(share)`` is
    told the share of the work done after each block.
    """
    base = labellings[0] if labellings and labellings[0].rows is None else None
    # The base gathers whatever a labelling sharing its clusters needs.
    union = Collect(values=any(c.values for c in collect), ranks=max(c.ranks for c in collect))
    n_blocks = columns.layout.n_blocks
    reductions = [
        _Reductions(
            lab,
            _reusable(lab, base) if lab is not base else _none(lab),
            lab is base,
            want,
            union if lab is base else want,
            n_blocks,
        )
        for lab, want in zip(labellings, collect, strict=True)
    ]
    base_red = reductions[0] if base is not None else None
    groups = _groups(reductions, group_bytes)
    total = n_blocks * len(groups)
    done = [0]
    out: list[PairStatistics] = []
    for group in groups:

        def one_block(block: int, group: list[_Reductions] = group) -> None:
            column = columns.column(block)
            ranks = rank_columns.column(block) if rank_columns is not None else None
            start, end = int(columns.layout.starts[block]), int(columns.layout.ends[block])
            for red in group:
                _reduce_block(red, base_red, column, ranks, block, start, end)
            if progress is not None:
                done[0] += 1
                progress(done[0] / total)

        parallel_map(one_block, range(n_blocks))
        costs = [finish_cost(r.labelling, r.collect) if finish_cost else 0 for r in group]
        out += bounded_map(lambda red: _finish(red, base_red, finish), group, costs, finish_limit)
    return out


def _groups(reductions: list[_Reductions], group_bytes: int) -> list[list[_Reductions]]:
    """Consecutive groups of labellings whose gathered within pairs fit ``group_bytes``."""
    groups: list[list[_Reductions]] = [[]]
    held = 0
    for red in reductions:
        size = gathered_bytes(red.labelling, red.gather)
        if groups[-1] and held + size > group_bytes:
            groups.append([])
            held = 0
        groups[-1].append(red)
        held += size
    return groups


def _none(labelling: Labelling) -> np.ndarray:
    return np.full(labelling.k, -1, dtype=np.int64)


def _reusable(labelling: Labelling, base: Labelling | None) -> np.ndarray:
    """For each cluster, the base cluster with exactly its members, or -1."""
    if base is None:
        return _none(labelling)
    points = np.arange(labelling.n) if labelling.rows is None else labelling.rows
    base_codes = base.codes[points]
    table = np.zeros((labelling.k, base.k), dtype=np.int64)
    np.add.at(table, (labelling.codes, base_codes), 1)
    candidate = table.argmax(axis=1)
    shared = table[np.arange(labelling.k), candidate]
    whole = shared == np.bincount(labelling.codes, minlength=labelling.k)
    base_sizes = np.bincount(base.codes, minlength=base.k)
    same = whole & (shared == base_sizes[candidate])
    return np.where(same, candidate, -1)


def _reduce_block(
    red: _Reductions,
    base: _Reductions | None,
    column: np.ndarray,
    ranks: np.ndarray | None,
    block: int,
    start: int,
    end: int,
) -> None:
    lab = red.labelling
    if lab.local is None:
        here = np.arange(start, end)
        cols = np.arange(end - start)
    else:
        local = lab.local[start:end]
        cols = np.flatnonzero(local >= 0)
        if cols.size == 0:
            return
        here = local[cols]
    k = lab.k
    sums = np.empty((k, end - start))
    maxs = np.empty((k, end - start))
    mins = np.empty((k, end - start))
    for c in range(k):
        source = red.reuse[c]
        if source >= 0:
            assert base is not None and base.max_to is not None and base.min_to is not None
            sums[c] = base.sum_to[source, start:end]
            maxs[c] = base.max_to[source, start:end]
            mins[c] = base.min_to[source, start:end]
            continue
        padded = red.padded[c]
        assert padded is not None
        _reduce_cluster(
            column, ranks, padded, lab.members[c], block, start, end, sums, maxs, mins, red, c
        )
    sums, maxs, mins = sums[:, cols], maxs[:, cols], mins[:, cols]
    red.sum_to[:, here] = sums
    if red.max_to is not None and red.min_to is not None:
        red.max_to[:, here] = maxs
        red.min_to[:, here] = mins
    codes = lab.codes[here]
    span = np.arange(cols.size)
    red.own_max[here] = maxs[codes, span]
    red.own_min[here] = mins[codes, span]
    mins[codes, span] = np.inf
    red.other_min[here] = mins.min(axis=0)
    maxs[codes, span] = np.inf
    red.cop[block] = maxs.min(axis=1)


def _rows_of(column: np.ndarray, rows: np.ndarray, name: str = "rows") -> np.ndarray:
    """``column``'s ``rows`` in this thread's buffer ``name`` (no new memory per call)."""
    size = rows.size * column.shape[1]
    out = thread_buffer(name, size, column.dtype).reshape(rows.size, column.shape[1])
    np.take(column, rows, axis=0, out=out, mode="clip")  # "raise" would buffer the copy
    return out


def _reduce_cluster(
    column: np.ndarray,
    ranks: np.ndarray | None,
    padded: np.ndarray,
    members: np.ndarray,
    block: int,
    start: int,
    end: int,
    sums: np.ndarray,
    maxs: np.ndarray,
    mins: np.ndarray,
    red: _Reductions,
    c: int,
) -> None:
    """Sum, largest and smallest distance (self left out) from each point of the block
    to the members of cluster ``c``; and, as the labelling gathers them, the cluster's
    within pairs whose earlier point lies in the block."""
    size = members.size
    rows = _rows_of(column, padded)  # members (padded with zero rows) x block
    chunks = rows.reshape(-1, _CHUNK, rows.shape[1])
    chunk_sums = np.add.reduce(chunks, axis=1)  # in sequence within each chunk
    n_chunks = chunk_sums.shape[0]
    if n_chunks <= _SEGMENT_CHUNKS:  # one segment: its chunks in sequence
        np.add.reduce(chunk_sums, axis=0, out=sums[c])
    else:
        segments = -(-n_chunks // _SEGMENT_CHUNKS)
        if segments * _SEGMENT_CHUNKS != n_chunks:
            pad = np.zeros((segments * _SEGMENT_CHUNKS - n_chunks, chunk_sums.shape[1]))
            chunk_sums = np.concatenate((chunk_sums, pad))
        by_segment = chunk_sums.reshape(segments, _SEGMENT_CHUNKS, -1)
        np.add.reduce(np.add.reduce(by_segment, axis=1), axis=0, out=sums[c])
    rows = rows[:size]
    # Distances are never negative, and a point's own counts as 0: the largest is >= 0.
    rows.max(axis=0, out=maxs[c])
    lo, hi = np.searchsorted(members, (start, end))  # the members inside the block
    if hi > lo and (red.gather.values or red.gather.ranks == RANKS_EACH):
        _gather_within(rows, ranks, members, lo, hi, start, red, c, block)
    rows[np.arange(lo, hi), members[lo:hi] - start] = np.inf  # leave each point itself out
    rows.min(axis=0, out=mins[c])


def _gather_within(
    rows: np.ndarray,
    ranks: np.ndarray | None,
    members: np.ndarray,
    lo: int,
    hi: int,
    start: int,
    red: _Reductions,
    c: int,
    block: int,
) -> None:
    """One cluster's within pairs whose earlier point, member ``lo`` to ``hi``, lies in
    the block: their distances (from ``rows``, the members' distances to the block)
    and their ranks."""
    inside = members[lo:hi] - start
    at = slice(int(red.offsets[c, block]), int(red.offsets[c, block + 1]))
    if (red.values is not None or red.ranks is not None) and at.stop > at.start:
        later = np.arange(lo + 1, members.size)[:, None] > np.arange(lo, hi)[None, :]  # j > i
        if red.values is not None:
            red.values[at] = np.take(rows[lo + 1 :], inside, axis=1)[later]
        if red.ranks is not None and ranks is not None:
            red.ranks[at] = ranks[np.ix_(members[lo + 1 :], inside)][later]


def _finish(red: _Reductions, base: _Reductions | None, finish: Finish) -> PairStatistics:
    """The labelling's statistics; what was gathered of its within pairs is let go
    (the base's is kept: the labellings of later groups copy from it)."""
    lab = red.labelling
    if red is not base:
        _copy_shared(red, base)
    collect = red.collect
    collected = Collected(
        values=red.values if collect.values else None,
        ranks=red.ranks if collect.ranks == RANKS_EACH else None,
    )
    if red is not base:
        red.values = red.ranks = None
    concordance = finish(lab, collected)
    n = lab.n
    # Each within pair's distance is in two points' sums to their own cluster.
    own = red.sum_to[lab.codes, np.arange(n)]
    cop = red.cop.min(axis=0)
    return PairStatistics(
        sum_to=red.sum_to,
        own_max=red.own_max,
        own_min=red.own_min,
        other_min=red.other_min,
        cop_inter=cop,
        n_pairs=n * (n - 1) // 2,
        n_within=lab.n_within,
        sum_within=float(own.sum() / 2.0),
        sum_all=float(red.sum_to.sum() / 2.0),
        concordance=concordance,
    )


def _copy_shared(red: _Reductions, base: _Reductions | None) -> None:
    """Copy the within pairs of the clusters shared with the base from the base's."""
    for c in np.flatnonzero(red.reuse >= 0):
        assert base is not None
        source = int(red.reuse[c])
        to = slice(int(red.offsets[c, 0]), int(red.offsets[c, -1]))
        of = slice(int(base.offsets[source, 0]), int(base.offsets[source, -1]))
        if red.values is not None and base.values is not None:
            red.values[to] = base.values[of]
        if red.ranks is not None and base.ranks is not None:
            red.ranks[to] = base.ranks[of]
