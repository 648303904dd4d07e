"""Training data: one file to its outcome, all outcomes to one normalized table.

- ``pipeline.process_file``: load, degrade and score one file (never raises for bad data)
- ``scoring``: which point set scores which version
- ``assemble.assemble_result``: order, normalize across the run, add metadata
- ``local.run_local``: the in-process pool; ``api``: the Python entry points
"""

from metricate.training.api import generate_training_data, generate_training_data_batch
from metricate.training.assemble import assemble_result
from metricate.training.inputs import find_inputs
from metricate.training.local import run_local
from metricate.training.normalize import normalize_metrics
from metricate.training.outcome import FileOutcome
from metricate.training.pipeline import process_file
from metricate.training.result import TrainingDataResult, read_audit
from metricate.training.schema import COLUMNS, METRIC_COLUMNS, NORM_COLUMNS

__all__ = [
    "COLUMNS",
    "METRIC_COLUMNS",
    "NORM_COLUMNS",
    "FileOutcome",
    "TrainingDataResult",
    "assemble_result",
    "find_inputs",
    "generate_training_data",
    "generate_training_data_batch",
    "normalize_metrics",
    "process_file",
    "read_audit",
    "run_local",
]
