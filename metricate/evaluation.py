"""``evaluate``: score one clustering CSV on every index."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metricate.defaults import DEFAULT_LARGE_N, DEFAULT_MEMORY_BUDGET, DEFAULT_SEED
from metricate.degradations.seeding import file_identity, pair_sample_seed
from metricate.errors import ColumnNotFoundError
from metricate.io.load import load_clustering
from metricate.memory import parse_size
from metricate.metrics import EvaluationResult, PointSet, check_metric_names
from metricate.parallel import blas_threads
from metricate.training.reference import load_reference, normalize_against


def evaluate(
    path: str | Path,
    *,
    exclude: Iterable[str] | None = None,
    force_all: bool = False,
    large_n: int = DEFAULT_LARGE_N,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
    reference_col: str | None = None,
    reference: str | Path | Mapping[str, Any] | None = None,
) -> EvaluationResult:
    """Load a clustering CSV and compute the 32 internal indices (and the 4 external
    ones when ``reference_col`` names a column of true labels). With ``reference`` (a
    training run's table or ``.run.json``), ``normalized`` holds each internal index's
    ``_norm`` value against that run, as if the clustering had been one of its rows.

    Noise points (label -1) are left out; rows with NaN/inf embeddings are dropped
    with a warning. Above ``large_n`` points the pair-based indices are computed on a
    stratified sample of ``large_n`` points, unless ``force_all``; ``memory_budget``
    (bytes, or a size like ``"4GB"``) bounds what the process holds.
    """
    exclude = check_metric_names(exclude)
    budget = parse_size(memory_budget)
    stored = None if reference is None else load_reference(reference)
    started = time.perf_counter()
    clustering = load_clustering(path, label_col=label_col, embedding_cols=embedding_cols)
    true_labels = None
    if reference_col is not None:
        if reference_col not in clustering.frame.columns:
            raise ColumnNotFoundError(
                f"{clustering.path}: reference column {reference_col!r} not found"
            )
        true_labels = clustering.frame[reference_col].to_numpy()[~clustering.noise_mask]
    # Above large_n, the same pair sample as `generate` with the default seed.
    identity = file_identity(clustering.content_hash, clustering.X, clustering.labels)
    points = PointSet(
        clustering.points,
        large_n=large_n,
        single_use=True,
        memory_budget=budget,
        seed=pair_sample_seed(DEFAULT_SEED, identity),
    )
    with blas_threads(1):
        result = points.evaluate(
            clustering.point_labels, exclude=exclude, force_all=force_all, reference=true_labels
        )
    sampled = {
        "metrics_sampled": result.sampled,
        "pair_sample_size": result.metadata.get("pair_sample_size"),
    }
    result.metadata = {
        **clustering.metadata(),
        "exclude": list(exclude),
        "force_all": force_all,
        "large_n": large_n,
        "memory_budget": budget,
        **(sampled if result.sampled else {}),
        "seconds": round(time.perf_counter() - started, 3),
    }
    result.warnings = clustering.warnings + [
        f"{clustering.path}: {warning}" for warning in result.warnings
    ]
    if stored is not None:
        result.normalized = {
            m.name: float(normalize_against(np.array([m.value]), m.name, stored)[0])
            for m in result.metrics
            if m.kind == "internal"
        }
    return result
