"""`metricate degrade` and `metricate list degradations`.

Registered by producer/cli.py: ``cli.add_command(degrade)`` and a ``list
degradations`` command calling ``print_degradation_registry()``.
"""

from __future__ import annotations

import click

from metricate.degradations import DEFAULT_LEVELS, DEGRADATIONS
from producer.display import print_table


@click.command("degrade")
@click.argument("csv", type=click.Path(dir_okay=False, path_type=str))
@click.argument("outdir", type=click.Path(file_okay=False, path_type=str))
@click.option(
    "--types",
    multiple=True,
    help="Degradation type(s) to make (repeat or comma-separate; default: all 18).",
)
@click.option(
    "--levels",
    multiple=True,
    help=f"Level(s) <p>pct, p in (0, 100] (repeat or comma-separate; default: "
    f"{','.join(DEFAULT_LEVELS)}).",
)
@click.option(
    "--seed",
    type=int,
    default=42,
    show_default=True,
    help="Run seed; the same seed gives the same variants.",
)
@click.option("--label-col", help="Label column (default: detected by name).")
@click.option(
    "--embedding-cols",
    help="Embedding column(s), comma-separated, or one string-array column (default: detected).",
)
def degrade(
    csv: str,
    outdir: str,
    types: tuple[str, ...],
    levels: tuple[str, ...],
    seed: int,
    label_col: str | None,
    embedding_cols: str | None,
) -> None:
    """Write degraded versions of one clustering CSV to OUTDIR, one CSV per variant,
    plus manifest.json."""
    # producer/cli.py imports this module to register the command, so its helpers
    # are imported when the command runs; a module-level import would be circular.
    from producer.cli import embedding_columns, one_line_errors, split_names

    one_line_errors(_degrade)(
        csv,
        outdir,
        split_names(types) or None,
        split_names(levels) or None,
        seed,
        label_col,
        embedding_columns(embedding_cols),
    )


def _degrade(
    csv: str,
    outdir: str,
    types: list[str] | None,
    levels: list[str] | None,
    seed: int,
    label_col: str | None,
    columns: str | tuple[str, ...] | None,
) -> None:
    import metricate.degradations

    result = metricate.degradations.degrade(
        csv,
        outdir,
        types=types,
        levels=levels,
        random_seed=seed,
        label_col=label_col,
        embedding_cols=list(columns) if isinstance(columns, tuple) else columns,
    )
    for warning in result.warnings:
        click.echo(f"Warning: {warning}", err=True)
    click.echo(result.summary())


def print_degradation_registry() -> None:
    """The 18 types in spec order: name, category, what a variant changes, description."""
    rows = [
        (str(i), d.name, d.category, d.changes, d.description)
        for i, d in enumerate(DEGRADATIONS, start=1)
    ]
    print_table(("#", "name", "category", "changes", "description"), rows)
