"""All files' outcomes to the run's result: rows in path order, normalized over the run."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from metricate.options import GenerationOptions
from metricate.training.normalize import normalize_metrics
from metricate.training.outcome import FileOutcome
from metricate.training.reference import build_reference
from metricate.training.result import TrainingDataResult
from metricate.training.schema import METRIC_COLUMNS
from metricate.version import __version__


def assemble_result(
    outcomes: Iterable[FileOutcome],
    options: GenerationOptions,
    *,
    run_id: str | None = None,
    started_at: str | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> TrainingDataResult:
    """Every file's raw records in sorted path order, each metric normalized across the
    whole run, with the run's metadata, warnings and errors."""
    clock = time.perf_counter()
    ordered = sorted(outcomes, key=lambda o: o.file)
    records = [r for o in ordered for r in o.records]
    raw = pd.DataFrame.from_records(records, columns=list(METRIC_COLUMNS)).astype(np.float64)
    _add_normalized(records, raw)
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    metadata: dict[str, Any] = {
        "run_id": run_id or uuid.uuid4().hex[:12],
        "package": "metricate",
        "version": __version__,
        "started_at": started_at or finished,
        "finished_at": finished,
        "parameters": options.to_dict(),
        "files": [o.summary() for o in ordered],
        "n_files": len(ordered),
        "n_files_failed": sum(1 for o in ordered if o.status != "ok"),
        "n_rows": len(records),
        "variants_attempted": sum(o.variants_attempted for o in ordered),
        "variants_produced": sum(o.variants_produced for o in ordered),
        "normalize_seconds": round(time.perf_counter() - clock, 3),
        # What normalizes a clustering that is not in this run (normalize_metrics).
        "reference": build_reference(raw, METRIC_COLUMNS),
        **(extra_metadata or {}),
    }
    return TrainingDataResult(
        records=records,
        metadata=metadata,
        warnings=[w for o in ordered for w in o.warnings],
        errors=[e for o in ordered for e in o.errors],
    )


def _add_normalized(records: list[dict[str, Any]], raw: pd.DataFrame) -> None:
    """Each record gets its ``<metric>_norm`` values, ranked over all rows of ``raw``
    (the records' raw metric columns, in the same order)."""
    normalized = normalize_metrics(raw, METRIC_COLUMNS)
    for name in METRIC_COLUMNS:
        column = normalized[f"{name}_norm"].to_numpy()
        for record, value in zip(records, column, strict=True):
            record[f"{name}_norm"] = float(value)
