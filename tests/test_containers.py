"""The container stack as users run it: the real Docker engine and Compose v2 binary.

`bash ../shared/tools/docker-offline.sh` (run by .ci/run) installs both on a machine
without registry access. Without an engine these tests skip, and fail under CI=true.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from service_fixtures import flower_status, write_blobs

import metricate
from metricate.analysis.model import DEFAULT_MODEL
from metricate.options import GenerationOptions
from metricate.training import run_local

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "digits_clustering.csv"


def compose_or_skip() -> list[str]:
    """`docker compose`, the Compose v2 plugin of the real Docker CLI."""
    docker = shutil.which("docker")
    found = docker is not None and (
        subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0
    )
    if not found:
        message = "the Docker CLI with its Compose v2 plugin is not installed"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return [str(docker), "compose"]


def engine_or_skip() -> list[str]:
    """`docker compose` with a running engine behind it."""
    compose = compose_or_skip()
    if subprocess.run([compose[0], "info"], capture_output=True).returncode != 0:
        message = "no Docker engine answers (bash ../shared/tools/docker-offline.sh starts one)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return compose


def compose_config(compose: list[str], path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLOWER_", "METRICATE_"))}
    return subprocess.run(
        [*compose, "-f", str(path), "config", "-q"], capture_output=True, text=True, env=env
    )


def test_compose_file_is_valid():
    check = compose_config(compose_or_skip(), ROOT / "docker-compose.yml")
    assert check.returncode == 0, check.stderr


def test_compose_check_fails_on_an_invalid_file(tmp_path):
    # The check is worth something only if it can fail: `ports` must be a list.
    broken = (
        (ROOT / "docker-compose.yml")
        .read_text()
        .replace(
            'ports:\n      - "${FLOWER_BIND:-127.0.0.1}:${FLOWER_PORT:-5555}:5555"', "ports: 5555"
        )
    )
    assert "ports: 5555" in broken
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    check = compose_config(compose_or_skip(), path)
    assert check.returncode != 0
    assert "ports" in check.stderr


class Stack:
    """One compose project of this repository's docker-compose.yml, torn down at the end."""

    def __init__(self, compose: list[str], data: Path, flower_port: int) -> None:
        self.project = f"metricate-test-{uuid.uuid4().hex[:8]}"
        self.base = [*compose, "-f", str(ROOT / "docker-compose.yml"), "-p", self.project]
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("FLOWER_", "METRICATE_"))},
            "FLOWER_BASIC_AUTH": "tester:secret",
            "FLOWER_BIND": "127.0.0.1",
            "FLOWER_PORT": str(flower_port),
            "METRICATE_DATA": str(data),
            "WORKER_CONCURRENCY": "1",
        }

    def __call__(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.base, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )

    def check(self, *args: str, timeout: float = 600) -> str:
        done = self(*args, timeout=timeout)
        assert done.returncode == 0, f"compose {' '.join(args)}: {done.stdout}{done.stderr}"
        return done.stdout


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    compose = engine_or_skip()
    data = tmp_path / "data"
    data.mkdir()
    data.chmod(0o777)  # the containers run as uid 1000
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    running = Stack(compose, data, port)
    try:
        yield running
    finally:
        running("down", "--volumes", "--remove-orphans", "--timeout", "5", timeout=120)


