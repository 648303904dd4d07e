"""The distributed mode of `metricate generate`: one chord per run, followed from Redis."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import click
import redis
from celery import Celery
from kombu.exceptions import OperationalError
from kombu.utils.url import maybe_sanitize_url

from metricate.errors import InvalidOptionError, MetricateError
from metricate.options import GenerationOptions
from metricate.parallel import THREADS_ENV
from producer.progress import RunProgress
from shared.celery_app import make_app
from shared.collect import RunNotFoundError, assemble_run, run_parameters
from shared.messages import submit_run
from shared.record_store import RecordStore, now
from shared.settings import ServiceSettings


class ServiceError(MetricateError):
    """The broker or the record store cannot do what was asked."""


@contextlib.contextmanager
def service_errors() -> Iterator[None]:
    """Redis or the broker failing mid-command is one line on stderr, not a traceback."""
    try:
        yield
    except (redis.RedisError, OperationalError) as exc:
        raise ServiceError(f"lost the connection to Redis or the broker: {exc}") from None


def connect(broker: str | None) -> tuple[ServiceSettings, Celery, RecordStore]:
    """The settings, Celery app and record store for ``broker`` (else the environment's);
    a one-line error if Redis does not answer."""
    settings = ServiceSettings.from_environment()
    if broker:
        settings = settings.with_broker(broker)
    store = RecordStore.from_settings(settings)
    try:
        store.client.ping()
    except redis.RedisError as exc:
        where = maybe_sanitize_url(settings.redis_url)
        raise ServiceError(f"cannot reach Redis at {where}: {exc}") from None
    return settings, make_app(settings), store


def shareable_paths(paths: Sequence[Path]) -> list[str]:
    """Absolute paths of regular, readable files: workers open them by path."""
    files = []
    for path in paths:
        if not path.is_file():
            raise InvalidOptionError(f"{path}: not a regular file")
        if not os.access(path, os.R_OK):
            raise InvalidOptionError(f"{path}: not readable")
        files.append(str(path.resolve()))
    return files


def run_distributed(
    paths: Sequence[Path],
    options: GenerationOptions,
    output: Path,
    *,
    broker: str | None,
    run_id: str | None,
    wait: bool,
    command: str,
) -> int:
    """Submit the run (or resume it) and, unless ``wait`` is false, follow it to the
    end. Returns the exit code."""
    files = shareable_paths(paths)
    if options.degraded_dir is not None:
        # Workers write the variant CSVs, each in its own working directory.
        degraded = str(Path(options.degraded_dir).resolve())
        options = dataclasses.replace(options, degraded_dir=degraded)
    settings, app, store = connect(broker)
    submission = uuid.uuid4().hex[:12]
    existing = store.parameters(run_id) if run_id else None
    if run_id is not None and existing is not None:
        if existing["options"] != options.to_dict() or store.expected(run_id) != sorted(files):
            raise InvalidOptionError(
                f"run {run_id} was started with other inputs or options; "
                "resume it with the same command"
            )
        output = Path(existing["output"])
        todo = store.missing(run_id)
        store.resubmit(run_id, submission)
        click.echo(
            f"resuming run {run_id}: {len(files) - len(todo)} of {len(files)} files "
            f"already done, {len(todo)} queued",
            err=True,
        )
    else:
        run_id = run_id or uuid.uuid4().hex[:12]
        parameters = {
            "options": options.to_dict(),
            "output": str(output.resolve()),
            "started_at": now(),
        }
        store.create_run(run_id, files, parameters, submission)
        todo = sorted(files)
        where = maybe_sanitize_url(settings.broker_url)
        click.echo(f"run {run_id}: {len(todo)} files queued on {where}", err=True)
    task_ids = submit_run(app, run_id, todo, options.to_dict(), submission)
    store.remember_tasks(run_id, task_ids)
    if not wait:
        click.echo(run_id)
        click.echo(
            f"follow it with `metricate status {run_id}`; when done, the output is "
            f"{output} (or `metricate collect {run_id} -o OUTPUT`)",
            err=True,
        )
        return 0
    try:
        state = follow(store, run_id, files, options.versions_per_file)
    except KeyboardInterrupt:
        interrupt(app, store, run_id)
        click.echo(
            f"interrupted: queued tasks revoked. Resume with: {command} --run-id {run_id}",
            err=True,
        )
        return 130
    if state.get("summary"):
        click.echo(state["summary"])
    if state.get("status") == "failed":
        click.echo(f"Error: {state.get('error', 'run failed')}", err=True)
        return 1
    click.echo(f"wrote {output} and {output.name}.run.json")
    return 1 if int(state.get("n_errors") or 0) else 0


def follow(store: RecordStore, run_id: str, files: Sequence[str], per_file: int) -> dict[str, str]:
    """The same progress display as local mode, fed by the run's done-set, until the
    run is done or failed."""
    reported: set[str] = set()
    with RunProgress(len(files), per_file) as progress:
        while True:
            state = store.status(run_id)
            fresh = sorted(store.done(run_id) - reported)
            for file, summary in store.file_summaries(run_id, fresh).items():
                rows = len(summary.get("record_ids", []))
                progress.versions(rows)
                seconds = summary.get("timing", {}).get("total")
                progress.file_done(file, summary.get("status", "ok"), rows, seconds)
                reported.add(file)
            if state.get("status") in ("done", "failed"):
                return state
            if not state:
                raise ServiceError(f"run {run_id} disappeared from Redis")
            time.sleep(0.1)


def interrupt(app: Celery, store: RecordStore, run_id: str) -> None:
    """Revoke the run's queued tasks and mark it interrupted (workers skip what is left)."""
    done = store.done(run_id)
    pending = [task for file, task in store.task_ids(run_id).items() if file not in done]
    store.set_status(run_id, "interrupted")
    if pending:
        app.control.revoke(pending)


def print_status(store: RecordStore, run_id: str) -> int:
    try:
        parameters = run_parameters(store, run_id)
    except RunNotFoundError as exc:
        raise ServiceError(str(exc)) from None
    state = store.status(run_id)
    expected = store.expected(run_id)
    done = store.done(run_id)
    summaries = store.file_summaries(run_id, sorted(done))
    failed = [f for f, s in summaries.items() if s.get("status") != "ok"]
    rows = sum(len(s.get("record_ids", [])) for s in summaries.values())
    lines = [
        f"run {run_id}: {state.get('status', 'unknown')}",
        f"files: {len(done)} of {len(expected)} done"
        + (f", {len(failed)} failed" if failed else ""),
        f"rows so far: {rows}",
        f"output: {parameters['output']}",
        f"started: {parameters['started_at']}, updated: {state.get('updated_at', '-')}",
        f"keys expire in: {max(0, store.client.ttl(store.key(run_id, 'parameters')))} s",
    ]
    if state.get("error"):
        lines.append(f"error: {state['error']}")
    lines.extend(f"failed: {f}" for f in failed)
    click.echo("\n".join(lines))
    return 1 if state.get("status") == "failed" else 0


def collect(store: RecordStore, run_id: str, output: Path) -> int:
    if store.parameters(run_id) is None:
        raise ServiceError(f"run {run_id} not found (never created, or its keys expired)")
    missing = store.missing(run_id)
    if missing:
        raise ServiceError(
            f"run {run_id} is not complete: {len(missing)} files not done "
            f"(see `metricate status {run_id}`)"
        )
    result = assemble_run(store, run_id)
    result.write(output)
    click.echo(result.summary())
    click.echo(f"wrote {output} and {output.name}.run.json")
    return 1 if result.errors else 0


def worker_command(
    broker: str | None, concurrency: int | None, threads: int, loglevel: str
) -> None:
    """Replace this process with a Celery worker running the project's settings."""
    env = dict(os.environ)
    # BLAS single-threaded in every worker process: set before numpy is imported.
    env.update(OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    env[THREADS_ENV] = str(threads)
    if broker:
        env["METRICATE_BROKER_URL"] = broker
    settings = ServiceSettings.from_environment(env)
    argv = [sys.executable, "-m", "celery", "-A", "worker.tasks", "worker"]
    argv += ["-Q", settings.queue, "--loglevel", loglevel]
    if concurrency:
        argv += ["--concurrency", str(concurrency)]
    sys.stdout.flush()
    os.execvpe(sys.executable, argv, env)
