"""`metricate degrade`: the variant CSVs of one clustering, plus manifest.json."""

from __future__ import annotations

import click

from metricate.degradations import degrade as degrade_file
from producer.options import one_line_errors, reading_options, variant_options


@click.command("degrade")
@click.argument("csv", type=click.Path(dir_okay=False, path_type=str))
@click.argument("outdir", type=click.Path(file_okay=False, path_type=str))
@variant_options
@reading_options
@one_line_errors
def degrade(
    csv: str,
    outdir: str,
    types: tuple[str, ...] | None,
    levels: tuple[str, ...] | None,
    seed: int,
    label_col: str | None,
    embedding_cols: tuple[str, ...] | None,
) -> None:
    """Write degraded versions of one clustering CSV to OUTDIR, one CSV per variant,
    plus manifest.json."""
    result = degrade_file(
        csv,
        outdir,
        types=types,
        levels=levels,
        random_seed=seed,
        label_col=label_col,
        embedding_cols=embedding_cols,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(result.summary())
