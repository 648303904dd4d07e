"""Pair distances of a point set, computed once and shared by every labelling.

Distances come from coordinate differences (scipy's ``cdist``, which gives the same
bits as ``pdist``), never from the ``|x|^2 + |y|^2 - 2 x.y`` expansion: that one turns
exact ties into near-ties and changes the concordance counts of Gamma, Tau and G-plus.

Two stores share one interface:

- ``InMemoryDistances`` keeps the N x N matrix and the sorted pair distances. A
  labelling costs O(N^2) memory reads and no new distance; a subset of the points
  (a removal variant) reuses both.
- ``CondensedDistances`` keeps the N(N-1)/2 pair distances and a sorted copy but no
  N x N matrix, for a point set scored once (a variant with new coordinates).
- ``SortedDistances`` keeps only the sorted pair distances (for concordance counts)
  and recomputes rows in blocks for every labelling: the middle ground between the
  in-memory limit and ``large_n``.
- ``StreamedDistances`` keeps nothing of size N^2: every request recomputes the
  distances it needs in row blocks (memory proportional to N times the block size).
  It is what ``force_all`` uses above ``large_n`` rows.
"""

from __future__ import annotations

import threading

import numpy as np
from scipy.spatial.distance import cdist, pdist, squareform

from metricate.parallel import parallel_map, thread_count

_ROW_BLOCK = 256
_STREAM_ROW_BLOCK = 64


def row_blocks(n: int, size: int = _ROW_BLOCK) -> list[tuple[int, int]]:
    return [(start, min(n, start + size)) for start in range(0, n, size)]


def condensed_offset(row: int, n: int) -> int:
    """Index in ``pdist`` order of the pair (row, row + 1)."""
    return row * n - row * (row + 1) // 2


