"""PointSet: reuse across labellings and subsets, invariances, large_n, exclusions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.datasets import load_digits, make_blobs

from metricate import InsufficientClustersError, InvalidOptionError, PointSet
from metricate.metrics import INTERNAL_METRICS
from metricate.metrics.pairing import RankedPairs

PAIR_BASED = [m.name for m in INTERNAL_METRICS if m.needs_pairs]


def blobs(n=240, d=4, k=4, seed=0, std=1.0):
    return make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std, random_state=seed)


def same_values(a, b):
    """Equal bit for bit, NaN equal to NaN."""
    va, vb = a.values(), b.values()
    assert list(va) == list(vb)
    for name in va:
        x, y = va[name], vb[name]
        assert (math.isnan(x) and math.isnan(y)) or x == y, (name, x, y)


def test_reusing_a_point_set_gives_bit_identical_values_to_a_fresh_one():
    X, y = blobs()
    rng = np.random.default_rng(0)
    labellings = [y, rng.permutation(y), np.where(y == 3, 2, y)]
    shared = PointSet(X)
    for labels in labellings:
        same_values(shared.evaluate(labels), PointSet(X).evaluate(labels))


def test_subset_gives_bit_identical_values_to_a_fresh_point_set_of_those_points():
    X, y = blobs(300)
    parent = PointSet(X)
    parent.evaluate(y)
    for rows in (np.arange(0, 300, 2), np.setdiff1d(np.arange(300), [5, 17, 200])):
        same_values(parent.subset(rows).evaluate(y[rows]), PointSet(X[rows]).evaluate(y[rows]))


def test_subset_reuses_the_parent_distances():
    X, y = blobs(200)
    parent = PointSet(X)
    parent.evaluate(y)
    source = parent._pairs
    assert isinstance(source, RankedPairs)
    child = parent.subset(np.arange(150))
    child.evaluate(y[:150])
    assert child.root is parent and parent._pairs is source and child._pairs is None


def test_noise_labels_are_left_out():
    X, y = blobs(200)
    labels = y.copy()
    labels[::10] = -1
    kept = labels != -1
    result = PointSet(X).evaluate(labels)
    same_values(result, PointSet(X[kept]).evaluate(labels[kept]))
    assert result.metadata["n_noise"] == 20
    assert result.metadata["n_samples"] == 180


def test_values_do_not_depend_on_point_order():
    X, y = blobs(200, seed=3)
    order = np.random.default_rng(1).permutation(200)
    a = PointSet(X).evaluate(y).values()
    b = PointSet(X[order]).evaluate(y[order]).values()
    for name in a:
        assert b[name] == pytest.approx(a[name], rel=1e-9, nan_ok=True), name


def test_values_do_not_depend_on_cluster_ids():
    X, y = blobs(200, seed=4)
    renamed = np.array([40, 7, 1000, 3])[y]
    a = PointSet(X).evaluate(y).values()
    b = PointSet(X).evaluate(renamed).values()
    for name in a:
        assert b[name] == pytest.approx(a[name], rel=1e-9, nan_ok=True), name


# Indices whose value must get worse when 30% of the labels of well-separated blobs
# are shuffled: each rewards compact, separated clusters, and shuffling mixes them.
WORSENS = [
    "Silhouette",
    "Davies-Bouldin",
    "Calinski-Harabasz",
    "Dunn Index",
    "SSE",
    "NCI",
    "Ball-Hall",
    "Ratkowsky-Lance",
    "Ray-Turi",
    "RMSSTD",
    "R-squared",
    "Wemmert-Gancarski",
    "CS index",
    "COP",
    "Det Ratio",
    "Gamma",
    "Generalized Dunn",
    "G-plus",
    "I-index (PBM)",
    "Log_Det_Ratio",
    "McClain-Rao",
    "Point-Biserial",
    "SD validity",
    "Tau",
    "Trace_WiB",
    "Ksq_DetW",
    "Banfield-Raftery",
    "Negentropy",
    "NIVA",
    "Score Function",
    "Scott-Symons",
]


def test_shuffling_labels_scores_worse_on_every_index():
    X, y = blobs(600, d=6, k=5, seed=7, std=0.8)
    rng = np.random.default_rng(2)
    noisy = y.copy()
    idx = rng.choice(600, 180, replace=False)
    noisy[idx] = rng.permutation(noisy[idx])
    points = PointSet(X)
    good, bad = points.evaluate(y), points.evaluate(noisy)
    for name in WORSENS:
        g, b = good[name], bad[name]
        assert g.computed and b.computed, name
        if g.direction == "higher":
            assert b.value < g.value, name
        else:
            assert b.value > g.value, name


def test_exclude_skips_named_metrics_and_marks_them():
    X, y = blobs()
    result = PointSet(X).evaluate(y, exclude=["Gamma", "SSE"])
    assert not result["Gamma"].computed and result["Gamma"].reason == "excluded"
    assert math.isnan(result["SSE"].value)
    assert result.metrics_computed == 30
    assert result.metrics_failed == ["SSE", "Gamma"]


def test_excluding_every_pair_metric_computes_no_distances():
    X, y = blobs()
    points = PointSet(X)
    points.evaluate(y, exclude=PAIR_BASED)
    assert not points.has_distances


def test_unknown_metric_name_is_an_error_listing_valid_names():
    X, y = blobs()
    with pytest.raises(InvalidOptionError, match="unknown metric.*'Nope'.*Silhouette, Davies"):
        PointSet(X).evaluate(y, exclude=["Nope"])


def test_above_large_n_pair_metrics_use_a_stratified_sample_the_same_for_every_labelling():
    X, y = blobs(300)
    points = PointSet(X, large_n=200, seed=3)
    result = points.evaluate(y)
    sample = points.sample_rows
    assert sample is not None and sample.size == 200
    assert np.all(np.diff(sample) > 0)
    # Stratified: each cluster keeps its share of the points (75 of 300 -> 50 of 200).
    assert list(np.bincount(y[sample])) == [50, 50, 50, 50]
    assert result.sampled == PAIR_BASED
    assert result.metadata["pair_sample_size"] == 200
    assert (
        "12 pair-based metrics computed on a stratified sample of 200 of 300"
        in (result.warnings[0])
    )
    on_sample = PointSet(X[sample]).evaluate(y[sample])
    everything = PointSet(X).evaluate(y)
    for name in result.values():
        # Pair-based values are the sample's, bit for bit; the others use every point.
        expected = on_sample if name in PAIR_BASED else everything
        assert result[name].value == expected[name].value, name
    # A later labelling, and a subset, use the same sample.
    swapped = np.roll(y, 7)
    again = points.evaluate(swapped)
    assert np.array_equal(points.sample_rows, sample)
    assert (
        again["Silhouette"].value
        == PointSet(X[sample]).evaluate(swapped[sample])["Silhouette"].value
    )
    rows = np.arange(0, 300, 2)
    kept = np.intersect1d(rows, sample)
    sub = points.subset(rows).evaluate(y[rows])
    assert sub["Gamma"].value == PointSet(X[kept]).evaluate(y[kept])["Gamma"].value
    assert sub.metadata["pair_sample_size"] == kept.size


def test_force_all_computes_pair_metrics_on_every_point_above_large_n():
    X, y = blobs(300)
    result = PointSet(X, large_n=200).evaluate(y, force_all=True)
    assert result.sampled == [] and "pair_sample_size" not in result.metadata
    same_values(result, PointSet(X).evaluate(y))


@pytest.mark.parametrize("source", ["ranked", "once", "streamed"])
def test_every_way_of_keeping_the_distances_gives_bit_identical_values(source):
    X, y = make_blobs(n_samples=500, n_features=3, centers=4, random_state=1)
    X = np.round(X, 1)  # ties among distances, to exercise exact tie counting
    labels = y.copy()
    labels[::7] = (labels[::7] + 1) % 4
    labels[::11] = -1
    # pair_memory=0: nothing of size n^2 fits, the distances are streamed.
    options = {
        "ranked": {},
        "once": {"single_use": True},
        "streamed": {"pair_memory": 0},
    }[source]
    reference = PointSet(X).evaluate(labels)
    points = PointSet(X, **options)
    same_values(points.evaluate(labels), reference)
    kinds = {"ranked": RankedPairs, "once": type(None), "streamed": type(None)}
    assert isinstance(points._pairs, kinds[source])  # a once-used set lets its table go
    rows = np.arange(0, 500, 3)
    same_values(
        PointSet(X, **options).subset(rows).evaluate(labels[rows]),
        PointSet(X[rows]).evaluate(labels[rows]),
    )


def test_one_cluster_is_an_error():
    X, _ = blobs(50)
    with pytest.raises(InsufficientClustersError, match="at least 2 clusters"):
        PointSet(X).evaluate(np.zeros(50, dtype=int))


def test_only_noise_and_one_cluster_is_an_error():
    X, _ = blobs(50)
    labels = np.full(50, -1)
    labels[:10] = 3
    with pytest.raises(InsufficientClustersError):
        PointSet(X).evaluate(labels)


def test_wrong_label_count_is_an_error():
    X, y = blobs(50)
    with pytest.raises(InvalidOptionError, match="expected 50 labels"):
        PointSet(X).evaluate(y[:49])


def test_determinant_indices_undefined_when_dimensions_exceed_cluster_sizes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 60))  # p = 60 > N - K
    y = np.repeat(np.arange(4), 10)
    result = PointSet(X).evaluate(y)
    for name in (
        "Det Ratio",
        "Log_Det_Ratio",
        "Trace_WiB",
        "Ksq_DetW",
        "Negentropy",
        "Scott-Symons",
    ):
        assert not result[name].computed, name
        assert "p=60" in result[name].reason
    assert "singular" in result["Det Ratio"].reason
    assert any(w.startswith("Det Ratio: ") for w in result.warnings)
    assert result["Silhouette"].computed


def test_singleton_clusters_make_log_scatter_indices_undefined():
    X, y = blobs(60, d=2, k=3)
    labels = y.copy()
    labels[0] = 9
    result = PointSet(X).evaluate(labels)
    assert not result["Banfield-Raftery"].computed
    assert "zero scatter" in result["Banfield-Raftery"].reason
    assert result["Silhouette"].computed


def test_all_singletons_leave_no_within_pairs():
    X, _ = blobs(12, d=2, k=3)
    result = PointSet(X).evaluate(np.arange(12))
    for name in ("Gamma", "Tau", "G-plus", "McClain-Rao", "Point-Biserial"):
        assert not result[name].computed, name
        assert "within-cluster pairs" in result[name].reason


def test_overflowing_determinant_is_undefined_not_inf():
    X, y = blobs(400, d=40, k=3, std=1e5)
    result = PointSet(X).evaluate(y)
    assert not result["Ksq_DetW"].computed
    assert "outside float64 range" in result["Ksq_DetW"].reason
    assert result["Log_Det_Ratio"].computed


def test_real_data_digits_every_index_defined():
    digits = load_digits()
    X = digits.data + np.random.default_rng(0).normal(0, 0.01, digits.data.shape)
    result = PointSet(X).evaluate(digits.target)
    undefined = {m.name for m in result.metrics if not m.computed}
    assert undefined <= {"S_Dbw", "Ksq_DetW"}, undefined
    assert 0.1 < result["Silhouette"].value < 0.3


SCRIPT = """
import json
from sklearn.datasets import make_blobs
from metricate import PointSet
X, y = make_blobs(n_samples=1500, n_features=20, centers=7, random_state=0)
print(json.dumps({k: repr(v) for k, v in PointSet(X).evaluate(y).values().items()}))
"""


def test_values_bit_identical_whatever_the_thread_count():
    import json
    import os
    import subprocess
    import sys

    outputs = []
    for threads in ("1", "3"):
        env = {**os.environ, "METRICATE_THREADS": threads, "OPENBLAS_NUM_THREADS": threads}
        proc = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        outputs.append(json.loads(proc.stdout))
    assert outputs[0] == outputs[1]


def test_a_single_use_set_scored_twice_gives_bit_identical_values():
    X, y = blobs(400, seed=9)
    X = np.round(X, 1)  # tied distances too
    once = PointSet(X, single_use=True)
    same_values(once.evaluate(y), PointSet(X).evaluate(y))
    other = np.roll(y, 5)
    same_values(once.evaluate(other), PointSet(X).evaluate(other))


@pytest.mark.parametrize("threaded_min", [0, 10**9])  # on the threads, then on one
def test_a_batch_is_scored_alike_on_one_thread_or_two(monkeypatch, threaded_min):
    """Below THREADED_SCORING_MIN coordinates a batch's labellings are scored on the
    calling thread; above it on the budget's threads. The values are the same."""
    import threading

    from metricate.metrics import pointset as pointset_module
    from metricate.parallel import thread_budget

    X, y = blobs(300, d=5)
    rng = np.random.default_rng(3)
    labellings = [y, rng.permutation(y), np.where(y == 3, 2, y)]
    with thread_budget(1):
        expected = PointSet(X).evaluate_many(labellings)
    monkeypatch.setattr(pointset_module, "THREADED_SCORING_MIN", threaded_min)
    ran_on: set[str] = set()
    evaluate = pointset_module._evaluate

    def recorded(*args):
        ran_on.add(threading.current_thread().name)
        return evaluate(*args)

    monkeypatch.setattr(pointset_module, "_evaluate", recorded)
    with thread_budget(2):
        results = PointSet(X).evaluate_many(labellings)
    on_main = {threading.main_thread().name}
    assert ran_on == on_main if threaded_min else ran_on and not ran_on & on_main
    for got, want in zip(results, expected, strict=True):
        same_values(got, want)


