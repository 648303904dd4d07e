"""The pair engine: layout, ranks, counts, batches, memory plans and wide embeddings."""

from __future__ import annotations

import json
import math
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata
from sklearn.datasets import make_blobs

from metricate import InvalidOptionError, PointSet, generate_training_data
from metricate.defaults import NOISE
from metricate.degradations.plan import VariantPlan
from metricate.degradations.variants import build_variants
from metricate.io.load import load_clustering
from metricate.memory import format_size, parse_size
from metricate.metrics import INTERNAL_METRICS, counting, pairing, pointset
from metricate.metrics.counting import PairRanks, RankMarks, sorted_runs
from metricate.metrics.distances import (
    BLOCK,
    ComputedColumns,
    DistanceTable,
    ExtendedTable,
    PairLayout,
)
from metricate.metrics.pairing import RankedPairs
from metricate.parallel import bounded_map, parallel_map, thread_budget, thread_count
from metricate.training import scoring

DATA = Path(__file__).parent / "data"
PAIR_BASED = [m.name for m in INTERNAL_METRICS if m.needs_pairs]


def same_values(a, b):
    """Equal bit for bit, NaN equal to NaN."""
    for name, x in a.values().items():
        y = b.values()[name]
        assert (math.isnan(x) and math.isnan(y)) or x == y, (name, x, y)


# ---- the layout of the pairs ---------------------------------------------------------


@pytest.mark.parametrize("n", [2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK + 188])
def test_every_pair_has_one_position_and_the_table_holds_its_pdist_distance(n):
    X = np.random.default_rng(n).normal(size=(n, 3))
    layout = PairLayout(n)
    i, j = layout.points_of(np.arange(layout.n_pairs))
    assert np.all(i < j)
    assert np.unique(i * n + j).size == layout.n_pairs  # every pair, once
    table = DistanceTable(X)
    square = squareform(pdist(X))
    # Bit for bit: cdist on blocks gives pdist's values.
    assert np.array_equal(table.values, square[i, j])
    for block in range(layout.n_blocks):
        start, end = layout.starts[block], layout.ends[block]
        column = table.column(block)
        assert np.array_equal(column[:n], square[:, start:end])
        assert np.array_equal(ComputedColumns(X).column(block), column)
        assert not column[n].any()  # the padding row


