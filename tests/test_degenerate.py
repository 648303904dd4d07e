"""Degenerate and extreme clusterings: S_Dbw defined everywhere, floating-point noise never
reported as a value, determinant indices computed in log space."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import reference_indices as ref
from sklearn.datasets import make_blobs

from metricate import PointSet
from metricate.metrics import internal
from metricate.metrics.context import RELATIVE_TOLERANCE, Partition, Undefined

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "digits_clustering.csv"

# Indices whose values are legitimately astronomically large in many dimensions.
DETERMINANT = {"Det Ratio", "Ksq_DetW", "Log_Det_Ratio"}
# Centroid-distance indices that divide by (or are) the smallest centroid distance.
SEPARATION = ("Davies-Bouldin", "Ray-Turi", "Generalized Dunn", "SD validity")


def partition(X, labels):
    _, codes = np.unique(labels, return_inverse=True)
    return Partition(X, codes.astype(np.int64))


def blobs(k, n=2000, d=16, seed=0):
    return make_blobs(n_samples=n, n_features=d, centers=k, random_state=seed)


def translated(X, y, moved=0, onto=1):
    """Cluster ``moved`` translated so its centroid is cluster ``onto``'s."""
    out = X.copy()
    out[y == moved] += X[y == onto].mean(axis=0) - X[y == moved].mean(axis=0)
    return out


