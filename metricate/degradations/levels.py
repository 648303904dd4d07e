"""Degradation levels: ``<p>pct``, the share of a clustering a degradation touches."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from metricate.errors import InvalidOptionError

DEFAULT_LEVELS = ("5pct", "10pct", "25pct", "50pct")
LEVEL_FORM = "<p>pct with p in (0, 100], e.g. 5pct, 2.5pct, 100pct"
_LEVEL_PATTERN = re.compile(r"^(\d+(?:\.\d+)?)pct$")


@dataclass(frozen=True)
class Level:
    """One level: its text as written (``"5pct"``) and its fraction f = p / 100."""

    text: str
    fraction: float


def parse_level(text: str) -> Level:
    """``"5pct"`` -> ``Level("5pct", 0.05)``; anything else is an ``InvalidOptionError``."""
    if not isinstance(text, str):
        raise InvalidOptionError(f"invalid level {text!r}; expected {LEVEL_FORM}")
    stripped = text.strip()
    match = _LEVEL_PATTERN.match(stripped)
    percent = float(match.group(1)) if match else 0.0
    if not 0.0 < percent <= 100.0:
        raise InvalidOptionError(f"invalid level {text!r}; expected {LEVEL_FORM}")
    return Level(stripped, percent / 100.0)


def parse_levels(levels: str | Iterable[str | Level] | None) -> list[Level]:
    """Levels in the order given (default 5pct, 10pct, 25pct, 50pct).

    A string is read as a comma-separated list. Two levels with the same fraction
    would name the same variant twice, so they are an error.
    """
    if levels is None:
        levels = DEFAULT_LEVELS
    elif isinstance(levels, str):
        levels = [part for part in levels.split(",") if part.strip()]
    parsed = [level if isinstance(level, Level) else parse_level(level) for level in levels]
    if not parsed:
        raise InvalidOptionError(f"no levels given; expected one or more of {LEVEL_FORM}")
    seen: dict[float, str] = {}
    for level in parsed:
        if level.fraction in seen:
            raise InvalidOptionError(
                f"level {level.text!r} repeats {seen[level.fraction]!r}; give each level once"
            )
        seen[level.fraction] = level.text
    return parsed
