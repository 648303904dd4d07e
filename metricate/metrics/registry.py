"""The metric registry: one plain table row per index, in the order of metrics.md.

Adding an index is adding one function and one row here.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from metricate.metrics import external, internal
from metricate.metrics.context import Partition

INF = math.inf


@dataclass(frozen=True)
class Metric:
    name: str
    direction: Literal["higher", "lower"]
    range: tuple[float, float]
    needs_pairs: bool
    kind: Literal["internal", "external"]
    function: Callable[[Partition], float]
    description: str

    @property
    def range_text(self) -> str:
        lo, hi = self.range

        def show(v: float) -> str:
            return "inf" if v == INF else "-inf" if v == -INF else f"{v:g}"

        left = "(" if lo == -INF else "["
        right = ")" if hi == INF else "]"
        return f"{left}{show(lo)}, {show(hi)}{right}"


def _m(name, direction, lo, hi, pairs, function, description, kind="internal") -> Metric:  # type: ignore[no-untyped-def]
    return Metric(name, direction, (lo, hi), pairs, kind, function, description)


INTERNAL_METRICS: tuple[Metric, ...] = (
    _m("Silhouette", "higher", -1, 1, True, internal.silhouette, "mean silhouette width"),
    _m(
        "Davies-Bouldin",
        "lower",
        0,
        INF,
        False,
        internal.davies_bouldin,
        "mean worst-case ratio of cluster spreads to centroid distance",
    ),
    _m(
        "Calinski-Harabasz",
        "higher",
        0,
        INF,
        False,
        internal.calinski_harabasz,
        "between- over within-group dispersion, degrees-of-freedom scaled",
    ),
    _m(
        "Dunn Index",
        "higher",
        0,
        INF,
        True,
        internal.dunn_index,
        "smallest between-cluster distance over largest diameter",
    ),
    _m("SSE", "lower", 0, INF, False, internal.sse, "within-group sum of squares (WGSS)"),
    _m(
        "NCI",
        "higher",
        -1,
        1,
        True,
        internal.nci,
        "correlation of pair distances with their clusters' centroid distances",
    ),
    _m(
        "Ball-Hall",
        "lower",
        0,
        INF,
        False,
        internal.ball_hall,
        "mean within-cluster squared distance to the centroid",
    ),
    _m(
        "Ratkowsky-Lance",
        "higher",
        0,
        1,
        False,
        internal.ratkowsky_lance,
        "mean share of each dimension's variance between clusters",
    ),
    _m(
        "Ray-Turi",
        "lower",
        0,
        INF,
        False,
        internal.ray_turi,
        "mean squared distance to centroid over nearest centroid pair",
    ),
    _m(
        "RMSSTD",
        "lower",
        0,
        INF,
        False,
        internal.rmsstd,
        "pooled within-cluster standard deviation",
    ),
    _m("R-squared", "higher", 0, 1, False, internal.r_squared, "BGSS over TSS"),
    _m(
        "Wemmert-Gancarski",
        "higher",
        0,
        1,
        False,
        internal.wemmert_gancarski,
        "share of points nearer their own centroid than any other",
    ),
    _m(
        "CS index",
        "lower",
        0,
        INF,
        True,
        internal.cs_index,
        "mean cluster spread over centroid separation (Chou-Su-Lai)",
    ),
    _m(
        "COP",
        "lower",
        0,
        INF,
        True,
        internal.cop,
        "centroid spread over farthest-neighbour separation",
    ),
    _m(
        "S_Dbw",
        "lower",
        0,
        INF,
        False,
        internal.s_dbw,
        "scattering plus inter-cluster density (no point near a pair: no density)",
    ),
    _m("Det Ratio", "higher", 0, INF, False, internal.det_ratio, "det T over det WG"),
    _m(
        "Gamma",
        "higher",
        -1,
        1,
        True,
        internal.gamma,
        "Baker-Hubert concordance of within and between distances",
    ),
    _m(
        "Generalized Dunn",
        "higher",
        0,
        INF,
        True,
        internal.generalized_dunn,
        "GDI_41: smallest centroid distance over largest diameter",
    ),
    _m("G-plus", "lower", 0, 1, True, internal.g_plus, "share of discordant pair couples"),
    _m(
        "I-index (PBM)", "higher", 0, INF, False, internal.pbm, "Pakhira-Bandyopadhyay-Maulik index"
    ),
    _m(
        "Log_Det_Ratio", "higher", -INF, INF, False, internal.log_det_ratio, "N log(det T / det WG)"
    ),
    _m(
        "McClain-Rao",
        "lower",
        0,
        INF,
        True,
        internal.mcclain_rao,
        "mean within distance over mean between distance",
    ),
    _m(
        "Point-Biserial",
        "higher",
        -1,
        1,
        True,
        internal.point_biserial,
        "correlation of pair distance with being a between-cluster pair",
    ),
    _m("SD validity", "lower", 0, INF, False, internal.sd_validity, "scattering plus separation"),
    _m(
        "Tau",
        "higher",
        -1,
        1,
        True,
        internal.tau,
        "Kendall-type concordance of distances and partition",
    ),
    _m("Trace_WiB", "higher", 0, INF, False, internal.trace_wib, "tr(WG^-1 BG)"),
    _m("Ksq_DetW", "lower", 0, INF, False, internal.ksq_detw, "K^2 det WG"),
    _m(
        "Banfield-Raftery",
        "lower",
        -INF,
        INF,
        False,
        internal.banfield_raftery,
        "sum_k n_k log(tr WG_k / n_k)",
    ),
    _m("Negentropy", "lower", -INF, INF, False, internal.negentropy, "negentropy increment"),
    _m(
        "NIVA",
        "lower",
        0,
        INF,
        True,
        internal.niva,
        "nearest-neighbour compactness over separation (project definition)",
    ),
    _m(
        "Score Function",
        "higher",
        0,
        1,
        False,
        internal.score_function,
        "1 - 1/exp(exp(bcd - wcd))",
    ),
    _m(
        "Scott-Symons",
        "lower",
        -INF,
        INF,
        False,
        internal.scott_symons,
        "sum_k n_k log det(WG_k / n_k)",
    ),
)

EXTERNAL_METRICS: tuple[Metric, ...] = (
    _m(
        "Adjusted Rand Index",
        "higher",
        -1,
        1,
        False,
        external.adjusted_rand_index,
        "chance-corrected pair agreement with the reference",
        "external",
    ),
    _m(
        "Van Dongen",
        "lower",
        0,
        1,
        False,
        external.van_dongen,
        "share of points outside the best-matching cluster",
        "external",
    ),
    _m(
        "Variation of Information",
        "lower",
        0,
        INF,
        False,
        external.variation_of_information,
        "H(U|V) + H(V|U) in nats",
        "external",
    ),
    _m(
        "Omega",
        "higher",
        -INF,
        1,
        False,
        external.omega,
        "chance-corrected pair agreement (Collins-Dent)",
        "external",
    ),
)

METRICS: tuple[Metric, ...] = INTERNAL_METRICS + EXTERNAL_METRICS
METRICS_BY_NAME: dict[str, Metric] = {m.name: m for m in METRICS}
INTERNAL_METRIC_NAMES: tuple[str, ...] = tuple(m.name for m in INTERNAL_METRICS)
