"""The distributed mode of `metricate generate`: one chord per run, followed from Redis."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
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
from metricate.io.load import load_clustering
from metricate.io.stored import clustering_to_bytes, input_key
from metricate.options import GenerationOptions
from metricate.parallel import THREADS_ENV
from metricate.training import FileOutcome
from metricate.training.result import write_parquet_bytes
from producer.progress import RunProgress
from shared.celery_app import make_app
from shared.collect import RunNotFoundError, assemble_run, run_parameters
from shared.messages import send_finalize, submit_run
from shared.record_store import RecordStore, now
from shared.recovery import recover
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
# how long without a worker on the queue it says so; how often it looks for files
# whose worker died, and how long a run whose files are all done may wait for its
# chord before the producer sends the callback itself.
REDIS_RETRY_SECONDS = 30.0
NO_WORKER_SECONDS = 30.0
_WORKER_CHECK_INTERVAL = 10.0
RECOVERY_INTERVAL = 10.0
FINALIZE_GRACE = 15.0


@dataclasses.dataclass
class Submission:
    """One submission of a run: new or resumed, the files still to do."""

    run_id: str
    submission: str
    output: Path
    todo: list[str]
    resumed: bool
    shared_storage: bool


def run_distributed(
    paths: Sequence[Path],
    options: GenerationOptions,
    output: Path,
    *,
    broker: str | None,
    run_id: str | None,
    wait: bool,
    command: str,
    shared_storage: bool = False,
) -> int:
    """Submit the run (or resume it) and, unless ``wait`` is false, follow it to the
    end and write its output here. Returns the exit code."""
    files = shareable_paths(paths)
    if options.degraded_dir is not None:
        if not shared_storage:
            raise InvalidOptionError(
                "--degraded-dir with a broker needs --shared-storage: the workers write "
                "the variant CSVs, so the directory must be on a volume they all mount"
            )
        # Workers write the variant CSVs, each in its own working directory.
        degraded = str(Path(options.degraded_dir).resolve())
        options = dataclasses.replace(options, degraded_dir=degraded)
    settings, app, store = connect(broker)
    run_id = run_id or uuid.uuid4().hex[:12]
    existing = store.parameters(run_id)
    target = Path(existing["output"]) if existing else output
    # The output is claimed before anything of the run is stored or sent.
    output_id = _output_id(target, shared_storage)
    holder = store.claim_output(output_id, run_id)
    if holder is not None:
        raise InvalidOptionError(
            f"{target}: run {holder} is still writing it; wait for it "
            f"(`metricate status {holder}`) or choose another output"
        )
    run = None
    try:
        run = prepare_run(store, run_id, files, options, output, shared_storage)
        keys = {} if run.shared_storage else upload_inputs(store, settings, run, options)
        todo = run.todo if run.shared_storage else [f for f in run.todo if f in keys]
        _announce(run, len(files), len(todo), maybe_sanitize_url(settings.broker_url))
        task_ids = submit_run(app, run_id, todo, options.to_dict(), run.submission, keys)
        store.remember_tasks(run_id, task_ids)
    except BaseException:
        # Refused, interrupted or failed before its tasks were sent: nothing is left
        # behind to hold the output (a resumed run keeps what it had).
        store.release_output(output_id, run_id)
        if run is not None and not run.resumed:
            store.delete_run(run_id)
        raise
    if not wait:
        click.echo(run.run_id)
        if run.shared_storage:
            hint = f"when done, the workers have written {run.output}"
        else:
            hint = f"when done, write it with `metricate collect {run.run_id} -o {run.output}`"
        click.echo(f"follow it with `metricate status {run.run_id}`; {hint}", err=True)
        return 0
    resume = f"{command} --run-id {run.run_id}"
    try:
        state = follow(store, run.run_id, files, options.versions_per_file, app, resume)
    except KeyboardInterrupt:
        interrupt(app, store, run.run_id)
        click.echo(f"interrupted: queued tasks revoked. Resume with: {resume}", err=True)
        return 130
    try:
        return finish(store, run, state)
    finally:
        store.release_output(output_id, run.run_id)


def _output_id(output: Path, shared_storage: bool) -> str:
    """An output is a path on this machine, or on the volume the workers share."""
    where = "shared" if shared_storage else socket.gethostname()
    return f"{where}:{output.resolve()}"


def _announce(run: Submission, n_files: int, n_sent: int, where: str) -> None:
    if run.resumed:
        done = n_files - len(run.todo)
        message = f"resuming run {run.run_id} on {where}: {done} of {n_files} files "
        message += f"already done, {n_sent} queued"
    else:
        message = f"run {run.run_id}: {n_sent} files queued on {where}"
    unread = len(run.todo) - n_sent
    if unread:
        message += f" ({unread} could not be read: each is an error entry of the run)"
    click.echo(message, err=True)


def prepare_run(
    store: RecordStore,
    run_id: str,
    files: list[str],
    options: GenerationOptions,
    output: Path,
    shared_storage: bool,
) -> Submission:
    """A run id is either new or resumed, never mixed with what is left of an expired run:
    a resumed run must have the same inputs and options; keys of a run whose parameters
    are gone are deleted before it starts anew."""
    submission = uuid.uuid4().hex[:12]
    existing = store.parameters(run_id)
    if existing is not None:
        same = existing["options"] == options.to_dict() and store.expected(run_id) == sorted(files)
        if not same or bool(existing.get("shared_storage")) != shared_storage:
            raise InvalidOptionError(
                f"run {run_id} was started with other inputs or options; "
                "resume it with the same command"
            )
        store.resubmit(run_id, submission)
        todo = store.missing(run_id)
        return Submission(run_id, submission, Path(existing["output"]), todo, True, shared_storage)
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
        "shared_storage": shared_storage,
    }
    store.create_run(run_id, files, parameters, submission)
    return Submission(run_id, submission, output, sorted(files), False, shared_storage)


def upload_inputs(
    store: RecordStore, settings: ServiceSettings, run: Submission, options: GenerationOptions
) -> dict[str, str]:
    """Read each input to do once, here: a bad one becomes its error entry at once, a
    good one is stored (compressed, content-addressed) for the workers. Returns the
    input key of each good file."""
    keys: dict[str, str] = {}
    total, cap = 0, settings.max_input_mb * 1_000_000
    stored: set[str] = set()
    for file in run.todo:
        try:
            clustering = load_clustering(
                file, label_col=options.label_col, embedding_cols=options.embedding_cols
            )
        except MetricateError as error:
            store.save_outcome(run.run_id, FileOutcome(file, "error", errors=[str(error)]))
            continue
        key = input_key(clustering.content_hash, options.label_col, options.embedding_cols)
        keys[file] = key
        if key in stored:
            continue  # the same content is stored once
        blob = clustering_to_bytes(clustering)
        total += len(blob)
        if total > cap:
            raise InvalidOptionError(
                f"the inputs need more than {settings.max_input_mb} MB in Redis "
                "(METRICATE_MAX_INPUT_MB); use --shared-storage to have the workers read "
                "them from a volume they all mount"
            )
        store.store_input(run.run_id, key, blob)
        stored.add(key)
    return keys


def finish(store: RecordStore, run: Submission, state: dict[str, str]) -> int:
    """The end of a followed run: its table written here (unless the workers wrote it
    to shared storage), the summary, the exit code."""
    failed = state.get("status") == "failed"
    table = None if run.shared_storage else store.result(run.run_id)
    if table is not None:
        write_parquet_bytes(table, run.output)  # a failed run's partial table too
    elif not run.shared_storage and not failed:
        raise ServiceError(f"run {run.run_id} ended without a stored result")
    if state.get("summary"):
        click.echo(state["summary"])
    if failed:
        click.echo(f"Error: {state.get('error', 'run failed')}", err=True)
        return 1
    run_json = run.output.with_name(run.output.name + ".run.json")
    click.echo(f"wrote {run.output.absolute()} and {run_json.absolute()}")
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
    command that resumes the run; no worker on the queue is said once, and waited
    out; a file whose worker died is handed back to the queue."""
    reported: set[str] = set()
    watch = QueueWatch(app, NO_WORKER_SECONDS) if app is not None else None
    rescue = Rescue(app, store, run_id) if app is not None else None
    lost_since: float | None = None
    with RunProgress(len(files), per_file) as progress:
        while True:
            try:
                state = _poll(store, run_id, reported, progress)
                lost_since = None
                notes = [] if rescue is None else rescue.check(state, len(reported) == len(files))
            except redis.RedisError as exc:
                lost_since = lost_since or time.monotonic()
                if time.monotonic() - lost_since > REDIS_RETRY_SECONDS:
                    raise ServiceError(
                        f"lost Redis for {REDIS_RETRY_SECONDS:.0f} s ({exc}); run {run_id} "
                        f"is not finished. When Redis is back, resume it with: {resume}"
                    ) from None
                time.sleep(1.0)
                continue
            for note in notes:
                progress.note(note)
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


