"""The tasks: thin wrappers around the library's two functions and the record store.

Start a worker with ``metricate worker`` (or ``celery -A worker.tasks worker``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from celery.utils.log import get_task_logger
from redis.exceptions import RedisError

from metricate.io.stored import clustering_from_bytes
from metricate.options import GenerationOptions
from metricate.parallel import set_thread_count
from metricate.training import FileOutcome, TrainingDataResult, process_file
from shared.celery_app import make_app
from shared.collect import assemble_run, run_parameters
from shared.messages import FINALIZE_RUN, PROCESS_FILE, RUN_FAILED, file_summary
from shared.record_store import RecordStore, now

logger = get_task_logger(__name__)
app = make_app()
settings = app.conf.metricate_settings
# One library thread per process (unless told otherwise): the pool's processes already
# use every core, more threads would only contend.
set_thread_count(settings.threads)


@worker_process_init.connect
def _threads_per_process(**_: Any) -> None:
    set_thread_count(settings.threads)


_store: RecordStore | None = None


def store() -> RecordStore:
    # One connection pool per worker process, made after the fork.
    global _store
    if _store is None:
        _store = RecordStore.from_settings(settings)
    return _store


@app.task(
    name=PROCESS_FILE,
    bind=True,
    # Only infrastructure fails this task (Redis unreachable...): retry with backoff.
    autoretry_for=(RedisError, ConnectionError),
    retry_backoff=2,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=settings.max_attempts,
)
def process_file_task(
    self: Any, run_id: str, file: str, options: dict[str, Any], input_key: str | None = None
) -> dict:
    """Score one file and store its outcome; a bad file is an error entry, not a failure."""
    records = store()
    if records.status(run_id).get("status") == "interrupted":
        # Stopped with Ctrl-C while this message was queued; a resume enqueues it again.
        return file_summary(file, 0, "skipped")
    if records.is_done(run_id, file):
        # Redelivered or duplicated: the outcome is already stored in full.
        summary = records.file_summary(run_id, file) or {}
        return file_summary(file, len(summary.get("record_ids", [])), summary.get("status", "ok"))
    attempt = records.begin_attempt(run_id, file)
    with holding_lease(records, run_id, file):
        if attempt > settings.max_attempts:
            reason = (
                f"{file}: gave up after {attempt - 1} attempts (the worker was lost each "
                "time, e.g. out of memory)"
            )
            outcome = FileOutcome(file=file, status="error", errors=[reason])
        else:
            outcome = _outcome(records, run_id, file, options, input_key)
        records.save_outcome(run_id, outcome)
    return file_summary(file, len(outcome.records), outcome.status)


def _outcome(
    records: RecordStore, run_id: str, file: str, options: dict[str, Any], input_key: str | None
) -> FileOutcome:
    loaded = None
    if input_key is not None:
        blob = records.input(run_id, input_key)
        if blob is None:
            reason = f"{file}: its input is no longer in Redis (the run's keys expired?)"
            return FileOutcome(file=file, status="error", errors=[reason])
        loaded = clustering_from_bytes(blob)
    try:
        return process_file(
            file,
            GenerationOptions.from_dict(options),
            reraise=(SoftTimeLimitExceeded,),
            loaded=loaded,
        )
    except SoftTimeLimitExceeded:
        reason = f"{file}: took longer than {settings.soft_time_limit} s, stopped"
        return FileOutcome(file=file, status="error", errors=[reason])


@contextlib.contextmanager
def holding_lease(records: RecordStore, run_id: str, file: str) -> Iterator[None]:
    """Hold the file's lease while the block runs, renewed every third of its length
    on a thread of its own: a worker killed outright stops renewing, and the lease
    lapses so that the producer hands the file back."""
    holder = f"{socket.gethostname()}:{os.getpid()}"
    seconds = settings.lease_seconds
    stop = threading.Event()

    def renew() -> None:
        while not stop.wait(seconds / 3):
            with contextlib.suppress(RedisError):
                records.renew_lease(run_id, file, holder, seconds)

    records.renew_lease(run_id, file, holder, seconds)
    renewer = threading.Thread(target=renew, name="metricate-lease", daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(RedisError):
            records.release_lease(run_id, file)


# The callback may fire before the done-set shows every file (a duplicated header task
# counted twice); it then waits for the stragglers as long as one file may legitimately
# run, the hard time limit, checking every STRAGGLER_POLL seconds.
STRAGGLER_POLL = 10


@app.task(
    name=FINALIZE_RUN,
    bind=True,
    max_retries=settings.hard_time_limit // STRAGGLER_POLL + 1,
    autoretry_for=(RedisError,),
)
def finalize_run(self: Any, run_id: str, submission: str) -> dict:
    """Check every expected file is done, normalize over the run, deliver the table
    (into the record store for the producer to write, or with --shared-storage to the
    output path), mark the run done. Running it twice delivers once."""
    records = store()
    parameters = run_parameters(records, run_id)
    state = records.status(run_id)
    if state.get("submission") != submission or state.get("status") == "interrupted":
        return {"run_id": run_id, "status": "superseded"}
    if state.get("status") == "done":
        return {"run_id": run_id, "status": "done", "written": False}
    missing = records.missing(run_id)
    if missing:
        # The header reported complete before the done-set did (a duplicate counted
        # twice): wait for the stragglers rather than write an incomplete table.
        raise self.retry(
            countdown=STRAGGLER_POLL,
            exc=RuntimeError(f"{len(missing)} files not done after {settings.hard_time_limit} s"),
        )
    token = uuid.uuid4().hex
    if not records.acquire_finalize_lock(run_id, token, settings.hard_time_limit):
        return {"run_id": run_id, "status": "finalizing elsewhere"}
    try:
        result = assemble_run(records, run_id)
        deliver(records, run_id, parameters, result)
        # Every file is done: the inputs are no longer needed, their memory is freed now.
        records.drop_inputs(run_id)
        records.set_status(
            run_id,
            "done",
            finished_at=result.metadata["finished_at"],
            normalize_seconds=result.metadata["normalize_seconds"],
            summary=result.summary(),
            n_errors=len(result.errors),
            output=parameters["output"],
        )
    finally:
        records.release_finalize_lock(run_id, token)
    return {"run_id": run_id, "status": "done", "written": True, "rows": len(result.records)}


@app.task(name=RUN_FAILED)
def run_failed(request: Any, exc: Any, traceback: Any, run_id: str, submission: str) -> None:
    """Errback of the chord body: write what the run has, name what failed, mark it
    failed. A run never ends silently."""
    records = store()
    if records.status(run_id).get("submission") != submission:
        return
    reason = f"run {run_id} failed: {type(exc).__name__}: {exc}"
    missing = records.missing(run_id)
    if missing:
        reason += f"; {len(missing)} files without a result: {', '.join(missing)}"
    logger.error(reason)
    fields: dict[str, Any] = {"error": reason, "failed_at": now()}
    try:
        parameters = run_parameters(records, run_id)
        result = assemble_run(records, run_id, run_errors=[reason])
        deliver(records, run_id, parameters, result)
        fields.update(summary=result.summary(), n_errors=len(result.errors))
    except Exception as error:  # noqa: BLE001 - whatever broke, the run is marked failed
        fields["error"] = f"{reason}; writing the partial result failed too: {error}"
    records.set_status(run_id, "failed", **fields)


def deliver(
    records: RecordStore, run_id: str, parameters: dict[str, Any], result: TrainingDataResult
) -> None:
    """The table to where the producer gets it: the record store, or the shared path."""
    if parameters.get("shared_storage"):
        result.write(Path(parameters["output"]))
    else:
        records.save_result(run_id, result.to_parquet_bytes())
