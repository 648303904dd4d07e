"""The container stack as users run it: the real Docker engine and Compose v2 binary.

`bash ../shared/tools/docker-offline.sh` (run by .ci/run) installs both on a machine
without registry access. Without an engine these tests skip, and fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


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
        .replace('ports:\n      - "${FLOWER_BIND:-127.0.0.1}:5555:5555"', "ports: 5555")
    )
    assert "ports: 5555" in broken
    path = tmp_path / "docker-compose.yml"
    path.write_text(broken)
    check = compose_config(compose_or_skip(), path)
    assert check.returncode != 0
    assert "ports" in check.stderr
