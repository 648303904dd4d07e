"""`metricate train` and `metricate score`: a quality model from a training table, and
quality scores of new clusterings with it."""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Iterable

import click
from rich.console import Console
from rich.progress import track

from metricate.analysis import Scored, read_model, read_training_table, score, train_model
from metricate.analysis.model import DEFAULT_KINDS, KINDS, default_model, file_sha256
from metricate.errors import MetricateError
from metricate.training.reference import load_reference
from producer.display import figure, print_table
from producer.options import format_option, one_line_errors


@click.command()
@click.argument("table", type=click.Path(dir_okay=False, path_type=str))
@click.option("-o", "--output", required=True, help="The model file to write (.json).")
@click.option(
    "--kinds",
    default=",".join(DEFAULT_KINDS),
    show_default=True,
    help=f"Variant kinds to learn from besides the originals ({', '.join(KINDS)}).",
)
@click.option(
    "--reference",
    type=click.Path(dir_okay=False),
    help="The run's .run.json, for a CSV table (a Parquet table carries it).",
)
@one_line_errors
def train(table: str, output: str, kinds: str, reference: str | None) -> None:
    """Learn a quality model from a training table."""
    if not output.endswith(".json"):
        raise click.UsageError(f"the model file must end in .json, got {output!r}")
    frame = read_training_table(table)
    stored = load_reference(reference or table)
    chosen = tuple(k.strip() for k in kinds.split(",") if k.strip())
    model = train_model(frame, stored, chosen, table_sha256=file_sha256(table))
    model.write(output)
    cv = model.cv
    click.echo(
        f"{cv['files']} files, {cv['rows']} rows ({', '.join(model.kinds)} and the "
        f"originals), held out by file in {cv['folds']} folds, C={cv['C']:g}"
    )
    header = ("variants", "", "pairwise acc.", "AUC", "Spearman")
    rows = []
    parts = [("all", cv), *((kind, cv.get("by_kind", {}).get(kind)) for kind in model.kinds)]
    for kind, part in parts:
        if not part:
            continue
        best = part["best_single_index"]
        for who, figures in (("model", part["model"]), (f"best index ({best['name']})", best)):
            measured = (figure(figures[k]) for k in ("pairwise_accuracy", "auc", "spearman"))
            rows.append((kind if who == "model" else "", who, *measured))
    print_table(header, rows)
    click.echo(f"wrote {output}", err=True)


@click.command("score")
@click.argument(
    "paths",
    metavar="CSV...",
    nargs=-1,
    required=True,
    type=click.Path(dir_okay=False, path_type=str),
)
@click.option(
    "--model",
    "model_path",
    help="A model file from `metricate train` (default: the model bundled with metricate).",
)
@format_option("table", "json", "csv")
@one_line_errors
def score_command(paths: tuple[str, ...], model_path: str | None, fmt: str) -> None:
    """Score clusterings with a quality model."""
    model = read_model(model_path) if model_path else default_model()
    results, failed = [], []
    for path in _tracked(paths):
        try:
            results.append(score(path, model))
        except MetricateError as exc:  # this file only: the others are still scored
            failed.append(str(exc))
    for result in results:
        for warning in result.warnings:
            click.echo(f"Warning: {warning}", err=True)
    for message in failed:
        click.echo(f"Error: {message}", err=True)
    _print_scores(results, fmt)
    if failed:
        sys.exit(1)


def _tracked(paths: tuple[str, ...]) -> Iterable[str]:
    """The paths, with a progress bar on a terminal when there are several."""
    if len(paths) < 2 or not sys.stderr.isatty():
        return paths
    return track(paths, description="scoring", console=Console(stderr=True), transient=True)


def _print_scores(results: list[Scored], fmt: str) -> None:
    if fmt == "json":
        click.echo(json.dumps([r.to_dict() for r in results], indent=2))
    elif fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(("file", "score", "moved_by"))
        for r in results:
            moved = ";".join(f"{k}:{v:+.4f}" for k, v in list(r.contributions.items())[:3])
            writer.writerow((r.file, f"{r.score:.6f}", moved))
        click.echo(out.getvalue(), nl=False)
    else:
        rows = [
            (
                r.file,
                f"{r.score:.4f}",
                ", ".join(f"{k} {v:+.2f}" for k, v in list(r.contributions.items())[:3]),
            )
            for r in results
        ]
        print_table(("file", "score", "moved most by"), rows)