def test_pairs_among_and_between_sets_of_points_are_gathered_exactly():
    n = 2 * BLOCK + 88  # three blocks
    X = np.random.default_rng(1).normal(size=(n, 4))
    table = DistanceTable(X)
    square = squareform(pdist(X))
    rng = np.random.default_rng(2)
    points = np.sort(rng.choice(n, 2 * n // 5, replace=False))
    upper = np.triu_indices(points.size, 1)
    expected = square[np.ix_(points, points)][upper]
    assert np.array_equal(np.sort(table.among(points)), np.sort(expected))
    others = np.setdiff1d(np.arange(n), points)
    between = table.pairs.between(points, others)
    assert np.array_equal(np.sort(between), np.sort(square[np.ix_(points, others)].ravel()))
    touching = table.pairs.touching(points, others)
    assert np.array_equal(np.sort(touching), np.sort(np.concatenate((between, expected))))


def test_noise_points_extend_the_originals_distances_without_recomputing_them():
    X = np.random.default_rng(3).normal(size=(600, 5))
    added = np.random.default_rng(4).normal(size=(150, 5))
    parent = DistanceTable(X)
    extended = DistanceTable(np.vstack((X, added)), extends=parent)
    assert np.array_equal(extended.values, DistanceTable(np.vstack((X, added))).values)


@pytest.mark.parametrize(
    ("n", "m"),
    [
        (BLOCK + 88, 150),  # the parent ends inside a block
        (2 * BLOCK, 300),  # at the end of one
        (2 * BLOCK + 188, BLOCK),
        (700, 1),
        (300, 600),
        (BLOCK // 2, BLOCK // 2),
    ],
)
def test_a_table_of_added_points_gives_the_full_tables_columns_and_pairs(n, m):
    """``ExtendedTable`` holds only the pairs with an added point: its columns are a
    full table's bit for bit (blocks straddling the parent's end included), and what it
    spends for the counts is exactly the pairs with an added point."""
    rng = np.random.default_rng(n + m)
    X = np.round(rng.normal(size=(n + m, 5)), 1)  # ties
    parent = DistanceTable(X[:n])
    extended = ExtendedTable(X, parent)
    full = DistanceTable(X)
    for block in range(full.layout.n_blocks):
        assert np.array_equal(extended.column(block), full.column(block))
    i, j = full.layout.points_of(np.arange(full.layout.n_pairs))
    with_added = full.values[j >= n]
    spent = extended.spend()
    assert np.array_equal(np.sort(spent), np.sort(with_added))
    with pytest.raises(RuntimeError):
        extended.column(0)


def test_a_table_kept_sorted_holds_its_distances_in_ascending_order():
    X = np.round(make_blobs(n_samples=700, n_features=2, random_state=0)[0], 1)  # ties
    pairs = RankedPairs(X)
    assert pairs.table is not None
    pairs.ranks  # noqa: B018 - ranked on first use
    pairs.drop_ranks(keep_sorted=True)
    assert np.array_equal(pairs.table.sorted_values, np.sort(pairs.table.values))
    assert pairs._ranks is None


def test_added_noise_is_scored_the_same_with_its_parents_sorted_distances_as_alone(
    monkeypatch,
):
    """A variant with added points, scored on a point set extending the original's
    (the parent's sorted distances plus its own pairs with an added point sorted), gets
    the values it gets on a point set of its own, bit for bit."""
    X, y = make_blobs(n_samples=900, n_features=3, centers=5, random_state=4)
    X = np.round(X, 1)  # tied distances across the parent's and the added pairs
    rng = np.random.default_rng(5)
    added = np.round(rng.uniform(X.min(0), X.max(0), size=(400, 3)), 1)
    labels = np.concatenate((y, rng.integers(0, 5, size=400)))
    both = np.vstack((X, added))
    original = PointSet(X)
    original.evaluate(y)
    original.drop_ranks(keep_sorted=True)
    table = original._table()
    assert table is not None and table.sorted_values is not None
    built = []

    class Spied(ExtendedTable):
        def __init__(self, *args):
            super().__init__(*args)
            built.append(self)

    monkeypatch.setattr(pairing, "ExtendedTable", Spied)
    on_parent = PointSet(both, single_use=True, extends=original).evaluate(labels)
    assert len(built) == 1 and built[0].spent  # scored on the parent's, and counted
    alone = PointSet(both, single_use=True).evaluate(labels)
    same_values(on_parent, alone)
    assert not math.isnan(on_parent.values()["Gamma"])


@pytest.mark.parametrize("fits", [True, False])
def test_a_runs_noise_variants_extend_the_originals_sorted_distances(tmp_path, monkeypatch, fits):
    """In a training run, every noise variant is planned and scored as an
    ``ExtendedTable`` of the original (its planned memory fits it: nothing streams),
    or, when the sorted copy of the original's distances does not fit, on a table of
    its own that copies them; either way it gets the values a point set of its own
    gives."""
    X, y = make_blobs(n_samples=700, n_features=3, centers=4, random_state=3)
    path = tmp_path / "blobs.csv"
    columns = {"cluster_id": y, **{f"dim_{d}": X[:, d] for d in range(3)}}
    pd.DataFrame(columns).to_csv(path, index=False)
    built, streamed = [], []

    class Spied(ExtendedTable):
        def __init__(self, *args):
            super().__init__(*args)
            built.append(self.n)

    class Streamed(pairing.StreamedPairs):
        def __init__(self, *args):
            super().__init__(*args)
            streamed.append(1)

    monkeypatch.setattr(pairing, "ExtendedTable", Spied)
    monkeypatch.setattr(pointset, "StreamedPairs", Streamed)
    if not fits:
        monkeypatch.setattr(scoring, "_sorted_copy_fits", lambda *_: False)
    table = generate_training_data(path, types=["noise_injection"]).to_dataframe()
    variants, _ = build_variants(load_clustering(path), VariantPlan.parse("noise_injection"))
    sizes = [int(np.count_nonzero(v.labels != NOISE)) for v in variants]
    assert sorted(built) == (sorted(sizes) if fits else []) and not streamed
    for row, variant in zip(table.iloc[1:].to_dict("records"), variants, strict=True):
        scored = variant.labels != NOISE
        alone = PointSet(variant.X[scored], single_use=True).evaluate(variant.labels[scored])
        values = alone.values()
        for name, value in values.items():
            assert (math.isnan(value) and math.isnan(row[name])) or value == row[name], name
        assert not math.isnan(values["Gamma"]) and not math.isnan(values["G-plus"])


def test_the_sorted_copy_is_kept_only_when_it_fits_beside_the_largest_extension(
    tmp_path, monkeypatch
):
    X, y = make_blobs(n_samples=600, n_features=3, centers=4, random_state=1)
    path = tmp_path / "blobs.csv"
    pd.DataFrame({"cluster_id": y, **{f"dim_{d}": X[:, d] for d in range(3)}}).to_csv(
        path, index=False
    )
    clustering = load_clustering(path)
    variants, _ = build_variants(clustering, VariantPlan.parse("noise_injection", "50pct"))
    points = PointSet(clustering.points)
    points.evaluate(clustering.point_labels)
    added = variants[0]
    planned = int(points.memory_budget * pointset.PLANNED_SHARE)
    copy = points.distance_bytes()
    largest = scoring._schedule([added], points, extending=True)[1][0]
    ranks = 4 * 600 * 599 // 2
    need = copy + largest - ranks
    monkeypatch.setattr(scoring, "resident_bytes", lambda: planned - need)
    assert scoring._sorted_copy_fits([added], points)
    monkeypatch.setattr(scoring, "resident_bytes", lambda: planned - need + 1)
    assert not scoring._sorted_copy_fits([added], points)


# ---- ranks and ordering ----------------------------------------------------------------


@pytest.mark.parametrize(
    "values",
    [
        np.random.default_rng(0).random(20_000) * 100,
        np.round(np.random.default_rng(1).random(50_000) * 10, 2),  # many ties
        np.random.default_rng(2).random(50_000) ** 12 * 1e3,  # many binades: keys collide
        np.concatenate((np.full(300, 3.0), np.random.default_rng(3).random(700))),
    ],
)
def test_sorted_runs_orders_values_and_marks_runs_of_equal_values(values):
    positions = np.flatnonzero(np.random.default_rng(9).random(values.size) < 0.8)
    order, first = sorted_runs(values, positions.copy())
    assert np.array_equal(np.sort(order), positions)
    ordered = values[order]
    assert np.all(np.diff(ordered) >= 0)
    assert np.array_equal(first, np.concatenate(([True], ordered[1:] != ordered[:-1])))


_DISTINCT = np.random.default_rng(7).random(200_000)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("keys", "within"),
    [
        (np.round(np.random.default_rng(4).random(300_000) * 50, 1), np.arange(-1.0, 52.0, 0.05)),
        (np.random.default_rng(5).random(1000), np.random.default_rng(6).random(400_000)),
        (np.full(10, 2.0), np.array([1.0, 2.0, 2.0, 3.0])),  # queries at the last key
        # Queries among the keys (a labelling's within pairs among all pairs): most equal
        # one key, some two (keys repeated), the largest key too.
        (
            np.concatenate((_DISTINCT, _DISTINCT[:1000])),
            np.concatenate((_DISTINCT[::3], [_DISTINCT.max()])),
        ),
        (np.array([1.0, 2.0, 3.0]), np.array([3.0])),  # equal to the last key only
        (np.empty(0), np.array([1.0])),
        (np.array([1.0]), np.empty(0)),
    ],
)
def test_both_sides_counts_are_numpys_left_and_right_searches(keys, within, threads):
    keys, within = np.sort(keys), np.sort(within)
    with thread_budget(threads):
        got = counting._couples(keys, within)
    left = int(np.searchsorted(keys, within, "left").sum())
    right = int(np.searchsorted(keys, within, "right").sum())
    assert got == (left, right)  # (#{k < w}, #{k <= w}), whichever array is searched


@pytest.mark.parametrize("n_ranks", [1, 64, 65, 1000, 3 * (1 << 20) + 5])
@pytest.mark.parametrize("spans", [False, True])  # the ranks marked in one span or several
def test_rank_marks_count_the_marked_ranks_above_each_query(n_ranks, spans, monkeypatch):
    if spans:
        monkeypatch.setattr(counting, "_MARK_SPAN", 1 << 7 if n_ranks < 10_000 else 1 << 20)
    rng = np.random.default_rng(n_ranks)
    ends = np.array([0, 63, 64, n_ranks - 1])
    ends = ends[ends < n_ranks]
    marked = np.unique(np.concatenate((ends, rng.integers(0, n_ranks, n_ranks // 3 + 1))))
    queries = np.concatenate((ends, rng.integers(0, n_ranks, 2 * n_ranks))).astype(np.int32)
    repeated = np.concatenate((marked, marked[::3]))  # a rank repeated is marked once
    marks = RankMarks(rng.permutation(repeated).astype(np.int32), n_ranks)
    expected = int(np.sum(marked.size - np.searchsorted(marked, queries, "right")))
    assert marks.above(queries) == expected


@pytest.mark.parametrize("kept", [0.9, 0.4])  # pairs left out counted, or pairs kept
@pytest.mark.parametrize("decimals", [0, 1, None])  # many ties, some, none
def test_a_subsets_concordance_counts_from_rank_marks_are_the_definitions(kept, decimals):
    X, y = make_blobs(n_samples=300, n_features=2, centers=4, random_state=7)
    if decimals is not None:
        X = np.round(X, decimals)
    pairs = RankedPairs(X)
    ranks = pairs.ranks
    present = np.sort(np.random.default_rng(8).choice(300, int(300 * kept), replace=False))
    i, j = np.triu_indices(present.size, 1)
    within = y[present][i] == y[present][j]
    square = squareform(pdist(X))
    distances = square[present[i], present[j]]
    rank_square = np.zeros((300, 300), dtype=np.int32)
    a, b = pairs.table.layout.points_of(np.arange(pairs.table.layout.n_pairs))
    rank_square[a, b] = ranks.ranks
    s_plus, s_minus = ranks.subset_counts(present, rank_square[present[i], present[j]][within])
    between = np.sort(distances[~within])
    w = distances[within]
    # s+: (within, between) couples with the within distance smaller; s-: larger.
    assert s_plus == int(np.sum(between.size - np.searchsorted(between, w, "right")))
    assert s_minus == int(np.sum(np.searchsorted(between, w, "left")))


def test_counts_are_the_same_when_too_many_pairs_tie_to_list_them(monkeypatch):
    """A labelling of every point is counted from its within ranks' sum when the tied
    pairs are listed, and from its within ranks one by one when too many tie; a
    labelling sharing clusters with the batch's first gets the same counts either way
    (the first's within ranks were once sorted in place before the others copied
    them)."""
    X, y = make_blobs(n_samples=400, n_features=2, centers=4, random_state=5)
    X = np.round(X)  # many ties
    labellings = [y, (y + 1) % 4, np.where(y == 0, 1, y)]
    listed = PointSet(X).evaluate_many(labellings)
    monkeypatch.setattr(counting, "TIED_PAIRS_KEPT", 0)
    unlisted = PointSet(X).evaluate_many(labellings)
    distances = pdist(X)
    i, j = np.triu_indices(X.shape[0], 1)
    for labels, a, b in zip(labellings, listed, unlisted, strict=True):
        same_values(a, b)
        within = labels[i] == labels[j]
        between = np.sort(distances[~within])
        w = distances[within]
        s_minus = np.sum(np.searchsorted(between, w, "left"))
        s_plus = np.sum(between.size - np.searchsorted(between, w, "right"))
        assert b.values()["Gamma"] == pytest.approx((s_plus - s_minus) / (s_plus + s_minus))


@pytest.mark.parametrize("part_pairs", [5_000, 300, 1 << 23])  # 16, 266 and 1 value range
def test_pair_ranks_count_the_pairs_below_each_pair(part_pairs):
    X = np.round(make_blobs(n_samples=400, n_features=2, random_state=0)[0], 1)  # ties
    table = DistanceTable(X)
    ranks = PairRanks(table.layout, table.values, part_pairs)
    # scipy's "min" rank, from 0: how many values lie strictly below.
    assert np.array_equal(ranks.ranks, rankdata(table.values, method="min").astype(int) - 1)
    values, counts = np.unique(table.values, return_counts=True)
    tied = counts > 1
    expected_ranks = np.searchsorted(np.sort(table.values), values[tied])
    assert np.array_equal(ranks.ties[0], expected_ranks)
    assert np.array_equal(ranks.ties[1], counts[tied])
    assert ranks.tied_pairs is not None
    i, j, tie = ranks.tied_pairs
    square = squareform(pdist(X))
    # The tied pairs are those of the repeated distances, numbered by their tie.
    assert np.array_equal(square[i, j], values[tied][tie])
    assert np.array_equal(np.bincount(tie), counts[tied])


@pytest.mark.parametrize("part_pairs", [5_000, 1 << 23])
def test_pair_ranks_without_ties_are_each_pairs_place_in_order(part_pairs):
    X = np.random.default_rng(3).normal(size=(300, 5))  # no two distances agree
    table = DistanceTable(X)
    assert np.unique(table.values).size == table.values.size
    ranks = PairRanks(table.layout, table.values, part_pairs)
    expected = np.empty(table.values.size, dtype=np.int64)
    expected[np.argsort(table.values)] = np.arange(table.values.size)
    assert np.array_equal(ranks.ranks, expected)
    assert ranks.ties[0].size == ranks.ties[1].size == 0
    assert ranks.tied_pairs is not None
    assert all(part.size == 0 for part in ranks.tied_pairs)


# ---- values ----------------------------------------------------------------------------


def _golden_cases():
    X, y = make_blobs(n_samples=300, n_features=4, centers=4, random_state=0)
    yield "blobs", X, y
    X, y = make_blobs(n_samples=400, n_features=3, centers=5, random_state=1)
    yield "ties", np.round(X, 1), y
    X, y = make_blobs(n_samples=500, n_features=2, centers=3, random_state=2)
    yield "grid", np.round(X * 2) / 2, y


# Summed per point since the one-pass engine, or through BLAS (see below).
_LAST_BIT_VARIES = {
    "McClain-Rao",
    "Point-Biserial",
    "NCI",
    "S_Dbw",
    "Score Function",
    "SD validity",
}


def test_values_are_the_previous_releases_bit_for_bit():
    """Recorded with metricate before the one-pass engine (the indices that need no
    BLAS, whose bits could depend on the machine). McClain-Rao and Point-Biserial now
    add the within-cluster distances per point, not sorted: the same sum to the last
    bits or so. A few indices take a dot or matrix product of small arrays (BLAS),
    whose last bit depends on the CPU's kernel: recorded on an Intel machine, they
    differ by an ulp on an AMD one, and with OPENBLAS_CORETYPE."""
    recorded = json.loads((DATA / "previous_release_values.json").read_text())
    for name, X, y in _golden_cases():
        rng = np.random.default_rng(5)
        points = PointSet(X)
        noisy = y.copy()
        noisy[::7] = -1
        split = y.copy()
        members = np.flatnonzero(y == 2)
        split[members[: members.size // 2]] = y.max() + 1
        labellings = {
            "orig": y,
            "perm": rng.permutation(y),
            "merge": np.where(y == 1, 0, y),
            "swap": np.where(rng.random(y.size) < 0.1, rng.integers(0, y.max() + 1, y.size), y),
            "noisy": noisy,
            "split": split,
        }
        results = {key: points.evaluate(labels) for key, labels in labellings.items()}
        rows = np.setdiff1d(np.arange(y.size), np.arange(0, y.size, 5))
        results["subset"] = points.subset(rows).evaluate(y[rows])
        keep = np.flatnonzero(y != 0)
        results["removecluster"] = points.subset(keep).evaluate(y[keep])
        for key, result in results.items():
            for metric, text in recorded[f"{name}/{key}"].items():
                old, new = float(text), result[metric].value
                if metric in _LAST_BIT_VARIES:
                    assert new == pytest.approx(old, rel=1e-12, abs=1e-15), (name, key, metric)
                else:
                    assert repr(new) == text, (name, key, metric)


def test_a_batch_gives_each_labelling_the_values_it_gets_alone():
    X, y = make_blobs(n_samples=700, n_features=3, centers=6, random_state=3)
    X = np.round(X, 1)  # tied distances
    rng = np.random.default_rng(0)
    points = PointSet(X)
    swapped = y.copy()
    moved = rng.choice(y.size, 70, replace=False)
    swapped[moved] = rng.integers(0, 6, 70)
    merged = np.where(y == 1, 0, y)
    split = y.copy()
    split[np.flatnonzero(y == 2)[::2]] = 6
    kept = np.flatnonzero(y != 3)  # a whole cluster removed: the others are shared
    thinned = np.sort(rng.choice(y.size, 500, replace=False))
    batch = points.evaluate_many(
        [
            y,
            swapped,
            merged,
            split,
            (points.subset(kept), y[kept]),
            (points.subset(thinned), swapped[thinned]),
        ]
    )
    alone = [
        PointSet(X).evaluate(y),
        PointSet(X).evaluate(swapped),
        PointSet(X).evaluate(merged),
        PointSet(X).evaluate(split),
        PointSet(X[kept]).evaluate(y[kept]),
        PointSet(X[thinned]).evaluate(swapped[thinned]),
    ]
    for got, expected in zip(batch, alone, strict=True):
        same_values(got, expected)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(
    ("bits", "share"),
    [(20, 1.0), (3, 1.0), (20, 0.0)],  # bucketed; coarse buckets shared; sorted in runs
)
def test_single_use_counts_match_the_ranked_counts(monkeypatch, threads, bits, share):
    import metricate.metrics.counting as counting
    import metricate.metrics.distances as distances

    monkeypatch.setattr(distances, "SORT_RUN_MIN", 100)  # several runs for small sets
    monkeypatch.setattr(counting, "BUCKET_BITS", bits)
    monkeypatch.setattr(counting, "BUCKETED_SHARE", share)
    X, y = make_blobs(n_samples=500, n_features=2, centers=4, random_state=3)
    X = np.round(X, 1)  # many equal distances, within pairs and between them
    rows = np.arange(0, 500, 2)
    with thread_budget(threads):
        runs = distances.sort_in_runs(np.arange(1000.0)[::-1].copy())
        assert len(runs) == threads and all(np.all(np.diff(r) > 0) for r in runs)
        once = PointSet(X, single_use=True).evaluate(y)
        once_subset = PointSet(X, single_use=True).subset(rows).evaluate(y[rows])
    kept = PointSet(X)
    for got, expected in [
        (once, kept.evaluate(y)),
        (once_subset, kept.subset(rows).evaluate(y[rows])),
    ]:
        for name in ("Gamma", "G-plus", "Tau"):
            assert got[name].value == expected[name].value, name


def test_distances_let_go_after_ranking_give_the_same_values():
    X, y = make_blobs(n_samples=600, n_features=3, centers=5, random_state=4)
    X = np.round(X, 1)
    rows = np.arange(0, 600, 3)
    reference = [PointSet(X).evaluate(y), PointSet(X[rows]).evaluate(y[rows])]
    points = PointSet(X)
    # Room for a pass without the distances (and the within pairs it gathers), not with.
    room = RankedPairs.pass_bytes(600, False, gathered=0) + 500_000
    assert room < RankedPairs.pass_bytes(600, True, gathered=0)
    points._pairs = source = RankedPairs(X, room=room)
    got = points.evaluate_many([y, (points.subset(rows), y[rows])])
    assert source.table is None and isinstance(source.columns, ComputedColumns)
    for a, b in zip(got, reference, strict=True):
        same_values(a, b)


def test_a_tight_room_ranks_in_smaller_parts_never_in_more_than_it_allows():
    from metricate.metrics.counting import RANK_PART_PAIRS

    n, pairs = 20_000, 20_000 * 19_999 // 2
    needed = {part: RankedPairs.ranking_bytes(n, part_pairs=part) for part in (1 << 23, 1 << 22)}
    # 28 bytes per pair of a part, on each of the budget's threads.
    assert needed[1 << 23] - needed[1 << 22] == 28 * (1 << 22) * thread_count()
    plan = RankedPairs.__new__(RankedPairs)
    plan.n = n
    for room, part in [
        (None, RANK_PART_PAIRS),
        (needed[1 << 23], 1 << 23),
        (needed[1 << 23] - 1, 1 << 22),
        (needed[1 << 22], 1 << 22),
        (0, 1 << 20),  # the smallest parts: at least 2**20 pairs, at most 254 parts
    ]:
        plan.room = room
        assert plan._part_pairs() == part, room
    assert -(-pairs // (1 << 20)) <= 254


# ---- wide embeddings ---------------------------------------------------------------------


def test_a_scatter_matrix_of_too_few_points_is_singular_without_any_eigenvalues(monkeypatch):
    X, y = make_blobs(n_samples=60, n_features=100, centers=3, random_state=0)
    calls = []
    original = np.linalg.eigvalsh
    monkeypatch.setattr(np.linalg, "eigvalsh", lambda m: calls.append(m.shape) or original(m))
    result = PointSet(X).evaluate(y)
    assert calls == []  # p = 100 > N - K = 57: WG, T and every WG_k are singular by rank
    for name in ("Det Ratio", "Log_Det_Ratio", "Trace_WiB", "Ksq_DetW"):
        assert not result[name].computed and "singular" in result[name].reason, name
    for name in ("Negentropy", "Scott-Symons"):
        assert "more points than dimensions" in result[name].reason, name


def test_the_total_scatter_is_factored_once_for_every_labelling_of_a_point_set(monkeypatch):
    X, y = make_blobs(n_samples=300, n_features=6, centers=3, random_state=0)
    calls = []
    original = np.linalg.eigvalsh
    monkeypatch.setattr(np.linalg, "eigvalsh", lambda m: calls.append(m.shape) or original(m))
    labellings = [y, np.roll(y, 3), np.where(y == 2, 1, y)]
    results = PointSet(X).evaluate_many(labellings)
    # One T for the three; one WG and three WG_k per labelling at most (two for the merge).
    assert len(calls) <= 1 + 3 + 3 + 3 + 2
    for labels, result in zip(labellings, results, strict=True):
        same_values(result, PointSet(X).evaluate(labels))


# ---- threads and memory --------------------------------------------------------------------


def test_nested_parallel_work_never_exceeds_the_thread_budget():
    seen = []

    def inner(_):
        seen.append(thread_count())

    def outer(_):
        parallel_map(inner, range(4))

    with thread_budget(2):
        parallel_map(outer, range(4))
    assert seen and max(seen) == 1  # each of the 2 threads has a share of 1


def test_bounded_map_keeps_order_and_never_runs_more_than_the_limit_allows():
    running, most = [0], [0]
    lock = threading.Lock()

    def work(cost):
        with lock:
            running[0] += cost
            most[0] = max(most[0], running[0])
        time.sleep(0.02)
        with lock:
            running[0] -= cost
        return cost * 10

    costs = [5, 1, 4, 2, 3, 6]
    with thread_budget(2):
        out = bounded_map(work, costs, costs, limit=7)
    assert out == [c * 10 for c in costs]
    assert most[0] <= 7  # never two whose costs pass the limit (6 ran alone)
    with thread_budget(2), pytest.raises(ValueError, match="boom"):
        bounded_map(lambda c: (_ for _ in ()).throw(ValueError("boom")), costs, costs, 7)


def test_bounded_map_hands_a_finished_items_threads_to_the_one_still_running():
    """The long item starts with one of two threads; once the short one is done and
    nothing is pending, work it starts from then on gets both, and never more than
    the budget in all."""
    seen: dict[str, list[int]] = {"long": [], "short": []}
    short_done = threading.Event()

    def work(name):
        seen[name].append(thread_count())
        if name == "short":
            time.sleep(0.05)
            return name
        short_done.wait(5)
        time.sleep(0.05)  # the handover happens as the short item's thread exits
        seen[name].append(thread_count())
        nested = parallel_map(lambda _: thread_count(), range(4))
        return max(nested)

    with thread_budget(2):
        out = bounded_map(
            lambda name: (work(name), name == "short" and short_done.set())[0],
            ["long", "short"],
            [2, 1],
            limit=3,
        )
    assert seen == {"long": [1, 2], "short": [1]}
    assert out == [1, "short"]  # the nested map ran on 2 threads of a share of 1 each
    with thread_budget(1):
        assert bounded_map(work, ["short"], [1], 1) == ["short"]


@pytest.mark.parametrize(
    "text, size",
    [("4GB", 4 * 10**9), ("512MB", 512 * 10**6), ("1.5GiB", int(1.5 * 2**30)), (10**9, 10**9)],
)
def test_memory_budgets_are_read_as_sizes(text, size):
    assert parse_size(text) == size
    assert parse_size(format_size(size)) == pytest.approx(size, rel=0.01)


@pytest.mark.parametrize("text", ["4 apples", "-1GB", "3", True, "GB"])
def test_a_bad_memory_budget_is_a_one_line_error(text):
    with pytest.raises(InvalidOptionError, match="memory budget"):
        parse_size(text)


def test_a_tight_budget_streams_the_distances_and_gives_the_same_values():
    X, y = make_blobs(n_samples=500, n_features=3, centers=4, random_state=1)
    # 300 MB hold the libraries and little else: nothing of size n^2 is planned.
    tight = PointSet(X, memory_budget=parse_size("300MB"))
    same_values(tight.evaluate(y), PointSet(X).evaluate(y))
    assert not tight.has_distances


def _counts_by_search(values: np.ndarray, within: np.ndarray) -> tuple[int, int]:
    """(keys below each within key, summed; keys equal to each, less the within keys
    equal to it, summed), by searching every within key in all the keys sorted."""
    ordered = np.sort(values)
    left = np.searchsorted(ordered, within, "left")
    right = np.searchsorted(ordered, within, "right")
    _, runs = np.unique(within, return_counts=True)
    return int(left.sum()), int((right - left).sum() - (runs * runs).sum())


@pytest.mark.parametrize("cold_every", [4, 1])  # the probe misled; the probe right
@pytest.mark.parametrize("threads", [1, 2])
def test_bucketed_counts_stay_exact_when_the_probe_misjudges_the_hot_share(
    monkeypatch, cold_every, threads
):
    import metricate.metrics.counting as counting

    sorted_all = []
    original = counting.SortedRunsCounter.count

    def recorded(self, within):
        sorted_all.append(True)
        return original(self, within)

    monkeypatch.setattr(counting.SortedRunsCounter, "count", recorded)
    monkeypatch.setattr(
        counting,
        "_chunks",
        lambda size, step=4096: [slice(start, start + step) for start in range(0, size, step)],
    )
    rng = np.random.default_rng(5)
    size = 4 * counting.HOT_PROBE
    # Every fourth key (all the probe looks at) far from the within keys, the rest
    # among them, rounded so that many keys tie.
    values = np.round(rng.uniform(1.0, 2.0, size), 3)
    cold = np.where(
        rng.random(size) < 0.5, rng.uniform(0.0, 0.5, size), rng.uniform(1e3, 2e3, size)
    )
    values[::cold_every] = np.round(cold, 2)[::cold_every]  # below and above the within keys
    within = (
        np.sort(values[(values >= 1.0) & (values < 3.0)][:5000]) if cold_every > 1 else np.empty(0)
    )
    if cold_every == 1:  # all keys cold but a few within keys: the bucketed path
        values[:2000] = np.round(rng.uniform(1.0, 2.0, 2000), 3)
        within = np.sort(values[:2000])
    expected = _counts_by_search(values, within)
    with thread_budget(threads):
        got = counting.BucketedPairCounter(values.copy()).count(within)
    assert got == expected
    assert bool(sorted_all) == (cold_every > 1)  # a misled probe still ends in a sort


def test_a_recycled_distance_array_serves_a_table_of_about_its_size_only_inside_the_block():
    from metricate.metrics import distances

    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 3))
    Y = rng.normal(size=(650, 3))  # 210,925 pairs: at least SPARE_FILL of X's 244,650
    Z = rng.normal(size=(300, 3))  # far fewer pairs: takes no spare
    with distances.reused_tables():
        first = DistanceTable(X)
        spare = first.values
        spare[:] = np.nan  # what a sort in place leaves is garbage: every pair is rewritten
        first.recycle()
        second = DistanceTable(Y)
        assert np.shares_memory(second.values, spare)
        assert np.array_equal(np.sort(second.values), np.sort(pdist(Y)))
        second.recycle()
        third = DistanceTable(Z)  # finds none that fits: all spares go
        assert not np.shares_memory(third.values, spare)
        assert distances._SPARES.arrays == []
        third.recycle()
    assert distances._SPARES.arrays == []  # let go at the end of the block
    outside = DistanceTable(X)
    outside.recycle()
    assert distances._SPARES.arrays == []  # nothing kept outside a block
    # Every position holds its own pair's distance, as in a fresh table.
    with distances.reused_tables():
        DistanceTable(X).recycle()
        again = DistanceTable(Y)
        fresh = DistanceTable(Y)
        assert np.array_equal(again.values, fresh.values)
