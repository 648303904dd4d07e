"""The indices against independent references: scikit-learn, scipy, literal
re-implementations of the definitions (tests/reference_indices.py) and small
clusterings worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import reference_indices as ref
from scipy.stats import entropy, kendalltau, pointbiserialr
from sklearn.datasets import load_iris, load_wine, make_blobs
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    mutual_info_score,
    silhouette_score,
)

from metricate import PointSet
from metricate.metrics import INTERNAL_METRIC_NAMES, METRICS

SPEC_ORDER = [
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
    "S_Dbw",
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


def values(X, labels, **kw):
    return PointSet(X).evaluate(labels, **kw).values()


def blobs(n=300, d=5, k=4, seed=0, std=1.0):
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, cluster_std=std, random_state=seed)
    return X, y


def shuffled(labels, share, seed=1):
    rng = np.random.default_rng(seed)
    out = labels.copy()
    idx = rng.choice(len(labels), int(share * len(labels)), replace=False)
    out[idx] = rng.permutation(out[idx])
    return out


# ---- registry ------------------------------------------------------------------


def test_registry_has_the_32_internal_indices_in_spec_order():
    assert list(INTERNAL_METRIC_NAMES) == SPEC_ORDER


def test_registry_lists_the_4_external_indices_after_the_internal_ones():
    assert [m.name for m in METRICS[32:]] == [
        "Adjusted Rand Index",
        "Van Dongen",
        "Variation of Information",
        "Omega",
    ]
    assert all(m.kind == "external" for m in METRICS[32:])


def test_pair_based_flags_match_the_spec_list():
    # metrics.md: indices 1, 4, 6, 13, 14, 17, 18, 19, 22, 23, 25, 30 need pair distances.
    expected = {1, 4, 6, 13, 14, 17, 18, 19, 22, 23, 25, 30}
    assert {i for i, m in enumerate(METRICS[:32], start=1) if m.needs_pairs} == expected


# ---- scikit-learn and scipy ----------------------------------------------------


@pytest.mark.parametrize("loader", [load_iris, load_wine])
def test_sklearn_indices_on_bundled_datasets(loader):
    X, y = loader(return_X_y=True)
    for labels in (y, shuffled(y, 0.3)):
        v = values(X, labels)
        assert v["Silhouette"] == pytest.approx(silhouette_score(X, labels), rel=1e-12)
        assert v["Davies-Bouldin"] == pytest.approx(davies_bouldin_score(X, labels), rel=1e-12)
        assert v["Calinski-Harabasz"] == pytest.approx(
            calinski_harabasz_score(X, labels), rel=1e-12
        )


def test_silhouette_matches_sklearn_with_singleton_clusters():
    X, y = blobs(60, 3, 3)
    y = y.copy()
    y[:2] = [7, 8]  # two singletons: s(i) = 0 for them
    assert values(X, y)["Silhouette"] == pytest.approx(silhouette_score(X, y), rel=1e-12)


def test_tau_equals_scipy_kendall_tau_b_without_ties():
    X, y = blobs(120, 4, 3, seed=3)
    labels = shuffled(y, 0.2)
    d, within = ref.pair_table(X, labels)
    assert np.unique(d).size == d.size  # no tied distances
    expected = kendalltau(d, (~within).astype(int)).statistic
    assert values(X, labels)["Tau"] == pytest.approx(expected, rel=1e-12)


def test_point_biserial_equals_scipy():
    X, y = load_iris(return_X_y=True)
    d, within = ref.pair_table(X, y)
    expected = pointbiserialr((~within).astype(int), d).statistic
    assert values(X, y)["Point-Biserial"] == pytest.approx(expected, rel=1e-10)


def test_external_indices_against_references():
    X, y = load_wine(return_X_y=True)
    labels = shuffled(y, 0.25)
    v = values(X, labels, reference=y)
    assert v["Adjusted Rand Index"] == pytest.approx(adjusted_rand_score(y, labels), rel=1e-12)
    h = entropy(np.bincount(y)) + entropy(np.bincount(labels))
    assert v["Variation of Information"] == pytest.approx(
        h - 2 * mutual_info_score(y, labels), rel=1e-10
    )
    assert v["Omega"] == pytest.approx(ref.omega(labels, y), rel=1e-12)
    assert v["Van Dongen"] == pytest.approx(ref.van_dongen(labels, y), rel=1e-12)


def test_external_indices_are_exact_for_identical_labellings():
    X, y = blobs(50, 2, 3)
    v = values(X, y, reference=(y + 10) * 3)  # same partition, other names
    assert v["Adjusted Rand Index"] == 1.0
    assert v["Omega"] == 1.0
    assert v["Van Dongen"] == 0.0
    assert v["Variation of Information"] == pytest.approx(0.0, abs=1e-12)


def test_external_indices_absent_without_reference():
    X, y = blobs(50, 2, 3)
    names = [m.name for m in PointSet(X).evaluate(y).metrics]
    assert names == SPEC_ORDER


# ---- literal definitions --------------------------------------------------------

LITERAL = {
    "Gamma": ref.gamma,
    "G-plus": ref.g_plus,
    "Tau": ref.tau,
    "McClain-Rao": ref.mcclain_rao,
    "Dunn Index": ref.dunn,
    "Generalized Dunn": ref.generalized_dunn_41,
    "NCI": ref.nci,
    "CS index": ref.cs_index,
    "COP": ref.cop,
    "NIVA": ref.niva,
    "Wemmert-Gancarski": ref.wemmert_gancarski,
    "SD validity": ref.sd_validity,
    "Ratkowsky-Lance": ref.ratkowsky_lance,
    "Score Function": ref.score_function,
    "I-index (PBM)": ref.pbm,
    "Negentropy": ref.negentropy,
    "Scott-Symons": ref.scott_symons,
    "Banfield-Raftery": ref.banfield_raftery,
    "Ball-Hall": ref.ball_hall,
    "Ray-Turi": ref.ray_turi,
    "S_Dbw": ref.s_dbw,
}


@pytest.mark.parametrize("name", sorted(LITERAL))
@pytest.mark.parametrize("share", [0.0, 0.3])
def test_index_matches_literal_definition(name, share):
    X, y = blobs(150, 4, 4, seed=2, std=2.0)
    labels = shuffled(y, share)
    assert values(X, labels)[name] == pytest.approx(LITERAL[name](X, labels), rel=1e-9)


def test_scatter_matrix_indices_match_their_definitions():
    X, y = blobs(200, 3, 3, seed=5, std=1.5)
    wg, bg, t = ref.scatter_matrices(X, y)
    v = values(X, y)
    n, k = len(X), 3
    assert v["SSE"] == pytest.approx(np.trace(wg), rel=1e-12)
    assert v["R-squared"] == pytest.approx(np.trace(bg) / np.trace(t), rel=1e-12)
    assert v["RMSSTD"] == pytest.approx(math.sqrt(np.trace(wg) / (3 * (n - k))), rel=1e-12)
    assert v["Det Ratio"] == pytest.approx(np.linalg.det(t) / np.linalg.det(wg), rel=1e-9)
    assert v["Log_Det_Ratio"] == pytest.approx(
        n * math.log(np.linalg.det(t) / np.linalg.det(wg)), rel=1e-9
    )
    assert v["Trace_WiB"] == pytest.approx(np.trace(np.linalg.inv(wg) @ bg), rel=1e-9)
    assert v["Ksq_DetW"] == pytest.approx(k * k * np.linalg.det(wg), rel=1e-9)


def test_s_dbw_matches_its_definition_where_densities_are_defined():
    # 2-D blobs with many points near each centroid, so no density ratio is 0/0.
    X, y = blobs(400, 2, 3, seed=4, std=1.0)
    assert values(X, y)["S_Dbw"] == pytest.approx(ref.s_dbw(X, y), rel=1e-12)


def test_nci_equals_point_biserial_for_two_clusters():
    # With K = 2 the centroid distance of a pair is 6 x (between indicator).
    X, y = blobs(100, 3, 2, seed=8, std=3.0)
    v = values(X, y)
    assert v["NCI"] == pytest.approx(v["Point-Biserial"], rel=1e-10)


# ---- worked out by hand ---------------------------------------------------------

# Two 2 x 2 squares of side 2, six apart: A = {(0,0),(2,0),(0,2),(2,2)}, B = A + (6,0).
SQUARES = np.array([[0, 0], [2, 0], [0, 2], [2, 2], [6, 0], [8, 0], [6, 2], [8, 2]], float)
SQUARE_LABELS = np.array([0, 0, 0, 0, 1, 1, 1, 1])


def test_hand_computed_values_on_two_squares():
    v = values(SQUARES, SQUARE_LABELS)
    r2, r20, r40, r68 = math.sqrt(2), math.sqrt(20), math.sqrt(40), math.sqrt(68)
    # Centroids (1,1), (7,1); every point is sqrt(2) from its centroid.
    # WG = diag(8, 8), BG = diag(72, 0), T = diag(80, 8).
    assert v["SSE"] == 16.0
    assert v["R-squared"] == pytest.approx(72 / 88)
    assert v["Calinski-Harabasz"] == pytest.approx((72 / 1) / (16 / 6))
    assert v["Ball-Hall"] == pytest.approx(2.0)
    assert v["RMSSTD"] == pytest.approx(math.sqrt(16 / (2 * 6)))
    assert v["Ray-Turi"] == pytest.approx((16 / 8) / 36)
    assert v["Davies-Bouldin"] == pytest.approx((r2 + r2) / 6)
    assert v["Det Ratio"] == pytest.approx(640 / 64)
    assert v["Log_Det_Ratio"] == pytest.approx(8 * math.log(10))
    assert v["Trace_WiB"] == pytest.approx(72 / 8)
    assert v["Ksq_DetW"] == pytest.approx(4 * 64)
    assert v["Banfield-Raftery"] == pytest.approx(8 * math.log(2))
    assert v["Scott-Symons"] == pytest.approx(0.0, abs=1e-12)  # det(WG_k / 4) = det I = 1
    assert v["Negentropy"] == pytest.approx(
        math.log(4 / 3) - 0.5 * math.log((80 / 7) * (8 / 7)) + math.log(2)
    )
    assert v["Ratkowsky-Lance"] == pytest.approx(math.sqrt(((72 / 80 + 0 / 8) / 2) / 2))
    # Within distances: sides 2 (x4), diagonals 2 sqrt 2 (x2) per square; all between
    # distances are >= 4, so every within/between couple is concordant.
    assert v["Gamma"] == 1.0
    assert v["G-plus"] == 0.0
    assert v["Tau"] == pytest.approx(192 / math.sqrt(12 * 16 * 28 * 27 / 2))
    # Between pairs by horizontal offset: 4 (x4: 4, 4, sqrt20, sqrt20), 6 (x8: four 6,
    # four sqrt40), 8 (x4: 8, 8, sqrt68, sqrt68).
    between_sum = 2 * 4 + 2 * r20 + 4 * 6 + 4 * r40 + 2 * 8 + 2 * r68
    assert v["McClain-Rao"] == pytest.approx(((16 + 8 * r2) / 12) / (between_sum / 16))
    assert v["Dunn Index"] == pytest.approx(4 / (2 * r2))
    assert v["Generalized Dunn"] == pytest.approx(6 / (2 * r2))
    assert v["CS index"] == pytest.approx(2 * (2 * r2) / 12)
    assert v["COP"] == pytest.approx(r2 / r40)
    assert v["NIVA"] == pytest.approx((2 + 2) / (5 + 5))
    a = (2 + 2 + 2 * r2) / 3
    s_outer = 1 - a / ((6 + 8 + r40 + r68) / 4)  # points at x = 0 or x = 8
    s_inner = 1 - a / ((4 + 6 + r20 + r40) / 4)  # points at x = 2 or x = 6
    assert v["Silhouette"] == pytest.approx((s_outer + s_inner) / 2)
    wg_ratio = 2 * (r2 / math.sqrt(50)) + 2 * (r2 / math.sqrt(26))
    assert v["Wemmert-Gancarski"] == pytest.approx(2 * (4 - wg_ratio) / 8)
    e_t = 4 * math.sqrt(17) + 4 * math.sqrt(5)  # distances to the grand centroid (4, 1)
    assert v["I-index (PBM)"] == pytest.approx((e_t / (8 * r2) * 6 / 2) ** 2)
    assert v["Score Function"] == pytest.approx(1 - math.exp(-math.exp(1.5 - 2 * r2)))
    assert v["SD validity"] == pytest.approx(r2 / math.sqrt(101) + 1 / 3)


def test_s_dbw_by_hand_with_centre_points():
    # Each square gets its centre point: V_k = (0.8, 0.8), sigma = sqrt(2 * 0.8 sqrt 2) / 2.
    # Only the centre lies within sigma of each centroid; nothing near the midpoint.
    X = np.vstack([SQUARES[:4], [[1, 1]], SQUARES[4:], [[7, 1]]])
    y = np.array([0] * 5 + [1] * 5)
    v = values(X, y)
    scat = 0.8 * math.sqrt(2) / math.sqrt(9.8**2 + 0.8**2)
    assert v["S_Dbw"] == pytest.approx(scat + 0.0)


def test_s_dbw_is_scat_when_no_point_is_near_any_centroid_or_midpoint():
    # sigma = sqrt(2 sqrt 2) / 2 = 0.84 < sqrt 2, and the midpoint (4, 1) is sqrt 5 from every
    # point near it: R = 0 by convention (literally 0/0), so S_Dbw = Scat = sqrt 2 / sqrt 101.
    result = PointSet(SQUARES).evaluate(SQUARE_LABELS)
    assert result["S_Dbw"].computed
    assert result["S_Dbw"].value == pytest.approx(math.sqrt(2) / math.sqrt(101), rel=1e-12)
    assert result["S_Dbw"].value == pytest.approx(ref.s_dbw(SQUARES, SQUARE_LABELS), rel=1e-12)


# ---- ties ------------------------------------------------------------------------


def test_concordance_counts_exact_with_tied_distances():
    # Integer grid points: many exactly equal pair distances.
    rng = np.random.default_rng(0)
    X = rng.integers(0, 4, size=(90, 2)).astype(float)
    labels = (X[:, 0] >= 2).astype(int) + 2 * (X[:, 1] >= 2).astype(int)
    labels = shuffled(labels, 0.2)
    d, _ = ref.pair_table(X, labels)
    assert np.unique(d).size < d.size / 10
    v = values(X, labels)
    assert v["Gamma"] == pytest.approx(ref.gamma(X, labels), rel=1e-12)
    assert v["G-plus"] == pytest.approx(ref.g_plus(X, labels), rel=1e-12)
    assert v["Tau"] == pytest.approx(ref.tau(X, labels), rel=1e-12)


@pytest.mark.parametrize("keep_share", [0.95, 0.4])
def test_concordance_exact_on_a_subset_with_ties(keep_share):
    # 0.95 uses the parent's sorted distances minus the removed pairs; 0.4 sorts anew.
    rng = np.random.default_rng(1)
    X = rng.integers(0, 5, size=(120, 3)).astype(float)
    labels = rng.integers(0, 3, size=120)
    rows = np.sort(rng.choice(120, int(keep_share * 120), replace=False))
    points = PointSet(X)
    points.evaluate(labels)
    v = points.subset(rows).evaluate(labels[rows]).values()
    for name, function in (("Gamma", ref.gamma), ("G-plus", ref.g_plus), ("Tau", ref.tau)):
        assert v[name] == pytest.approx(function(X[rows], labels[rows]), rel=1e-12)


def test_wemmert_gancarski_point_on_another_centroid_zeroes_its_cluster_term():
    # B's point (1, 0) lies on A's centroid: R = inf, so B contributes max(0, -inf) = 0.
    X = np.array([[0, 0], [2, 0], [1, 0], [1, 4]], float)
    v = values(X, np.array([0, 0, 1, 1]))
    assert v["Wemmert-Gancarski"] == pytest.approx((2 - 2 / math.sqrt(5)) / 4)
