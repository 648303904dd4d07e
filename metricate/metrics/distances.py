"""Pair distances of a point set: every pair once, stored by blocks of rows.

Distances come from coordinate differences (scipy's ``cdist``, which gives the same
bits as ``pdist`` whatever the shapes of the blocks it is called on), never from the
``|x|^2 + |y|^2 - 2 x.y`` expansion: that one turns exact ties into near-ties and
changes the concordance counts of Gamma, Tau and G-plus.

Layout (``PairLayout``): the n points are cut into blocks of ``BLOCK`` consecutive
points. The pairs of block I with every later point form a rectangle (block I's rows
by the points after it), stored row-major; the pairs inside block I are the strict
upper triangle of its diagonal tile. A flat array holds every rectangle, then every
triangle: the n(n-1)/2 pairs once each. The same layout addresses the distances
(``DistanceTable``, 8 bytes a pair) and their ranks (``metricate.metrics.counting``).

What the indices read from it are columns: the distances from every point to the
points of one block (n x BLOCK), assembled from the rectangles and the diagonal tile
by block copies, and the distances of chosen pairs (the pairs within a cluster),
addressed by ``PairLayout.positions``. ``ComputedColumns`` provides the same columns
without storing anything of size n^2, recomputing them with ``cdist``.
"""

from __future__ import annotations

import functools
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
from scipy.spatial.distance import cdist

from metricate.parallel import parallel_map, thread_count

# Points per block. A pass handles each block's labellings and clusters with a few numpy
# calls each, and the reductions make one inner-loop call per row: blocks of 512 halve
# both counts of 256, for columns of 40 MB at 10,000 points. A 10,000-point generate ran
# 7% faster; 1,024 was no faster.
BLOCK = 512


