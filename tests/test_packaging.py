"""What a user gets from `pip install .`: no dev extras, nothing borrowed from this
environment. The package goes into a fresh venv, whose own `metricate` runs a worker,
Flower and a distributed run of the bundled example on the real Redis."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import venv
from pathlib import Path

import pandas as pd
import pytest
from service_fixtures import (
    clean_keys,
    flower_status,
    redis_or_skip,
    service_env,
    unique,
    wait_for,
)

import metricate
from metricate.options import GenerationOptions
from metricate.training import run_local

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "digits_clustering.csv"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv with `pip install .` in it: its bin directory."""
    where = tmp_path_factory.mktemp("venv")
    venv.create(where, with_pip=True)
    # A copy of what is shipped, so that building it leaves nothing in the repository.
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("metricate", "shared", "worker", "producer"):
        shutil.copytree(
            ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    pip = [str(where / "bin" / "python"), "-m", "pip", "install", "-q", str(source)]
    done = subprocess.run(pip, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return where / "bin"


def started(argv: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("w") as out:
        return subprocess.Popen(
            argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def stopped(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


def test_a_plain_install_runs_worker_flower_and_a_distributed_run(installed, tmp_path):
    client = redis_or_skip()
    queue, prefix = unique("q"), unique("p")
    # Only the venv's own commands: no PYTHONPATH, nothing from this interpreter.
    env = {
        "PATH": f"{installed}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "LANG": "C.UTF-8",
        **service_env(queue, prefix),
    }
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    worker = started(
        [str(installed / "metricate"), "worker", "--concurrency", "2"], env, tmp_path / "w.log"
    )
    flower_env = {**env, "FLOWER_BASIC_AUTH": "tester:secret"}
    flower_argv = [str(installed / "metricate"), "flower", "--port", str(port)]
    flower = started([*flower_argv, "--address", "127.0.0.1"], flower_env, tmp_path / "f.log")
    try:
        wait_for(lambda: " ready." in (tmp_path / "w.log").read_text(), timeout=60)
        out = tmp_path / "out.parquet"
        run = subprocess.run(
            [str(installed / "metricate"), "generate", str(EXAMPLE), "-o", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stdout + run.stderr + (tmp_path / "w.log").read_text()
        assert "1 of 1 file processed" in run.stdout
        # The bundled model is installed with the package: score works out of the box.
        scored = subprocess.run(
            [str(installed / "metricate"), "score", str(EXAMPLE), "--format", "json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert scored.returncode == 0, scored.stdout + scored.stderr
        (entry,) = json.loads(scored.stdout)
        assert entry["score"] == metricate.score(EXAMPLE).score
        local = run_local([EXAMPLE], GenerationOptions.parse(), jobs=1)
        local.write(tmp_path / "local.parquet")
        pd.testing.assert_frame_equal(
            pd.read_parquet(out), pd.read_parquet(tmp_path / "local.parquet")
        )
        wait_for(lambda: flower_status(port, "tester:secret") == 200, timeout=60, interval=0.5)
        assert flower_status(port, None) == 401
    finally:
        stopped(flower)
        stopped(worker)
        clean_keys(client, prefix, queue)