def condensed_pair_distances(X: np.ndarray) -> np.ndarray:
    """All pair distances in ``pdist`` order, computed in row blocks on the threads."""
    n = X.shape[0]
    condensed = np.empty(n * (n - 1) // 2, dtype=np.float64)

    def fill(bounds: tuple[int, int]) -> None:
        a, b = bounds
        block = cdist(X[a:b], X[a:])
        values = block[np.arange(a, n)[None, :] > np.arange(a, b)[:, None]]
        start = condensed_offset(a, n)
        condensed[start : start + values.size] = values

    parallel_map(fill, row_blocks(n))
    return condensed


class InMemoryDistances:
    """The N x N distance matrix and the sorted pair distances of one point set."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        n = X.shape[0]
        self.n = n
        self.square = np.empty((n, n), dtype=np.float64)
        condensed = np.empty(n * (n - 1) // 2, dtype=np.float64)

        def fill(bounds: tuple[int, int]) -> None:
            a, b = bounds
            block = cdist(X[a:b], X)
            self.square[a:b] = block
            # Row i contributes its entries j > i, contiguously, at its condensed offset.
            upper = np.arange(n)[None, :] > np.arange(a, b)[:, None]
            values = block[upper]
            start = condensed_offset(a, n)
            condensed[start : start + values.size] = values

        parallel_map(fill, row_blocks(n))
        # Sorting takes about as long as the distances; with a thread to spare in the
        # budget it runs in the background while the first labelling's cluster
        # reductions use the matrix. With one thread it runs here: one core means one.
        self._sorted = condensed
        self._ties: tuple[np.ndarray, np.ndarray] = (np.empty(0), np.empty(0, dtype=np.int64))
        self._sorted_ready = threading.Event()
        if thread_count() > 1:
            threading.Thread(target=self._sort, daemon=True).start()
        else:
            self._sort()

    def _sort(self) -> None:
        # np.sort is several times faster than argsort; only the values are needed.
        self._sorted.sort()
        self._ties = tied_values(self._sorted)
        self._sorted_ready.set()

    def sorted_pairs(self) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """The sorted pair distances, and the values that occur more than once with
        their multiplicities."""
        self._sorted_ready.wait()
        return self._sorted, self._ties

    def to_rows(self, rows: np.ndarray) -> np.ndarray:
        """Distances from the points ``rows`` to every point (len(rows) x N)."""
        return self.square[rows]

    def within(self, rows: np.ndarray) -> np.ndarray:
        """Condensed distances among the points ``rows`` (same bits as pdist)."""
        return squareform(self.square[np.ix_(rows, rows)], checks=False)

    def pair_counter(self, present: np.ndarray | None) -> PairCounter:
        """Counts over the pairs of the ``present`` points (None: all points)."""
        all_sorted, ties = self.sorted_pairs()
        if present is None or present.size == self.n:
            return PairCounter(all_sorted, ties)
        removed = self._removed_pairs(present)
        if removed is None:
            own = self.within(present)
            own.sort()
            return PairCounter(own, tied_values(own))
        return PairCounter(all_sorted, ties, removed)

    def _removed_pairs(self, present: np.ndarray) -> np.ndarray | None:
        """Sorted distances of the pairs touching a point outside ``present``, or
        None when sorting the present pairs themselves is cheaper."""
        keep = np.zeros(self.n, dtype=bool)
        keep[present] = True
        removed = np.flatnonzero(~keep)
        n_present = present.size
        n_removed_pairs = removed.size * n_present + removed.size * (removed.size - 1) // 2
        if n_removed_pairs >= n_present * (n_present - 1) // 2:
            return None
        parts = [
            self.square[np.ix_(removed, present)].ravel(),
            squareform(self.square[np.ix_(removed, removed)], checks=False),
        ]
        out = np.concatenate(parts)
        out.sort()
        return out


class PairCounter:
    """How many pair distances of one set of points lie below, or at, given values.

    ``sorted_values`` are the pair distances of a set of points in ascending order,
    ``ties`` its repeated values with their multiplicities; ``removed`` (optional)
    the sorted distances of the pairs to leave out (those touching a point removed
    from the set), so a subset can reuse its parent's sorted distances.
    """

    chunk: int | None = 1 << 20  # values per call; None: all at once

    def __init__(
        self,
        sorted_values: np.ndarray,
        ties: tuple[np.ndarray, np.ndarray],
        removed: np.ndarray | None = None,
    ) -> None:
        self.sorted_values = sorted_values
        self.tied, self.tied_counts = ties
        self.removed = removed

    @property
    def may_tie(self) -> bool:
        return self.tied.size > 0

    def count(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """For values that are themselves pair distances of the set: how many pairs
        lie strictly below each, and how many equal it (None when no two pair
        distances are equal, so every multiplicity is 1)."""
        less = _search(self.sorted_values, values)
        if self.removed is not None:
            less -= _search(self.removed, values)
        if not self.may_tie:
            return less, None
        multiplicity = _multiplicity(values, self.tied, self.tied_counts)
        if self.removed is not None:
            hit = _members(self.tied, values)
            if hit.any():
                v = values[hit]
                multiplicity[hit] -= np.searchsorted(self.removed, v, "right") - np.searchsorted(
                    self.removed, v, "left"
                )
        return less, multiplicity


def tied_values(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The values occurring more than once in a sorted array, and how often."""
    repeat = np.flatnonzero(sorted_values[1:] == sorted_values[:-1])
    if repeat.size == 0:
        return np.empty(0), np.empty(0, dtype=np.int64)
    values, counts = unique_sorted(sorted_values[repeat])
    return values, counts + 1


def unique_sorted(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(..., return_counts=True)`` for an array that is already sorted."""
    if sorted_values.size == 0:
        return sorted_values, np.empty(0, dtype=np.int64)
    first = np.empty(sorted_values.size, dtype=bool)
    first[0] = True
    np.not_equal(sorted_values[1:], sorted_values[:-1], out=first[1:])
    starts = np.flatnonzero(first)
    counts = np.diff(np.append(starts, sorted_values.size))
    return sorted_values[starts], counts


def _members(tied: np.ndarray, values: np.ndarray) -> np.ndarray:
    if tied.size == 0:
        return np.zeros(values.size, dtype=bool)
    idx = np.minimum(np.searchsorted(tied, values), tied.size - 1)
    return tied[idx] == values


def _multiplicity(values: np.ndarray, tied: np.ndarray, tied_counts: np.ndarray) -> np.ndarray:
    multiplicity = np.ones(values.size, dtype=np.int64)
    hit = _members(tied, values)
    if hit.any():
        multiplicity[hit] = tied_counts[np.searchsorted(tied, values[hit])]
    return multiplicity


def _search(sorted_values: np.ndarray, queries: np.ndarray) -> np.ndarray:
    """searchsorted (left) split across threads: it releases the GIL."""
    parts = np.array_split(queries, thread_count()) if queries.size > 100_000 else [queries]
    found = parallel_map(lambda q: np.asarray(np.searchsorted(sorted_values, q, "left")), parts)
    return np.concatenate(found) if len(found) > 1 else found[0]


class CondensedDistances:
    """Only the condensed pair distances, for a point set scored once (a variant with
    new coordinates): 8 N(N-1)/2 bytes instead of the 12 N^2 of ``InMemoryDistances``.

    Rows for the cluster reductions are gathered from the condensed vector; the
    vector is then sorted in place for the concordance counts, after which the store
    is ``spent`` and cannot serve another labelling.
    """

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        n = X.shape[0]
        self.n = n
        self.condensed = condensed_pair_distances(X)
        idx = np.arange(n, dtype=np.int64)
        # condensed index of the pair (i, j), i < j, is offsets[i] + j
        self._offsets = idx * n - idx * (idx + 1) // 2 - idx - 1
        self.spent = False

    def to_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.spent:
            raise RuntimeError("distance rows requested after the distances were sorted")
        i = rows[:, None]
        j = np.arange(self.n)[None, :]
        index = np.where(j > i, self._offsets[i] + j, self._offsets[j] + i)
        out = self.condensed[index]
        out[np.arange(rows.size), rows] = 0.0
        return out

    def within(self, rows: np.ndarray) -> np.ndarray:
        return squareform(self.to_rows(rows)[:, rows], checks=False)

    def pair_counter(self, present: np.ndarray | None) -> PairCounter:
        if present is not None and present.size < self.n:
            own = self.within(present)
            own.sort()
            return PairCounter(own, tied_values(own))
        if not self.spent:
            self.condensed.sort()
            self.spent = True
        return PairCounter(self.condensed, tied_values(self.condensed))


class StreamedDistances:
    """Distances recomputed in row blocks on demand; nothing of size N^2 is kept."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.n = X.shape[0]

    def to_rows(self, rows: np.ndarray) -> np.ndarray:
        return cdist(self.X[rows], self.X)

    def within(self, rows: np.ndarray) -> np.ndarray:
        return pdist(self.X[rows])

    def pair_counter(self, present: np.ndarray | None) -> StreamedPairCounter:
        return StreamedPairCounter(self.X if present is None else self.X[present])


class StreamedPairCounter:
    """Pair counts by streaming every pair distance once per call, in row blocks."""

    chunk: int | None = None  # all values in one call: each call streams every pair
    may_tie = True

    def __init__(self, points: np.ndarray) -> None:
        self.points = points

    def count(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """For sorted values: pairs strictly below each, and pairs equal to each."""
        points = self.points
        n = points.shape[0]
        # Histogram of every pair distance over the gaps between the query values; a
        # cumulative sum turns it into the counts below each value. Blocks are taken
        # a few at a time so memory stays at a few row blocks plus the histograms.
        hist_less = np.zeros(values.size + 1, dtype=np.int64)
        hist_less_equal = np.zeros(values.size + 1, dtype=np.int64)

        def positions(bounds: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
            a, b = bounds
            block = cdist(points[a:b], points[a:])
            pair_values = block[np.arange(a, n)[None, :] > np.arange(a, b)[:, None]]
            return (
                np.searchsorted(values, pair_values, side="right"),
                np.searchsorted(values, pair_values, side="left"),
            )

        blocks = row_blocks(n, _STREAM_ROW_BLOCK)
        step = thread_count()
        for first in range(0, len(blocks), step):
            for right, left in parallel_map(positions, blocks[first : first + step]):
                np.add.at(hist_less, right, 1)
                np.add.at(hist_less_equal, left, 1)
        less = np.cumsum(hist_less)[:-1]
        return less, np.cumsum(hist_less_equal)[:-1] - less


class SortedDistances(StreamedDistances):
    """Rows recomputed in blocks for every labelling, but the sorted pair distances
    kept (8 N(N-1)/2 bytes): between the in-memory limit and ``large_n``, where
    streaming the concordance counts would cost most of each labelling.
    """

    def __init__(self, X: np.ndarray) -> None:
        super().__init__(X)
        self._all = condensed_pair_distances(X)
        self._all.sort()
        self._counter = PairCounter(self._all, tied_values(self._all))

    def pair_counter(self, present: np.ndarray | None) -> PairCounter:  # type: ignore[override]
        if present is None or present.size == self.n:
            return self._counter
        own = self.within(present)
        own.sort()
        return PairCounter(own, tied_values(own))


DistanceStore = InMemoryDistances | CondensedDistances | SortedDistances | StreamedDistances
