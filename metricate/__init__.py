"""metricate: turn good clusterings into labelled training data about clustering quality."""

from metricate.errors import (
    ColumnNotFoundError,
    InsufficientClustersError,
    InvalidCSVError,
    InvalidOptionError,
    MetricateError,
)
from metricate.evaluation import evaluate
from metricate.load import Clustering, load_clustering
from metricate.metrics import METRICS, EvaluationResult, MetricValue, PointSet

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "Clustering",
    "ColumnNotFoundError",
    "EvaluationResult",
    "InsufficientClustersError",
    "InvalidCSVError",
    "InvalidOptionError",
    "MetricValue",
    "MetricateError",
    "PointSet",
    "__version__",
    "evaluate",
    "load_clustering",
]
