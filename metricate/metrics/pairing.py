"""Where a point set's pair statistics come from: three ways, one interface.

- ``RankedPairs``: a point set scored many times (an original and its label and subset
  variants). Its distances are kept (8 bytes a pair), and so are their ranks (4 more):
  a labelling's concordance counts follow from its within pairs' ranks, gathered in
  the same pass as its distances, with no search at all.
- ``OncePairs``: a point set scored once (a variant with new coordinates, one
  evaluation). Its distances are kept until the one labelling has been reduced, then
  sorted in place for the concordance counts.
- ``StreamedPairs``: nothing of size n^2 is kept; every pass recomputes the distances
  (for ``force_all`` beyond the memory budget: exact, and slow).

Each offers ``columns`` (and ``rank_columns``) for the reduction pass
(``pairstats.pair_statistics``), ``collect`` to say what the pass gathers of each
labelling's within pairs, and ``finish`` to turn that into the within distances' sum
and the concordance counts. ``bytes_needed`` says what each holds, so ``PointSet`` can
pick the fastest that fits the memory budget.
"""

from __future__ import annotations

import numpy as np

from metricate.metrics.counting import (
    BUCKETED_SHARE,
    RANK_BYTES_PER_PAIR,
    RANK_PART_PAIRS,
    BucketedPairCounter,
    PairRanks,
    SortedRunsCounter,
    StreamedPairCounter,
    concordance_counts,
)
from metricate.metrics.distances import (
    BLOCK,
    ComputedColumns,
    DistanceTable,
    ExtendedTable,
    PairArray,
    drop_spare_tables,
    sort_in_runs,
)
from metricate.metrics.pairstats import (
    GROUP_BYTES,
    RANKS_EACH,
    RANKS_NONE,
    Collect,
    Collected,
    Labelling,
)
from metricate.parallel import thread_count

# What a batch needs beyond the reductions: the concordance counts.
CONCORDANCE = "concordance"
Wanted = frozenset[str]
Finished = tuple[int, int] | None


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def _counts_defined(labelling: Labelling) -> bool:
    """Whether the labelling has both within and between pairs to count."""
    return 0 < labelling.n_within < _pairs(labelling.n)


def _smallest_part(pairs: int) -> int:
    """The smallest parts the pairs are ranked in: a power of two of at least 2**20
    pairs, and few enough parts for one byte to number them."""
    part = RANK_PART_PAIRS
    while part // 2 >= max(1 << 20, -(-pairs // 254)):
        part //= 2
    return part


