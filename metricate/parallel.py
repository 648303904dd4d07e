"""The library's thread budget: how many threads one process may use, set in one place.

scipy's ``cdist`` and numpy's sorts, gathers and reductions release the GIL, so a few
threads use every core without copying data into other processes. The budget is read
once from ``METRICATE_THREADS`` (default: the number of cores, at most 4); the local
process pool and Celery workers set it per process with ``set_thread_count``.

Nested work shares the budget: ``parallel_map`` runs its items on at most the budget's
threads and gives each item an equal share of it, so code called inside an item (a
sort split across threads, a second ``parallel_map``) never starts more threads than
the process was granted.
"""

from __future__ import annotations

import os
import threading
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
# The share of the budget of a thread started by parallel_map (unset: the process's).
_share = threading.local()


def thread_count() -> int:
    """Threads the calling code may use: the process's budget, or its share of it (for
    an item of ``bounded_map``, its share now: it grows when the others are done)."""
    cell = getattr(_share, "cell", None)
    if cell is not None:
        return int(cell[0])
    return int(getattr(_share, "threads", _threads))


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


def parallel_map(
    function: Callable[..., _T], items: Sequence[object], workers: int | None = None
) -> list[_T]:
    """Run ``function`` over ``items`` on the budget's threads (at most ``workers``),
    results in order.

    Each item runs with ``budget // threads`` threads of its own (at least 1), so work
    nested inside it stays within the budget.
    """
    budget = thread_count()
    workers = min(budget, len(items), workers or budget)
    if workers <= 1:
        return [function(item) for item in items]
    share = max(1, budget // workers)

    def run(item: object) -> _T:
        _share.threads = share
        try:
            return function(item)
        finally:
            del _share.threads

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(run, items))


def bounded_map(
    function: Callable[..., _T], items: Sequence[object], costs: Sequence[int], limit: int
) -> list[_T]:
    """Run ``function`` over ``items`` on the budget's threads, results in order: an item
    starts while the costs of the running ones and its own stay within ``limit`` (the
    first pending one that fits; one item always runs, whatever its cost).

    An item gets the threads free when it starts: all of them when nothing else runs and
    no pending item could join it, an equal share otherwise. When an item ends and no
    pending one can start, its threads go to a running item (for the work it starts
    from then on: the last sort of the largest item, say).
    """
    budget = thread_count()
    if budget == 1 or len(items) < 2:
        return [function(item) for item in items]
    results: list[_T | None] = [None] * len(items)
    errors: list[BaseException] = []
    gate = threading.Condition()
    pending = list(range(len(items)))
    state = {"cost": 0, "threads": 0, "running": 0}
    shares: dict[int, list[int]] = {}  # the running items' shares, which may grow

    def startable() -> int | None:
        if state["running"] == 0:
            return pending[0]
        if state["threads"] >= budget:
            return None
        return next((i for i in pending if state["cost"] + costs[i] <= limit), None)

    def worker() -> None:
        while True:
            with gate:
                while pending and not errors and (index := startable()) is None:
                    gate.wait()
                if not pending or errors:
                    return
                assert index is not None
                pending.remove(index)
                alone = state["running"] == 0 and not any(
                    costs[index] + costs[i] <= limit for i in pending
                )
                share = budget - state["threads"] if alone else max(1, budget // 2)
                share = max(1, min(share, budget - state["threads"]))
                state["cost"] += costs[index]
                state["threads"] += share
                state["running"] += 1
                cell = shares[index] = [share]
            _share.cell = cell
            try:
                results[index] = function(items[index])
            except BaseException as error:  # noqa: BLE001 - re-raised in the caller
                errors.append(error)
            finally:
                del _share.cell
                with gate:
                    del shares[index]
                    state["cost"] -= costs[index]
                    state["threads"] -= cell[0]
                    state["running"] -= 1
                    if shares and (not pending or startable() is None):
                        # Nothing can start on the freed threads: a running item takes them.
                        free = budget - state["threads"]
                        smallest = min(shares.values(), key=lambda c: c[0])
                        smallest[0] += free
                        state["threads"] += free
                    gate.notify_all()

    threads = [threading.Thread(target=worker) for _ in range(min(budget, len(items)))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


@contextmanager
def blas_threads(count: int) -> Iterator[None]:
    """Let BLAS (matrix products, eigenvalues) use ``count`` threads inside the block.

    The library's own threads already use the cores; BLAS starting as many threads
    again inside each would only make them wait for one another.
    """
    from threadpoolctl import threadpool_limits  # loads with the scoring, not the CLI

    with threadpool_limits(limits=count, user_api="blas"):
        yield
