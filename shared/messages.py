"""The task message schema: task names and their small JSON arguments.

- ``metricate.process_file(run_id, file, options, input_key)``: ``file`` names the
  input (its absolute path on the producer's machine); ``input_key`` is where the
  loaded file waits in the record store's ``inputs``, or None with
  ``--shared-storage``, where ``file`` is a path every worker can open. ``options``
  is ``GenerationOptions.to_dict()``. Returns
  ``{"file": ..., "records": n, "status": "ok" | "error"}``.
- ``metricate.finalize_run(run_id, submission)``: the chord body. ``submission``
  names one submission of the run, so that the callback of a superseded chord
  (before a resume) does nothing.
- ``metricate.run_failed(run_id, submission)``: the body's errback.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from celery import Celery, chord

PROCESS_FILE = "metricate.process_file"
FINALIZE_RUN = "metricate.finalize_run"
RUN_FAILED = "metricate.run_failed"


def file_summary(file: str, records: int, status: str) -> dict[str, Any]:
    return {"file": file, "records": records, "status": status}


def submit_run(
    app: Celery,
    run_id: str,
    files: Sequence[str],
    options: Mapping[str, Any],
    submission: str,
    input_keys: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Send one chord: a ``process_file`` per file, then ``finalize_run`` (with
    ``run_failed`` as its errback). Returns the header task ids by file."""
    task_ids = {file: uuid.uuid4().hex for file in files}
    body = app.signature(FINALIZE_RUN, args=(run_id, submission), immutable=True)
    # Called as run_failed(request, exc, traceback, run_id, submission) on a chord error.
    body.link_error(app.signature(RUN_FAILED, args=(run_id, submission)))
    if not files:
        body.apply_async()
        return task_ids
    header = [
        app.signature(
            PROCESS_FILE, args=(run_id, file, dict(options), (input_keys or {}).get(file))
        ).set(task_id=task_ids[file])
        for file in files
    ]
    chord(header, app=app)(body)
    return task_ids


def send_finalize(app: Celery, run_id: str, submission: str) -> None:
    """The chord body on its own: for a run whose files are all done but whose chord
    cannot fire (a header message still held by a dead worker). Idempotent."""
    body = app.signature(FINALIZE_RUN, args=(run_id, submission), immutable=True)
    body.link_error(app.signature(RUN_FAILED, args=(run_id, submission)))
    body.apply_async()