class RankedPairs:
    """Distances and their ranks, kept for any number of labellings.

    ``room``: the bytes it may hold at its peak. The distances are needed to rank the
    pairs, and then for the passes' columns; when keeping them beside the ranks would
    not fit, they are let go once the pairs are ranked, and each pass computes its
    columns again (``ComputedColumns``): slower, in a third of the memory.
    """

    def __init__(
        self,
        X: np.ndarray,
        extends: DistanceTable | None = None,
        room: int | None = None,
        extra: int = 0,
        table: DistanceTable | None = None,
    ) -> None:
        """``room``: bytes it may hold at its peak; ``extra``: what the passes'
        accumulators take of it (not held while ranking); ``table``: X's distances,
        when computed already (then ``extends`` is None)."""
        self.X = X
        self.n = X.shape[0]
        if table is None:
            table = DistanceTable(X, extends=extends)
        self.table: DistanceTable | None = table
        self.columns: DistanceTable | ComputedColumns = self.table
        self._ranks: PairRanks | None = None
        self._counts = False  # the batch being scored asks for the concordance counts
        self._cluster_rank_sums: dict[bytes, int] = {}  # by the members' bytes
        self.room = room
        self.extra = extra
        self._finish_room = _pairs(self.n)

    @staticmethod
    def _rank_bytes(n: int) -> int:
        return 4 if _pairs(n) < np.iinfo(np.int32).max else 8

    @staticmethod
    def ranking_bytes(n: int, threads: int | None = None, part_pairs: int | None = None) -> int:
        """Its peak while ranking: distances, ranks, each pair's value range, and the
        parts being sorted (default: the smallest parts it would use)."""
        pairs = _pairs(n)
        threads = threads or thread_count()
        part_pairs = part_pairs or _smallest_part(pairs)
        held = pairs * (8 + RankedPairs._rank_bytes(n)) + 12 * n * BLOCK
        return held + pairs + RANK_BYTES_PER_PAIR * min(part_pairs, pairs) * threads

    def _part_pairs(self) -> int:
        """The largest parts to rank in that fit its room (larger parts rank faster)."""
        part = RANK_PART_PAIRS
        smallest = _smallest_part(_pairs(self.n))
        while (
            part // 2 >= smallest
            and self.room is not None
            and RankedPairs.ranking_bytes(self.n, part_pairs=part) > self.room
        ):
            part //= 2
        return part

    @staticmethod
    def pass_bytes(
        n: int, keep_distances: bool, threads: int | None = None, gathered: int = GROUP_BYTES
    ) -> int:
        """Its peak in a pass and while finishing it: the ranks (and the distances, if
        kept), each thread's columns, the within pairs a group gathers, and the
        largest subset counter finished at once."""
        pairs = _pairs(n)
        threads = threads or thread_count()
        held = pairs * RankedPairs._rank_bytes(n) + 4 * n * BLOCK
        if keep_distances:
            held += pairs * 8 + 8 * n * BLOCK
        return held + gathered + threads * 20 * n * BLOCK + pairs

    @staticmethod
    def bytes_needed(n: int, threads: int | None = None, extra: int = 0) -> int:
        """The least it needs: ranking, then passes (with ``extra`` bytes of accumulators)
        with the distances let go."""
        return max(
            RankedPairs.ranking_bytes(n, threads),
            RankedPairs.pass_bytes(n, False, threads) + extra,
        )

    @property
    def ranks(self) -> PairRanks:
        if self._ranks is None:
            assert self.table is not None
            parts = self._part_pairs()
            self._ranks = PairRanks(self.table.layout, self.table.values, parts)
        return self._ranks

    def arrange(self, gathered: int) -> int:
        """Plan the passes for a batch that gathers ``gathered`` bytes of within pairs:
        keep the distances if the passes fit beside them in at most two groups, else
        let them go if that fits the batch in one group (a pass then computes its
        columns: one pass in all), else keep them and make more groups. Returns the
        bytes a group may gather."""
        if self.room is None or self.table is None:
            return max(GROUP_BYTES, gathered)
        fixed_keep = RankedPairs.pass_bytes(self.n, True, gathered=0) + self.extra
        fixed_drop = RankedPairs.pass_bytes(self.n, False, gathered=0) + self.extra
        if self.room - fixed_keep >= gathered / 2:
            group = max(self.room - fixed_keep, GROUP_BYTES // 8)
            fixed = fixed_keep
        elif self.room - fixed_drop >= gathered:
            self.drop_distances()
            group, fixed = gathered, fixed_drop
        else:
            group = max(self.room - fixed_keep, GROUP_BYTES // 8)
            fixed = fixed_keep
        # Finishing may take what the group does not: one large subset counter at least.
        self._finish_room = max(
            _pairs(self.n), self.room - fixed + _pairs(self.n) - min(group, gathered)
        )
        return group

    def drop_distances(self) -> None:
        """Let the distances go; passes compute their columns again."""
        self.table = None
        self.columns = ComputedColumns(self.X)

    def drop_ranks(self, keep_sorted: bool = False) -> None:
        """Let the ranks go; with ``keep_sorted``, keep the distances in ascending
        order (from the ranks) for the tables that will extend this one."""
        if keep_sorted and self.table is not None and self._ranks is not None:
            self.table.keep_sorted(self._ranks.ranks)
        self._ranks = None
        self._cluster_rank_sums = {}

    def finish_cost(self, labelling: Labelling, collect: Collect) -> int:
        """Bytes finishing a labelling takes: its within pairs' ranks, and for a subset
        the ranks of the pairs it leaves out (or of its own, if fewer)."""
        if collect.ranks != RANKS_EACH:
            return 0
        cost = 4 * labelling.n_within
        if labelling.rows is not None:
            kept = labelling.rows.size
            removed = self.n - kept
            cost += 4 * min(_pairs(kept), removed * kept + _pairs(removed))
        return cost

    @property
    def finish_limit(self) -> int:
        """Finishing holds at most this much at once (a subset's counter at the worst)."""
        return self._finish_room

    def _from_rank_sum(self, labelling: Labelling, rank_sum: int) -> tuple[int, int]:
        """(s+, s-) of a labelling of every point from the sum of its within pairs' ranks.

        Each rank counts the pairs below its pair, so the sum counts the (pair, within
        pair) couples in order; less the ordered within couples, C(n_w, 2) but those of
        equal distance, it is s-. Which tied pairs are within pairs gives the couples of
        equal distance, and the ties that count in neither s+ nor s-.
        """
        n_within = labelling.n_within
        n_pairs = _pairs(labelling.n)
        equal_couples = tie_couples = 0
        tied_pairs = self.ranks.tied_pairs
        assert tied_pairs is not None
        i, j, tie = tied_pairs
        if tie.size:
            within = labelling.codes[i] == labelling.codes[j]
            multiplicity = self.ranks.ties[1]
            inside = np.bincount(tie[within], minlength=multiplicity.size)
            equal_couples = int(np.sum(inside * (inside - 1) // 2))
            tie_couples = int(np.sum(inside * (multiplicity - inside)))
        s_minus = rank_sum - (n_within * (n_within - 1) // 2 - equal_couples)
        return n_within * (n_pairs - n_within) - s_minus - tie_couples, s_minus

    def rank_columns(self, wanted: Wanted) -> PairArray | None:
        return self.ranks.pairs if CONCORDANCE in wanted else None

    @property
    def distances(self) -> DistanceTable | None:
        """The distance table, while it is kept."""
        return self.table

    def _by_rank_sum(self, labelling: Labelling) -> bool:
        """Whether a labelling's counts follow from the sum of its within pairs' ranks
        (a labelling of every point, in a set whose tied pairs are known)."""
        return labelling.rows is None and self.ranks.tied_pairs is not None

    def collect(self, labelling: Labelling, wanted: Wanted) -> Collect:
        """A subset needs each within pair's rank from the pass. A labelling of every
        point needs only their sum, taken from the ranks when it is finished (its
        within pairs alone, where the pass would read every pair of every block), and
        which tied pairs are within pairs."""
        self._counts = CONCORDANCE in wanted
        each = self._counts and _counts_defined(labelling) and not self._by_rank_sum(labelling)
        return Collect(ranks=RANKS_EACH if each else RANKS_NONE)

    def _within_rank_sum(self, labelling: Labelling) -> int:
        """The sum of the ranks of a labelling's within pairs, cluster by cluster (a
        cluster met before, the original's say, is not summed again)."""
        total = 0
        for members in labelling.members:
            key = members.tobytes()
            found = self._cluster_rank_sums.get(key)
            if found is None:
                found = self.ranks.pairs.sum_among(members)
                self._cluster_rank_sums[key] = found
            total += found
        return total

    def finish(self, labelling: Labelling, collected: Collected) -> Finished:
        if collected.ranks is None:
            if self._counts and _counts_defined(labelling) and self._by_rank_sum(labelling):
                return self._from_rank_sum(labelling, self._within_rank_sum(labelling))
            return None
        keys = collected.ranks
        if labelling.rows is not None:
            return self.ranks.subset_counts(labelling.rows, keys)
        # A labelling of every point, where too many pairs tie to list them. Sorted in a
        # copy: the batch's base keeps its within ranks in place for the labellings that
        # share its clusters.
        return concordance_counts(np.sort(keys), self.ranks.counter(), _pairs(labelling.n))


class OncePairs:
    """Distances kept for one labelling, then sorted in place for its counts.

    A point set that adds points to one whose table keeps its sorted distances, and
    whose labelling covers all its points, keeps only the pairs with an added point
    (``ExtendedTable``): its counts sort those alone, and search the parent's."""

    def __init__(
        self, X: np.ndarray, extends: DistanceTable | None = None, whole: bool = False
    ) -> None:
        self.table: DistanceTable | ExtendedTable
        if OncePairs.extends_sorted(X, extends, whole):
            assert extends is not None
            self.table = ExtendedTable(X, extends)
        else:
            self.table = DistanceTable(X, extends=extends)
        self.columns = self.table

    @staticmethod
    def bytes_needed(n: int, threads: int | None = None, extra: int = 0, added: int = 0) -> int:
        """The distances, a pass's columns on ``threads`` threads (default: the
        budget's), and ``extra`` bytes of accumulators. ``added``: the points it adds
        to a parent keeping its sorted distances (``ExtendedTable``: only the distances
        to them are held, and sorted in place)."""
        columns = 20 * n * BLOCK * (threads or thread_count())
        if added:
            return 8 * n * added + 8 * n * BLOCK + columns + extra
        # The counts may gather the keys of up to BUCKETED_SHARE of the pairs (twice,
        # while the threads' parts are joined).
        counting = int(_pairs(n) * 16 * BUCKETED_SHARE)
        return _pairs(n) * 8 + 8 * n * BLOCK + max(columns, counting) + extra

    @staticmethod
    def extends_sorted(X: np.ndarray, parent: DistanceTable | None, whole: bool) -> bool:
        """Whether a set of points ``X`` is scored as an ``ExtendedTable`` of ``parent``."""
        return (
            whole
            and parent is not None
            and parent.sorted_values is not None
            and not parent.spent
            and parent.n < X.shape[0]
        )

    def rank_columns(self, wanted: Wanted) -> None:
        return None

    def collect(self, labelling: Labelling, wanted: Wanted) -> Collect:
        return Collect(values=CONCORDANCE in wanted and _counts_defined(labelling))

    def finish(self, labelling: Labelling, collected: Collected) -> Finished:
        within = collected.values
        if within is None:
            return None
        within.sort()
        table = self.table
        n_pairs = _pairs(labelling.n)
        if isinstance(table, ExtendedTable):
            assert labelling.rows is None and table.parent.sorted_values is not None
            runs = [table.parent.sorted_values, *sort_in_runs(table.spend())]
            return concordance_counts(within, SortedRunsCounter(runs), n_pairs)
        if labelling.rows is None:
            values = table.spend()  # counted, and maybe sorted, in place
        else:
            values = table.among(labelling.rows)
        return concordance_counts(within, BucketedPairCounter(values), n_pairs)


class StreamedPairs:
    """Distances recomputed for every pass; nothing of size n^2 is kept."""

    def __init__(self, X: np.ndarray) -> None:
        drop_spare_tables()  # no table here to take one: what is held stays planned
        self.X = X
        self.columns = ComputedColumns(X)

    @staticmethod
    def bytes_needed(n: int, threads: int | None = None, extra: int = 0) -> int:
        return 8 * (n + 1) * BLOCK * (threads or thread_count()) + extra

    def rank_columns(self, wanted: Wanted) -> None:
        return None

    def collect(self, labelling: Labelling, wanted: Wanted) -> Collect:
        return Collect(values=CONCORDANCE in wanted and _counts_defined(labelling))

    def finish(self, labelling: Labelling, collected: Collected) -> Finished:
        within = collected.values
        if within is None:
            return None
        within.sort()
        points = self.X if labelling.rows is None else self.X[labelling.rows]
        return concordance_counts(within, StreamedPairCounter(points), _pairs(labelling.n))


PairSource = RankedPairs | OncePairs | StreamedPairs