# ---- distances started while the labellings are prepared -----------------------------


def test_a_started_table_holds_the_same_distances_bit_for_bit():
    from metricate.metrics.distances import DistanceTable, StartedTable
    from metricate.parallel import thread_budget

    X, _ = blobs(1_300, d=6, k=5)  # three blocks
    at_once = DistanceTable(X)
    with thread_budget(2):
        for wait in (False, True):  # the caller helps at once, or finds all done
            started = StartedTable(X)
            if wait:
                for thread in started._threads:
                    thread.join()
            table = started.result()
            assert np.array_equal(table.values, at_once.values)
            tiles = zip(table.tiles, at_once.tiles, strict=True)
            assert all(np.array_equal(a, b) for a, b in tiles)


def test_a_started_table_keeps_a_thread_of_the_budget_for_the_caller(monkeypatch):
    import threading
    import time

    from metricate.metrics.distances import DistanceTable, StartedTable
    from metricate.parallel import thread_budget

    lock = threading.Lock()
    running = [0]
    most = {"before": 0, "after": 0}
    phase = ["before"]
    callers: set[int] = set()
    fill = DistanceTable._fill

    def counted(self, X, block, parent):
        with lock:
            running[0] += 1
            most[phase[0]] = max(most[phase[0]], running[0])
            callers.add(threading.get_ident())
        time.sleep(0.02)
        try:
            fill(self, X, block, parent)
        finally:
            with lock:
                running[0] -= 1

    monkeypatch.setattr(DistanceTable, "_fill", counted)
    X, _ = blobs(4_000, d=3, k=4)  # eight blocks
    with thread_budget(3):
        started = StartedTable(X)
        waited = time.monotonic()
        while most["before"] < 2 and time.monotonic() - waited < 10:  # the caller's work
            time.sleep(0.005)
        with lock:
            phase[0] = "after"
        table = started.result()
    assert most["before"] == 2  # the budget less the caller's thread
    assert most["after"] <= 3  # the caller joins them
    assert threading.get_ident() in callers  # and computed blocks itself
    assert np.array_equal(table.values, DistanceTable(X).values)


