"""``VariantPlan``: which variants to make of every file (types, levels, seed), checked once."""

from __future__ import annotations

import operator
from collections.abc import Iterable
from dataclasses import dataclass

from metricate.defaults import DEFAULT_SEED
from metricate.degradations.levels import Level, parse_levels
from metricate.degradations.registry import parse_types
from metricate.errors import InvalidOptionError


@dataclass(frozen=True)
class VariantPlan:
    """The degradation types (registry order), levels (as given) and run seed.

    Build it with ``VariantPlan.parse``, which validates every part; code that
    receives a plan trusts it.
    """

    types: tuple[str, ...]
    levels: tuple[Level, ...]
    random_seed: int

    @classmethod
    def parse(
        cls,
        types: str | Iterable[str] | None = None,
        levels: str | Iterable[str | Level] | None = None,
        random_seed: object = DEFAULT_SEED,
    ) -> VariantPlan:
        """Types default to all 18, levels to 5pct, 10pct, 25pct, 50pct; a string is a
        comma-separated list. Unknown types, malformed or repeated levels and a seed
        that is not a non-negative integer are an ``InvalidOptionError``."""
        return cls(tuple(parse_types(types)), tuple(parse_levels(levels)), check_seed(random_seed))

    @property
    def level_texts(self) -> tuple[str, ...]:
        return tuple(level.text for level in self.levels)

    @property
    def n_variants(self) -> int:
        """Variants attempted per file."""
        return len(self.types) * len(self.levels)


def check_seed(random_seed: object) -> int:
    """The run seed as a non-negative int (``SeedSequence`` takes no negative entropy)."""
    try:
        seed = operator.index(random_seed)  # type: ignore[arg-type]
    except TypeError:
        seed = -1
    if isinstance(random_seed, bool) or seed < 0:
        raise InvalidOptionError(f"random_seed must be a non-negative integer, got {random_seed!r}")
    return int(seed)
