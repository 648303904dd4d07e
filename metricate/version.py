"""The package version, read by pyproject.toml and written into every run's metadata."""

__version__ = "0.1.0"
