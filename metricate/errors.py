"""Exception types. Every message is one line that names the file and the problem."""

from __future__ import annotations


class MetricateError(Exception):
    """Base class of every error metricate raises for bad input or bad options."""


class InvalidCSVError(MetricateError):
    """The file is missing, unreadable, empty, or its contents cannot be used."""


class ColumnNotFoundError(MetricateError):
    """A label or embedding column is missing or cannot be detected."""


class InsufficientClustersError(MetricateError):
    """Fewer than 2 clusters remain after noise removal."""


class InvalidOptionError(MetricateError):
    """An option value is not one of the accepted values (unknown metric, bad level...)."""
