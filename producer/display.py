"""Terminal output: rich tables on a terminal, plain aligned text otherwise."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from metricate.degradations import DEGRADATIONS
from metricate.metrics import METRICS, EvaluationResult


def _console() -> Console:
    return Console(soft_wrap=not sys.stdout.isatty())


def print_evaluation(result: EvaluationResult) -> None:
    meta = result.metadata
    title = (
        f"{meta.get('file', '')}: {meta.get('n_samples')} points, "
        f"{meta.get('n_clusters')} clusters, {meta.get('n_dimensions')} dimensions"
        f" ({meta.get('n_noise', 0)} noise)"
    )
    if not sys.stdout.isatty():
        print(title)
        print(result)
        print(f"{result.metrics_computed} of 32 internal metrics computed")
        return
    table = Table(title=title)
    columns = ["metric", "value", *(["normalized"] if result.normalized else []), "better"]
    for column in [*columns, "range", "note"]:
        table.add_column(column, justify="right" if column in ("value", "normalized") else "left")
    for m in result.metrics:
        shown = f"{m.value:.6g}" if m.computed else "-"
        norm = result.normalized.get(m.name, math.nan)
        extra = [f"{norm:.3f}" if math.isfinite(norm) else "-"] if result.normalized else []
        table.add_row(m.name, shown, *extra, m.direction, m.range, m.reason)
    console = _console()
    console.print(table)
    console.print(f"{result.metrics_computed} of 32 internal metrics computed")


def print_metric_registry() -> None:
    rows = [
        (
            str(i),
            m.name,
            m.kind,
            m.direction,
            m.range_text,
            "yes" if m.needs_pairs else "",
            m.description,
        )
        for i, m in enumerate(METRICS, start=1)
    ]
    print_table(("#", "name", "kind", "better", "range", "pairs", "description"), rows)


def print_degradation_registry() -> None:
    """The 18 types in spec order: name, category, what a variant changes, description."""
    rows = [
        (str(i), d.name, d.category, d.changes, d.description)
        for i, d in enumerate(DEGRADATIONS, start=1)
    ]
    print_table(("#", "name", "category", "changes", "description"), rows)


def print_table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> None:
    """A rich table on a terminal; aligned plain columns otherwise (last one free)."""
    if not sys.stdout.isatty():
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header) - 1)]
        for row in [header, *rows]:
            print("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=False)) + "  " + row[-1])
        return
    table = Table()
    for column in header:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    _console().print(table)


def figure(value: float) -> str:
    """A figure in [0, 1] (or a correlation) to three decimals; "-" when undefined."""
    return "-" if math.isnan(value) else f"{value:.3f}"
