"""Which files a run reads: files and directories to a sorted list of CSV paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

CSV_SUFFIXES = (".csv", ".csv.gz")
"""Names a directory's input files end with (case ignored): plain and gzip-compressed CSV."""


def find_inputs(inputs: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files and directories (their *.csv and *.csv.gz files, any case, not recursive) to a
    sorted, unique list. A file named directly is taken whatever its name."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    found: set[Path] = set()
    for item in items:
        path = Path(item)
        if path.is_dir():
            found.update(
                p for p in path.iterdir() if p.name.lower().endswith(CSV_SUFFIXES) and p.is_file()
            )
        else:
            found.add(path)
    return sorted(found)
