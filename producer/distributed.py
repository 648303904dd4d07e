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
    return settings, producer_app(settings), store


def producer_app(settings: ServiceSettings) -> Celery:
    """The producer's Celery app. It follows runs in the record store and never waits
    on a Celery result, so its result backend subscribes to none: Redis's backend
    would subscribe to every task sent (and to a chord's header through its barrier),
    then unsubscribe when the result objects are collected, at exit, when Redis may
    be gone, printing tracebacks after the one-line error."""
    app = make_app(settings)
    backend = app.backend
    backend.on_task_call = lambda producer, task_id: None
    backend.add_pending_result = lambda result, weak=False, start_drainer=True: result
    return app


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


# How long the waiting producer keeps trying after Redis stops answering, and after
# how long without a worker on the queue it says so.
REDIS_RETRY_SECONDS = 30.0
NO_WORKER_SECONDS = 30.0
_WORKER_CHECK_INTERVAL = 10.0


@dataclasses.dataclass
class Submission:
    """One submission of a run: new or resumed, the files still to do."""

    run_id: str
    submission: str
    output: Path
    todo: list[str]
    resumed: bool


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
    run = prepare_run(store, run_id, files, options, output)
    where = maybe_sanitize_url(settings.broker_url)
    if run.resumed:
        done = len(files) - len(run.todo)
        message = f"resuming run {run.run_id} on {where}: {done} of {len(files)} files "
        message += f"already done, {len(run.todo)} queued"
    else:
        message = f"run {run.run_id}: {len(run.todo)} files queued on {where}"
    click.echo(message, err=True)
    task_ids = submit_run(app, run.run_id, run.todo, options.to_dict(), run.submission)
    store.remember_tasks(run.run_id, task_ids)
    if not wait:
        click.echo(run.run_id)
        click.echo(
            f"follow it with `metricate status {run.run_id}`; when done, the output is "
            f"{run.output} (or `metricate collect {run.run_id} -o OUTPUT`)",
            err=True,
        )
        return 0
    resume = f"{command} --run-id {run.run_id}"
    try:
        state = follow(store, run.run_id, files, options.versions_per_file, app, resume)
    except KeyboardInterrupt:
        interrupt(app, store, run.run_id)
        click.echo(f"interrupted: queued tasks revoked. Resume with: {resume}", err=True)
        return 130
    return report_end(state, run.output)


def prepare_run(
    store: RecordStore,
    run_id: str | None,
    files: list[str],
    options: GenerationOptions,
    output: Path,
) -> Submission:
    """A run id is either new or resumed, never mixed with what is left of an expired run:
    a resumed run must have the same inputs and options; keys of a run whose parameters
    are gone are deleted before it starts anew."""
    submission = uuid.uuid4().hex[:12]
    existing = store.parameters(run_id) if run_id else None
    if run_id is not None and existing is not None:
        if existing["options"] != options.to_dict() or store.expected(run_id) != sorted(files):
            raise InvalidOptionError(
                f"run {run_id} was started with other inputs or options; "
                "resume it with the same command"
            )
        store.resubmit(run_id, submission)
        return Submission(run_id, submission, Path(existing["output"]), store.missing(run_id), True)
    run_id = run_id or uuid.uuid4().hex[:12]
    leftovers = store.keys(run_id)
    if leftovers:
        click.echo(
            f"run {run_id} had expired ({len(leftovers)} keys left); starting it anew", err=True
        )
        store.delete_run(run_id)
    parameters = {
        "options": options.to_dict(),
        "output": str(output.resolve()),
        "started_at": now(),
    }
    store.create_run(run_id, files, parameters, submission)
    return Submission(run_id, submission, output, sorted(files), False)


def report_end(state: dict[str, str], output: Path) -> int:
    if state.get("summary"):
        click.echo(state["summary"])
    if state.get("status") == "failed":
        click.echo(f"Error: {state.get('error', 'run failed')}", err=True)
        return 1
    click.echo(f"wrote {output} and {output.name}.run.json")
    return 1 if int(state.get("n_errors") or 0) else 0