def test_the_stack_builds_runs_and_matches_local_mode(stack, tmp_path):
    data = Path(stack.env["METRICATE_DATA"])
    shutil.copy(EXAMPLE, data / EXAMPLE.name)
    for seed in range(3):
        write_blobs(data / f"blobs{seed}_clustering.csv", seed=seed, n=300, d=6, k=5)
    stack.check("build", timeout=1200)
    stack.check("up", "-d", "--scale", "worker=2", "--wait", "--wait-timeout", "180")
    services = stack.check("ps", "--format", "{{.Service}} {{.Health}}").split("\n")
    assert sorted(line for line in services if line) == [
        "flower healthy",
        "redis healthy",
        "worker healthy",
        "worker healthy",
    ]
    run = stack("run", "--rm", "producer", "generate", "/data", "-o", "/data/out.parquet")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "4 of 4 files processed" in run.stdout
    assert "wrote /data/out.parquet" in run.stdout
    table = pd.read_parquet(data / "out.parquet")
    local = run_local(sorted(data.glob("*.csv")), GenerationOptions.parse(), jobs=1)
    local.write(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "local.parquet"))
    # A model file written on this machine scores the same in the image.
    shutil.copy(DEFAULT_MODEL, data / "model.json")
    scored = stack(
        "run", "--rm", "producer", "score", f"/data/{EXAMPLE.name}",
        "--model", "/data/model.json", "--format", "json",
    )  # fmt: skip
    assert scored.returncode == 0, scored.stdout + scored.stderr
    (entry,) = json.loads(scored.stdout[scored.stdout.index("[") :])
    assert entry["score"] == metricate.score(EXAMPLE, data / "model.json").score
    port = int(stack.env["FLOWER_PORT"])
    assert flower_status(port, None) == 401
    assert flower_status(port, "tester:wrong") == 401
    assert flower_status(port, "tester:secret") == 200


def test_flower_refuses_to_start_without_a_password(stack):
    stack.env["FLOWER_BASIC_AUTH"] = ""
    stack.check("build", timeout=1200)
    run = stack("run", "--rm", "--no-deps", "flower")
    assert run.returncode == 2
    assert "Error: Flower needs a login: set FLOWER_BASIC_AUTH=user:password" in run.stderr


def worker_receiving(stack: Stack) -> dict[str, str]:
    """process_file task id -> the worker container that first logged receiving it."""
    seen: dict[str, str] = {}
    for line in stack("logs", "--no-color", "worker").stdout.splitlines():
        if "Task metricate.process_file[" in line and line.rstrip().endswith("received"):
            task_id = line.split("process_file[", 1)[1].split("]", 1)[0]
            seen.setdefault(task_id, line.split("|", 1)[0].strip())
    return seen


def test_a_stopped_worker_hands_its_file_to_another_within_30_s(stack, tmp_path):
    data = Path(stack.env["METRICATE_DATA"])
    # Large enough that the file is still being scored when its worker stops (about
    # 20 s on two cores): a file that finishes first would leave nothing to hand over.
    write_blobs(data / "slow_clustering.csv", seed=1, n=10_000, d=32, k=10)
    stack.check("build", timeout=1200)
    stack.check("up", "-d", "--scale", "worker=2", "--wait", "--wait-timeout", "180")
    producer = subprocess.Popen(
        [*stack.base, "run", "--rm", "producer", "generate", "/data", "-o", "/data/out.parquet"],
        env=stack.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (first := worker_receiving(stack)) and time.monotonic() < deadline:
            time.sleep(0.5)
        ((task_id, busy),) = first.items()
        time.sleep(3)  # well into the file
        assert producer.poll() is None, "the file finished before its worker could be stopped"
        stopped_at = time.monotonic()
        container = f"{stack.project}-{busy.replace(' ', '')}"
        subprocess.run(["docker", "stop", "--time", "30", container], check=True, timeout=60)
        while time.monotonic() - stopped_at < 60:
            taken = [
                line
                for line in stack("logs", "--no-color", "worker").stdout.splitlines()
                if f"process_file[{task_id}] received" in line and not line.startswith(busy)
            ]
            if taken:
                break
            time.sleep(0.5)
        picked_up = time.monotonic() - stopped_at
        output, _ = producer.communicate(timeout=300)
    finally:
        if producer.poll() is None:
            producer.kill()
    assert taken, "no other worker received the file"
    assert picked_up < 30, f"picked up after {picked_up:.1f} s"
    print(f"\nthe stopped worker's file was received by another after {picked_up:.1f} s")
    assert producer.returncode == 0, output
    table = pd.read_parquet(data / "out.parquet")
    key = ["clustering_name", "degradation_type", "degradation_level"]
    assert not table.duplicated(key).any()
    local = run_local([data / "slow_clustering.csv"], GenerationOptions.parse(), jobs=1)
    local.write(tmp_path / "local.parquet")
    pd.testing.assert_frame_equal(table, pd.read_parquet(tmp_path / "local.parquet"))
