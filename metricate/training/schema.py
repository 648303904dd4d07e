"""The training table's columns, in the order of spec/training-data.md (74 by default)."""

from __future__ import annotations

from pathlib import Path

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
COLUMNS: tuple[str, ...] = (
    LEADING_COLUMNS + METRIC_COLUMNS + ("metrics_computed", "metrics_failed") + NORM_COLUMNS
)
INTEGER_COLUMNS = ("n_clusters", "n_samples", "quality", "metrics_computed")
STRING_COLUMNS = (
    "clustering_name",
    "topic",
    "degradation_type",
    "degradation_level",
    "metrics_failed",
)
TOPIC_SUFFIXES = ("_clustering", "_dataset", "_clusters", "_data")


def topic_from_name(path: str | Path) -> str:
    """The file stem cut before the earliest of _clustering, _dataset, _clusters, _data."""
    stem = Path(path).stem
    cuts = [stem.find(suffix) for suffix in TOPIC_SUFFIXES if stem.find(suffix) > 0]
    return stem[: min(cuts)] if cuts else stem
