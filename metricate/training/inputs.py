"""Which files a run reads: files and directories to a sorted list of CSV paths."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


def find_inputs(inputs: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files and directories (their *.csv, not recursive) to a sorted, unique list."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    found: set[Path] = set()
    for item in items:
        path = Path(item)
        if path.is_dir():
            found.update(p for p in path.glob("*.csv") if p.is_file())
        else:
            found.add(path)
    return sorted(found)
