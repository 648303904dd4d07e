"""``PointSet``: score many labellings of one set of points, sharing the distances.

A training run scores about 73 labellings per input file; most share the original's
points (label swaps, merges, splits) or a subset of them (removals). The pair
distances, and the ranks that give the concordance counts, are computed once per point
set; ``evaluate_many`` scores a batch of labellings (of the set and of its subsets) in
one pass over them, and a cluster that a labelling shares with the batch's first one
is not reduced again.

How the distances are kept is chosen by the memory budget (``metricate.memory``):
distances and ranks (12 bytes a pair) when they fit, for a set scored many times; the
distances alone until sorted (8 bytes a pair) for a set scored once; else nothing of
size n^2, every pass recomputing them (exact, and slow).

Above ``large_n`` points the indices that need all pairs are computed on a stratified
sample of ``large_n`` of them, drawn once per point set (so every labelling of it, and
of its subsets, uses the same sample), unless ``force_all``. The other indices are
always computed on every point.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from metricate.defaults import DEFAULT_LARGE_N, DEFAULT_MEMORY_BUDGET, DEFAULT_SEED, NOISE
from metricate.errors import InsufficientClustersError, InvalidOptionError
from metricate.memory import resident_bytes, trim
from metricate.metrics.context import Partition, Points, Undefined
from metricate.metrics.distances import BLOCK, DistanceTable, StartedTable
from metricate.metrics.pairing import (
    CONCORDANCE,
    OncePairs,
    PairSource,
    RankedPairs,
    StreamedPairs,
    Wanted,
)
from metricate.metrics.pairstats import (
    GROUP_BYTES,
    Collect,
    Labelling,
    PairStatistics,
    gathered_bytes,
    pair_statistics,
)
from metricate.metrics.registry import (
    EXTERNAL_METRICS,
    INTERNAL_METRICS,
    METRICS,
    METRICS_BY_NAME,
    Metric,
)
from metricate.metrics.result import EvaluationResult, MetricValue
from metricate.metrics.sampling import stratified_sample
from metricate.parallel import parallel_map, thread_count

# Which pair quantities beyond the reductions each index needs.
_NEEDS = {"Gamma": CONCORDANCE, "G-plus": CONCORDANCE, "Tau": CONCORDANCE}
# Bytes per point set beyond its pairs: a few copies of the coordinates, the libraries.
_MARGIN = 64 * 10**6
# What is planned of the budget: the rest is for what freed memory costs before the
# allocator hands it back, and for what the estimates leave out.
PLANNED_SHARE = 0.9
# Below this many coordinates (points x dimensions) scoring one labelling is many short
# numpy calls that hold the interpreter lock: a second thread only contends for it, so
# the batch's labellings are scored on one thread. Measured on 2 cores, the original and
# its 54 variants on shared points: 1,000 x 16 0.30 s on one thread against 0.36-0.40 s
# on two, 2,000 x 32 0.76 against 0.79-0.82 s; 3,000 x 32 1.62 against 1.53-1.57 s,
# 1,000 x 128 0.59 against 0.52 s.
THREADED_SCORING_MIN = 80_000

Progress = Callable[[int], None]


class MetricNames(frozenset[str]):
    """Metric names already checked against the registry (see ``check_metric_names``)."""


def check_metric_names(names: Iterable[str] | None) -> MetricNames:
    """Validate metric names (for ``exclude``) once; unknown ones are an error listing all.

    The result passes through unchanged when checked again, so options validated at
    the edge are not re-validated for every labelling.
    """
    if isinstance(names, MetricNames):
        return names
    names = list(names or [])
    unknown = [n for n in names if n not in METRICS_BY_NAME]
    if unknown:
        valid = ", ".join(m.name for m in METRICS)
        raise InvalidOptionError(f"unknown metric(s) {unknown}; valid names are: {valid}")
    return MetricNames(names)


@dataclass
class _Request:
    """One labelling to score: of the root's points ``rows`` (None: all), noise removed."""

    rows: np.ndarray | None
    codes: np.ndarray
    k: int
    n_noise: int
    reference: np.ndarray | None

    @property
    def n(self) -> int:
        return int(self.codes.size)


