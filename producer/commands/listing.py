"""`metricate list metrics` and `metricate list degradations`: the two registries."""

from __future__ import annotations

import click

from producer.display import print_degradation_registry, print_metric_registry


@click.group("list")
def list_group() -> None:
    """List what metricate knows: metrics or degradations."""


@list_group.command("metrics")
def list_metrics() -> None:
    """The 32 internal and 4 external indices, in output order."""
    print_metric_registry()


@list_group.command("degradations")
def list_degradations() -> None:
    """The 18 degradation types: name, category, what a variant changes, description."""
    print_degradation_registry()
