"""Defaults and fixed conventions of the library, each defined here and nowhere else."""

from __future__ import annotations

# The label of a noise point: left out of every index and counted in the metadata.
NOISE = -1
# The run seed when none is given: the same seed gives the same variants everywhere.
DEFAULT_SEED = 42
# Above this many points the pair-based indices are skipped unless force_all.
DEFAULT_LARGE_N = 50_000