class PointSet:
    """Points whose pair distances are computed once and shared by every labelling.

    >>> ps = PointSet(X)
    >>> ps.evaluate(labels)                    # all indices
    >>> ps.subset(kept_rows).evaluate(labels_of_kept_rows)   # reuses ps's distances
    >>> ps.evaluate_many([labels_a, labels_b, (ps.subset(rows), labels_c)])  # one pass

    ``single_use``: the set will be scored once (its distances are then sorted in place,
    8 bytes a pair instead of 12). ``memory_budget``: bytes the process may hold;
    ``pair_memory``: bytes this set's distances may take (default: the budget less what
    the process holds when they are computed). ``sample``: the positions of the points
    the pair-based indices use above ``large_n`` (default: a stratified sample drawn
    with ``seed`` from the first labelling scored). ``extends``: a point set whose points
    are this one's first ones; its distances are copied, not computed again.
    """

    def __init__(
        self,
        X: np.ndarray,
        *,
        large_n: int = DEFAULT_LARGE_N,
        single_use: bool = False,
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        seed: int = DEFAULT_SEED,
        sample: np.ndarray | None = None,
        pair_memory: int | None = None,
        extends: PointSet | None = None,
    ) -> None:
        X = np.ascontiguousarray(X, dtype=np.float64)
        if X.ndim != 2:
            raise InvalidOptionError(f"points must be a 2-D array, got shape {X.shape}")
        self._X = X
        self.large_n = large_n
        self.single_use = single_use
        self.memory_budget = memory_budget
        self.seed = seed
        self._rows: np.ndarray | None = None  # positions in the root point set
        # None for a root point set: a self-reference would be a cycle that keeps
        # the n^2 distances alive until the garbage collector happens to run.
        self._parent_root: PointSet | None = None
        self._pairs: PairSource | None = None
        self._points: Points | None = None
        self._sample_rows = None if sample is None else self._checked_rows(sample)
        self._sample_set: PointSet | None = None
        self.pair_memory = pair_memory
        self._extends = extends
        self._started: StartedTable | None = None  # see ``start_distances``

    @property
    def n(self) -> int:
        return self._X.shape[0] if self._rows is None else int(self._rows.size)

    @property
    def points(self) -> np.ndarray:
        return self._X if self._rows is None else self._X[self._rows]

    @property
    def root(self) -> PointSet:
        """The point set whose distances this one shares (itself if not a subset)."""
        return self if self._parent_root is None else self._parent_root

    @property
    def has_distances(self) -> bool:
        """Whether the pair distances are held in memory (for tests and benches)."""
        return isinstance(self.root._pairs, RankedPairs | OncePairs)

    @property
    def sample_rows(self) -> np.ndarray | None:
        """The root positions of the pair sample, once drawn (None below ``large_n``)."""
        return self.root._sample_rows

    def _checked_rows(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        rows = np.asarray(rows, dtype=np.int64)
        if rows.ndim != 1 or (rows.size and (rows.min() < 0 or rows.max() >= self.n)):
            raise InvalidOptionError(f"subset rows must be indices in [0, {self.n})")
        if rows.size > 1 and np.any(np.diff(rows) <= 0):
            raise InvalidOptionError("subset rows must be strictly increasing")
        return rows

    def subset(self, rows: Sequence[int] | np.ndarray) -> PointSet:
        """The points ``rows`` (indices into this set, ascending, no repeats), sharing
        this set's distances."""
        rows = self._checked_rows(rows)
        child = PointSet.__new__(PointSet)
        child.__dict__.update(self.__dict__)
        child._rows = rows if self._rows is None else self._rows[rows]
        child._parent_root = self.root
        child._pairs = None
        child._points = None
        child._sample_set = None
        child._extends = None
        child._started = None
        return child

    def start_distances(self, exclude: Iterable[str] | None = None) -> None:
        """Start computing the pair distances while the caller prepares the labellings
        to score (``evaluate_many`` then takes them): on one thread fewer than the
        budget, so the caller's thread keeps one. Only where they will be used as
        computed: a set scored many times, of at least two blocks and at most
        ``large_n`` points, whose distances and ranks fit the budget, when some index
        not in ``exclude`` needs pairs and the budget has two threads or more."""
        excluded = check_metric_names(exclude)
        wanted = any(m.needs_pairs for m in INTERNAL_METRICS if m.name not in excluded)
        if not wanted or self._rows is not None or self._pairs is not None or self._started:
            return
        n = self.n
        if self.single_use or self._extends is not None or not BLOCK < n <= self.large_n:
            return
        room = int(self.memory_budget * PLANNED_SHARE) - resident_bytes()
        if thread_count() < 2 or RankedPairs.bytes_needed(n) > room:
            return
        self._started = StartedTable(self._X)

    def release(self) -> None:
        """Drop the shared pair distances (they are recomputed if needed again)."""
        root = self.root
        if root._started is not None:
            root._started.stop()
            root._started = None
        root._pairs = None
        if root._sample_set is not None:
            root._sample_set.release()

    def drop_ranks(self, keep_sorted: bool = False) -> None:
        """Keep the distances (to extend them), drop the ranks of the pairs; with
        ``keep_sorted``, keep the distances in ascending order too, so the counts of
        the point sets extending this one sort only their new pairs."""
        if isinstance(self.root._pairs, RankedPairs):
            self.root._pairs.drop_ranks(keep_sorted)

    def distance_bytes(self) -> int:
        """Bytes the root's kept pair distances take (0 when none are kept)."""
        table = self.root._table()
        return 0 if table is None else table.nbytes

    def _table(self) -> DistanceTable | None:
        """This root's distance table, when it holds one that answers positions."""
        pairs = self._pairs
        table = pairs.table if isinstance(pairs, RankedPairs | OncePairs) else None
        return table if isinstance(table, DistanceTable) and not table.spent else None

    def evaluate(
        self,
        labels: Sequence[int] | np.ndarray,
        *,
        exclude: Iterable[str] | None = None,
        force_all: bool = False,
        reference: Sequence[int] | np.ndarray | None = None,
    ) -> EvaluationResult:
        """Score one labelling of these points (-1 = noise, left out)."""
        request = self._request(labels, reference)
        return self.root._score([request], check_metric_names(exclude), force_all, None)[0]

    def evaluate_many(
        self,
        labellings: Sequence[np.ndarray | tuple[PointSet, np.ndarray]],
        *,
        exclude: Iterable[str] | None = None,
        force_all: bool = False,
        progress: Progress | None = None,
    ) -> list[EvaluationResult]:
        """Score many labellings in one pass over the distances: each item is the labels
        of this set's points, or ``(subset, labels)`` for a subset of the same root.
        The first item's clusters are shared with the others (score the original
        first). ``progress(n)`` is told as labellings are scored."""
        requests = []
        for item in labellings:
            points, labels = item if isinstance(item, tuple) else (self, item)
            if points.root is not self.root:
                raise InvalidOptionError("evaluate_many: every labelling must share one root")
            requests.append(points._request(labels, None))
        return self.root._score(requests, check_metric_names(exclude), force_all, progress)

    def _request(
        self, labels: Sequence[int] | np.ndarray, reference: Sequence[int] | np.ndarray | None
    ) -> _Request:
        labels = np.asarray(labels)
        if labels.shape != (self.n,):
            raise InvalidOptionError(f"expected {self.n} labels, got shape {labels.shape}")
        ref = None if reference is None else np.asarray(reference)
        if ref is not None and ref.shape != labels.shape:
            raise InvalidOptionError(f"expected {self.n} reference labels, got {ref.shape}")
        scored = labels != NOISE
        rows = self._rows
        if not scored.all():
            kept = np.flatnonzero(scored)
            rows = kept if rows is None else rows[kept]
            labels = labels[kept]
            ref = None if ref is None else ref[kept]
        uniques, codes = np.unique(labels, return_inverse=True)
        if uniques.size < 2:
            raise InsufficientClustersError(
                f"needs at least 2 clusters after removing noise, found {uniques.size}"
            )
        return _Request(rows, codes.astype(np.int64), int(uniques.size), int((~scored).sum()), ref)

    # ---- scoring (on the root) ---------------------------------------------------

    def _score(
        self,
        requests: list[_Request],
        excluded: MetricNames,
        force_all: bool,
        progress: Progress | None,
    ) -> list[EvaluationResult]:
        wanted = [m for m in INTERNAL_METRICS if m.name not in excluded]
        pair_names = {m.name for m in wanted if m.needs_pairs}
        sampled = bool(pair_names) and self.n > self.large_n and not force_all
        pairs: list[PairStatistics | None] = [None] * len(requests)
        pair_points: list[Partition | None] = [None] * len(requests)
        share = _ProgressShare(progress, len(requests))
        if pair_names:
            needs = frozenset(_NEEDS[name] for name in pair_names if name in _NEEDS)
            if sampled:
                sample = self._pair_sample(requests[0])
                on_sample = [sample._restrict(r, self._sample_rows) for r in requests]
                usable = [i for i, r in enumerate(on_sample) if r is not None]
                present = [r for r in on_sample if r is not None]
                stats = sample._pair_statistics(present, needs, share)
                for i, stat in zip(usable, stats, strict=True):
                    request = on_sample[i]
                    assert request is not None
                    pairs[i] = stat
                    pair_points[i] = sample._partition(request, stat)
            else:
                stats = self._pair_statistics(requests, needs, share)
                pairs = list(stats)
        root_points = self._root_points()

        def score(index: int) -> EvaluationResult:
            request = requests[index]
            partition = self._partition(request, pairs[index], root_points)
            pair_partition = pair_points[index] if sampled else partition
            return _evaluate(
                request, partition, pair_partition, excluded, sampled, self.large_n, self.n
            )

        workers = 1 if self._X.size < THREADED_SCORING_MIN else None
        results = parallel_map(score, range(len(requests)), workers)
        share.finish()
        return results

    def _root_points(self) -> Points:
        if self._points is None:
            self._points = Points(self._X)
        return self._points

    def _partition(
        self, request: _Request, pairs: PairStatistics | None, points: Points | None = None
    ) -> Partition:
        X = self._X if request.rows is None else self._X[request.rows]
        shared = points if request.rows is None else None
        return Partition(X, request.codes, pairs, request.reference, shared)

    def _pair_statistics(
        self, requests: list[_Request], needs: Wanted, share: _ProgressShare
    ) -> list[PairStatistics]:
        labellings = [Labelling(r.codes, r.rows, self.n) for r in requests]
        source = self._pair_source(labellings)
        ranked = source if isinstance(source, RankedPairs) else None
        collect = [source.collect(lab, needs) for lab in labellings]
        # The ranks' columns, when the pass gathers some labelling's ranks.
        rank_columns = source.rank_columns(needs) if any(c.ranks for c in collect) else None
        group_bytes = GROUP_BYTES
        if ranked is not None:  # the distances may go, once ranked, if that is better
            gathered = sum(
                gathered_bytes(lab, c) for lab, c in zip(labellings, collect, strict=True)
            )
            # The base also gathers what the labellings sharing its clusters need.
            union = Collect(any(c.values for c in collect), max(c.ranks for c in collect))
            gathered += gathered_bytes(labellings[0], union)
            group_bytes = ranked.arrange(gathered)
        stats = pair_statistics(
            source.columns,
            rank_columns,
            labellings,
            collect,
            source.finish,
            share.update if share.progress is not None else None,
            ranked.finish_cost if ranked else None,
            ranked.finish_limit if ranked else 0,
            group_bytes,
        )
        if isinstance(source, OncePairs):
            self._pairs = None  # its distances are sorted now
            source.table.recycle()  # and their array may serve the next table
        trim()
        return stats

    def _pair_source(self, labellings: list[Labelling]) -> PairSource:
        """The kept source if any, else the fastest that fits the memory budget."""
        if isinstance(self._pairs, RankedPairs):
            return self._pairs
        early = None  # the distances ``start_distances`` computed
        if self._started is not None:
            early = self._started.result()
            self._started = None
        n = self.n
        # The batch's accumulators: sums per (cluster, point), and a few per point.
        extra = sum(8 * lab.k * lab.n + 32 * lab.n for lab in labellings) + _MARGIN
        once = self.single_use and len(labellings) == 1
        kind: type[PairSource] = OncePairs if once else RankedPairs
        parent = None
        base = self._extends
        if base is not None and base.n <= n and np.array_equal(self._X[: base.n], base._X):
            parent = base._table()
        whole = labellings[0].rows is None

        def needed(threads: int | None, extra: int = 0) -> int:
            if kind is not OncePairs:
                return RankedPairs.bytes_needed(n, threads, extra)
            extended = OncePairs.extends_sorted(self._X, parent, whole)
            added = n - parent.n if extended and parent is not None else 0
            return OncePairs.bytes_needed(n, threads, extra, added)

        if self.pair_memory is not None:  # the caller planned this set's memory
            room = self.pair_memory
            fits = needed(1) <= room
        else:
            # The distances computed early are resident already, and counted in needed.
            held = 0 if early is None else early.nbytes
            room = int(self.memory_budget * PLANNED_SHARE) - resident_bytes() + held
            fits = needed(None, extra) <= room
        if not fits:
            kind = StreamedPairs
        if kind is not RankedPairs or parent is not None:
            early = None  # let them go
        source: PairSource
        if kind is RankedPairs:
            source = RankedPairs(self._X, parent, room, extra, table=early)
        elif kind is OncePairs:
            source = OncePairs(self._X, parent, whole=whole)
        else:
            source = StreamedPairs(self._X)
        if isinstance(source, RankedPairs):
            self._pairs = source
        return source

    # ---- the pair sample above large_n ---------------------------------------------

    def _pair_sample(self, first: _Request) -> PointSet:
        """The point set of the pair sample, drawn on first use."""
        if self._sample_set is None:
            if self._sample_rows is None:
                labels = np.full(self.n, -1, dtype=np.int64)
                rows = np.arange(self.n) if first.rows is None else first.rows
                labels[rows] = first.codes
                self._sample_rows = stratified_sample(labels, self.large_n, self.seed)
            self._sample_set = PointSet(
                self._X[self._sample_rows],
                large_n=max(self.large_n, self._sample_rows.size),
                single_use=self.single_use,
                memory_budget=self.memory_budget,
                pair_memory=self.pair_memory,
            )
        return self._sample_set

    def _restrict(self, request: _Request, sample_rows: np.ndarray | None) -> _Request | None:
        """``request`` restricted to this sample set's points (None: under 2 clusters)."""
        assert sample_rows is not None
        if request.rows is None:
            positions = None
            codes = request.codes[sample_rows]
        else:
            at = np.searchsorted(request.rows, sample_rows)
            at = np.minimum(at, request.rows.size - 1)
            hit = request.rows[at] == sample_rows
            positions = np.flatnonzero(hit)
            codes = request.codes[at[hit]]
        uniques, codes = np.unique(codes, return_inverse=True)
        if uniques.size < 2:
            return None
        if positions is not None and positions.size == self.n:
            positions = None
        return _Request(positions, codes.astype(np.int64), int(uniques.size), 0, None)


class _ProgressShare:
    """Turns the pass's share done into whole labellings for ``progress``: the pass is
    most of the work, so it reports up to 90% of the batch; scoring the rest."""

    def __init__(self, progress: Progress | None, count: int) -> None:
        self.progress = progress
        self.count = count
        self.reported = 0

    def update(self, share: float) -> None:
        due = int(share * 0.9 * self.count)
        if self.progress is not None and due > self.reported:
            self.progress(due - self.reported)
            self.reported = due

    def finish(self) -> None:
        if self.progress is not None and self.count > self.reported:
            self.progress(self.count - self.reported)
            self.reported = self.count


def _evaluate(
    request: _Request,
    partition: Partition,
    pair_partition: Partition | None,
    excluded: MetricNames,
    sampled: bool,
    large_n: int,
    n_total: int,
) -> EvaluationResult:
    """Every index of one labelling: pair-based ones on ``pair_partition`` (the sample's
    partition above large_n, else ``partition``), the others on ``partition``."""
    metrics = INTERNAL_METRICS + (EXTERNAL_METRICS if request.reference is not None else ())
    values: list[MetricValue] = []
    warnings: list[str] = []
    sampled_names: list[str] = []
    for metric in metrics:
        if metric.name in excluded:
            values.append(_not_computed(metric, "excluded"))
            continue
        target = partition
        if metric.needs_pairs and sampled:
            if pair_partition is None:
                reason = f"fewer than 2 clusters among the {large_n} sampled points"
                values.append(_not_computed(metric, reason))
                warnings.append(f"{metric.name}: {reason}")
                continue
            target = pair_partition
            sampled_names.append(metric.name)
        value = _compute(metric, target)
        values.append(value)
        if not value.computed:
            warnings.append(f"{metric.name}: {value.reason}")
    metadata = {
        "n_samples": request.n,
        "n_clusters": request.k,
        "n_noise": request.n_noise,
    }
    if sampled and pair_partition is not None:
        metadata["pair_sample_size"] = pair_partition.n
        warnings.insert(
            0,
            f"{len(sampled_names)} pair-based metrics computed on a stratified sample of "
            f"{pair_partition.n} of {request.n} points (above large_n={large_n}; "
            "force_all computes them on every point)",
        )
    result = EvaluationResult(values, metadata, warnings)
    result.sampled = sampled_names
    return result


def _not_computed(metric: Metric, reason: str) -> MetricValue:
    return MetricValue(
        metric.name, math.nan, metric.direction, metric.range_text, metric.kind, False, reason
    )


def _compute(metric: Metric, partition: Partition) -> MetricValue:
    try:
        with np.errstate(all="ignore"):
            value = float(metric.function(partition))
    except Undefined as undefined:
        return _not_computed(metric, undefined.reason)
    except (np.linalg.LinAlgError, ZeroDivisionError, OverflowError) as exc:
        return _not_computed(metric, f"not computable ({exc})")
    if not math.isfinite(value):
        return _not_computed(metric, f"value is not finite ({value})")
    lo, hi = metric.range
    tolerance = 1e-9 * max(1.0, abs(value))
    if value < lo - tolerance or value > hi + tolerance:
        return _not_computed(metric, f"value {value:.6g} is outside the index's range")
    value = min(max(value, lo), hi)  # rounding error only, at most 1e-9 relative
    return MetricValue(metric.name, value, metric.direction, metric.range_text, metric.kind, True)
