"""What a training table says: which indices carry the signal (``report``), a quality
model learnt from it (``train``), and scores of new clusterings (``score``)."""

from metricate.analysis.model import (
    QualityModel,
    Scored,
    read_model,
    score,
    train_model,
)
from metricate.analysis.report import (
    IndexReport,
    index_report,
    read_training_table,
    report_html,
)

__all__ = [
    "IndexReport",
    "QualityModel",
    "Scored",
    "index_report",
    "read_model",
    "read_training_table",
    "report_html",
    "score",
    "train_model",
]
