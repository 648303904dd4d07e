"""The training table's columns, in order (80: the spec's 74, then 6 that say what each
version is; see ``docs/table.md``)."""

from __future__ import annotations

from metricate.metrics import INTERNAL_METRICS

METRIC_COLUMNS: tuple[str, ...] = tuple(m.name for m in INTERNAL_METRICS)
NORM_COLUMNS: tuple[str, ...] = tuple(f"{name}_norm" for name in METRIC_COLUMNS)
LEADING_COLUMNS: tuple[str, ...] = (
    "clustering_name",
    "topic",
    "n_clusters",
    "n_samples",
    "quality",
    "quality_score",
    "degradation_type",
    "degradation_level",
)
# After the spec's 74: what a version actually is, so that labels can be audited, and
# which pair-based values were computed on a sample of its points (above large_n).
AUDIT_COLUMNS: tuple[str, ...] = (
    "achieved_fraction",
    "points_affected",
    "n_dims",
    "variant_kind",
    "metrics_sampled",
    "pair_sample_size",
)
COLUMNS: tuple[str, ...] = (
    LEADING_COLUMNS
    + METRIC_COLUMNS
    + ("metrics_computed", "metrics_failed")
    + NORM_COLUMNS
    + AUDIT_COLUMNS
)
INTEGER_COLUMNS = (
    "n_clusters",
    "n_samples",
    "quality",
    "metrics_computed",
    "points_affected",
    "n_dims",
    "pair_sample_size",
)
STRING_COLUMNS = (
    "clustering_name",
    "topic",
    "degradation_type",
    "degradation_level",
    "metrics_failed",
    "variant_kind",
    "metrics_sampled",
)
