"""Degradations: the 18 types at every level, deterministic, on both input formats.

Inputs: a generated clustering (12 blobs of 50 points in 6 dimensions plus 30 noise
points scattered among the rows, a text and an integer column) written with numeric
embedding columns and with a string-array column, and scikit-learn's iris with the
true classes as labels, written with a space-separated string-array column.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_iris, make_blobs

import metricate.degradations.files as degradation_files
import metricate.degradations.variants as variants_module
from metricate import InvalidOptionError, PointSet, load_clustering
from metricate.degradations import (
    DEFAULT_LEVELS,
    DEGRADATION_NAMES,
    DEGRADATIONS,
    Level,
    VariantPlan,
    build_variants,
    degrade,
    parse_level,
    parse_levels,
    write_variant_csv,
)
from metricate.degradations.registry import DEGRADATIONS_BY_NAME
from metricate.io.load import Clustering
from metricate.parallel import thread_budget
from metricate.training.scoring import scoring_input
from producer.commands.degrade import degrade as degrade_command
from producer.display import print_degradation_registry

CHANGES = {d.name: d.changes for d in DEGRADATIONS}
LABEL_TYPES = [d.name for d in DEGRADATIONS if d.changes == "labels"]
SUBSET_TYPES = [d.name for d in DEGRADATIONS if d.changes == "subset"]
# Types spending exactly m = max(1, round(f N_v)) points.
EXACT_BUDGET = [
    "label_swap_random",
    "label_swap_neighboring",
    "label_swap_distant",
    "noise_injection",
    "random_removal",
]
# Types that act on whole clusters or split steps: at least m points.
STEP_TYPES = [
    "merge_random",
    "merge_nearest",
    "merge_farthest",
    "split_random",
    "split_largest",
    "split_loosest",
    "remove_smallest_clusters",
    "remove_largest_clusters",
    "remove_tightest_clusters",
]
CASES = ["blobs_columns", "blobs_array", "iris_array"]


# ---------------------------------------------------------------- inputs


def blobs_frame() -> pd.DataFrame:
    X, y = make_blobs(n_samples=600, n_features=6, centers=12, cluster_std=0.5, random_state=7)
    rng = np.random.default_rng(1)
    noise = rng.uniform(X.min(axis=0), X.max(axis=0), size=(30, 6))
    X = np.vstack([X, noise])
    y = np.concatenate([y, np.full(30, -1)])
    order = rng.permutation(y.size)  # noise rows scattered among the others
    frame = pd.DataFrame({"doc_id": np.arange(y.size) * 3, "title": [f"doc {i}" for i in order]})
    for j in range(X.shape[1]):
        frame[f"dim_{j}"] = X[order, j]
    frame["cluster_id"] = y[order]
    return frame


def as_array_column(frame: pd.DataFrame, columns: list[str], separator: str) -> pd.DataFrame:
    texts = [
        "[" + separator.join(repr(float(v)) for v in row) + "]" for row in frame[columns].to_numpy()
    ]
    out = frame.drop(columns=columns)
    out.insert(2, "embedding", texts)
    return out


def iris_frame() -> pd.DataFrame:
    iris = load_iris()
    frame = pd.DataFrame({"name": [f"flower {i}" for i in range(150)], "class": iris.target})
    frame["embedding"] = ["[" + " ".join(repr(float(v)) for v in row) + "]" for row in iris.data]
    return frame


@pytest.fixture(scope="module")
def inputs(tmp_path_factory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("inputs")
    blobs = blobs_frame()
    dims = [f"dim_{j}" for j in range(6)]
    frames = {
        "blobs_columns": blobs,
        "blobs_array": as_array_column(blobs, dims, ", "),
        "iris_array": iris_frame(),
    }
    paths = {}
    for case, frame in frames.items():
        paths[case] = directory / f"{case}.csv"
        frame.to_csv(paths[case], index=False)
    return paths


@pytest.fixture(scope="module")
def built(inputs) -> dict[str, tuple[Clustering, dict[str, object], list[str]]]:
    """Per case: the clustering, its variants by name (type@level), the warnings."""
    out = {}
    for case, path in inputs.items():
        clustering = load_clustering(path)
        variants, warnings = build_variants(clustering)
        out[case] = (clustering, {v.name: v for v in variants}, warnings)
    return out


def budget(fraction: float, n: int) -> int:
    return max(1, round(fraction * n))


def changed_points(variant, clustering) -> np.ndarray:
    """Non-noise positions whose label differs from the original (labels types)."""
    noise = clustering.noise_mask
    return np.flatnonzero(variant.labels[~noise] != clustering.labels[~noise])


def removed_rows(variant, clustering) -> np.ndarray:
    return np.setdiff1d(np.arange(clustering.labels.size), variant.rows)


def same_variant(a, b) -> bool:
    def same(x, y):
        return (x is None and y is None) or (
            x is not None and y is not None and x.shape == y.shape and np.array_equal(x, y)
        )

    return (
        same(a.labels, b.labels)
        and same(a.rows, b.rows)
        and same(a.X, b.X)
        and a.points_affected == b.points_affected
        and a.description == b.description
    )


def clustering_of(X, labels, name="small.csv") -> Clustering:
    X = np.asarray(X, dtype=np.float64)
    return Clustering(
        path=Path(name),
        frame=pd.DataFrame(X, columns=[f"dim_{j}" for j in range(X.shape[1])]),
        X=X,
        labels=np.asarray(labels, dtype=np.int64),
        label_col="cluster_id",
        embedding_cols=[f"dim_{j}" for j in range(X.shape[1])],
        embedding_format="columns",
    )


# ---------------------------------------------------------------- registry and options


def test_registry_has_the_18_types_in_spec_order_with_what_they_change():
    assert DEGRADATION_NAMES == (
        "label_swap_random",
        "label_swap_neighboring",
        "label_swap_distant",
        "merge_random",
        "merge_nearest",
        "merge_farthest",
        "split_random",
        "split_largest",
        "split_loosest",
        "noise_injection",
        "random_removal",
        "core_removal",
        "boundary_reassignment",
        "remove_smallest_clusters",
        "remove_largest_clusters",
        "remove_tightest_clusters",
        "embedding_perturbation",
        "centroid_displacement",
    )
    by_number = {i: d.changes for i, d in enumerate(DEGRADATIONS, start=1)}
    assert [i for i, c in by_number.items() if c == "labels"] == [1, 2, 3, 4, 5, 6, 7, 8, 9, 13]
    assert [i for i, c in by_number.items() if c == "subset"] == [11, 12, 14, 15, 16]
    assert [i for i, c in by_number.items() if c == "coordinates"] == [10, 17, 18]


@pytest.mark.parametrize(
    ("text", "fraction", "quality"),
    [
        ("5pct", 0.05, 0.95),
        ("10pct", 0.10, 0.90),
        ("25pct", 0.25, 0.75),
        ("50pct", 0.50, 0.50),
        ("2.5pct", 0.025, 0.975),
        ("100pct", 1.0, 0.0),
    ],
)
def test_levels_parse_to_their_fraction(text, fraction, quality):
    level = parse_level(text)
    assert level == Level(text, fraction)
    assert 1.0 - level.fraction == pytest.approx(quality, abs=1e-15)


@pytest.mark.parametrize(
    "text", ["0pct", "0.0pct", "101pct", "100.5pct", "-5pct", "5", "5%", "0.05", "pct", "5 pct"]
)
def test_bad_level_is_an_error_naming_the_accepted_form(text):
    with pytest.raises(InvalidOptionError, match=r"<p>pct with p in \(0, 100\]"):
        parse_level(text)


def test_default_levels_and_repeated_levels():
    assert [level.text for level in parse_levels(None)] == list(DEFAULT_LEVELS)
    assert [level.text for level in parse_levels("50pct,5pct")] == ["50pct", "5pct"]
    with pytest.raises(InvalidOptionError, match="repeats"):
        parse_levels(["5pct", "5.0pct"])


def test_unknown_type_is_an_error_listing_the_valid_names(built):
    clustering = built["iris_array"][0]
    with pytest.raises(InvalidOptionError, match="unknown degradation type.*'merge_closest'") as e:
        build_variants(clustering, VariantPlan.parse(types=["merge_nearest", "merge_closest"]))
    assert "label_swap_random, label_swap_neighboring" in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_level_or_seed_in_build_variants_is_an_error(built):
    clustering = built["iris_array"][0]
    with pytest.raises(InvalidOptionError, match="<p>pct"):
        build_variants(clustering, VariantPlan.parse(levels=["5pct", "fivepct"]))
    with pytest.raises(InvalidOptionError, match="random_seed"):
        build_variants(clustering, VariantPlan.parse(random_seed=-1))


# ---------------------------------------------------------------- budgets and levels


@pytest.mark.parametrize("case", CASES)
def test_every_type_and_default_level_is_produced_or_warned_about(built, case):
    clustering, variants, warnings = built[case]
    for name in DEGRADATION_NAMES:
        for level in DEFAULT_LEVELS:
            key = f"{name}@{level}"
            not_produced = [w for w in warnings if w.startswith(f"{clustering.path}: {key}: not")]
            assert (key in variants) != bool(not_produced), key


@pytest.mark.parametrize("case", CASES)
def test_achieved_fraction_matches_the_level(built, case):
    clustering, variants, _ = built[case]
    n = int(np.count_nonzero(~clustering.noise_mask))
    for variant in variants.values():
        m = budget(variant.fraction, n)
        if variant.type in EXACT_BUDGET:
            assert variant.points_affected == m, variant.name
        elif variant.type in STEP_TYPES:
            assert variant.points_affected >= m, variant.name
        if CHANGES[variant.type] == "coordinates" and variant.type != "noise_injection":
            assert variant.achieved_fraction == variant.fraction
        else:
            assert variant.achieved_fraction == variant.points_affected / n
        assert variant.quality_score == 1.0 - variant.achieved_fraction


@pytest.mark.parametrize("case", CASES)
def test_points_affected_is_what_the_variant_actually_changed(built, case):
    clustering, variants, _ = built[case]
    for variant in variants.values():
        if variant.changes == "labels":
            assert changed_points(variant, clustering).size == variant.points_affected
        elif variant.changes == "subset":
            assert removed_rows(variant, clustering).size == variant.points_affected
        elif variant.type == "noise_injection":
            assert variant.n_rows - clustering.labels.size == variant.points_affected


@pytest.mark.parametrize("case", CASES)
def test_core_removal_and_boundary_reassignment_touch_round_f_nk_per_cluster(built, case):
    clustering, variants, _ = built[case]
    sizes = np.bincount(clustering.point_labels)
    for level in DEFAULT_LEVELS:
        fraction = parse_level(level).fraction
        per_cluster = [max(1, round(fraction * n_k)) for n_k in sizes]
        assert variants[f"boundary_reassignment@{level}"].points_affected == sum(per_cluster)
        core = [min(n_k - 1, c) for n_k, c in zip(sizes, per_cluster, strict=True)]
        assert variants[f"core_removal@{level}"].points_affected == sum(core)


@pytest.mark.parametrize("case", ["blobs_columns", "iris_array"])
def test_cluster_removal_removes_the_shortest_prefix_of_its_order(built, case):
    clustering, variants, warnings = built[case]
    labels = clustering.point_labels
    sizes = np.bincount(labels)
    centroids = np.stack([clustering.points[labels == j].mean(axis=0) for j in range(sizes.size)])
    spread = np.array(
        [
            np.linalg.norm(clustering.points[labels == j] - centroids[j], axis=1).mean()
            for j in range(sizes.size)
        ]
    )
    orders = {
        "remove_smallest_clusters": sorted(range(sizes.size), key=lambda j: (sizes[j], j)),
        "remove_largest_clusters": sorted(range(sizes.size), key=lambda j: (-sizes[j], -j)),
        "remove_tightest_clusters": sorted(range(sizes.size), key=lambda j: (spread[j], j)),
    }
    for name, order in orders.items():
        counts: set[int] = set()
        for level in DEFAULT_LEVELS:
            m = budget(parse_level(level).fraction, labels.size)
            removed = np.cumsum(sizes[order])
            count = int(np.searchsorted(removed, m)) + 1
            key = f"{name}@{level}"
            if sizes.size - count < 2 or count in counts or key not in variants:
                # Fewer than 2 clusters left, or the same clusters removed as by a lower
                # level or an earlier type: not produced, with a warning that says which.
                assert key not in variants
                assert any(
                    w.startswith(f"{clustering.path}: {key}: not produced") for w in warnings
                )
                continue
            counts.add(count)
            variant = variants[key]
            kept_labels = set(variant.labels[variant.labels >= 0].tolist())
            assert kept_labels == set(order[count:]), key
            assert variant.points_affected == removed[count - 1]


@pytest.mark.parametrize("case", CASES)
def test_higher_levels_affect_a_superset_of_lower_levels_points(built, case):
    clustering, variants, _ = built[case]
    for name in DEGRADATION_NAMES:
        produced = [variants.get(f"{name}@{level}") for level in DEFAULT_LEVELS]
        produced = [v for v in produced if v is not None]
        for lower, higher in zip(produced, produced[1:], strict=False):
            if lower.changes == "labels":
                small, large = changed_points(lower, clustering), changed_points(higher, clustering)
                assert np.isin(small, large).all(), (lower.name, higher.name)
                assert small.size < large.size or case == "iris_array"
            elif lower.changes == "subset":
                small, large = removed_rows(lower, clustering), removed_rows(higher, clustering)
                assert np.isin(small, large).all(), (lower.name, higher.name)
            elif name == "noise_injection":
                n = clustering.labels.size
                np.testing.assert_array_equal(lower.X, higher.X[: lower.n_rows])
                np.testing.assert_array_equal(lower.labels[n:], higher.labels[n : lower.n_rows])


@pytest.mark.parametrize("case", CASES)
def test_label_swaps_and_boundary_points_keep_their_new_label_at_higher_levels(built, case):
    clustering, variants, _ = built[case]
    noise = clustering.noise_mask
    for name in ["label_swap_random", "label_swap_neighboring", "label_swap_distant"] + [
        "boundary_reassignment"
    ]:
        chain = [variants[f"{name}@{level}"] for level in DEFAULT_LEVELS]
        for lower, higher in zip(chain, chain[1:], strict=False):
            moved = changed_points(lower, clustering)
            assert np.array_equal(lower.labels[~noise][moved], higher.labels[~noise][moved])


def test_generated_clustering_gives_four_distinct_levels_of_every_type_without_warnings(built):
    _, variants, warnings = built["blobs_columns"]
    assert warnings == []
    assert len(variants) == 18 * 4


def test_too_small_clustering_warns_with_the_file_and_the_variant(built):
    clustering, variants, warnings = built["iris_array"]
    path = clustering.path
    # Three classes of 50: one merge relabels 50 points; 50pct needs 75.
    assert (
        f"{path}: merge_nearest@50pct: not produced, it would leave 1 cluster "
        f"(merging down to 2 clusters relabels 50 of the 75 points needed)"
    ) in warnings
    # One merge relabels 50 points: 5, 10 and 25 pct all end with one clustering, which
    # is produced once, at the lowest level (here by merge_random, an earlier type).
    merges = [v for v in variants.values() if v.type.startswith("merge_")]
    assert {v.points_affected for v in merges} == {50}
    assert all(v.quality_score == 1 - 50 / 150 for v in merges)
    for level in ("10pct", "25pct"):
        assert f"merge_nearest@{level}" not in variants
        (note,) = [w for w in warnings if w.startswith(f"{path}: merge_nearest@{level}: ")]
        assert note.split(": ", 2)[2].startswith("not produced, it gives the same clustering as ")
    assert "merge_nearest@50pct" not in variants


def test_full_level_is_refused_where_it_cannot_be_reached(built):
    clustering = built["iris_array"][0]
    variants, warnings = build_variants(
        clustering,
        VariantPlan.parse(
            types=["label_swap_random", "split_largest", "random_removal"], levels="100pct"
        ),
    )
    assert [v.name for v in variants] == ["label_swap_random@100pct"]
    assert variants[0].points_affected == 150
    assert warnings == [
        f"{clustering.path}: split_largest@100pct: not produced, "
        f"splits can relabel at most 147 of the 150 points needed",
        f"{clustering.path}: random_removal@100pct: not produced, it would leave 0 clusters",
    ]


# ---------------------------------------------------------------- invariants


@pytest.mark.parametrize("case", CASES)
def test_noise_points_are_untouched_except_by_embedding_perturbation(built, case):
    clustering, variants, _ = built[case]
    noise_rows = np.flatnonzero(clustering.noise_mask)
    n = clustering.labels.size
    for variant in variants.values():
        if variant.changes == "labels":
            assert np.array_equal(variant.labels == -1, clustering.noise_mask), variant.name
        elif variant.changes == "subset":
            assert np.isin(noise_rows, variant.rows).all(), variant.name
            assert np.array_equal(variant.labels == -1, clustering.noise_mask[variant.rows])
        else:
            assert np.array_equal(variant.labels[:n] == -1, clustering.noise_mask)
            assert (variant.labels[n:] != -1).all()
            moved = variant.X[noise_rows] != clustering.X[noise_rows]
            if variant.type == "embedding_perturbation":
                assert moved.all()
            else:
                assert not moved.any(), variant.name


@pytest.mark.parametrize("case", CASES)
def test_every_variant_keeps_at_least_two_clusters(built, case):
    _, variants, _ = built[case]
    for variant in variants.values():
        clusters = np.unique(variant.labels[variant.labels != -1]).size
        assert variant.n_clusters == clusters >= 2, variant.name
        assert variant.n_rows == variant.labels.size


@pytest.mark.parametrize("case", CASES)
def test_label_types_keep_every_row_and_the_original_coordinates(built, case):
    clustering, variants, _ = built[case]
    for variant in variants.values():
        if variant.type in LABEL_TYPES:
            assert variant.X is None
            assert np.array_equal(variant.rows, np.arange(clustering.labels.size))


@pytest.mark.parametrize("case", CASES)
def test_removal_types_keep_a_subset_of_rows_with_their_labels(built, case):
    clustering, variants, _ = built[case]
    for variant in variants.values():
        if variant.type in SUBSET_TYPES:
            assert variant.X is None
            assert (np.diff(variant.rows) > 0).all()
            assert variant.rows[0] >= 0 and variant.rows[-1] < clustering.labels.size
            assert variant.rows.size < clustering.labels.size
            assert np.array_equal(variant.labels, clustering.labels[variant.rows])


def test_embedding_perturbation_moves_by_f_sigma_standard_normal_noise(built):
    clustering, variants, _ = built["blobs_columns"]
    sigma = clustering.points.std()
    steps = []
    for level in DEFAULT_LEVELS:
        variant = variants[f"embedding_perturbation@{level}"]
        steps.append((variant.X - clustering.X) / (variant.fraction * sigma))
        assert np.array_equal(variant.labels, clustering.labels)
    for step in steps[1:]:
        np.testing.assert_allclose(step, steps[0], rtol=1e-9, atol=1e-9)
    assert 0.95 < steps[0].std() < 1.05
    assert abs(steps[0].mean()) < 0.05


def test_centroid_displacement_translates_each_cluster_towards_another_centroid(built):
    clustering, variants, _ = built["blobs_columns"]
    labels = clustering.labels
    k = labels.max() + 1
    centroids = np.stack([clustering.X[labels == j].mean(axis=0) for j in range(k)])
    towards_at_5pct = None
    for level in DEFAULT_LEVELS:
        variant = variants[f"centroid_displacement@{level}"]
        towards = []
        for j in range(k):
            shift = variant.X[labels == j] - clustering.X[labels == j]
            np.testing.assert_allclose(shift, np.broadcast_to(shift[0], shift.shape), atol=1e-12)
            candidates = variant.fraction * (centroids - centroids[j])
            target = int(np.argmin(np.linalg.norm(candidates - shift[0], axis=1)))
            assert target != j
            np.testing.assert_allclose(shift[0], candidates[target], atol=1e-9)
            towards.append(target)
        towards_at_5pct = towards_at_5pct or towards
        assert towards == towards_at_5pct  # one target per cluster for all levels


def test_noise_injection_appends_labelled_points_around_the_data(built):
    clustering, variants, _ = built["blobs_columns"]
    variant = variants["noise_injection@50pct"]
    n = clustering.labels.size
    assert np.array_equal(variant.X[:n], clustering.X)
    assert np.array_equal(variant.labels[:n], clustering.labels)
    assert set(variant.labels[n:].tolist()) <= set(range(12))
    # Each added point is a random existing point plus N(0, (2 sigma)^2 I), so the
    # added points' per-dimension variance is the data's (at most sigma^2) + 4 sigma^2.
    sigma = clustering.points.std()
    ratio = variant.X[n:].var(axis=0).mean() / sigma**2
    assert 3.5 < ratio < 6.0


# ---------------------------------------------------------------- exact small cases


def line_clustering() -> Clustering:
    """Clusters 0..3 centred near x = 0, 1, 10, 30 with 10, 20, 35, 35 points, each
    point at y = +-s (s = 0.3, 0.1, 0.2, 0.4, so the spread is about s)."""
    xs, ys, labels = [], [], []
    for label, (x, size, s) in enumerate(
        [(0, 10, 0.3), (1, 20, 0.1), (10, 35, 0.2), (30, 35, 0.4)]
    ):
        xs += [x] * size
        ys += [s if i % 2 == 0 else -s for i in range(size)]
        labels += [label] * size
    return clustering_of(np.column_stack([xs, ys]), labels)


def test_merge_nearest_merges_recomputed_nearest_centroids_smaller_into_larger():
    clustering = line_clustering()
    variants, warnings = build_variants(clustering, VariantPlan.parse(types="merge_nearest"))
    by_level = {v.level: v for v in variants}
    y = clustering.labels
    # 5pct (m=5): clusters at 0 and 1 merge, the 10 points take label 1.
    assert np.array_equal(by_level["5pct"].labels, np.where(y == 0, 1, y))
    # 25pct (m=25): then the merged cluster (centroid 2/3, 30 points) and the one at 10
    # (35 points) are nearest; its 30 points take label 2.
    assert np.array_equal(by_level["25pct"].labels, np.where(y <= 1, 2, y))
    assert by_level["25pct"].points_affected == 30
    assert warnings == [
        "small.csv: merge_nearest@10pct: not produced, it gives the same clustering as @5pct",
        "small.csv: merge_nearest@50pct: not produced, it would leave 1 cluster "
        "(merging down to 2 clusters relabels 30 of the 50 points needed)",
    ]


def test_merge_farthest_merges_the_farthest_current_centroids():
    clustering = line_clustering()
    variants, _ = build_variants(
        clustering, VariantPlan.parse(types="merge_farthest", levels="5pct,25pct")
    )
    y = clustering.labels
    # 0 and 30 are farthest: cluster 0 takes label 3; then the cluster at 1 is farthest
    # from the merged centroid (70/3) and takes label 3 too.
    assert np.array_equal(variants[0].labels, np.where(y == 0, 3, y))
    assert np.array_equal(variants[1].labels, np.where(y <= 1, 3, y))


def test_label_swaps_to_nearest_and_farthest_other_centroid():
    clustering = line_clustering()
    variants, _ = build_variants(
        clustering,
        VariantPlan.parse(types="label_swap_neighboring,label_swap_distant", levels="100pct"),
    )
    nearest, farthest = variants
    y = clustering.labels
    assert np.array_equal(nearest.labels, np.array([1, 0, 1, 2])[y])
    assert np.array_equal(farthest.labels, np.array([3, 3, 3, 0])[y])


def test_cluster_removal_orders_by_size_and_spread():
    clustering = line_clustering()
    variants, _ = build_variants(
        clustering,
        VariantPlan.parse(
            types="remove_smallest_clusters,remove_largest_clusters,remove_tightest_clusters",
            levels="25pct,50pct",
        ),
    )
    kept = {v.name: sorted(set(v.labels.tolist())) for v in variants}
    assert kept == {
        "remove_smallest_clusters@25pct": [2, 3],  # 10 + 20 >= 25
        "remove_largest_clusters@25pct": [0, 1, 2],  # 35: equal sizes, higher label first
        "remove_largest_clusters@50pct": [0, 1],
        "remove_tightest_clusters@25pct": [0, 3],  # spread 0.1 (20), then 0.2 (35)
    }  # remove_tightest_clusters@50pct removes the same (20 + 35 >= 50): not produced;
    # remove_smallest_clusters@50pct would leave 1 cluster: next test


def test_remove_smallest_at_50pct_would_leave_one_cluster():
    clustering = line_clustering()
    variants, warnings = build_variants(
        clustering, VariantPlan.parse(types="remove_smallest_clusters", levels="50pct")
    )
    # 10 + 20 + 35 = 65 >= 50 would leave only the cluster at 30.
    assert variants == []
    assert warnings == [
        "small.csv: remove_smallest_clusters@50pct: not produced, it would leave 1 cluster "
        "(removing all but 2 clusters removes 30 of the 50 points needed)"
    ]


def cross_clustering() -> Clustering:
    """Clusters centred at (0, 0), (20, 0) and (0, 20), points at offsets
    -5..-1, 1..5 along x (the first two) or y (the third)."""
    offsets = np.array([-5, -4, -3, -2, -1, 1, 2, 3, 4, 5], dtype=float)
    zero = np.zeros(10)
    X = np.vstack(
        [
            np.column_stack([offsets, zero]),
            np.column_stack([20 + offsets, zero]),
            np.column_stack([zero, 20 + offsets]),
        ]
    )
    return clustering_of(X, np.repeat([0, 1, 2], 10), name="cross.csv")


def test_boundary_reassignment_moves_the_farthest_points_to_their_nearest_other_centroid():
    clustering = cross_clustering()
    [variant], _ = build_variants(
        clustering, VariantPlan.parse(types="boundary_reassignment", levels="20pct")
    )
    expected = clustering.labels.copy()
    expected[[0, 9]] = [2, 1]  # (-5, 0) is nearest (0, 20); (5, 0) nearest (20, 0)
    expected[[10, 19]] = [0, 0]
    expected[[20, 29]] = [0, 0]
    assert np.array_equal(variant.labels, expected)
    assert variant.points_affected == 6


def test_core_removal_removes_the_points_nearest_the_centroid_and_keeps_one():
    clustering = cross_clustering()
    variants, _ = build_variants(
        clustering, VariantPlan.parse(types="core_removal", levels="10pct,20pct,100pct")
    )
    kept = [v.rows for v in variants]
    # 10pct: one per cluster, of the two at distance 1 the earlier row (-1).
    assert np.array_equal(kept[0], np.setdiff1d(np.arange(30), [4, 14, 24]))
    # 20pct: both points at distance 1.
    assert np.array_equal(kept[1], np.setdiff1d(np.arange(30), [4, 5, 14, 15, 24, 25]))
    # 100pct: all but one: the last of the two farthest rows (+5) stays.
    assert np.array_equal(kept[2], [9, 19, 29])


def test_split_largest_and_loosest_split_a_two_blob_cluster_along_its_gap():
    rng = np.random.default_rng(5)
    X = np.vstack(
        [
            rng.normal((0, 0), 0.3, size=(30, 2)),
            rng.normal((10, 0), 0.3, size=(20, 2)),
            rng.normal((50, 50), 0.3, size=(10, 2)),
        ]
    )
    y = np.repeat([0, 0, 1], [30, 20, 10])
    clustering = clustering_of(X, y)
    expected = np.repeat([0, 2, 1], [30, 20, 10])  # the 20 points at x=10 get label 2
    for name in ["split_largest", "split_loosest"]:
        [variant], _ = build_variants(clustering, VariantPlan.parse(types=name, levels="5pct"))
        assert np.array_equal(variant.labels, expected), name
        assert variant.points_affected == 20


def test_identical_points_cannot_be_split_and_say_so():
    X = np.vstack([np.zeros((6, 2)), np.ones((4, 2))])
    clustering = clustering_of(X, np.repeat([0, 1], [6, 4]))
    variants, warnings = build_variants(
        clustering, VariantPlan.parse(types="split_largest", levels="10pct")
    )
    assert variants == []
    assert warnings == [
        "small.csv: split_largest@10pct: not produced, splits can relabel only 0 "
        "of the 1 points needed"
    ]


# ---------------------------------------------------------------- determinism


def test_same_seed_gives_identical_variants_in_any_order_alone_or_together(built):
    clustering, variants, _ = built["blobs_columns"]
    again, _ = build_variants(clustering)
    assert all(same_variant(v, variants[v.name]) for v in again)
    reversed_types = list(reversed(DEGRADATION_NAMES))
    reordered, _ = build_variants(
        clustering, VariantPlan.parse(types=reversed_types, levels=list(reversed(DEFAULT_LEVELS)))
    )
    assert [v.type for v in reordered][::4] == list(DEGRADATION_NAMES)  # registry order
    assert [v.level for v in reordered[:4]] == list(reversed(DEFAULT_LEVELS))
    assert all(same_variant(v, variants[v.name]) for v in reordered)
    for name in DEGRADATION_NAMES:
        [alone], _ = build_variants(clustering, VariantPlan.parse(types=[name], levels=["25pct"]))
        assert same_variant(alone, variants[f"{name}@25pct"]), name


def test_seed_and_file_content_change_the_random_types_but_not_the_deterministic_ones(
    built, inputs, tmp_path
):
    clustering, variants, _ = built["blobs_columns"]
    other_seed = {
        v.name: v for v in build_variants(clustering, VariantPlan.parse(random_seed=7))[0]
    }
    for name in ["label_swap_random", "split_random", "random_removal", "noise_injection"]:
        assert not same_variant(other_seed[f"{name}@10pct"], variants[f"{name}@10pct"])
    for name in ["merge_nearest", "core_removal", "remove_largest_clusters"]:
        assert same_variant(other_seed[f"{name}@10pct"], variants[f"{name}@10pct"])
    # The file's identity is its content, not its name.
    copy = tmp_path / "renamed.csv"
    copy.write_bytes(inputs["blobs_columns"].read_bytes())
    renamed = {v.name: v for v in build_variants(load_clustering(copy))[0]}
    assert same_variant(renamed["label_swap_random@10pct"], variants["label_swap_random@10pct"])
    edited = tmp_path / "edited.csv"
    edited.write_bytes(inputs["blobs_columns"].read_bytes() + b"\n")
    changed = {v.name: v for v in build_variants(load_clustering(edited))[0]}
    assert not same_variant(changed["label_swap_random@10pct"], variants["label_swap_random@10pct"])


def fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    for variant in build_variants(load_clustering(path))[0]:
        for array in (variant.labels, variant.rows, variant.X):
            if array is not None:
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def test_another_process_with_another_hash_seed_builds_the_same_variants(inputs):
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[2]); "
        "from test_degradations import fingerprint; print(fingerprint(Path(sys.argv[1])))"
    )
    for hash_seed in ("1", "2"):
        out = subprocess.run(
            [sys.executable, "-c", code, str(inputs["iris_array"]), str(Path(__file__).parent)],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
        )
        assert out.stdout.strip() == fingerprint(inputs["iris_array"])


# ---------------------------------------------------------------- scoring


def test_label_swaps_lower_silhouette_on_well_separated_blobs(built):
    clustering, variants, _ = built["blobs_columns"]
    points = PointSet(clustering.points)
    original = points.evaluate(clustering.point_labels)["Silhouette"].value
    scored, labels = scoring_input(variants["label_swap_random@50pct"], clustering, points)
    swapped = scored.evaluate(labels)["Silhouette"].value
    assert original > 0.8
    assert swapped < original - 0.5


@pytest.mark.parametrize("case", ["blobs_columns", "iris_array"])
def test_scoring_input_reuses_the_original_point_set_for_labels_and_subsets(built, case):
    clustering, variants, _ = built[case]
    points = PointSet(clustering.points)
    noise = clustering.noise_mask
    merge = next(name for name, v in variants.items() if v.kind == "structure")
    for name in [merge, "boundary_reassignment@10pct"]:
        scored, labels = scoring_input(variants[name], clustering, points)
        assert scored is points
        assert np.array_equal(labels, variants[name].labels[~noise])
    for name in ["random_removal@25pct", "core_removal@10pct", "remove_largest_clusters@5pct"]:
        variant = variants[name]
        scored, labels = scoring_input(variant, clustering, points)
        assert scored.root is points
        kept = variant.rows[~noise[variant.rows]]
        assert np.array_equal(scored.points, clustering.X[kept])
        assert np.array_equal(labels, clustering.labels[kept])
        fresh = PointSet(clustering.X[kept]).evaluate(labels)["Silhouette"].value
        assert scored.evaluate(labels)["Silhouette"].value == fresh
    assert points.has_distances  # computed once, on the original


def test_scoring_input_gives_coordinate_variants_a_new_point_set(built):
    clustering, variants, _ = built["blobs_columns"]
    points = PointSet(clustering.points)
    variant = variants["noise_injection@10pct"]
    scored, labels = scoring_input(variant, clustering, points)
    assert scored.root is scored and scored is not points
    scored_rows = variant.labels != -1
    assert np.array_equal(scored.points, variant.X[scored_rows])
    assert np.array_equal(labels, variant.labels[scored_rows])
    assert labels.size == clustering.point_labels.size + variant.points_affected


# ---------------------------------------------------------------- files


@pytest.mark.parametrize("case", CASES)
def test_written_variants_round_trip_through_the_loader(built, inputs, case, tmp_path):
    clustering, variants, _ = built[case]
    result = degrade(inputs[case], tmp_path)
    assert [e.file for e in result.entries] == [v.file_name for v in variants.values()]
    original_columns = list(pd.read_csv(inputs[case]).columns)
    for entry in result.entries:
        variant = variants[f"{entry.type}@{entry.level}"]
        loaded = load_clustering(tmp_path / entry.file)
        expected_X = clustering.X[variant.rows] if variant.X is None else variant.X
        assert np.array_equal(loaded.X, expected_X), entry.file  # bit for bit
        assert np.array_equal(loaded.labels, variant.labels)
        assert list(loaded.frame.columns) == original_columns
        assert loaded.embedding_format == clustering.embedding_format
        assert loaded.embedding_cols == clustering.embedding_cols
        assert loaded.array_separator == clustering.array_separator
        text_column = "name" if case == "iris_array" else "title"
        kept = variant.rows if variant.rows is not None else np.arange(clustering.labels.size)
        n_original = kept.size
        assert list(loaded.frame[text_column][:n_original]) == list(
            clustering.frame[text_column].iloc[kept]
        )
        assert loaded.frame[text_column][n_original:].isna().all()


def test_noise_injection_file_keeps_integer_columns_integer_and_leaves_added_rows_empty(
    inputs, tmp_path
):
    degrade(inputs["blobs_columns"], tmp_path, types="noise_injection", levels="10pct")
    lines = (tmp_path / "noise_injection_10pct.csv").read_text().splitlines()
    assert lines[0] == "doc_id,title,dim_0,dim_1,dim_2,dim_3,dim_4,dim_5,cluster_id"
    assert lines[1].startswith("0,doc ")
    assert len(lines) == 1 + 630 + 60
    assert all(line.startswith(",,") for line in lines[631:])


def test_manifest_records_the_run_and_every_variant(built, inputs, tmp_path):
    clustering, variants, warnings = built["iris_array"]
    result = degrade(inputs["iris_array"], tmp_path, random_seed=42)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["input"] == str(inputs["iris_array"])
    assert manifest["seed"] == 42
    assert manifest["types"] == list(DEGRADATION_NAMES)
    assert manifest["levels"] == list(DEFAULT_LEVELS)
    assert manifest["warnings"] == warnings == result.warnings
    # 72 asked for: each one not produced has its warning, with its reason.
    # 72 asked for: each one not produced has exactly one warning saying why.
    missing = {f"{t}@{lv}" for t in DEGRADATION_NAMES for lv in DEFAULT_LEVELS} - set(variants)
    noted = [w.split(": ")[1] for w in warnings if ": not produced, " in w]
    assert sorted(noted) == sorted(missing)
    assert len(manifest["variants"]) == len(variants)
    first = manifest["variants"][0]
    variant = variants["label_swap_random@5pct"]
    assert first == {
        "file": "label_swap_random_5pct.csv",
        "type": "label_swap_random",
        "level": "5pct",
        "fraction": 0.05,
        "quality_score": 1 - 8 / 150,
        "rows": 150,
        "original_rows": 150,
        "clusters": 3,
        "points_affected": 8,
        "achieved_fraction": 8 / 150,
        "description": variant.description,
    }
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted([*(v.file_name for v in variants.values()), "manifest.json"])
    assert result.summary().splitlines()[0] == (
        f"{inputs['iris_array']}: {len(variants)} of 72 variants written to {tmp_path} (seed 42)"
    )


def test_a_failed_write_leaves_the_old_file_and_no_partial_one(inputs, tmp_path, monkeypatch):
    target = tmp_path / "merge_nearest_5pct.csv"
    target.write_text("old\n")

    def fail_midway(self, path, **options):
        Path(path).write_text("partial")
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_midway)
    with pytest.raises(OSError, match="disk full"):
        degrade(inputs["iris_array"], tmp_path, types="merge_nearest", levels="5pct")
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["merge_nearest_5pct.csv"]


def test_write_variant_csv_creates_missing_directories(built, tmp_path):
    clustering, variants, _ = built["blobs_array"]
    variant = variants["centroid_displacement@25pct"]
    target = tmp_path / "degraded" / "blobs" / variant.file_name
    write_variant_csv(variant, clustering, target)
    loaded = load_clustering(target)
    assert np.array_equal(loaded.X, variant.X)
    assert np.array_equal(loaded.labels, variant.labels)
    assert [p.name for p in target.parent.iterdir()] == [variant.file_name]


def test_degrade_checks_options_before_reading_the_file(tmp_path):
    with pytest.raises(InvalidOptionError, match="<p>pct"):
        degrade(tmp_path / "missing.csv", tmp_path / "out", levels="5")
    assert not (tmp_path / "out").exists()


def test_write_uses_the_atomic_helper_for_the_manifest(inputs, tmp_path, monkeypatch):
    written = []
    real = degradation_files.atomic_write

    def record(path, write):
        written.append(path.name)
        real(path, write)

    monkeypatch.setattr(degradation_files, "atomic_write", record)
    degrade(inputs["iris_array"], tmp_path, types="core_removal", levels="5pct")
    assert written == ["core_removal_5pct.csv", "manifest.json"]


# ---------------------------------------------------------------- command line


def test_degrade_command_writes_the_variants_and_prints_a_summary(inputs, tmp_path):
    result = CliRunner().invoke(
        degrade_command,
        [
            str(inputs["iris_array"]),
            str(tmp_path),
            "--types",
            "merge_nearest,core_removal",
            "--levels",
            "5pct",
            "--levels",
            "50pct",
            "--seed",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in tmp_path.glob("*.csv")) == [
        "core_removal_50pct.csv",
        "core_removal_5pct.csv",
        "merge_nearest_5pct.csv",
    ]
    assert "3 of 4 variants written" in result.stdout
    assert "Warning: " in result.stderr and "merge_nearest@50pct: not produced" in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [(["--levels", "5"], "<p>pct"), (["--types", "merge_closest"], "unknown degradation type")],
)
def test_degrade_command_reports_bad_options_in_one_line(inputs, tmp_path, options, message):
    result = CliRunner().invoke(
        degrade_command, [str(inputs["iris_array"]), str(tmp_path), *options]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: ") and message in result.stderr
    assert result.stderr.count("\n") == 1


def test_list_degradations_prints_name_category_changes_description(capsys):
    print_degradation_registry()
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["#", "name", "category", "changes", "description"]
    assert len(lines) == 19
    assert lines[5].split()[:5] == ["5", "merge_nearest", "cluster", "structure", "labels"]


@pytest.mark.parametrize("threaded_min", [0, 10**9])  # on the threads, then on one
def test_variants_are_the_same_on_one_thread_or_two(built, monkeypatch, threaded_min):
    """Each type draws from its own generator: which thread degrades it, and whether
    the types run on threads at all (only from THREADED_MIN points), changes nothing."""
    clustering, expected, warnings = built["blobs_columns"]
    monkeypatch.setattr(variants_module, "THREADED_MIN", threaded_min)
    ran_on: set[str] = set()
    kind = DEGRADATIONS_BY_NAME["merge_random"]

    def merge_random(*args):
        ran_on.add(threading.current_thread().name)
        return kind.function(*args)

    monkeypatch.setitem(DEGRADATIONS_BY_NAME, kind.name, replace(kind, function=merge_random))
    with thread_budget(2):
        again, warnings_again = build_variants(clustering)
    assert (threading.main_thread().name in ran_on) == (threaded_min > 0)
    assert warnings_again == warnings
    assert [v.name for v in again] == list(expected)
    for variant in again:
        before = expected[variant.name]
        assert np.array_equal(variant.labels, before.labels)
        assert (variant.X is None) == (before.X is None)
        if variant.X is not None:
            assert np.array_equal(variant.X, before.X)
