"""metricate: turn good clusterings into labelled training data about clustering quality."""

from metricate.degradations import DegradationResult, degrade
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
from metricate.training import (
    TrainingDataResult,
    generate_training_data,
    generate_training_data_batch,
    normalize_metrics,
)

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "Clustering",
    "ColumnNotFoundError",
    "DegradationResult",
    "EvaluationResult",
    "InsufficientClustersError",
    "InvalidCSVError",
    "InvalidOptionError",
    "MetricValue",
    "MetricateError",
    "PointSet",
    "TrainingDataResult",
    "__version__",
    "degrade",
    "evaluate",
    "generate_training_data",
    "generate_training_data_batch",
    "load_clustering",
    "normalize_metrics",
]
