"""Degradations: 18 ways to make a good clustering worse, at any level.

See ``spec/degradations.md``. ``build_variants`` makes the variants of a loaded
clustering in memory; ``degrade`` writes them as CSV next to a manifest.
"""

from metricate.degradations.files import (
    DegradationResult,
    DegradedFile,
    degrade,
    variant_frame,
    write_variant_csv,
)
from metricate.degradations.levels import DEFAULT_LEVELS, Level, parse_level, parse_levels
from metricate.degradations.registry import (
    DEGRADATION_NAMES,
    DEGRADATIONS,
    DEGRADATIONS_BY_NAME,
    Degradation,
    parse_types,
)
from metricate.degradations.variants import Variant, build_variants, scoring_input

__all__ = [
    "DEFAULT_LEVELS",
    "DEGRADATIONS",
    "DEGRADATIONS_BY_NAME",
    "DEGRADATION_NAMES",
    "DegradationResult",
    "DegradedFile",
    "Degradation",
    "Level",
    "Variant",
    "build_variants",
    "parse_types",
    "degrade",
    "parse_level",
    "parse_levels",
    "scoring_input",
    "variant_frame",
    "write_variant_csv",
]
