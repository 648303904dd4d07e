"""The library's thread budget: how many threads one process may use, set in one place.

scipy's ``cdist`` and numpy's sorts and reductions release the GIL, so a few threads
use every core without copying data into other processes. The budget is read once
from ``METRICATE_THREADS`` (default: the number of cores, at most 4); the local
process pool and Celery workers set it per process with ``set_thread_count``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

THREADS_ENV = "METRICATE_THREADS"
_MAX_DEFAULT_THREADS = 4
_T = TypeVar("_T")


def _from_environment() -> int:
    value = os.environ.get(THREADS_ENV, "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    return max(1, min(_MAX_DEFAULT_THREADS, os.cpu_count() or 1))


_threads = _from_environment()


def thread_count() -> int:
    """Threads the library may use in this process."""
    return _threads


def set_thread_count(count: int) -> None:
    """Set the budget for this process (1 in each pool or Celery worker process)."""
    global _threads
    _threads = max(1, int(count))


@contextmanager
def thread_budget(count: int) -> Iterator[None]:
    """Use ``count`` threads inside the block, then restore the previous budget."""
    previous = _threads
    set_thread_count(count)
    try:
        yield
    finally:
        set_thread_count(previous)


def parallel_map(function: Callable[..., _T], items: Sequence[object]) -> list[_T]:
    """Run ``function`` over ``items`` on the budget's threads, results in order."""
    if _threads == 1 or len(items) < 2:
        return [function(item) for item in items]
    with ThreadPoolExecutor(min(_threads, len(items))) as pool:
        return list(pool.map(function, items))
