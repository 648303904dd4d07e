"""Running a generation in this process or in a local pool of processes."""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metricate.options import GenerationOptions
from metricate.parallel import set_thread_count, thread_budget
from metricate.training.assemble import assemble_result
from metricate.training.outcome import FileOutcome
from metricate.training.pipeline import process_file
from metricate.training.result import TrainingDataResult
from metricate.training.scoring import Progress

_progress_queue: Any = None


def run_local(
    paths: Sequence[Path],
    options: GenerationOptions,
    *,
    jobs: int | None = None,
    progress: Progress | None = None,
    on_file: Callable[[FileOutcome], None] | None = None,
    run_id: str | None = None,
) -> TrainingDataResult:
    """Process every file and assemble the result.

    ``jobs`` is the number of cores to use (default: all): files run in
    min(jobs, files) processes, each using jobs // processes threads. So
    ``jobs=1`` is one process on one core, and one file with ``jobs=2`` uses two
    threads. The output does not depend on it.

    ``progress(n)`` is called as versions are scored, ``on_file(outcome)`` as each
    file completes.
    """
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    clock = time.perf_counter()
    cores = max(1, jobs or os.cpu_count() or 1)
    processes = max(1, min(cores, len(paths)))
    threads = max(1, cores // processes)
    # The run's memory budget is shared by its processes.
    per_process = replace(options, memory_budget=options.memory_budget // processes)
    if processes == 1:
        outcomes = []
        with thread_budget(threads):
            for path in paths:
                outcomes.append(process_file(path, per_process, progress))
                if on_file is not None:
                    on_file(outcomes[-1])
    else:
        outcomes = _run_pool(paths, per_process, processes, threads, progress, on_file)
    result = assemble_result(
        outcomes,
        options,
        run_id=run_id,
        started_at=started_at,
        extra_metadata={
            "mode": "local",
            "jobs": cores,
            "processes": processes,
            "threads_per_process": threads,
        },
    )
    result.metadata["seconds"] = round(time.perf_counter() - clock, 3)
    return result


def _init_worker(progress_queue: Any, threads: int) -> None:
    global _progress_queue
    _progress_queue = progress_queue
    set_thread_count(threads)


def _process_in_worker(path: str, options: GenerationOptions) -> FileOutcome:
    return process_file(path, options, progress=_progress_queue.put)


def _run_pool(
    paths: Sequence[Path],
    options: GenerationOptions,
    processes: int,
    threads: int,
    progress: Progress | None,
    on_file: Callable[[FileOutcome], None] | None,
) -> list[FileOutcome]:
    context = mp.get_context("fork" if "fork" in mp.get_all_start_methods() else "spawn")
    progress_queue = context.Queue()
    outcomes: list[FileOutcome] = []
    with ProcessPoolExecutor(
        processes,
        mp_context=context,
        initializer=_init_worker,
        initargs=(progress_queue, threads),
    ) as pool:
        files: dict[Future[FileOutcome], str] = {
            pool.submit(_process_in_worker, str(path), options): str(path) for path in paths
        }
        pending = set(files)
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            _drain(progress_queue, progress)
            for future in done:
                outcomes.append(_outcome(future, files[future]))
                if on_file is not None:
                    on_file(outcomes[-1])
        _drain(progress_queue, progress)
    return outcomes


def _outcome(future: Future[FileOutcome], file: str) -> FileOutcome:
    """The file's outcome; a process that died under it (out of memory...) makes it an
    error entry, like any other failure inside one file."""
    try:
        return future.result()
    except Exception as error:  # noqa: BLE001 - BrokenProcessPool and the like
        reason = f"{file}: its process failed ({type(error).__name__}: {error})"
        return FileOutcome(file=file, status="error", errors=[reason])


def _drain(progress_queue: Any, progress: Progress | None) -> None:
    while True:
        try:
            count = progress_queue.get_nowait()
        except queue.Empty:
            return
        if progress is not None:
            progress(count)
