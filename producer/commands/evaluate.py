"""`metricate evaluate`: one clustering CSV scored on every index."""

from __future__ import annotations

import click

from metricate.evaluation import evaluate as evaluate_file
from producer.display import print_evaluation
from producer.options import format_option, one_line_errors, reading_options, scoring_options


@click.command()
@click.argument("csv", type=click.Path(dir_okay=False, path_type=str))
@format_option("table", "json", "csv")
@scoring_options
@reading_options
@click.option("--reference-col", help="Column of true labels: adds the 4 external indices.")
@click.option(
    "--reference",
    type=click.Path(dir_okay=False),
    help="A training table (.parquet) or its .run.json: adds each index's _norm value "
    "against that run.",
)
@one_line_errors
def evaluate(
    csv: str,
    fmt: str,
    exclude: tuple[str, ...] | None,
    force_all: bool,
    large_n: int,
    memory_budget: int,
    label_col: str | None,
    embedding_cols: tuple[str, ...] | None,
    reference_col: str | None,
    reference: str | None,
) -> None:
    """Score one clustering CSV on every validity index."""
    result = evaluate_file(
        csv,
        exclude=exclude,
        force_all=force_all,
        large_n=large_n,
        memory_budget=memory_budget,
        label_col=label_col,
        embedding_cols=embedding_cols,
        reference_col=reference_col,
        reference=reference,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    if fmt == "json":
        click.echo(result.to_json())
    elif fmt == "csv":
        click.echo(result.to_csv(), nl=False)
    else:
        print_evaluation(result)
