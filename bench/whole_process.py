"""What a user waits for: a `metricate` command run as its own process, start-up included.

Shared by `bench_generate.py` and `bench_evaluate.py`: benchmark clusterings written as
CSV (make_blobs, random_state=0, labels = the blobs), and `run`, which starts the
installed `metricate` command, waits for it and returns its wall time and its peak
resident memory (the kernel's own count for that one process, from wait4).

Before the first run, the project's packages are compiled to bytecode, as `pip install .`
leaves them: an editable install in an environment with PYTHONDONTWRITEBYTECODE set (this
project's Dockerfile, some CI machines) would otherwise compile every module again in every
run, start-up time a user of the installed package never waits for.
"""

from __future__ import annotations

import compileall
import functools
import importlib.util
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sklearn.datasets import make_blobs


@dataclass(frozen=True)
class Measured:
    seconds: float
    peak_gb: float  # decimal gigabytes (10^9 bytes)
    returncode: int


def write_blobs(folder: Path, n: int, d: int, k: int) -> Path:
    """make_blobs(n, d, k, random_state=0) as a CSV with columns cluster_id, dim_0.."""
    path = folder / f"blobs_n{n}_d{d}_k{k}.csv"
    if not path.exists():
        X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
        frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(d)])
        frame.insert(0, "cluster_id", y)
        frame.to_csv(path, index=False)
    return path


def command() -> list[str]:
    """The installed `metricate` command (as users run it), else the module."""
    found = shutil.which("metricate")
    return [found] if found else [sys.executable, "-m", "producer.cli"]


PACKAGES = ("metricate", "shared", "worker", "producer")


@functools.cache  # once per bench: later runs find the same files compiled
def compile_packages() -> None:
    """Write the bytecode of the project's packages where they are imported from (files
    already compiled are left alone), as installing them with pip does."""
    for name in PACKAGES:
        spec = importlib.util.find_spec(name)
        for folder in spec.submodule_search_locations or () if spec else ():
            if not compileall.compile_dir(folder, quiet=1):
                raise SystemExit(f"could not compile {folder}")


def run(args: list[str]) -> Measured:
    """Run `metricate ARGS`, output discarded; wall time and peak memory of the process."""
    compile_packages()
    started = time.perf_counter()
    process = subprocess.Popen(command() + args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    error = process.stderr.read().decode() if process.stderr else ""
    if process.returncode != 0:
        print(error, file=sys.stderr)
    return Measured(seconds, usage.ru_maxrss * 1024 / 1e9, process.returncode)
