"""Variants: every produced (type, level) of one clustering.

``build_variants`` runs the planned types on one clustering (each with its own
generator) and turns each level's outcome into a ``Variant`` or a warning. How a
variant is scored is the training pipeline's business (``metricate.training.scoring``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from metricate.defaults import NOISE
from metricate.degradations.context import Change, NotProduced, Original, Outcome
from metricate.degradations.levels import Level
from metricate.degradations.plan import VariantPlan
from metricate.degradations.registry import DEGRADATIONS_BY_NAME, Changes, VariantKind
from metricate.degradations.seeding import file_identity, type_generator
from metricate.errors import InsufficientClustersError
from metricate.io.load import Clustering
from metricate.parallel import parallel_map

# Points from which the types are degraded on the threads of the budget. All 18 types,
# one thread against two: 1,000 points 0.07 s against 0.12 s; 10,000 points 0.82 s
# against 0.88-1.03 s; 20,000 points 1.79 s against 1.54 s; 100,000 13.0 s against 8.6 s.
THREADED_MIN = 15_000


@dataclass(eq=False)
class Variant:
    """One degraded version of a clustering.

    ``labels`` covers every row of the variant (noise stays -1). For "labels" and
    "subset" variants ``rows`` are the original rows kept, ascending (all rows for
    "labels") and ``X`` is None: the coordinates are the original's. "coordinates"
    variants have ``rows`` None and ``X`` for every row (appended rows last).
    """

    type: str
    level: str
    fraction: float
    quality_score: float
    changes: Changes
    kind: VariantKind
    labels: np.ndarray
    rows: np.ndarray | None
    X: np.ndarray | None
    points_affected: int
    achieved_fraction: float
    n_rows: int
    n_clusters: int
    description: str

    @property
    def name(self) -> str:
        """``merge_nearest@5pct``, as warnings name a variant."""
        return f"{self.type}@{self.level}"

    @property
    def file_name(self) -> str:
        return f"{self.type}_{self.level}.csv"

    @property
    def fingerprint(self) -> str:
        """Equal for two variants exactly when they are the same clustering (labels,
        rows kept, coordinates)."""
        digest = hashlib.sha256()
        for part in (self.labels, self.rows, self.X):
            digest.update(b"-" if part is None else repr(part.shape).encode())
            if part is not None:
                digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()


def build_variants(
    clustering: Clustering, plan: VariantPlan | None = None
) -> tuple[list[Variant], list[str]]:
    """Every planned variant of ``clustering`` (default: ``VariantPlan.parse()``, all 18
    types at 5pct, 10pct, 25pct, 50pct): types in registry order, levels as given.

    Returns the variants and the warnings (each naming the file and the variant) for
    levels not produced or not distinguishable from a lower one.
    """
    plan = plan or VariantPlan.parse()
    names, parsed, seed = plan.types, plan.levels, plan.random_seed
    original = Original.from_arrays(clustering.X, clustering.labels)
    if original.n_clusters < 2:
        raise InsufficientClustersError(
            f"{clustering.path}: needs at least 2 clusters to degrade, found {original.n_clusters}"
        )
    identity = file_identity(clustering.content_hash, original.X, original.labels)
    variants: list[Variant] = []
    warnings: list[str] = []
    seen: dict[str, str] = {}  # fingerprint of each produced clustering -> its variant
    # The types degrade on the threads (each with its own generator); which of their
    # variants repeat an earlier one is decided after, in the types' order. Below
    # THREADED_MIN points a type is mostly short numpy calls under the interpreter
    # lock, and a second thread only slows them.
    outcomes = parallel_map(
        lambda name: DEGRADATIONS_BY_NAME[name].function(
            original, parsed, type_generator(seed, identity, name)
        ),
        names,
        workers=None if original.X.shape[0] >= THREADED_MIN else 1,
    )
    for name, outcome in zip(names, outcomes, strict=True):
        produced, notes = _variants_of_type(original, name, parsed, outcome, seen)
        warnings.extend(
            f"{clustering.path}: {name}@{level.text}: {notes[level.text]}"
            for level in parsed
            if level.text in notes
        )
        variants.extend(produced)
    return variants, warnings


def _variants_of_type(
    original: Original,
    name: str,
    levels: Sequence[Level],
    outcomes: Sequence[Outcome],
    seen: dict[str, str],
) -> tuple[list[Variant], dict[str, str]]:
    """The produced variants of one type, in level order, and why each other level
    gave none: fewer than 2 clusters, no change, or a clustering already produced, by
    a lower level (merges, splits and removals move whole clusters, so two levels can
    end alike) or by an earlier type (removing the smallest or the largest of equal
    clusters removes the same ones). ``seen`` gains the new variants' fingerprints."""
    degradation = DEGRADATIONS_BY_NAME[name]
    produced: list[Variant] = []
    notes: dict[str, str] = {}  # level -> why not produced
    for level, outcome in sorted(zip(levels, outcomes, strict=True), key=lambda p: p[0].fraction):
        if isinstance(outcome, NotProduced):
            notes[level.text] = f"not produced, {outcome.reason}"
            continue
        variant = _variant(original, degradation.changes, degradation.kind, name, level, outcome)
        problem = _unusable(original, variant)
        twin = seen.get(variant.fingerprint)
        if problem:
            notes[level.text] = f"not produced, {problem}"
        elif twin is not None:
            same = twin.removeprefix(f"{name}@")
            where = f"@{same}" if same != twin else twin
            notes[level.text] = f"not produced, it gives the same clustering as {where}"
        else:
            seen[variant.fingerprint] = variant.name
            produced.append(variant)
    order = {level.text: i for i, level in enumerate(levels)}
    return sorted(produced, key=lambda v: order[v.level]), notes


def _variant(
    original: Original,
    changes: Changes,
    kind: VariantKind,
    name: str,
    level: Level,
    change: Change,
) -> Variant:
    rows = change.rows
    if rows is None and change.X is None:
        rows = np.arange(original.n_rows)
    clusters = np.unique(change.labels[change.labels != NOISE]).size
    return Variant(
        type=name,
        level=level.text,
        fraction=level.fraction,
        quality_score=1.0 - change.achieved_fraction,
        changes=changes,
        kind=kind,
        labels=change.labels,
        rows=rows,
        X=change.X,
        points_affected=change.points_affected,
        achieved_fraction=change.achieved_fraction,
        n_rows=int(change.labels.size),
        n_clusters=int(clusters),
        description=change.description,
    )


def _unusable(original: Original, variant: Variant) -> str | None:
    """Why a variant cannot be used (fewer than 2 clusters, or no change), or None."""
    if variant.n_clusters < 2:
        return (
            f"it would leave {variant.n_clusters} cluster{'' if variant.n_clusters == 1 else 's'}"
        )
    if variant.X is not None:
        unchanged = _same(variant.X, original.X)
    else:
        unchanged = variant.rows is not None and variant.rows.size == original.n_rows
    if unchanged and _same(variant.labels, original.labels):
        return "it would change nothing"
    return None


def _same(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.shape == b.shape and bool(np.array_equal(a, b))
