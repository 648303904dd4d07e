"""`metricate report`: which indices of a training table tell originals from their
degraded versions."""

from __future__ import annotations

import json
from pathlib import Path

import click

from metricate.analysis import index_report, read_training_table, report_html
from metricate.io import atomic_write
from producer.display import figure, print_table
from producer.options import format_option, one_line_errors


@click.command()
@click.argument("table", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", help="Also write the report as one HTML page (.html).")
@format_option("table", "json")
@one_line_errors
def report(table: str, output: str | None, fmt: str) -> None:
    """Report which indices tell originals from their degraded versions."""
    if output is not None and not output.endswith(".html"):
        raise click.UsageError(f"the report's output must end in .html, got {output!r}")
    result = index_report(read_training_table(table))
    if output is not None:
        page = report_html(result, f"metricate report: {Path(table).name}")
        atomic_write(output, lambda tmp: tmp.write_text(page, encoding="utf-8"))
        click.echo(f"wrote {output}", err=True)
    if fmt == "json":
        click.echo(json.dumps(result.to_dict(), indent=2))
    else:
        click.echo(
            f"{table}: {result.n_files} file{'' if result.n_files == 1 else 's'}, "
            f"{result.n_rows} rows, {result.n_couples} "
            "(original, degraded) couples; best pairwise accuracy first"
        )
        header = ("index", "pairwise acc.", "AUC", "Spearman", "NaN share", "saturation")
        rows = [
            (str(name), *(figure(v) for v in values)) for name, values in result.indices.iterrows()
        ]
        print_table(header, rows)
        for group in result.redundant:
            click.echo(f"redundant (|Spearman| > 0.95): {', '.join(group)}")
