"""Clustering validity indices: the registry, the shared context and ``PointSet``."""

from metricate.metrics.pointset import MetricNames, PointSet, check_metric_names
from metricate.metrics.registry import (
    EXTERNAL_METRICS,
    INTERNAL_METRIC_NAMES,
    INTERNAL_METRICS,
    METRICS,
    METRICS_BY_NAME,
    Metric,
)
from metricate.metrics.result import EvaluationResult, MetricValue

__all__ = [
    "EXTERNAL_METRICS",
    "INTERNAL_METRICS",
    "INTERNAL_METRIC_NAMES",
    "METRICS",
    "METRICS_BY_NAME",
    "EvaluationResult",
    "Metric",
    "MetricNames",
    "MetricValue",
    "PointSet",
    "check_metric_names",
]