def test_a_started_tables_error_reaches_the_caller(monkeypatch):
    from metricate.metrics.distances import DistanceTable, StartedTable
    from metricate.parallel import thread_budget

    def broken(self, X, block, parent):
        raise MemoryError("no room for block")

    monkeypatch.setattr(DistanceTable, "_fill", broken)
    X, _ = blobs(1_300)
    with thread_budget(2), pytest.raises(MemoryError, match="no room for block"):
        StartedTable(X).result()


def test_distances_started_early_give_the_same_values_as_computed_when_scored():
    from metricate.parallel import thread_budget

    X, y = blobs(1_200, d=5, k=6)
    rng = np.random.default_rng(3)
    labellings = [y, np.where(y == 1, 2, y), rng.permutation(y)]
    with thread_budget(2):
        early = PointSet(X)
        early.start_distances()
        assert early._started is not None
        first = early.evaluate_many(labellings)
        assert early._started is None and isinstance(early._pairs, RankedPairs)
    for a, b in zip(first, PointSet(X).evaluate_many(labellings), strict=True):
        same_values(a, b)


@pytest.mark.parametrize(
    ("case", "kwargs", "threads", "exclude"),
    [
        ("one thread", {}, 1, None),
        ("scored once", {"single_use": True}, 2, None),
        ("above large_n", {"large_n": 1_000}, 2, None),
        ("no pair index wanted", {}, 2, PAIR_BASED),
        ("over the budget", {"memory_budget": 10**6}, 2, None),
    ],
)
def test_distances_are_not_started_where_they_would_not_be_used(case, kwargs, threads, exclude):
    from metricate.parallel import thread_budget

    X, y = blobs(1_200, d=5, k=6)
    with thread_budget(threads):
        points = PointSet(X, **kwargs)
        points.start_distances(exclude=exclude)
        assert points._started is None, case


def test_a_subset_does_not_start_distances_of_its_own():
    from metricate.parallel import thread_budget

    X, _ = blobs(1_200, d=5, k=6)
    with thread_budget(2):
        subset = PointSet(X).subset(np.arange(1_100))
        subset.start_distances()
    assert subset._started is None and subset.root._started is None
