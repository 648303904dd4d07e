"""What every command shares: click option decorators, their parsing, one-line errors.

Options are parsed here, at the edge, into the library's types (tuples of names,
``GenerationOptions``); the library then trusts them. Each default comes from
``metricate.defaults`` or the library's own parser, never written here again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from metricate.defaults import DEFAULT_LARGE_N, DEFAULT_MEMORY_BUDGET, DEFAULT_SEED
from metricate.degradations import DEFAULT_LEVELS
from metricate.errors import InvalidOptionError, MetricateError
from metricate.memory import format_size, parse_size
from metricate.training.result import output_suffix

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


def split_names(values: tuple[str, ...] | str | None) -> tuple[str, ...]:
    """Accept both `--exclude A --exclude B` and `--exclude A,B`."""
    if values is None:
        return ()
    if isinstance(values, str):
        values = (values,)
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


def _names(_: click.Context, __: click.Parameter, value: Any) -> tuple[str, ...] | None:
    """A repeatable, comma-separable option: its names, or None when not given."""
    return split_names(value) or None


def check_output(path: str) -> Path:
    """An output table path, checked before any work: it ends in .parquet or .csv, is
    not a folder, and can be written (its folder exists or can be made)."""
    out = Path(path)
    if out.is_dir():
        raise InvalidOptionError(f"{path}: is a folder; name a file ending in .parquet or .csv")
    output_suffix(out)
    if out.exists() and not os.access(out, os.W_OK):
        raise InvalidOptionError(f"{path}: exists and cannot be overwritten")
    folder = out.absolute().parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir() or not os.access(folder, os.W_OK | os.X_OK):
        raise InvalidOptionError(f"{path}: cannot write in {folder}")
    return out


def compose(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Several option decorators as one, applied in the order listed."""

    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


label_col_option = click.option("--label-col", help="Label column (default: detected by name).")
embedding_cols_option = click.option(
    "--embedding-cols",
    callback=_names,
    help="Embedding column(s), comma-separated, or one string-array column (default: detected).",
)
exclude_option = click.option(
    "--exclude",
    multiple=True,
    callback=_names,
    help="Metric name(s) to leave out (repeat or comma-separate).",
)
force_all_option = click.option(
    "--force-all",
    is_flag=True,
    help="Compute the pair-based metrics on every point above --large-n too (exact, "
    "within --memory-budget, however long it takes).",
)
large_n_option = click.option(
    "--large-n",
    type=click.IntRange(min=2),
    default=DEFAULT_LARGE_N,
    show_default=True,
    help="Above this many points, the pair-based metrics use a stratified sample of this "
    "many points (the same for every version of a file) unless --force-all.",
)


def _size(_: click.Context, __: click.Parameter, value: Any) -> int:
    try:
        return parse_size(value)
    except InvalidOptionError as exc:
        raise click.BadParameter(str(exc)) from None


memory_budget_option = click.option(
    "--memory-budget",
    default=format_size(DEFAULT_MEMORY_BUDGET),
    show_default=True,
    callback=_size,
    help="Memory the run may hold, e.g. 4GB or 512MB (shared by its local processes); "
    "what does not fit is computed more slowly, never beyond it.",
)
types_option = click.option(
    "--types",
    multiple=True,
    callback=_names,
    help="Degradation type(s) (repeat or comma-separate; default: all 18).",
)
levels_option = click.option(
    "--levels",
    multiple=True,
    callback=_names,
    help=f"Level(s) <p>pct, p in (0, 100] (repeat or comma-separate; default: "
    f"{','.join(DEFAULT_LEVELS)}).",
)
seed_option = click.option(
    "--seed",
    type=click.IntRange(min=0),
    default=DEFAULT_SEED,
    show_default=True,
    help="Run seed (a non-negative integer); the same seed gives the same variants.",
)
broker_option = click.option(
    "--broker",
    envvar="METRICATE_BROKER_URL",
    help="Broker URL, e.g. redis://localhost:6379/0 (env METRICATE_BROKER_URL).",
)

# How a clustering CSV is read, how it is scored, which variants are made.
reading_options = compose(label_col_option, embedding_cols_option)
scoring_options = compose(exclude_option, force_all_option, large_n_option, memory_budget_option)
variant_options = compose(types_option, levels_option, seed_option)


def format_option(*choices: str) -> Callable[[F], F]:
    """``--format`` (into ``fmt``), one of ``choices``, the first the default."""
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(list(choices)),
        default=choices[0],
        show_default=True,
        help="Output format.",
    )
