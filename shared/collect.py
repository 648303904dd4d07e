"""A run's result from the record store: the same ``assemble_result`` as local mode."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from metricate.options import GenerationOptions
from metricate.training import TrainingDataResult, assemble_result
from shared.record_store import RecordStore


class RunNotFoundError(LookupError):
    """No parameters stored for this run id (never created, or expired)."""


def run_parameters(store: RecordStore, run_id: str) -> dict[str, Any]:
    parameters = store.parameters(run_id)
    if parameters is None:
        raise RunNotFoundError(f"run {run_id} not found (never created, or its keys expired)")
    return parameters


def assemble_run(
    store: RecordStore, run_id: str, *, run_errors: list[str] | None = None
) -> TrainingDataResult:
    """Every stored outcome of the run's expected files, normalized over the whole run.

    ``run_errors`` name what failed at the level of the run (the errback's); the
    result then holds what the run has so far.
    """
    parameters = run_parameters(store, run_id)
    options = GenerationOptions.from_dict(parameters["options"])
    expected = set(store.expected(run_id))
    outcomes = [o for o in store.outcomes(run_id) if o.file in expected]
    state = store.status(run_id)
    result = assemble_result(
        outcomes,
        options,
        run_id=run_id,
        started_at=parameters["started_at"],
        extra_metadata={"mode": "distributed", "n_files_expected": len(expected)},
    )
    # A second assembly of the same run gives the same file: the end time is the
    # first one's.
    finished = state.get("finished_at") or result.metadata["finished_at"]
    result.metadata["finished_at"] = finished
    if state.get("normalize_seconds"):
        result.metadata["normalize_seconds"] = float(state["normalize_seconds"])
    result.metadata["seconds"] = round(
        (
            datetime.fromisoformat(finished) - datetime.fromisoformat(parameters["started_at"])
        ).total_seconds(),
        3,
    )
    if run_errors:
        result.errors.extend(run_errors)
    return result
