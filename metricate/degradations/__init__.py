"""Degradations: 18 ways to make a good clustering worse, at any level.

The types are listed in ``docs/degradations.md``. ``VariantPlan.parse`` checks which
variants to make; ``build_variants`` makes them for a loaded clustering in memory;
``degrade`` writes them as CSV next to a manifest. Nothing here scores a variant.
"""

from metricate.degradations.files import (
    DegradationResult,
    DegradedFile,
    degrade,
    variant_frame,
    write_variant_csv,
)
from metricate.degradations.levels import DEFAULT_LEVELS, Level, parse_level, parse_levels
from metricate.degradations.plan import VariantPlan
from metricate.degradations.registry import (
    DEGRADATION_NAMES,
    DEGRADATIONS,
    DEGRADATIONS_BY_NAME,
    Degradation,
    parse_types,
)
from metricate.degradations.variants import Variant, build_variants

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
    "VariantPlan",
    "build_variants",
    "parse_types",
    "degrade",
    "parse_level",
    "parse_levels",
    "variant_frame",
    "write_variant_csv",
]
