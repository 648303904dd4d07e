"""Training data: records, cross-dataset normalization, the result, generation."""

from metricate.training.generator import (
    FileOutcome,
    GenerationOptions,
    assemble_result,
    find_inputs,
    generate_training_data,
    generate_training_data_batch,
    process_file,
)
from metricate.training.normalize import normalize_metrics
from metricate.training.result import TrainingDataResult, read_audit
from metricate.training.schema import COLUMNS, METRIC_COLUMNS, NORM_COLUMNS, topic_from_name

__all__ = [
    "COLUMNS",
    "METRIC_COLUMNS",
    "NORM_COLUMNS",
    "FileOutcome",
    "GenerationOptions",
    "TrainingDataResult",
    "assemble_result",
    "find_inputs",
    "generate_training_data",
    "generate_training_data_batch",
    "normalize_metrics",
    "process_file",
    "read_audit",
    "topic_from_name",
]