class Rescue:
    """Every ``RECOVERY_INTERVAL`` seconds: hands back the files whose worker died, and
    sends the run's callback itself when every file is done but the chord has not
    fired for ``FINALIZE_GRACE`` seconds (its header message died with a worker)."""

    def __init__(self, app: Celery, store: RecordStore, run_id: str) -> None:
        self.app, self.store, self.run_id = app, store, run_id
        self.checked_at = time.monotonic()
        self.all_done_since: float | None = None
        self.nudged = False

    def check(self, state: dict[str, str], all_done: bool) -> list[str]:
        now_ = time.monotonic()
        if all_done and state.get("status") == "queued":
            self.all_done_since = self.all_done_since or now_
            if not self.nudged and now_ - self.all_done_since > FINALIZE_GRACE:
                self.nudged = True
                send_finalize(self.app, self.run_id, state.get("submission", ""))
                return ["every file is done; sent the run's callback"]
        if now_ - self.checked_at < RECOVERY_INTERVAL:
            return []
        self.checked_at = now_
        return [
            f"{file}: its worker stopped answering; handed back to the queue"
            for file in recover(self.app, self.store, self.run_id)
        ]


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


def print_status(store: RecordStore, run_id: str, app: Celery | None = None) -> int:
    """How far the run is, file by file; hands back files whose worker died."""
    try:
        parameters = run_parameters(store, run_id)
    except RunNotFoundError as exc:
        raise ServiceError(str(exc)) from None
    handed_back = recover(app, store, run_id) if app is not None else []
    state = store.status(run_id)
    expected = store.expected(run_id)
    done = store.done(run_id)
    summaries = store.file_summaries(run_id, sorted(done))
    failed = [f for f, s in summaries.items() if s.get("status") != "ok"]
    rows = sum(len(s.get("record_ids", [])) for s in summaries.values())
    waiting = [f for f in expected if f not in done]
    running = store.leased(run_id, waiting)
    started = set(store.attempts(run_id))
    stranded = [f for f in waiting if f in started and f not in running]
    queued = len(waiting) - len(running) - len(stranded)
    lines = [
        f"run {run_id}: {state.get('status', 'unknown')}",
        f"files: {len(done)} of {len(expected)} done"
        + (f" ({len(failed)} failed)" if failed else "")
        + f", {len(running)} running, {queued} queued, {len(stranded)} stranded",
        f"rows so far: {rows}",
        f"output: {parameters['output']}"
        + ("" if parameters.get("shared_storage") else " (written by the producer or `collect`)"),
        f"started: {parameters['started_at']}, updated: {state.get('updated_at', '-')}",
        f"keys expire in: {max(0, store.client.ttl(store.key(run_id, 'parameters')))} s",
    ]
    if state.get("error"):
        lines.append(f"error: {state['error']}")
    lines.extend(f"failed: {f}" for f in failed)
    lines.extend(f"handed back to the queue (its worker died): {f}" for f in handed_back)
    lines.extend(f"stranded: {f}" for f in stranded if f not in handed_back)
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
    table = store.result(run_id)
    if table is not None:
        write_parquet_bytes(table, output)
        click.echo(store.status(run_id).get("summary", ""))
        errors = int(store.status(run_id).get("n_errors") or 0)
    else:
        result = assemble_run(store, run_id)
        result.write(output)
        click.echo(result.summary())
        errors = len(result.errors)
    run_json = output.with_name(output.name + ".run.json")
    click.echo(f"wrote {output.absolute()} and {run_json.absolute()}")
    return 1 if errors else 0


def worker_command(
    broker: str | None, concurrency: int | None, threads: int, loglevel: str
) -> None:
    """Replace this process with a Celery worker running the project's settings."""
    env = dict(os.environ)
    # Stopped with SIGTERM (docker compose stop, a scale-down, kill), a worker makes a
    # cold shutdown: running files get METRICATE_SOFT_SHUTDOWN_TIMEOUT seconds to
    # finish, then go back to the queue at once, not after the visibility timeout.
    env.setdefault("REMAP_SIGTERM", "SIGQUIT")
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
