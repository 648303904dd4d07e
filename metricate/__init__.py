"""metricate: turn good clusterings into labelled training data about clustering quality.

The public API only; the modules below hold the work.
"""

from metricate.analysis import index_report, score, train_model
from metricate.degradations import DegradationResult, degrade
from metricate.errors import (
    ColumnNotFoundError,
    InsufficientClustersError,
    InvalidCSVError,
    InvalidOptionError,
    MetricateError,
)
from metricate.evaluation import evaluate
from metricate.io.load import Clustering, load_clustering
from metricate.metrics import METRICS, EvaluationResult, MetricValue, PointSet
from metricate.options import GenerationOptions
from metricate.training import (
    TrainingDataResult,
    generate_training_data,
    generate_training_data_batch,
    normalize_metrics,
)
from metricate.version import __version__

__all__ = [
    "METRICS",
    "Clustering",
    "ColumnNotFoundError",
    "DegradationResult",
    "EvaluationResult",
    "GenerationOptions",
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
    "index_report",
    "load_clustering",
    "normalize_metrics",
    "score",
    "train_model",
]