def follow(
    store: RecordStore,
    run_id: str,
    files: Sequence[str],
    per_file: int,
    app: Celery | None = None,
    resume: str = "",
) -> dict[str, str]:
    """The same progress display as local mode, fed by the run's done-set, until the
    run is done or failed. Redis down for ``REDIS_RETRY_SECONDS`` ends it with the
    command that resumes the run; no worker on the queue is said once, and waited out."""
    reported: set[str] = set()
    watch = QueueWatch(app, NO_WORKER_SECONDS) if app is not None else None
    lost_since: float | None = None
    with RunProgress(len(files), per_file) as progress:
        while True:
            try:
                state = _poll(store, run_id, reported, progress)
                lost_since = None
            except redis.RedisError as exc:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > REDIS_RETRY_SECONDS:
                    raise ServiceError(
                        f"lost Redis for {REDIS_RETRY_SECONDS:.0f} s ({exc}); run {run_id} "
                        f"is not finished. When Redis is back, resume it with: {resume}"
                    ) from None
                time.sleep(1.0)
                continue
            if state.get("status") in ("done", "failed"):
                return state
            if not state:
                raise ServiceError(
                    f"run {run_id} disappeared from Redis (restarted or flushed?); "
                    f"start it again with: {resume}"
                )
            if watch is not None:
                message = watch.check()
                if message:
                    progress.note(message)
            time.sleep(0.1)


def _poll(
    store: RecordStore, run_id: str, reported: set[str], progress: RunProgress
) -> dict[str, str]:
    state = store.status(run_id)
    fresh = sorted(store.done(run_id) - reported)
    for file, summary in store.file_summaries(run_id, fresh).items():
        rows = len(summary.get("record_ids", []))
        progress.versions(rows)
        seconds = summary.get("timing", {}).get("total")
        progress.file_done(file, summary.get("status", "ok"), rows, seconds)
        reported.add(file)
    return state


class QueueWatch:
    """Notices when no worker consumes the run's queue, asking the workers every
    ``_WORKER_CHECK_INTERVAL`` seconds (a broadcast with a one-second reply window)."""

    def __init__(self, app: Celery, patience: float) -> None:
        self.app = app
        self.queue = app.conf.task_default_queue
        self.where = maybe_sanitize_url(app.conf.broker_url or "")
        self.patience = patience
        self.checked_at = time.monotonic()
        self.absent_since: float | None = None
        self.said = False

    def check(self) -> str | None:
        """A message to show, or None."""
        now_ = time.monotonic()
        if now_ - self.checked_at < _WORKER_CHECK_INTERVAL:
            return None
        self.checked_at = now_
        if self._consumed():
            message = "a worker is consuming the queue again" if self.said else None
            self.absent_since, self.said = None, False
            return message
        self.absent_since = self.absent_since or now_
        if self.said or now_ - self.absent_since < self.patience:
            return None
        self.said = True
        return (
            f"no worker has consumed queue {self.queue!r} on {self.where} for "
            f"{self.patience:.0f} s; start one with `metricate worker` (still waiting)"
        )

    def _consumed(self) -> bool:
        # A connection of its own, closed at once: the reply consumer left open in the
        # app's pool would block a process forked later (the local pool) at exit.
        with self.app.connection_for_read() as connection:
            inspect = self.app.control.inspect(timeout=1.0, connection=connection)
            replies = inspect.active_queues() or {}
        return any(q.get("name") == self.queue for queues in replies.values() for q in queues)


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


def flower_command(broker: str | None, basic_auth: str | None, port: int, address: str) -> None:
    """Replace this process with Flower on the project's app; never without a password."""
    user, _, password = (basic_auth or "").partition(":")
    if not user or not password:
        raise InvalidOptionError(
            "Flower needs a login: set FLOWER_BASIC_AUTH=user:password (in .env for docker "
            "compose) or pass --basic-auth user:password"
        )
    env = dict(os.environ, FLOWER_BASIC_AUTH=str(basic_auth))
    if broker:
        env["METRICATE_BROKER_URL"] = broker
    ServiceSettings.from_environment(env)  # bad settings fail here, in one line
    argv = [sys.executable, "-m", "celery", "-A", "worker.tasks", "flower"]
    argv += [f"--port={port}", f"--address={address}"]
    sys.stdout.flush()
    os.execvpe(sys.executable, argv, env)