def coinciding(centre, seed=0):
    """Two clouds of different shapes with the same mean, and a third cluster apart."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(50, 3)) * [3.0, 0.5, 0.5]
    b = rng.normal(size=(70, 3)) * [0.5, 3.0, 0.5]
    a = a - a.mean(axis=0) + centre
    b = b - b.mean(axis=0) + centre
    c = rng.normal(size=(40, 3)) + [20.0, 0.0, 0.0]
    return np.vstack([a, b, c]), np.repeat([0, 1, 2], [50, 70, 40])


# ---- S_Dbw ----------------------------------------------------------------------


def test_s_dbw_is_finite_on_the_bundled_example():
    frame = pd.read_csv(EXAMPLE)
    X = frame[[c for c in frame.columns if c.startswith("dim_")]].to_numpy()
    y = frame["cluster_id"].to_numpy()
    value = PointSet(X).evaluate(y)["S_Dbw"]
    assert value.computed, value.reason
    assert math.isfinite(value.value)
    assert value.value == pytest.approx(ref.s_dbw(X, y), rel=1e-12)


@pytest.mark.parametrize("k", [3, 8])
def test_s_dbw_is_finite_on_blobs_and_matches_the_reference(k):
    X, y = blobs(k)
    value = PointSet(X).evaluate(y)["S_Dbw"]
    assert value.computed, value.reason
    assert value.value == pytest.approx(ref.s_dbw(X, y), rel=1e-12)


def test_s_dbw_is_scat_exactly_when_no_point_is_near_anything():
    # Two 2 x 2 squares six apart: every point is sqrt 2 from its centroid, sigma is
    # sqrt(2 sqrt 2) / 2 = 0.84, and the midpoint (4, 1) is sqrt 5 from the nearest point.
    X = np.array([[0, 0], [2, 0], [0, 2], [2, 2], [6, 0], [8, 0], [6, 2], [8, 2]], float)
    y = np.repeat([0, 1], 4)
    value = internal.s_dbw(partition(X, y))
    assert value == internal._scat(partition(X, y))  # Dens_bw = 0 exactly
    assert value == pytest.approx(math.sqrt(2) / math.sqrt(101), rel=1e-12)
    assert value == pytest.approx(ref.s_dbw(X, y), rel=1e-12)


def test_s_dbw_counts_the_midpoint_when_no_point_is_near_either_centroid():
    # Two rings of 8 points, radius 1, touching at the midpoint (1, 0): sigma = 2^(1/4) / 2
    # = 0.59, every point is 1 from its centroid, and two points (one per ring) lie on the
    # midpoint. The literal ratio is 2/0; the convention gives R = 2 / max(0, 0, 1) = 2.
    # Scat: V_k = (1/2, 1/2), V = (3/2, 1/2), so Scat = (1/sqrt 2) / sqrt(5/2) = 1/sqrt 5.
    angles = np.arange(8) * np.pi / 4
    ring = np.c_[np.cos(angles), np.sin(angles)]
    X = np.vstack([ring, ring + [2.0, 0.0]])
    y = np.repeat([0, 1], 8)
    value = internal.s_dbw(partition(X, y))
    assert value == pytest.approx(1 / math.sqrt(5) + 2.0, rel=1e-12)
    assert value == pytest.approx(ref.s_dbw(X, y), rel=1e-12)


def test_s_dbw_with_overlapping_clusters_matches_the_reference():
    # Two overlapping 2-D clouds: points near both centroids and near the midpoint.
    rng = np.random.default_rng(3)
    X = np.vstack([rng.normal(size=(40, 2)), rng.normal(size=(30, 2)) + [1.5, 0.5]])
    y = np.repeat([0, 1], [40, 30])
    c = partition(X, y)
    value = internal.s_dbw(c)
    assert value == pytest.approx(ref.s_dbw(X, y), rel=1e-12)
    assert value > internal._scat(c) + 0.5  # a real density between the two


def test_s_dbw_is_undefined_only_for_identical_points():
    X = np.full((6, 2), 0.1)
    with pytest.raises(Undefined, match="identical"):
        internal.s_dbw(partition(X, np.array([0, 0, 0, 1, 1, 1])))


# ---- floating-point noise --------------------------------------------------------


def test_tolerance_is_relative_to_the_data_scale():
    X, y = blobs(3, n=300)
    c = partition(X, y)
    assert c.scale == pytest.approx(math.sqrt(((X - X.mean(axis=0)) ** 2).sum() / len(X)))
    assert c.tolerance == RELATIVE_TOLERANCE * c.scale
    far = partition(X + 1e9, y)  # rounding of the coordinates exceeds 1e-9 of the spread
    assert far.tolerance > 1e-9 * far.scale


@pytest.mark.parametrize("centre", [(0.0, 0.0, 0.0), (0.1, 0.7, 1 / 3), (3.3, -1.7, 0.9)])
def test_coinciding_centroids_make_separation_indices_undefined(centre):
    X, y = coinciding(np.array(centre))
    distance = partition(X, y).centroid_distances[0, 1]
    assert distance < 1e-14  # 0, or rounding error only
    result = PointSet(X).evaluate(y)
    for name in SEPARATION:
        value = result[name]
        assert not value.computed, (name, value.value)
        assert math.isnan(value.value)
        assert "same centroid" in value.reason and "floating-point noise" in value.reason
    # The third cluster is apart: these stay defined and moderate.
    for name in ("Calinski-Harabasz", "CS index", "Wemmert-Gancarski", "S_Dbw", "Silhouette"):
        assert result[name].computed, (name, result[name].reason)
        assert abs(result[name].value) < 1e6


def test_coinciding_centroids_with_a_rounding_distance_are_caught():
    # At least one of the cases above has a nonzero, pure-rounding centroid distance.
    distances = [
        partition(*coinciding(np.array(centre))).centroid_distances[0, 1]
        for centre in ((0.1, 0.7, 1 / 3), (3.3, -1.7, 0.9))
    ]
    assert max(distances) > 0.0


def _no_noise_values(result):
    for m in result.metrics:
        if not m.computed or m.name in DETERMINANT:
            continue
        assert abs(m.value) <= 1e15, (m.name, m.value)
        if m.name != "Score Function":  # legitimately tiny: 1 - exp(-exp(bcd - wcd))
            assert m.value == 0.0 or abs(m.value) >= 1e-12, (m.name, m.value)


@pytest.mark.parametrize("k", [2, 3, 8])
def test_no_ratio_index_reports_noise_on_blobs(k):
    X, y = blobs(k)
    original = PointSet(X).evaluate(y)
    _no_noise_values(original)
    assert all(original[name].computed for name in SEPARATION)
    moved = PointSet(translated(X, y)).evaluate(y)
    _no_noise_values(moved)
    for name in SEPARATION:
        assert not moved[name].computed and "same centroid" in moved[name].reason
    assert moved["S_Dbw"].computed


def test_two_coinciding_clusters_make_between_scatter_indices_undefined():
    # K = 2 on the same centroid: BG is rounding error, and so is every index built on it.
    X, y = blobs(2)
    result = PointSet(translated(X, y)).evaluate(y)
    for name in (
        "Calinski-Harabasz",
        "R-squared",
        "Ratkowsky-Lance",
        "Trace_WiB",
        "Det Ratio",
        "Log_Det_Ratio",
        "I-index (PBM)",
        "NCI",
        "CS index",
    ):
        assert not result[name].computed, (name, result[name].value)
        assert (
            "same centroid" in result[name].reason or "shares its centroid" in result[name].reason
        )
    for name in ("Silhouette", "Dunn Index", "Wemmert-Gancarski", "S_Dbw", "SSE", "COP"):
        assert result[name].computed, (name, result[name].reason)


def test_cluster_of_identical_points_has_noise_scatter_not_a_log():
    # 30 copies of a point whose mean is rounded: WGSS_k is tiny but not 0.
    rng = np.random.default_rng(0)
    X = np.vstack([np.full((30, 2), 0.1), rng.normal(size=(20, 2)) + 5])
    y = np.repeat([0, 1], [30, 20])
    c = partition(X, y)
    assert 0.0 < c.cluster_wgss[0] < 1e-25
    with pytest.raises(Undefined, match="zero scatter"):
        internal.banfield_raftery(c)


def test_every_point_on_its_centroid_up_to_rounding():
    X = np.repeat(np.array([[0.1, 0.3], [0.7, 0.9]]), 10, axis=0)
    y = np.repeat([0, 1], 10)
    assert partition(X, y).wgss > 0.0  # rounding only
    result = PointSet(X).evaluate(y)
    for name in (
        "Calinski-Harabasz",
        "I-index (PBM)",
        "Davies-Bouldin",
        "Ray-Turi",
        "COP",
        "S_Dbw",
    ):
        assert not result[name].computed, (name, result[name].value)
        assert "lies on its cluster centroid" in result[name].reason, name
    assert not result["Dunn Index"].computed  # diameter 0
    assert result["SSE"].value < 1e-25  # in the data's units: 0 to rounding


def test_a_constant_column_with_a_rounded_mean_is_left_out_of_ratkowsky_lance():
    # 30 copies of 0.1 average to 0.1 plus one unit in the last place: T_jj = 2e-32.
    X, y = blobs(3, n=30, d=3)
    with_constant = np.c_[X, np.full(len(X), 0.1)]
    assert ((with_constant[:, -1] - with_constant[:, -1].mean()) ** 2).sum() > 0.0
    c = partition(with_constant, y)
    assert internal.ratkowsky_lance(c) == pytest.approx(ref.ratkowsky_lance(X, y), rel=1e-12)


# ---- determinants in log space -----------------------------------------------------


def test_ksq_detw_near_the_top_of_float64_is_finite():
    # Scaled so that log(K^2 det WG) = 709.5: 1.35e308, representable.
    X, y = blobs(3, n=400, d=40)
    wg, _, _ = ref.scatter_matrices(X, y)
    log_value = 2 * math.log(3) + np.linalg.slogdet(wg)[1]
    X = X * math.exp((709.5 - log_value) / (2 * 40))
    wg, _, _ = ref.scatter_matrices(X, y)
    expected = math.exp(2 * math.log(3) + np.linalg.slogdet(wg)[1])
    value = PointSet(X).evaluate(y)["Ksq_DetW"]
    assert value.computed, value.reason
    assert value.value == pytest.approx(expected, rel=1e-9)
    assert value.value > math.exp(709.0)


def test_ksq_detw_from_logs_where_the_product_of_eigenvalues_overflows():
    # 100 dimensions of spread 2 and 100 of spread 0.01: det WG = 6e251, but multiplying the
    # eigenvalues largest first passes 1e308 on the way.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1000, 200)) * np.r_[np.full(100, 2.0), np.full(100, 0.01)]
    y = rng.integers(0, 3, 1000)
    wg, _, _ = ref.scatter_matrices(X, y)
    eig = np.linalg.eigvalsh(wg)
    with np.errstate(over="ignore"):
        assert np.isinf(9 * np.prod(eig[::-1]))
    value = internal.ksq_detw(partition(X, y))
    assert math.isfinite(value)
    assert value == pytest.approx(math.exp(2 * math.log(3) + np.linalg.slogdet(wg)[1]), rel=1e-9)


def test_det_ratio_where_both_determinants_overflow():
    # det T and det WG are both beyond 1e308 (the naive ratio is inf / inf = NaN), their
    # ratio is not; K^2 det WG is genuinely out of range.
    X, y = make_blobs(
        n_samples=400,
        n_features=40,
        centers=3,
        cluster_std=1e5,
        center_box=(-1e6, 1e6),
        random_state=0,
    )
    wg, _, t = ref.scatter_matrices(X, y)
    with np.errstate(over="ignore", invalid="ignore"):
        assert math.isnan(np.linalg.det(t) / np.linalg.det(wg))
    result = PointSet(X).evaluate(y)
    expected = math.exp(np.linalg.slogdet(t)[1] - np.linalg.slogdet(wg)[1])
    assert result["Det Ratio"].value == pytest.approx(expected, rel=1e-9)
    assert result["Log_Det_Ratio"].value == pytest.approx(400 * math.log(expected), rel=1e-9)
    assert not result["Ksq_DetW"].computed
    assert "outside float64 range" in result["Ksq_DetW"].reason


@pytest.mark.parametrize(
    ("log_value", "expected"),
    [
        (0.0, 1.0),
        (709.7, math.exp(709.7)),
        (-708.0, math.exp(-708.0)),
        (709.79, None),
        (-709.0, None),  # below the smallest normal float64
        (1e4, None),
    ],
)
def test_exp_or_undefined_covers_exactly_the_normal_float64_range(log_value, expected):
    if expected is None:
        with pytest.raises(Undefined, match="outside float64 range"):
            internal._exp_or_undefined(log_value, "x")
    else:
        assert internal._exp_or_undefined(log_value, "x") == expected
