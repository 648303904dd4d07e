"""Exact concordance counts: what Gamma, Tau and G-plus need.

For a labelling, s- counts the (within pair, between pair) couples whose within
distance is the larger, and couples of equal distances count in neither s+ nor s-.
With W the within pairs' keys, sorted:

    s- = (pairs below each w, summed over W) - (within pairs below each w, summed)
    ties = sum over distinct tied keys t of c_W(t) (m(t) - c_W(t))

where c_W(t) is how often t occurs in W and m(t) among all the pairs. A counter over
all the pairs of a point set answers the first sum and the multiplicities m; the rest
is W's own runs. Three counters:

- ``PairCounter`` over pair ranks (``PairRanks``: how many pairs of the set have a
  smaller distance, computed once for a point set scored many times), where the count
  below a key is the key itself. A subset of the points (a removal variant) is
  counted by ``PairRanks.subset_counts``: the pairs it leaves out, or its own pairs
  when it leaves out most, against its within ranks' marks (``RankMarks``);
- ``SortedRunsCounter`` and ``BucketedPairCounter`` over the distances of a point set
  scored once;
- ``StreamedPairCounter``: every pair distance recomputed per question, in row blocks,
  when nothing of size n^2 may be kept.

Keys are distances or ranks: ranks order the pairs exactly as their distances do,
ties included.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from metricate.memory import trim
from metricate.metrics.distances import PairArray, PairLayout, sort_in_runs, triangle_positions
from metricate.parallel import parallel_map, thread_count

_STREAM_ROW_BLOCK = 256
# Pairs per part when ranking: a part takes about 28 bytes of temporary memory a pair
# while it is ranked (some 230 MB), a thread ranks one part at a time, and each part
# costs a scan of a byte per pair of the whole set.
RANK_PART_PAIRS = 1 << 23
RANK_BYTES_PER_PAIR = 28
# Up to this many pairs with a tied distance, ``PairRanks`` keeps which pairs they are.
TIED_PAIRS_KEPT = 1 << 21


class PairCounter:
    """Counts over all the pairs of one set of points in rank keys: the count below a
    key is the key itself. ``ties``: the set's repeated ranks, ascending, with their
    multiplicities."""

    def __init__(self, ties: tuple[np.ndarray, np.ndarray]) -> None:
        self.tied, self.tied_counts = ties

    def count(self, within: np.ndarray) -> tuple[int, int]:
        """As ``StreamedPairCounter.count``, for sorted within ranks."""
        tie_couples = 0
        if self.tied.size:
            in_within = _occurrences(within, self.tied)
            tie_couples = int(np.sum(in_within * (self.tied_counts - in_within), dtype=np.int64))
        return int(within.sum(dtype=np.int64)), tie_couples


def _couples(keys: np.ndarray, within: np.ndarray) -> tuple[int, int]:
    """(#{(k, w): k < w}, #{(k, w): k <= w}) for sorted ``keys`` and sorted ``within``,
    searching with the shorter array in the longer."""
    if keys.size == 0 or within.size == 0:
        return 0, 0
    if within.size <= keys.size:
        return _search_sums(keys, within)
    left, right = _search_sums(within, keys)
    return within.size * keys.size - right, within.size * keys.size - left


def _search_sums(sorted_values: np.ndarray, queries: np.ndarray) -> tuple[int, int]:
    """The sums of searchsorted's left and right positions of ``queries`` in
    ``sorted_values``, from one search: a query's right position differs from its
    left one only where the value there equals it, and only those are searched again.
    In chunks on the threads (searchsorted releases the GIL), so that no array of
    positions is kept."""
    if sorted_values.size == 0:
        return 0, 0
    step = 1 << 17  # positions of 1 MB a chunk
    queries = queries.astype(sorted_values.dtype, copy=False)  # no copy of the sorted array
    last = sorted_values.size - 1

    def sums(start: int) -> tuple[int, int]:
        chunk = queries[start : start + step]
        left = np.searchsorted(sorted_values, chunk, "left")
        left_sum = int(left.sum(dtype=np.int64))
        equal = sorted_values[np.minimum(left, last)] == chunk
        if not equal.any():
            return left_sum, left_sum
        # A query equal to the value at its left position is usually equal to that one
        # alone (a pair's own distance among the sorted ones): only those equal to the
        # next value too are searched again.
        tied, first = chunk[equal], left[equal]
        more = first < last
        more[more] = sorted_values[first[more] + 1] == tied[more]
        right_sum = left_sum + tied.size
        if more.any():
            again = np.searchsorted(sorted_values, tied[more], "right") - first[more] - 1
            right_sum += int(again.sum(dtype=np.int64))
        return left_sum, right_sum

    parts = parallel_map(sums, range(0, queries.size, step))
    return sum(p[0] for p in parts), sum(p[1] for p in parts)


def _occurrences(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """How often each of ``values`` occurs in ``sorted_values``."""
    # searchsorted casts both arrays to a common type: cast the few values, not the many.
    values = values.astype(sorted_values.dtype, copy=False)
    return np.searchsorted(sorted_values, values, "right") - np.searchsorted(
        sorted_values, values, "left"
    )


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


# Buckets of the bucketed counts: about 2**BUCKET_BITS ranges of the values' bits.
# 2**16 counts (512 KB) stay in a core's cache while the keys are counted; finer
# buckets hardly shrink the share of keys that share a bucket with a within key (for
# blobs, the within pairs' share at 2**20 buckets and at 2**16), and their counts are
# cache misses: 0.50 s instead of 0.62 s for 50M keys on one thread.
BUCKET_BITS = 16
# Above this share of the pairs in buckets holding a within key, sorting them all is
# about as fast, and takes no more memory.
BUCKETED_SHARE = 0.125
# Keys looked at (evenly strided) to tell early that the buckets are mostly hot.
HOT_PROBE = 1 << 16


class BucketedPairCounter:
    """Counts over unsorted pair keys (non-negative floats, a labelling's within keys
    among them) without sorting them all: the keys are counted in about
    ``2**BUCKET_BITS`` buckets of their bits (which order non-negative floats), and only
    the keys in buckets that hold a within key are sorted, to count exactly inside
    those buckets. For well separated clusters that is little more than the within
    keys. When those buckets hold more than ``BUCKETED_SHARE`` of the keys, the keys
    are sorted in place instead (``SortedRunsCounter``)."""

    def __init__(self, values: np.ndarray) -> None:
        self.values = values

    def count(self, within: np.ndarray) -> tuple[int, int]:
        """As ``StreamedPairCounter.count``, for sorted within keys."""
        values = self.values
        chunks = _chunks(values.size)
        threads = max(1, min(thread_count(), len(chunks)))
        ends = parallel_map(lambda c: (values[c].min(), values[c].max()), chunks)
        lo = int(np.float64(min(end[0] for end in ends)).view(np.uint64))
        hi = int(np.float64(max(end[1] for end in ends)).view(np.uint64))
        # About four keys a bucket at most: more buckets would cost more than they save.
        bits = min(BUCKET_BITS, max(4, values.size.bit_length() - 2))
        shift = np.uint64(max(0, (hi - lo).bit_length() - bits))
        base = np.uint64(lo)
        size = ((hi - lo) >> int(shift)) + 1

        def keys(chunk: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
            found = np.subtract(chunk.view(np.uint64), base, out=out)
            found >>= shift
            return found.view(np.int64)  # below 2**63 after the shift: no copy

        def sort_all() -> tuple[int, int]:
            return SortedRunsCounter(sort_in_runs(values)).count(within)

        within_keys = keys(within)
        hot = np.zeros(size, dtype=bool)
        hot[within_keys] = True
        # A strided look first: when most keys share a bucket with a within key (added
        # noise points, say), sorting them all is cheaper than counting them twice.
        step = max(1, values.size // HOT_PROBE)
        if hot[keys(values[::step])].mean() > BUCKETED_SHARE:
            return sort_all()
        limit = int(BUCKETED_SHARE * values.size) // threads

        def count_chunks(share: list[slice]) -> tuple[np.ndarray, list[np.ndarray] | None]:
            """One thread's chunks: the keys a bucket, and the keys in hot buckets
            (None once they pass the thread's share of the limit)."""
            counts = np.zeros(size, dtype=np.int64)
            picked: list[np.ndarray] | None = []
            held = 0
            # One buffer of keys and one of flags for all the thread's chunks: fresh
            # arrays of megabytes would cost page faults every time.
            buffer = np.empty(_CHUNK_STEP, dtype=np.uint64)
            flags = np.empty(_CHUNK_STEP, dtype=bool)
            for chunk in share:
                part = values[chunk]
                found = keys(part, buffer[: part.size])
                counts += np.bincount(found, minlength=size)
                if picked is not None:
                    chosen = np.take(hot, found, out=flags[: part.size])
                    picked.append(part[chosen])
                    held += picked[-1].size
                    if held > limit:
                        picked = None
            return counts, picked

        parts = parallel_map(count_chunks, [chunks[t::threads] for t in range(threads)])
        counts = sum(part[0] for part in parts)
        assert isinstance(counts, np.ndarray)
        pieces = [part[1] for part in parts]
        if any(piece is None for piece in pieces):
            del parts, pieces
            return sort_all()
        selected = np.concatenate([piece for part in pieces if part for piece in part])
        del parts, pieces
        selected.sort()
        below_buckets = np.concatenate(([0], np.cumsum(counts)))[within_keys]
        # Where each within key's bucket starts among the selected (hot buckets') keys.
        bucket_start = np.concatenate(([0], np.cumsum(counts * hot)))[within_keys]
        left, right = _search_sums(selected, within)
        equal = right - left
        below = int(below_buckets.sum(dtype=np.int64) - bucket_start.sum(dtype=np.int64)) + left
        return below, equal - _squared_runs(within)


def _repeats(within: np.ndarray) -> np.ndarray:
    """For each value occurring more than once in sorted ``within``: how many times it
    repeats (occurrences - 1), from the repeats alone (no array the size of ``within``)."""
    repeated = np.flatnonzero(within[1:] == within[:-1])
    if repeated.size == 0:
        return np.empty(0, dtype=np.int64)
    return unique_sorted(within[repeated])[1]


def _squared_runs(within: np.ndarray) -> int:
    """The sum over the distinct values of sorted ``within`` of (how often each occurs)
    squared."""
    runs = _repeats(within) + 1
    return int(within.size - runs.sum() + np.sum(runs * runs, dtype=np.int64))


_CHUNK_STEP = 1 << 20


def _chunks(size: int, step: int = _CHUNK_STEP) -> list[slice]:
    return [slice(start, start + step) for start in range(0, size, step)]


class SortedRunsCounter:
    """Counts over pair keys held as a few sorted runs (parts of one array, each sorted
    in place on its own thread): the counts are sums over the runs, and keys equal to
    a within key are counted by searching on both sides, so ties across runs need no
    merged order."""

    def __init__(self, runs: list[np.ndarray]) -> None:
        self.runs = runs

    def count(self, within: np.ndarray) -> tuple[int, int]:
        """As ``StreamedPairCounter.count``, for sorted within keys."""
        couples = [_couples(run, within) for run in self.runs]
        below = sum(c[0] for c in couples)
        at_most = sum(c[1] for c in couples)
        # Keys equal to each within key, less the within keys equal to it.
        tie_couples = at_most - below - _squared_runs(within)
        return below, tie_couples


def concordance_counts(within: np.ndarray, counter: Counter, n_pairs: int) -> tuple[int, int]:
    """(s+, s-) of a labelling from its within-pair keys, sorted, and a counter over all
    its pairs (see the module's docstring)."""
    n_within = int(within.size)
    below, tie_couples = counter.count(within)
    # Within pairs below each within pair: all ordered couples but those of equal keys.
    repeats = _repeats(within)
    equal_couples = int(np.sum((repeats + 1) * repeats // 2, dtype=np.int64))
    s_minus = below - (n_within * (n_within - 1) // 2 - equal_couples)
    s_plus = n_within * (n_pairs - n_within) - s_minus - tie_couples
    return s_plus, s_minus


_MARK_SPAN = 1 << 26  # ranks marked at once (a multiple of 64)
# Bits 0..b of a word, for each b: (2 << b) - 1, all ones for b = 63 (2 << 63 wraps to 0).
_LOW_BITS = (np.uint64(2) << np.arange(64, dtype=np.uint64)) - np.uint64(1)


class RankMarks:
    """A labelling's within pairs' ranks, as one bit per rank of the set (a rank
    repeated is marked once), with the marks before each 64 ranks: how many
    marked ranks lie at or below any rank is then two lookups in arrays of n^2 / 64
    entries and a popcount, where sorting the ranks and searching them would cost a
    sort. ``above(queries)`` sums, over the queries, the marked ranks above each."""

    def __init__(self, ranks: np.ndarray, n_ranks: int) -> None:
        n_words = -(-n_ranks // 64)
        self.words = np.empty(n_words, dtype=np.uint64)
        # Marked a byte per rank first, in spans of _MARK_SPAN ranks (64 MB at most).
        marked = np.empty(min(_MARK_SPAN, n_words * 64), dtype=bool)
        for first in range(0, n_words * 64, _MARK_SPAN):
            last = min(first + _MARK_SPAN, n_words * 64)
            span = marked[: last - first]
            span[:] = False
            inside = (
                ranks if n_words * 64 <= _MARK_SPAN else ranks[(ranks >= first) & (ranks < last)]
            )
            span[inside - first] = True
            self.words[first // 64 : last // 64] = np.packbits(span, bitorder="little").view(
                np.uint64
            )
        del marked
        counts = np.bitwise_count(self.words)
        self.before = np.zeros(n_words, dtype=np.int64)
        np.cumsum(counts[:-1], out=self.before[1:])
        self.size = int(counts.sum(dtype=np.int64))  # distinct ranks marked

    def above(self, queries: np.ndarray) -> int:
        """The sum over ``queries`` (ranks, any order) of the distinct marked ranks above
        each."""

        def part(start: int) -> int:
            chunk = queries[start : start + _CHUNK_STEP]
            word = np.right_shift(chunk, 6, dtype=np.intp)  # indexes both arrays as it is
            mask = _LOW_BITS.take(np.bitwise_and(chunk, 63))
            np.bitwise_and(mask, self.words.take(word), out=mask)
            at_or_below = int(np.bitwise_count(mask).sum(dtype=np.int64))
            at_or_below += int(self.before.take(word).sum(dtype=np.int64))
            return chunk.size * self.size - at_or_below

        return sum(parallel_map(part, range(0, queries.size, _CHUNK_STEP)))


class PairRanks:
    """The rank of every pair of a point set: how many of its pairs have a smaller
    distance. Equal distances share a rank; ``ties`` lists the shared ranks and how many
    pairs share each, and ``tied_pairs`` (i, j, tie) which pairs they are (None when more
    than ``TIED_PAIRS_KEPT`` pairs tie).

    The distances are ranked in value ranges of about ``part_pairs`` pairs, each
    sorted on its own (on the budget's threads), so temporary memory stays bounded
    (``RANK_BYTES_PER_PAIR`` bytes per pair of a part). The ranks are exact whatever
    the split: a pair's rank is the count of pairs below it.
    """

    def __init__(
        self, layout: PairLayout, distances: np.ndarray, part_pairs: int = RANK_PART_PAIRS
    ) -> None:
        self.layout = layout
        total = distances.size
        dtype = np.int32 if total < np.iinfo(np.int32).max else np.int64
        self.ranks = np.empty(total, dtype=dtype)
        n_parts = max(1, -(-total // part_pairs))
        if n_parts > 1:  # as many parts on each thread (7 parts on 2 threads leave one idle)
            threads = max(1, thread_count())
            n_parts = -(-n_parts // threads) * threads
        edges = _value_edges(distances, n_parts)
        part = _part_of(distances, edges)
        bases = np.concatenate(([0], np.cumsum(np.bincount(part, minlength=edges.size + 1))))
        parts = parallel_map(
            lambda p: self._rank_part(distances, part, p, int(bases[p])), range(edges.size + 1)
        )
        part = np.empty(0, dtype=np.uint8)  # let the range of each pair go
        trim()
        self.ties = (
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
        )
        self.tied_pairs: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        if int(self.ties[1].sum()) <= TIED_PAIRS_KEPT:
            groups = np.concatenate(([0], np.cumsum([p[0].size for p in parts])))
            positions = np.concatenate([p[2] for p in parts])
            tie = np.concatenate([g + p[3] for g, p in zip(groups, parts, strict=False)])
            i, j = layout.points_of(positions)
            self.tied_pairs = (i, j, tie)
        self.pairs = PairArray(layout, self.ranks, [self._tile(b) for b in range(layout.n_blocks)])

    def _rank_part(
        self, distances: np.ndarray, part: np.ndarray, which: int, base: int
    ) -> tuple[np.ndarray, ...]:
        """Rank the pairs of one value range: (tied ranks, their multiplicities, the tied
        pairs' positions, their tie numbered within the range)."""
        none = np.empty(0, dtype=np.int64)
        where = np.flatnonzero(part == which)
        if where.size == 0:
            return none, none, none, none
        where, first = sorted_runs(distances, where)
        # Each pair's rank: the position of the first pair with its distance (in order,
        # the running maximum of the run starts' positions).
        ranked = np.arange(base, base + where.size, dtype=self.ranks.dtype)
        if first.all():  # no two distances of the range agree (the common case)
            self.ranks[where] = ranked
            return none, none, none, none
        np.multiply(ranked, first, out=ranked)  # first[0] is True: the maximum starts there
        np.maximum.accumulate(ranked, out=ranked)
        self.ranks[where] = ranked
        del ranked
        # The pairs in a tie: a run's later pairs, and the first pair of a run of several.
        in_tie = ~first
        in_tie[:-1] |= in_tie[1:]
        tie = np.cumsum(first[in_tie]) - 1  # each tied pair's run, numbered in order
        tied = np.bincount(tie)
        tied_ranks = base + np.flatnonzero(first & in_tie)
        if tied.sum() > TIED_PAIRS_KEPT:
            return tied_ranks, tied, none, none
        return tied_ranks, tied, where[in_tie], tie

    def _tile(self, block: int) -> np.ndarray:
        """The ranks of block ``block``'s inner pairs as a symmetric square."""
        size = int(self.layout.sizes[block])
        tile = np.zeros((size, size), dtype=self.ranks.dtype)
        upper, lower = triangle_positions(size)
        triangle = self.layout.triangle(self.ranks, block)
        np.put(tile, upper, triangle)
        np.put(tile, lower, triangle)
        return tile

    @property
    def nbytes(self) -> int:
        return int(self.ranks.nbytes)

    def subset_counts(self, present: np.ndarray, within: np.ndarray) -> tuple[int, int]:
        """(s+, s-) of a labelling of the ``present`` points (ascending) from its within
        pairs' ranks (any order), with nothing sorted but the within ranks that tie.

        The within ranks are marked once (``RankMarks``); the pairs the subset leaves
        out (or keeps, if fewer) are counted against the marks in one pass, which also
        counts how many of them hold each tied within rank (for the ties' terms).
        """
        n = self.layout.n
        keep = np.zeros(n, dtype=bool)
        keep[present] = True
        removed = np.flatnonzero(~keep)
        n_present = present.size
        n_removed_pairs = removed.size * n_present + removed.size * (removed.size - 1) // 2
        n_pairs = n_present * (n_present - 1) // 2
        own = n_removed_pairs >= n_pairs
        # Within ranks that repeat are tied ranks of the set: how often each occurs.
        tied_ranks, tied_counts = self.ties
        values = np.empty(0, dtype=np.int64)
        counts = np.empty(0, dtype=np.int64)
        if tied_ranks.size:
            at = np.minimum(np.searchsorted(tied_ranks, within), tied_ranks.size - 1)
            values, counts = np.unique(within[tied_ranks[at] == within], return_counts=True)
        marks = RankMarks(within, self.ranks.size)
        # Copies of a repeated within rank beyond the one marked, above each value.
        extra = np.concatenate((np.cumsum((counts - 1)[::-1])[::-1], [0]))

        def part(chunk: np.ndarray) -> tuple[int, np.ndarray]:
            above = marks.above(chunk)
            if not values.size:
                return above, counts
            left = np.searchsorted(values, chunk, "left")
            right = np.searchsorted(values, chunk, "right")
            above += int(extra[right].sum(dtype=np.int64))
            equal = right > left
            return above, np.bincount(left[equal], minlength=values.size)

        pairs = self.pairs.among(present) if own else self.pairs.touching(removed, present)
        parts = [
            part(pairs[a : a + RANK_PART_PAIRS]) for a in range(0, pairs.size, RANK_PART_PAIRS)
        ]
        del pairs
        above = sum(p[0] for p in parts)
        held = sum((p[1] for p in parts), np.zeros(values.size, dtype=np.int64))
        if own:  # couples (pair, w) of the subset with the pair below w
            below = above
            multiplicity = held
        else:  # every pair of the set below w (w's rank), less those left out
            below = int(within.sum(dtype=np.int64)) - above
            multiplicity = tied_counts[np.searchsorted(tied_ranks, values)] - held
        n_within = int(within.size)
        equal_couples = int(np.sum(counts * (counts - 1) // 2, dtype=np.int64))
        tie_couples = int(np.sum(counts * (multiplicity - counts), dtype=np.int64))
        s_minus = below - (n_within * (n_within - 1) // 2 - equal_couples)
        return n_within * (n_pairs - n_within) - s_minus - tie_couples, s_minus

    def counter(self) -> PairCounter:
        """Counts over all the pairs of the set, in rank keys."""
        return PairCounter(self.ties)


def sorted_runs(values: np.ndarray, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``positions`` (into the non-negative float64 ``values``) in the order of their
    values, and where each run of equal values starts; several times faster than an
    ``argsort``, and without gathering the values again in that order.

    A value's bits, read as an unsigned integer, order non-negative floats exactly; they
    are packed with the position into one 64-bit key and sorted. When the values span
    more bits than the key has room for, their lowest bits are dropped, and the few runs
    of keys that then agree are put in order, and split, by their exact values.
    """
    if positions.size < 2:
        return positions, np.ones(positions.size, dtype=bool)
    position_bits = int(positions.max()).bit_length()
    keys = values[positions].view(np.uint64)  # a new array: the keys are made in it
    low = keys.min()
    span = int(keys.max() - low)
    shift = max(0, span.bit_length() - (64 - position_bits))
    keys -= low
    keys >>= np.uint64(shift)
    keys <<= np.uint64(position_bits)
    # Positions are never negative: their int64 bits are their uint64 bits.
    as_unsigned = positions.view if positions.dtype == np.int64 else positions.astype
    keys |= as_unsigned(np.uint64)
    del positions
    keys.sort()
    high = keys >> np.uint64(position_bits)
    first = np.empty(keys.size, dtype=bool)
    first[0] = True
    np.not_equal(high[1:], high[:-1], out=first[1:])
    agree = np.flatnonzero(~first[1:]) if shift else np.empty(0, dtype=np.int64)
    np.bitwise_and(keys, np.uint64((1 << position_bits) - 1), out=keys)
    order = keys.view(np.int64)
    if agree.size:  # keys that agree on the bits kept: order them by their exact values
        members = np.unique(np.concatenate((agree, agree + 1)))
        run = np.cumsum(first[members])
        exact = values[order[members]]
        inner = np.lexsort((exact, run))
        order[members] = order[members][inner]
        exact = exact[inner]
        same_run = run[inner][1:] == run[inner][:-1]
        first[members[1:]] = ~same_run | (exact[1:] != exact[:-1])
    return order, first


def _value_edges(values: np.ndarray, parts: int) -> np.ndarray:
    """Inner edges of ``parts`` value ranges holding about equally many values (from a
    fixed, evenly spaced sample, so the split is the same on every run)."""
    if parts == 1:
        return np.empty(0)
    sample = np.sort(values[:: max(1, values.size // (parts * 1024))])
    return np.unique(sample[(np.arange(1, parts) * sample.size) // parts])


def _part_of(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Which value range each value falls in (0 .. edges.size), in chunks on the threads."""
    dtype = np.uint8 if edges.size < 255 else np.uint16
    part = np.zeros(values.size, dtype=dtype)
    step = 1 << 22

    def fill(start: int) -> None:
        chunk = values[start : start + step]
        out = part[start : start + step]
        if edges.size > 96:  # a binary search beats this many comparisons
            out[:] = np.searchsorted(edges, chunk, side="right")
            return
        for edge in edges:
            np.add(out, chunk >= edge, out=out)

    parallel_map(fill, range(0, values.size, step))
    return part


class StreamedPairCounter:
    """Pair counts by streaming every pair distance once per call, in row blocks."""

    def __init__(self, points: np.ndarray) -> None:
        self.points = points

    def count(self, values: np.ndarray) -> tuple[int, int]:
        """For sorted within distances: the (pair, w) couples with the pair below w, and
        the (pair, w) couples of equal distance that are not (w', w) within couples."""
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

        blocks = [(s, min(n, s + _STREAM_ROW_BLOCK)) for s in range(0, n, _STREAM_ROW_BLOCK)]
        step = thread_count()
        for first in range(0, len(blocks), step):
            for right, left in parallel_map(positions, blocks[first : first + step]):
                hist_less += np.bincount(right, minlength=hist_less.size)
                hist_less_equal += np.bincount(left, minlength=hist_less_equal.size)
        less = np.cumsum(hist_less)[:-1]
        equal = np.cumsum(hist_less_equal)[:-1] - less
        # Couples of equal distance: every pair equal to w, less the within pairs that are.
        _, in_within = unique_sorted(values)
        distinct = np.concatenate(([0], np.cumsum(in_within)[:-1]))
        multiplicity = equal[distinct]
        ties = int(np.sum(in_within * (multiplicity - in_within), dtype=np.int64))
        return int(np.sum(less, dtype=np.int64)), ties


Counter = PairCounter | StreamedPairCounter | SortedRunsCounter | BucketedPairCounter