class PairLayout:
    """Where each pair (i, j), i < j, of n points lies in the flat pair arrays."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.starts = np.arange(0, n, BLOCK, dtype=np.int64)
        self.ends = np.minimum(self.starts + BLOCK, n)
        sizes = self.ends - self.starts
        self.sizes = sizes
        rectangles = sizes * (n - self.ends)
        triangles = sizes * (sizes - 1) // 2
        self.rect_offsets = np.concatenate(([0], np.cumsum(rectangles))).astype(np.int64)
        self.tri_offsets = self.rect_offsets[-1] + np.concatenate(
            ([0], np.cumsum(triangles))
        ).astype(np.int64)
        self.n_pairs = n * (n - 1) // 2

    @property
    def n_blocks(self) -> int:
        return int(self.starts.size)

    def rectangle(self, flat: np.ndarray, block: int) -> np.ndarray:
        """Block ``block``'s pairs with the points after it, as a (rows x later) view."""
        start, end = self.rect_offsets[block], self.rect_offsets[block + 1]
        return flat[start:end].reshape(int(self.sizes[block]), self.n - int(self.ends[block]))

    def triangle(self, flat: np.ndarray, block: int) -> np.ndarray:
        """The pairs inside block ``block``, upper triangle in row-major order."""
        return flat[self.tri_offsets[block] : self.tri_offsets[block + 1]]

    def points_of(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pairs (i, j), i < j, at flat ``positions``: the inverse of the layout."""
        positions = np.asarray(positions, dtype=np.int64)
        i = np.empty(positions.size, dtype=np.int64)
        j = np.empty(positions.size, dtype=np.int64)
        rect = positions < self.tri_offsets[0]
        pos = positions[rect]
        block = np.searchsorted(self.rect_offsets, pos, "right") - 1
        offset = pos - self.rect_offsets[block]
        width = self.n - self.ends[block]
        i[rect] = self.starts[block] + offset // width
        j[rect] = self.ends[block] + offset % width
        pos = positions[~rect]
        block = np.searchsorted(self.tri_offsets, pos, "right") - 1
        t = pos - self.tri_offsets[block]
        size = self.sizes[block]
        # Row a of an m x m upper triangle starts at a m - a (a + 1) / 2; solve for a,
        # then correct the floating-point estimate by one either way.
        root = np.sqrt((2.0 * size - 1) ** 2 - 8.0 * t)
        a = np.floor(((2 * size - 1) - root) / 2).astype(np.int64)
        row_start = a * size - a * (a + 1) // 2
        a = np.where(row_start > t, a - 1, a)
        row_start = a * size - a * (a + 1) // 2
        nxt = (a + 1) * size - (a + 1) * (a + 2) // 2
        a = np.where(nxt <= t, a + 1, a)
        row_start = a * size - a * (a + 1) // 2
        i[~rect] = self.starts[block] + a
        j[~rect] = self.starts[block] + a + 1 + (t - row_start)
        return i, j

    def split(self, points: np.ndarray) -> list[tuple[int, np.ndarray, np.ndarray]]:
        """``points`` (ascending) by block: (block, positions in the block, the points
        after the block, as columns of its rectangle)."""
        cuts = np.searchsorted(points, self.starts)
        ends = np.append(cuts[1:], points.size)
        out = []
        for block in np.flatnonzero(ends > cuts):
            here = points[cuts[block] : ends[block]] - self.starts[block]
            later = points[ends[block] :] - self.ends[block]
            out.append((int(block), here, later))
        return out


@functools.lru_cache(maxsize=4)  # asked for BLOCK and the last block's size: 2 MB at 512
def triangle_positions(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Flat positions, in a size x size array, of its strict upper triangle in row-major
    order, and of the mirror (j, i) of each (i, j): one ``take`` or ``put`` moves a
    block's triangle, ten times as fast as with two index arrays (0.16 against 1.9 ms
    at 512)."""
    rows, cols = np.triu_indices(size, 1)
    upper, lower = rows * size + cols, cols * size + rows
    upper.flags.writeable = lower.flags.writeable = False
    return upper, lower


_scratch = threading.local()


def thread_buffer(name: str, size: int, dtype: np.dtype) -> np.ndarray:
    """``size`` values of ``dtype`` in a buffer this thread keeps under ``name``: code
    run once a block would otherwise allocate megabytes each time, and a fresh array
    costs a page fault every 4 KB of it. Valid until the thread's next call for
    ``name``."""
    buffer = getattr(_scratch, name, None)
    if buffer is None or buffer.size < size or buffer.dtype != dtype:
        buffer = np.empty(max(size, 1 << 16), dtype=dtype)
        setattr(_scratch, name, buffer)
    return buffer[:size]


def scratch_column(rows: int, width: int, dtype: np.dtype) -> np.ndarray:
    """A rows x width array in this thread's buffer for columns of ``dtype``."""
    return thread_buffer(f"column_{dtype.str}", rows * width, dtype).reshape(rows, width)


class PairArray:
    """One value per pair in the ``PairLayout`` (a distance, a rank), with the full
    diagonal tiles beside it, so that the pairs among or between sets of points are
    gathered block by block (rectangle slices and tile slices), never pair by pair."""

    def __init__(self, layout: PairLayout, flat: np.ndarray, tiles: list[np.ndarray]) -> None:
        self.layout = layout
        self.flat = flat
        self.tiles = tiles

    def column(self, block: int) -> np.ndarray:
        """The values of the pairs of every point with the points of ``block``:
        (n + 1) x size, the point itself 0, and a last row of zeros (padding). The
        array is this thread's to reuse: valid until its next column of the type."""
        layout = self.layout
        start, end = int(layout.starts[block]), int(layout.ends[block])
        out = scratch_column(layout.n + 1, end - start, self.flat.dtype)
        self.fill_column(out, block)
        out[layout.n] = 0
        return out

    def fill_column(self, out: np.ndarray, block: int) -> None:
        """Write the column's first n rows (every point) into ``out``."""
        layout = self.layout
        n = layout.n
        start, end = int(layout.starts[block]), int(layout.ends[block])
        for before in range(block):
            lo, hi = int(layout.starts[before]), int(layout.ends[before])
            out[lo:hi] = layout.rectangle(self.flat, before)[:, start - hi : end - hi]
        out[start:end] = self.tiles[block]
        if end < n:
            out[end:n] = layout.rectangle(self.flat, block).T

    def among(self, points: np.ndarray) -> np.ndarray:
        """The values of every pair of ``points`` (ascending), in no particular order."""
        return self._gathered(self._among(points), points.size * (points.size - 1) // 2)

    def sum_among(self, points: np.ndarray) -> int:
        """The sum of the values of every pair of ``points`` (ascending; integers),
        piece by piece: nothing of the pairs' size is held. A tile is symmetric with a
        zero diagonal, so its pairs sum to half its square's sum (no triangle to index)."""
        total = 0
        for block, here, later in self.layout.split(points):
            if later.size:
                total += int(self._rectangle(block, here, later).sum(dtype=np.int64))
            if here.size > 1:
                total += int(self.tiles[block][np.ix_(here, here)].sum(dtype=np.int64)) // 2
        return total

    def between(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The values of every pair (x, y), x in ``a``, y in ``b`` (ascending, disjoint)."""
        return self._gathered(self._between(a, b), a.size * b.size)

    def touching(self, removed: np.ndarray, kept: np.ndarray) -> np.ndarray:
        """The values of every pair with a point in ``removed`` (the other in ``kept``
        or ``removed``; both ascending, disjoint)."""
        size = removed.size * kept.size + removed.size * (removed.size - 1) // 2
        pieces = itertools.chain(self._between(removed, kept), self._among(removed))
        return self._gathered(pieces, size)

    def _gathered(self, pieces: Iterator[np.ndarray], size: int) -> np.ndarray:
        """The pieces laid end to end in one array (no second copy of them all)."""
        out = np.empty(size, dtype=self.flat.dtype)
        at = 0
        for piece in pieces:
            out[at : at + piece.size] = piece.ravel()
            at += piece.size
        assert at == size
        return out

    def _rectangle(self, block: int, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``rows`` x ``columns`` of block ``block``'s rectangle: whole rows first, then
        the columns taken from them (faster than an ``np.ix_`` gather)."""
        return np.take(self.layout.rectangle(self.flat, block)[rows], columns, axis=1)

    def _among(self, points: np.ndarray) -> Iterator[np.ndarray]:
        for block, here, later in self.layout.split(points):
            if later.size:
                yield self._rectangle(block, here, later)
            if here.size > 1:
                upper = np.triu_indices(here.size, 1)
                yield self.tiles[block][np.ix_(here, here)][upper]

    def _between(self, a: np.ndarray, b: np.ndarray) -> Iterator[np.ndarray]:
        layout = self.layout
        # A pair lies in the rectangle of its earlier point's block, or in a tile.
        for first, second in ((a, b), (b, a)):
            for block, here, _ in layout.split(first):
                end = int(layout.ends[block])
                later = second[np.searchsorted(second, end) :] - end
                if later.size:
                    yield self._rectangle(block, here, later)
        in_b = {block: here for block, here, _ in layout.split(b)}
        for block, here, _ in layout.split(a):
            if block in in_b:
                yield self.tiles[block][np.ix_(here, in_b[block])]


class DistanceTable:
    """The n(n-1)/2 pair distances of a point set, in the ``PairLayout``.

    ``values`` is the flat array of distances; ``column(block)`` the distances from
    every point to the points of one block. A table scored once may sort ``values`` in
    place afterwards (``spend``), after which it no longer answers position queries.
    """

    def __init__(
        self, X: np.ndarray, extends: DistanceTable | None = None, fill: bool = True
    ) -> None:
        """``fill``: compute the distances now (else ``StartedTable`` computes them)."""
        n = X.shape[0]
        self.n = n
        self.layout = PairLayout(n)
        self.values = _SPARES.take(self.layout.n_pairs)
        self.tiles: list[np.ndarray] = [np.empty(0)] * self.layout.n_blocks
        self.spent = False
        # The distances in ascending order, when kept for tables extending this one
        # (``keep_sorted``): their counts then sort only the pairs with a new point.
        self.sorted_values: np.ndarray | None = None
        # ``extends``: a table of X's first points (noise added after them): its pairs
        # are copied, only the pairs with a new point are computed.
        parent = extends if extends is not None and not extends.spent and extends.n <= n else None
        # Block 0 first: the rectangles shrink down the table, so threads stay busy.
        if fill:
            parallel_map(lambda block: self._fill(X, block, parent), range(self.layout.n_blocks))

    def _fill(self, X: np.ndarray, block: int, parent: DistanceTable | None) -> None:
        layout = self.layout
        start, end = int(layout.starts[block]), int(layout.ends[block])
        old = 0 if parent is None else max(0, min(end, parent.n) - start)  # rows copied
        if old == end - start:
            assert parent is not None
            tile = parent.tiles[block].copy()
        else:
            tile = cdist(X[start:end], X[start:end])
        self.tiles[block] = tile
        upper, _ = triangle_positions(end - start)
        np.take(tile, upper, out=layout.triangle(self.values, block), mode="clip")
        if end == self.n:
            return
        rect = layout.rectangle(self.values, block)
        if old == 0:
            cdist(X[start:end], X[end:], out=rect)
            return
        assert parent is not None
        kept = parent.n - end  # columns of the parent after this block (none if negative)
        if kept > 0:
            rect[:old, :kept] = parent.layout.rectangle(parent.values, block)
            rect[:old, kept:] = cdist(X[start : start + old], X[parent.n :])
        else:
            rect[:old] = cdist(X[start : start + old], X[end:])
        if old < end - start:
            rect[old:] = cdist(X[start + old : end], X[end:])

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + sum(t.nbytes for t in self.tiles))

    def column(self, block: int) -> np.ndarray:
        """Distances from every point to the points of ``block``: (n + 1) x size, the
        last row zeros (padding for gathers)."""
        if self.spent:
            raise RuntimeError("distance columns requested after the table was sorted")
        return self.pairs.column(block)

    @property
    def pairs(self) -> PairArray:
        return PairArray(self.layout, self.values, self.tiles)

    def among(self, points: np.ndarray) -> np.ndarray:
        """The distances of every pair of ``points`` (ascending), in no particular order."""
        return self.pairs.among(points)

    def keep_sorted(self, ranks: np.ndarray) -> None:
        """Keep the distances in ascending order beside them, from each pair's rank (how
        many pairs have a smaller distance): a scatter, not a sort."""
        ordered = np.zeros(self.values.size)
        step = 1 << 22

        def place(start: int) -> None:
            ordered[ranks[start : start + step]] = self.values[start : start + step]

        parallel_map(place, range(0, self.values.size, step))
        # Equal distances share the first of their places; the others keep their 0 and
        # take the value before them (distances are never negative).
        np.maximum.accumulate(ordered, out=ordered)
        self.sorted_values = ordered

    def recycle(self) -> None:
        """Done with the table: its distance array may serve the next table (inside
        ``reused_tables``); the table answers nothing afterwards."""
        self.spent = True
        self.tiles = []
        values, self.values = self.values, np.empty(0)
        _SPARES.give(values)

    def spend(self) -> np.ndarray:
        """The distances, for counts that may reorder them in place: the table answers
        no position afterwards."""
        self.spent = True
        self.tiles = []
        return self.values


class StartedTable:
    """A ``DistanceTable`` computed while the caller does other work (a training run
    builds its label variants meanwhile): its blocks are computed on one thread fewer
    than the budget, the caller's thread keeping the last, and ``result`` computes the
    blocks still waiting on the caller's thread too, then returns the whole table. The
    threads take the blocks in order, each one at a time: the same distances, bit for
    bit, as a table computed at once."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.table = DistanceTable(X, fill=False)
        self._blocks = iter(range(self.table.layout.n_blocks))
        self._lock = threading.Lock()
        self._stopped = False
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._compute, args=(True,), daemon=True)
            for _ in range(max(1, thread_count() - 1))
        ]
        for thread in self._threads:
            thread.start()

    def _next(self) -> int | None:
        with self._lock:
            return None if self._stopped else next(self._blocks, None)

    def _compute(self, background: bool = False) -> None:
        try:
            while (block := self._next()) is not None:
                self.table._fill(self.X, block, None)
        except BaseException as error:
            self.stop()
            if not background:
                raise
            self._errors.append(error)

    def stop(self) -> None:
        """Let the threads end after the blocks they are computing."""
        with self._lock:
            self._stopped = True

    def result(self) -> DistanceTable:
        """The table, once every block is computed (with the caller's thread's help)."""
        try:
            self._compute()
        finally:
            for thread in self._threads:
                thread.join()
        if self._errors:
            raise self._errors[0]
        return self.table


class ExtendedTable:
    """The distances of a point set made of a parent table's points followed by m
    added points, without a copy of the parent's pairs: the parent answers for the
    pairs among its own points, and an (n + m) x m array ``added`` holds the distance
    from every point to each added point (the pairs among added points twice, and a
    zero diagonal). Columns are the same as a ``DistanceTable`` of all the points
    gives, bit for bit: each pair is computed by ``cdist`` on the same two points, and
    a distance does not depend on their order (``(a - b)^2 == (b - a)^2``).

    For the counts, ``spend`` lays the pairs with an added point end to end in
    ``added``'s own array, and the parent's ``sorted_values`` count the rest."""

    def __init__(self, X: np.ndarray, parent: DistanceTable) -> None:
        self.n = X.shape[0]
        self.parent = parent
        self.layout = PairLayout(self.n)
        old, m = parent.n, self.n - parent.n
        self.added = _SPARES.take(self.n * m).reshape(self.n, m)
        self.spent = False
        rows = [(a, min(self.n, a + BLOCK)) for a in range(0, self.n, BLOCK)]
        parallel_map(lambda r: cdist(X[r[0] : r[1]], X[old:], out=self.added[r[0] : r[1]]), rows)

    @property
    def nbytes(self) -> int:
        return int(self.added.nbytes)

    def column(self, block: int) -> np.ndarray:
        """As ``DistanceTable.column``."""
        if self.spent:
            raise RuntimeError("distance columns requested after the table was sorted")
        old, n = self.parent.n, self.n
        start, end = int(self.layout.starts[block]), int(self.layout.ends[block])
        out = scratch_column(n + 1, end - start, np.dtype(np.float64))
        split = min(max(old - start, 0), end - start)  # the block's parent points
        if split:
            self.parent.pairs.fill_column(out[:old, :split], block)
            out[old:n, :split] = self.added[start : start + split].T
        if split < end - start:
            out[:n, split:] = self.added[:, start + split - old : end - old]
        out[n] = 0.0
        return out

    def spend(self) -> np.ndarray:
        """The distances of the pairs with an added point, in no order, in ``added``'s
        own array (which the table then no longer answers from)."""
        self.spent = True
        old, m = self.parent.n, self.n - self.parent.n
        flat = self.added.reshape(-1)
        at = old * m  # the pairs of parent points with added ones are in place already
        for a in range(0, m, BLOCK):  # then each added point's pairs with later ones
            b = min(m, a + BLOCK)
            square = self.added[old + a : old + b, a:]
            later = np.arange(a, m)[None, :] > np.arange(a, b)[:, None]
            upper = square[later]  # a copy: the rows read are at or after ``at``
            flat[at : at + upper.size] = upper
            at += upper.size
        return flat[:at]

    def recycle(self) -> None:
        """As ``DistanceTable.recycle``."""
        self.spent = True
        added, self.added = self.added, np.empty((0, 0))
        _SPARES.give(added.reshape(-1))


# A spare distance array serves a new table needing at least this share of it.
SPARE_FILL = 0.75


class _Spares:
    """Distance arrays of finished tables, kept for the next tables while a
    ``reused_tables`` block runs: a fresh array of hundreds of megabytes costs the
    kernel a page fault every 4 KB, each time. A spare is only taken by a table of
    about its size; a table that finds none lets them all go before it allocates, so
    what is held stays what the finished tables held."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.open = 0
        self.arrays: list[np.ndarray] = []

    def take(self, size: int) -> np.ndarray:
        with self.lock:
            fits = [a for a in self.arrays if size <= a.size and size >= SPARE_FILL * a.size]
            if fits:
                chosen = min(fits, key=lambda a: a.size)
                self.arrays = [a for a in self.arrays if a is not chosen]
                return chosen[:size]
            self.arrays = []
        return np.empty(size, dtype=np.float64)

    def give(self, values: np.ndarray) -> None:
        whole = values if values.base is None else values.base
        if not isinstance(whole, np.ndarray) or whole.dtype != np.float64 or whole.ndim != 1:
            return
        with self.lock:
            if self.open and len(self.arrays) < max(1, thread_count()):
                self.arrays.append(whole)

    def drop(self) -> None:
        with self.lock:
            self.arrays = []


_SPARES = _Spares()


@contextmanager
def reused_tables() -> Iterator[None]:
    """Inside the block, the distance arrays of recycled tables serve the next tables
    of about their size; at its end they are let go."""
    with _SPARES.lock:
        _SPARES.open += 1
    try:
        yield
    finally:
        with _SPARES.lock:
            _SPARES.open -= 1
            if not _SPARES.open:
                _SPARES.arrays = []


def drop_spare_tables() -> None:
    """Let every spare distance array go (before memory is planned without them)."""
    _SPARES.drop()


class ComputedColumns:
    """The same columns as ``DistanceTable``, recomputed by ``cdist`` on every request:
    nothing of size n^2 is kept."""

    def __init__(self, X: np.ndarray) -> None:
        self.X = X
        self.n = X.shape[0]
        self.layout = PairLayout(self.n)

    def column(self, block: int) -> np.ndarray:
        """As ``PairArray.column``."""
        start, end = int(self.layout.starts[block]), int(self.layout.ends[block])
        out = scratch_column(self.n + 1, end - start, np.dtype(np.float64))
        cdist(self.X, self.X[start:end], out=out[: self.n])
        out[self.n] = 0.0
        return out


ColumnSource = DistanceTable | ExtendedTable | ComputedColumns


# Fewer values are sorted in one run: threads would cost more than they save.
SORT_RUN_MIN = 1 << 20


def sort_in_runs(values: np.ndarray) -> list[np.ndarray]:
    """Sort ``values`` in place in one contiguous run per thread of the budget (numpy's
    sort runs on one core), runs of at least ``SORT_RUN_MIN`` values; returns the runs."""
    count = max(1, min(thread_count(), values.size // SORT_RUN_MIN))
    edges = np.linspace(0, values.size, count + 1).astype(np.int64)
    runs = [values[a:b] for a, b in zip(edges[:-1], edges[1:], strict=True)]
    parallel_map(lambda run: run.sort(), runs)
    return runs
