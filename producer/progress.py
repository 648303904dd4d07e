"""Progress of a generation run: a rich bar on a terminal, plain lines otherwise."""

from __future__ import annotations

import sys
import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

PLAIN_LINE_SECONDS = 30.0


class RunProgress:
    """Counts versions scored and files done; ``interactive`` decides the display."""

    def __init__(self, n_files: int, versions_per_file: int, interactive: bool | None = None):
        self.n_files = n_files
        self.per_file = versions_per_file
        self.total = n_files * versions_per_file
        self.files_done = 0
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.started = time.perf_counter()
        self.scored = 0
        self._last_line = self.started
        self._next_line = max(1, versions_per_file // 10)
        self._bar: Progress | None = None
        self._task: Any = None

    def __enter__(self) -> RunProgress:
        if self.interactive:
            self._bar = Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("versions"),
                TextColumn("{task.fields[files]}"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
            self._task = self._bar.add_task("scoring", total=self.total, files=self._files())
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            if exc_type is None:
                self._bar.update(self._task, completed=self.total)
            self._bar.stop()

    def _files(self) -> str:
        return f"files {self.files_done}/{self.n_files}"

    def note(self, message: str) -> None:
        """A line for the user, above the bar on a terminal."""
        if self._bar is not None:
            self._bar.console.print(message)
        else:
            print(message, file=sys.stderr, flush=True)

    def versions(self, count: int) -> None:
        self.scored += count
        if self._bar is not None:
            self._bar.advance(self._task, count)
            return
        # Without a terminal: a line every tenth of a file's versions or every 30 s,
        # so that a long file is never silent.
        now = time.perf_counter()
        if self.scored >= self._next_line or now - self._last_line >= PLAIN_LINE_SECONDS:
            self._last_line = now
            self._next_line = self.scored + max(1, self.per_file // 10)
            print(
                f"{self.scored} of {self.total} versions scored, {self._files()} "
                f"(elapsed {now - self.started:.0f} s)",
                file=sys.stderr,
                flush=True,
            )

    def file_done(self, file: str, status: str, rows: int, seconds: float | None) -> None:
        self.files_done += 1
        if self._bar is not None:
            # Versions that were not produced never report; count them now.
            self._bar.advance(self._task, max(0, self.per_file - rows))
            self._bar.update(self._task, files=self._files())
            return
        took = f", {seconds:.1f} s" if seconds is not None else ""
        elapsed = time.perf_counter() - self.started
        print(
            f"[{self.files_done}/{self.n_files}] {file}: {status}, {rows} rows{took} "
            f"(elapsed {elapsed:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
