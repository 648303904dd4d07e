"""Local vs distributed generation on 8 files of 2,000 points (d=32, k=10).

    python bench/bench_service.py

Times `metricate generate` locally with `--jobs 1` (one process, one core), then
through Redis with one worker process and with two (one library thread each, the
default); inputs and output travel through Redis. Prints the ratios, the Redis
memory the run's keys hold at their peak (sampled every 0.1 s) and when finished,
and the TTL of its keys. Needs Redis at METRICATE_BENCH_REDIS_URL (default
redis://127.0.0.1:6379/14).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import pandas as pd
import redis
from sklearn.datasets import make_blobs

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("METRICATE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


def write_inputs(folder: Path) -> None:
    for seed in range(8):
        X, y = make_blobs(n_samples=2000, n_features=32, centers=10, random_state=seed)
        frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(32)])
        frame.insert(0, "cluster_id", y)
        frame.to_csv(folder / f"blobs{seed}.csv", index=False)


def timed(argv: list[str], env: dict[str, str]) -> float:
    clock = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - clock


def run_memory(client: redis.Redis, pattern: str) -> int:
    return sum(client.memory_usage(k, samples=0) or 0 for k in client.scan_iter(match=pattern))


class PeakMemory(threading.Thread):
    """The largest total memory of the keys matching ``pattern`` while it runs."""

    def __init__(self, client: redis.Redis, pattern: str) -> None:
        super().__init__(daemon=True)
        self.client, self.pattern = client, pattern
        self.peak = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.peak = max(self.peak, run_memory(self.client, self.pattern))


def start_worker(
    env: dict[str, str], concurrency: int, threads: int, log: Path
) -> subprocess.Popen:
    argv = ["metricate", "worker", "--concurrency", str(concurrency), "--threads", str(threads)]
    handle = log.open("w")
    worker = subprocess.Popen(
        argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while " ready." not in log.read_text():
        if worker.poll() is not None or time.monotonic() > deadline:
            stop_worker(worker)
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    return worker


def stop_worker(worker: subprocess.Popen) -> None:
    if worker.poll() is None:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(5)


def main() -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    client.ping()
    prefix, queue = f"metricate-bench-{uuid.uuid4().hex[:8]}", f"bench-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "METRICATE_BROKER_URL": REDIS_URL,
        "METRICATE_KEY_PREFIX": prefix,
        "METRICATE_QUEUE": queue,
    }
    local_env = {k: v for k, v in env.items() if k != "METRICATE_BROKER_URL"}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "in"
        folder.mkdir()
        write_inputs(folder)
        generate = ["metricate", "generate", str(folder)]
        local = timed([*generate, "-o", f"{tmp}/local.parquet", "--jobs", "1"], local_env)
        print(f"local --jobs 1:                         {local:6.1f} s", flush=True)
        times, peaks = {}, {}
        try:
            for workers, threads in ((1, 1), (2, 1)):
                log = Path(tmp) / f"worker{workers}-{threads}.log"
                worker = start_worker(env, workers, threads, log)
                try:
                    run = f"w{workers}t{threads}"
                    out = f"{tmp}/{run}.parquet"
                    sampler = PeakMemory(client, f"{prefix}:run:{run}:*")
                    sampler.start()
                    times[workers, threads] = timed([*generate, "-o", out, "--run-id", run], env)
                    sampler.done.set()
                    sampler.join()
                    peaks[workers, threads] = sampler.peak
                finally:
                    stop_worker(worker)
                print(
                    f"distributed, {workers} worker process(es), --threads {threads}: "
                    f"{times[workers, threads]:6.1f} s",
                    flush=True,
                )
            same = pd.read_parquet(f"{tmp}/local.parquet").equals(
                pd.read_parquet(f"{tmp}/w2t1.parquet")
            )
            keys = list(client.scan_iter(match=f"{prefix}:run:w2t1:*"))
            memory = sum(client.memory_usage(k, samples=0) or 0 for k in keys)
            ttls = sorted({client.ttl(k) for k in keys})
        finally:
            for pattern in (f"{prefix}:*", f"_kombu.binding*.{queue}"):
                for key in client.scan_iter(match=pattern):
                    client.delete(key)
            client.delete(queue)
    one, two = times[1, 1], times[2, 1]
    print(f"1 worker / local --jobs 1:               {one / local:5.2f}  (acceptance: <= 1.05)")
    print(f"1 worker / 2 workers:                    {one / two:5.2f}  (acceptance: >= 1.80)")
    print(f"distributed output equals local: {same}")
    print(f"Redis memory of the run's keys at their peak: {peaks[2, 1] / 1e6:.2f} MB")
    print(f"Redis memory of a finished run of 8 files: {memory / 1e6:.2f} MB in {len(keys)} keys")
    print(f"TTL of its keys: {ttls[0]}..{ttls[-1]} s ({ttls[-1] / 86400:.1f} days)")
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
