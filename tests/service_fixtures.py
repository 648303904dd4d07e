"""Real Redis and real `celery worker` / `flower` subprocesses for the service tests."""

from __future__ import annotations

import base64
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
import redis
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parent.parent
TEST_REDIS_URL = os.environ.get("METRICATE_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def redis_or_skip() -> redis.Redis:
    """The test Redis; unreachable fails the suite under CI=true and skips otherwise."""
    client = redis.Redis.from_url(TEST_REDIS_URL, decode_responses=True, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {TEST_REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return client


def service_env(queue: str, prefix: str, **extra: str) -> dict[str, str]:
    """Settings for producer and workers: our own queue and key prefix on the test db."""
    return {
        "METRICATE_BROKER_URL": TEST_REDIS_URL,
        "METRICATE_QUEUE": queue,
        "METRICATE_KEY_PREFIX": prefix,
        # Test runs and Celery's results for them are gone ten minutes later.
        "METRICATE_RECORD_TTL": "600",
        "METRICATE_CHORD_EXPIRES": "600",
        **extra,
    }


def unique(name: str) -> str:
    return f"metricate-test-{name}-{uuid.uuid4().hex[:8]}"


class Worker:
    """One `celery worker` subprocess (its own process group, always stopped)."""

    def __init__(self, env: dict[str, str], concurrency: int, name: str):
        self.name = f"{name}@{uuid.uuid4().hex[:6]}"
        self.log = Path(tempfile.gettempdir()) / f"{self.name.replace('@', '-')}.log"
        full_env = {**os.environ, **env}
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            full_env[var] = "1"
        argv = [sys.executable, "-m", "celery", "-A", "worker.tasks", "worker"]
        argv += ["-Q", env["METRICATE_QUEUE"], "-n", self.name, "--concurrency", str(concurrency)]
        argv += ["--loglevel", "info", "--without-mingle", "--without-gossip"]
        self._log_file = self.log.open("w")
        self.process = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=full_env,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited: {self.log.read_text()[-2000:]}")
            if " ready." in self.log.read_text():
                return
            time.sleep(0.2)
        raise RuntimeError(f"worker not ready after {timeout} s: {self.log.read_text()[-2000:]}")

    def pool_pids(self) -> list[int]:
        """The worker's pool processes (children of the main process)."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def stop(self, timeout: float = 20) -> None:
        """Warm shutdown (finish the current task), then kill what is left of the group."""
        if self.process.poll() is None:
            # To the main process only: it lets its pool finish the current task.
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self._log_file.close()
        self.log.unlink(missing_ok=True)


@contextlib.contextmanager
def running_worker(env: dict[str, str], concurrency: int = 2, name: str = "w") -> Iterator[Worker]:
    worker = Worker(env, concurrency, name)
    try:
        worker.wait_ready()
        yield worker
    finally:
        worker.stop()


def clean_keys(client: redis.Redis, prefix: str, queue: str) -> None:
    """Delete the run keys and the queue a test wrote (Celery's own results expire)."""
    for pattern in (f"{prefix}:*", f"{queue}*", f"_kombu.binding*.{queue}"):
        keys = list(client.scan_iter(match=pattern, count=1000))
        if keys:
            client.delete(*keys)


def write_blobs(path: Path, seed: int = 0, n: int = 80, d: int = 4, k: int = 4) -> Path:
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(d)])
    frame.insert(0, "cluster_id", y)
    frame.to_csv(path, index=False)
    return path


def wait_for(predicate, timeout: float = 60, interval: float = 0.1):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"condition not met within {timeout} s")


def write_huge(path: Path, seed: int = 0, n: int = 80) -> Path:
    """A clustering whose coordinates reach 1e300: squared distances overflow float64."""
    X, y = make_blobs(n_samples=n, n_features=4, centers=3, random_state=seed)
    frame = pd.DataFrame(X * 1e299, columns=[f"dim_{i}" for i in range(4)])
    frame.insert(0, "cluster_id", y)
    frame.to_csv(path, index=False)
    return path


@contextlib.contextmanager
def own_redis_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """A throwaway redis-server on a free port (for tests that stop Redis)."""
    import shutil
    import socket

    binary = shutil.which("redis-server")
    if binary is None:
        message = "redis-server is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    server = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        wait_for(lambda: _answers(url), timeout=10)
        yield url, server
    finally:
        server.kill()
        server.wait(5)


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except redis.RedisError:
        return False


def running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


def flower_status(port: int, auth: str | None, timeout: float = 10) -> int:
    """The HTTP status of Flower's /api/workers on this machine (0: nothing answers)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/workers")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except (urllib.error.HTTPError, urllib.error.URLError, ConnectionError) as error:
        return int(getattr(error, "code", 0))
