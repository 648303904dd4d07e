"""What a training table says: which indices carry the signal (``report``)."""

from metricate.analysis.report import IndexReport, index_report, read_training_table, report_html

__all__ = ["IndexReport", "index_report", "read_training_table", "report_html"]
