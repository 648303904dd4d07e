"""The `metricate` command line."""
