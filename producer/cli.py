"""`metricate`: the command line. One group, verbs as subcommands.

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from metricate.errors import MetricateError

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(function: F) -> F:
    """Turn library errors into `Error: <message>` on stderr and exit code 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except MetricateError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def split_names(values: tuple[str, ...]) -> list[str]:
    """Accept both `--exclude A --exclude B` and `--exclude A,B`."""
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def embedding_columns(value: str | None) -> str | tuple[str, ...] | None:
    """`--embedding-cols`: one name (maybe a string-array column) or several columns."""
    if not value:
        return None
    parts = split_names((value,))
    return parts[0] if len(parts) == 1 else tuple(parts)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metricate")
def cli() -> None:
    """Turn good clusterings into labelled training data about clustering quality."""


@cli.command()
@click.argument("csv", type=click.Path(dir_okay=False, path_type=str))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["table", "json", "csv"]),
    default="table",
    show_default=True,
    help="Output format.",
)
@click.option("--exclude", multiple=True, help="Metric name(s) to skip (repeat or comma-separate).")
@click.option("--force-all", is_flag=True, help="Compute pair-based metrics above --large-n too.")
@click.option(
    "--large-n",
    type=click.IntRange(min=2),
    default=50_000,
    show_default=True,
    help="Above this many points, pair-based metrics are skipped unless --force-all.",
)
@click.option("--label-col", help="Label column (default: detected by name).")
@click.option(
    "--embedding-cols",
    help="Embedding column(s), comma-separated, or one string-array column (default: detected).",
)
@click.option("--reference-col", help="Column of true labels: adds the 4 external indices.")
@one_line_errors
def evaluate(
    csv: str,
    fmt: str,
    exclude: tuple[str, ...],
    force_all: bool,
    large_n: int,
    label_col: str | None,
    embedding_cols: str | None,
    reference_col: str | None,
) -> None:
    """Score one clustering CSV on every validity index."""
    import metricate

    columns = embedding_columns(embedding_cols)
    result = metricate.evaluate(
        csv,
        exclude=split_names(exclude),
        force_all=force_all,
        large_n=large_n,
        label_col=label_col,
        embedding_cols=list(columns) if isinstance(columns, tuple) else columns,
        reference_col=reference_col,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if fmt == "json":
        click.echo(result.to_json())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        from producer.display import print_evaluation

        print_evaluation(result)


@cli.group("list")
def list_group() -> None:
    """List what metricate knows: metrics or degradations."""


@list_group.command("metrics")
def list_metrics() -> None:
    """The 32 internal and 4 external indices, in output order."""
    from producer.display import print_metric_registry

    print_metric_registry()


@list_group.command("degradations")
def list_degradations() -> None:
    """The 18 degradation types: name, category, what a variant changes, description."""
    from producer.degrade_command import print_degradation_registry

    print_degradation_registry()


def _register_commands() -> None:
    # Commands live in their own modules, which import helpers from this one.
    from producer.degrade_command import degrade
    from producer.generate_command import generate
    from producer.service_commands import collect, status, worker

    cli.add_command(degrade)
    cli.add_command(generate)
    cli.add_command(status)
    cli.add_command(collect)
    cli.add_command(worker)


_register_commands()


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
