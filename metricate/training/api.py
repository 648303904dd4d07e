"""The Python entry points of training-data generation."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from metricate.defaults import DEFAULT_LARGE_N, DEFAULT_MEMORY_BUDGET, DEFAULT_SEED
from metricate.errors import InvalidOptionError
from metricate.options import GenerationOptions
from metricate.training.inputs import find_inputs
from metricate.training.local import run_local
from metricate.training.result import TrainingDataResult
from metricate.training.scoring import Progress


def generate_training_data(
    csv_path: str | Path,
    output_dir: str | Path | None = None,
    *,
    types: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    force_all: bool = False,
    topic: str | None = None,
    random_seed: int = DEFAULT_SEED,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
    large_n: int = DEFAULT_LARGE_N,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    degraded_dir: str | Path | None = None,
    jobs: int | None = None,
) -> TrainingDataResult:
    """Training data from one good clustering: the original and every variant,
    scored and normalized. With ``output_dir``, also writes
    ``<output_dir>/training_data.parquet`` and its ``.run.json``."""
    return generate_training_data_batch(
        [csv_path],
        output_dir,
        types=types,
        levels=levels,
        exclude=exclude,
        force_all=force_all,
        topic=topic,
        random_seed=random_seed,
        label_col=label_col,
        embedding_cols=embedding_cols,
        large_n=large_n,
        memory_budget=memory_budget,
        degraded_dir=degraded_dir,
        jobs=jobs,
    )


def generate_training_data_batch(
    inputs: str | Path | Sequence[str | Path],
    output_dir: str | Path | None = None,
    *,
    topic_mapping: Mapping[str, str] | None = None,
    types: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    force_all: bool = False,
    topic: str | None = None,
    random_seed: int = DEFAULT_SEED,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
    large_n: int = DEFAULT_LARGE_N,
    memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
    degraded_dir: str | Path | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TrainingDataResult:
    """Training data from every CSV in ``inputs`` (a directory, or files and
    directories), normalized across all of them. A bad file becomes an entry in
    ``errors``; the others complete. ``jobs``: cores to use (default all);
    ``memory_budget``: what the run may hold (bytes, or a size like ``"4GB"``), shared
    by its processes."""
    options = GenerationOptions.parse(
        types=types,
        levels=levels,
        random_seed=random_seed,
        exclude=exclude,
        force_all=force_all,
        large_n=large_n,
        memory_budget=memory_budget,
        label_col=label_col,
        embedding_cols=embedding_cols,
        topic=topic,
        topic_mapping=topic_mapping,
        degraded_dir=degraded_dir,
    )
    paths = find_inputs(inputs)
    if not paths:
        raise InvalidOptionError(f"no CSV files found in {inputs}")
    result = run_local(paths, options, jobs=jobs, progress=progress)
    if output_dir is not None:
        result.write(Path(output_dir) / "training_data.parquet")
    return result
