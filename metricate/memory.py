"""The memory budget: what a process may hold, how to write it, and what it holds now.

Scoring picks how to keep a point set's pair distances (all of them and their ranks,
all of them until sorted, or none) by what fits in the budget beside what the process
already holds; ``resident_bytes`` is that.
"""

from __future__ import annotations

import os
import re
import resource
import sys

from metricate.errors import InvalidOptionError

_UNITS = {
    "": 1,
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")
# Below this no point set of a useful size fits beside the libraries themselves.
MIN_BUDGET = 256 * 10**6


def parse_size(value: object) -> int:
    """Bytes from ``4GB``, ``512MB``, ``1.5GiB`` or a number of bytes."""
    if isinstance(value, bool):
        raise InvalidOptionError(f"memory budget must be a size like 4GB, got {value!r}")
    if isinstance(value, int | float):
        size = int(value)
    else:
        match = _SIZE.match(str(value))
        unit = match.group(2).lower() if match else None
        if match is None or unit not in _UNITS:
            raise InvalidOptionError(
                f"memory budget must be a size like 4GB, 512MB or 2GiB, got {value!r}"
            )
        size = int(float(match.group(1)) * _UNITS[unit])
    if size < MIN_BUDGET:
        raise InvalidOptionError(f"memory budget must be at least 256MB, got {value!r}")
    return size


def format_size(size: int) -> str:
    """``4GB``, ``512MB``: the way sizes are written back to users."""
    for unit, factor in (("GB", 10**9), ("MB", 10**6)):
        if size >= factor:
            return f"{size / factor:.3g}{unit}"
    return f"{size}B"


def resident_bytes() -> int:
    """What this process holds in memory now (its resident set)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):  # not Linux: the peak so far, an upper bound
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024


def _glibc_trim() -> object:
    try:
        import ctypes

        return ctypes.CDLL("libc.so.6").malloc_trim
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_malloc_trim = _glibc_trim()


def trim() -> None:
    """Give freed memory back to the system.

    glibc keeps freed blocks of a few MB in its heap for reuse; after a phase that
    allocated many (the columns and blocks of a pass), the process would otherwise go
    on holding them, and the budget would count them as used.
    """
    if _malloc_trim is not None:
        _malloc_trim(0)  # type: ignore[operator]
