"""Defaults and fixed conventions of the library, each defined here and nowhere else."""

from __future__ import annotations

# The label of a noise point: left out of every index and counted in the metadata.
NOISE = -1
# The run seed when none is given: the same seed gives the same variants everywhere.
DEFAULT_SEED = 42
# Up to this many points every index is exact; above it the pair-based indices are
# computed on a stratified sample of this many points, unless force_all.
DEFAULT_LARGE_N = 20_000
# What one file's scoring may hold in memory, in bytes (the whole process counted).
DEFAULT_MEMORY_BUDGET = 4_000_000_000
