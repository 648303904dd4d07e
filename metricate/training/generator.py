"""Training-data generation: one file to raw records, all records to the result.

Every way of running a run (in-process, a local process pool, Celery workers) calls
the same two functions:

- ``process_file(path, options)``: load one clustering, build its variants, score the
  original and every variant (each point set's distances computed once), and return
  its raw records, warnings and errors. Bad data never raises: it becomes an error.
- ``assemble_result(outcomes, options)``: order the records, normalize every metric
  across the whole run, and build the ``TrainingDataResult``.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from metricate.degradations import (
    Variant,
    build_variants,
    parse_levels,
    parse_types,
    scoring_input,
    write_variant_csv,
)
from metricate.errors import InvalidOptionError, MetricateError
from metricate.load import load_clustering
from metricate.metrics import DEFAULT_LARGE_N, PointSet, check_metric_names
from metricate.metrics.distances import parallel_map
from metricate.training.normalize import normalize_metrics
from metricate.training.result import TrainingDataResult
from metricate.training.schema import METRIC_COLUMNS, topic_from_name

Progress = Callable[[int], None]
Scored = tuple[dict[str, Any], list[str]]


@dataclass(frozen=True)
class GenerationOptions:
    """Everything that decides a run's output, as small JSON values."""

    types: tuple[str, ...] | None = None
    levels: tuple[str, ...] | None = None
    exclude: tuple[str, ...] = ()
    force_all: bool = False
    large_n: int = DEFAULT_LARGE_N
    random_seed: int = 42
    label_col: str | None = None
    embedding_cols: tuple[str, ...] | str | None = None
    topic: str | None = None
    topic_mapping: Mapping[str, str] | None = None
    degraded_dir: str | None = None

    def checked(self) -> GenerationOptions:
        """Validate every option once, before any file is read; normalized copy."""
        types = tuple(parse_types(self.types))
        levels = tuple(level.text for level in parse_levels(self.levels))
        exclude = tuple(check_metric_names(self.exclude))
        if self.large_n < 2:
            raise InvalidOptionError(f"large_n must be at least 2, got {self.large_n}")
        embedding = self.embedding_cols
        if embedding is not None and not isinstance(embedding, str):
            embedding = tuple(embedding)
        return GenerationOptions(
            types=types,
            levels=levels,
            exclude=exclude,
            force_all=bool(self.force_all),
            large_n=int(self.large_n),
            random_seed=int(self.random_seed),
            label_col=self.label_col,
            embedding_cols=embedding,
            topic=self.topic,
            topic_mapping=dict(self.topic_mapping) if self.topic_mapping else None,
            degraded_dir=None if self.degraded_dir is None else str(self.degraded_dir),
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("types", "levels", "exclude"):
            if data[key] is not None:
                data[key] = list(data[key])
        if isinstance(data["embedding_cols"], tuple):
            data["embedding_cols"] = list(data["embedding_cols"])
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationOptions:
        values = dict(data)
        for key in ("types", "levels", "exclude"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        if isinstance(values.get("embedding_cols"), list):
            values["embedding_cols"] = tuple(values["embedding_cols"])
        return cls(**values)

    def topic_for(self, path: str | Path) -> str:
        """Given explicitly, else from the topic map (by file name, stem or path),
        else from the file name."""
        if self.topic is not None:
            return self.topic
        path = Path(path)
        mapping = self.topic_mapping or {}
        for key in (path.name, path.stem, str(path)):
            if key in mapping:
                return mapping[key]
        return topic_from_name(path)

    @property
    def variants_per_file(self) -> int:
        checked = self if self.types is not None and self.levels is not None else self.checked()
        return 1 + len(checked.types or ()) * len(checked.levels or ())


@dataclass
class FileOutcome:
    """One input file's raw records (no ``_norm`` columns yet), warnings and errors."""

    file: str
    status: str = "ok"
    sha256: str | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    timing: dict[str, float] = field(default_factory=dict)
    variants_attempted: int = 0
    variants_produced: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe (NaN as null), for a message queue or a record store."""
        data = asdict(self)
        data["records"] = [
            {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in r.items()}
            for r in self.records
        ]
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FileOutcome:
        values = dict(data)
        values["records"] = [
            {k: (math.nan if v is None and k in METRIC_COLUMNS else v) for k, v in r.items()}
            for r in values.get("records", [])
        ]
        return cls(**values)

    def summary(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "status": self.status,
            "sha256": self.sha256,
            "records": len(self.records),
            "variants_attempted": self.variants_attempted,
            "variants_produced": self.variants_produced,
            "timing": self.timing,
            "warnings": len(self.warnings),
            "errors": len(self.errors),
        }


def process_file(
    path: str | Path, options: GenerationOptions, progress: Progress | None = None
) -> FileOutcome:
    """Turn one clustering CSV into its raw records, warnings and errors.

    ``progress(n)`` is called after each version (original or variant) is scored.
    Bad data (unreadable file, one cluster, no label column...) is returned as an
    error, never raised.
    """
    options = options if options.levels is not None else options.checked()
    outcome = FileOutcome(file=str(path))
    timing: dict[str, float] = {}
    started = time.perf_counter()
    clock = started
    try:
        clustering = load_clustering(
            path, label_col=options.label_col, embedding_cols=_columns(options.embedding_cols)
        )
    except MetricateError as error:
        outcome.status = "error"
        outcome.errors.append(str(error))
        timing["load"] = timing["total"] = time.perf_counter() - clock
        outcome.timing = _rounded(timing)
        return outcome
    outcome.sha256 = clustering.content_hash
    outcome.warnings.extend(clustering.warnings)
    timing["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    variants, variant_warnings = build_variants(
        clustering,
        types=options.types,
        levels=options.levels,
        random_seed=options.random_seed,
    )
    outcome.warnings.extend(variant_warnings)
    outcome.variants_attempted = len(options.types or ()) * len(options.levels or ())
    outcome.variants_produced = len(variants)
    timing["degrade"] = time.perf_counter() - clock

    name = Path(path).stem
    base = {"clustering_name": name, "topic": options.topic_for(path)}
    points = PointSet(clustering.points, large_n=options.large_n)

    def score(point_set: PointSet, labels: Any, extra: dict[str, Any], where: str) -> Scored:
        result = point_set.evaluate(labels, exclude=options.exclude, force_all=options.force_all)
        values = result.values()
        if progress is not None:
            progress(1)
        record = {
            **base,
            "n_clusters": result.metadata["n_clusters"],
            "n_samples": result.metadata["n_samples"],
            **extra,
            **{metric: values[metric] for metric in METRIC_COLUMNS},
            "metrics_computed": result.metrics_computed,
            "metrics_failed": ",".join(result.metrics_failed),
        }
        return record, [f"{where}: {w}" for w in result.warnings]

    def score_variant(variant: Variant) -> Scored:
        point_set, labels = scoring_input(variant, clustering, points)
        degraded = {
            "quality": 0,
            "quality_score": variant.quality_score,
            "degradation_type": variant.type,
            "degradation_level": variant.level,
        }
        return score(point_set, labels, degraded, f"{path}: {variant.type}@{variant.level}")

    clock = time.perf_counter()
    original = {
        "quality": 1,
        "quality_score": 1.0,
        "degradation_type": None,
        "degradation_level": None,
    }
    scored: dict[int, Scored] = {-1: score(points, clustering.point_labels, original, str(path))}
    timing["evaluate_original"] = time.perf_counter() - clock
    # Variants on the original's points, then on subsets of them, share its
    # distances; two are scored at a time, since much of one evaluation runs on a
    # single core.
    for changes in ("labels", "subset"):
        clock = time.perf_counter()
        batch = [i for i, v in enumerate(variants) if v.changes == changes]
        scored.update(
            zip(batch, parallel_map(score_variant, [variants[i] for i in batch]), strict=True)
        )
        timing[f"evaluate_{'same_points' if changes == 'labels' else 'subsets'}"] = (
            time.perf_counter() - clock
        )
    # Variants with new coordinates come last, one at a time, after the original's
    # distances are released: at most one set of N^2 distances is held at once.
    clock = time.perf_counter()
    points.release()
    for i, variant in enumerate(variants):
        if variant.changes == "coordinates":
            scored[i] = score_variant(variant)
    points.release()
    timing["evaluate_new_points"] = time.perf_counter() - clock
    timing["evaluate"] = sum(v for k, v in timing.items() if k.startswith("evaluate_"))
    for i in range(-1, len(variants)):
        record, warnings = scored[i]
        outcome.records.append(record)
        outcome.warnings.extend(warnings)
    if options.degraded_dir is not None:
        clock = time.perf_counter()
        for variant in variants:
            target = Path(options.degraded_dir) / name / f"{variant.type}_{variant.level}.csv"
            write_variant_csv(variant, clustering, target)
        timing["write_degraded"] = time.perf_counter() - clock
    timing["total"] = time.perf_counter() - started
    outcome.timing = _rounded(timing)
    return outcome


def assemble_result(
    outcomes: Iterable[FileOutcome],
    options: GenerationOptions,
    *,
    run_id: str | None = None,
    started_at: str | None = None,
    extra_metadata: Mapping[str, Any] | None = None,
) -> TrainingDataResult:
    """All files' raw records to the final result: rows in sorted path order,
    every metric normalized over the whole run."""
    from metricate import __version__

    clock = time.perf_counter()
    ordered = sorted(outcomes, key=lambda o: o.file)
    records = [r for o in ordered for r in o.records]
    table = TrainingDataResult(records).to_dataframe()
    normalized = normalize_metrics(table[list(METRIC_COLUMNS)], METRIC_COLUMNS)
    for name in METRIC_COLUMNS:
        column = normalized[f"{name}_norm"].to_numpy()
        for record, value in zip(records, column, strict=True):
            record[f"{name}_norm"] = float(value)
    finished = datetime.now(UTC).isoformat(timespec="seconds")
    metadata: dict[str, Any] = {
        "run_id": run_id or uuid.uuid4().hex[:12],
        "package": "metricate",
        "version": __version__,
        "started_at": started_at or finished,
        "finished_at": finished,
        "parameters": options.to_dict(),
        "files": [o.summary() for o in ordered],
        "n_files": len(ordered),
        "n_files_failed": sum(1 for o in ordered if o.status != "ok"),
        "n_rows": len(records),
        "variants_attempted": sum(o.variants_attempted for o in ordered),
        "variants_produced": sum(o.variants_produced for o in ordered),
        "normalize_seconds": round(time.perf_counter() - clock, 3),
        **(extra_metadata or {}),
    }
    return TrainingDataResult(
        records=records,
        metadata=metadata,
        warnings=[w for o in ordered for w in o.warnings],
        errors=[e for o in ordered for e in o.errors],
    )


def find_inputs(inputs: str | Path | Sequence[str | Path]) -> list[Path]:
    """Files and directories (their *.csv, not recursive) to a sorted, unique list."""
    items = [inputs] if isinstance(inputs, str | Path) else list(inputs)
    found: set[Path] = set()
    for item in items:
        path = Path(item)
        if path.is_dir():
            found.update(p for p in path.glob("*.csv") if p.is_file())
        else:
            found.add(path)
    return sorted(found)


def generate_training_data(
    csv_path: str | Path,
    output_dir: str | Path | None = None,
    *,
    types: Sequence[str] | None = None,
    levels: Sequence[str] | None = None,
    exclude: Sequence[str] | None = None,
    force_all: bool = False,
    topic: str | None = None,
    random_seed: int = 42,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
    large_n: int = DEFAULT_LARGE_N,
    degraded_dir: str | Path | None = None,
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
        degraded_dir=degraded_dir,
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
    random_seed: int = 42,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
    large_n: int = DEFAULT_LARGE_N,
    degraded_dir: str | Path | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> TrainingDataResult:
    """Training data from every CSV in ``inputs`` (a directory, or files and
    directories), normalized across all of them. A bad file becomes an entry in
    ``errors``; the others complete. ``jobs``: cores to use (default all)."""
    from metricate.training.local import run_local

    options = GenerationOptions(
        types=None if types is None else tuple(types),
        levels=None if levels is None else tuple(levels),
        exclude=tuple(exclude or ()),
        force_all=force_all,
        large_n=large_n,
        random_seed=random_seed,
        label_col=label_col,
        embedding_cols=embedding_cols
        if isinstance(embedding_cols, str | None)
        else tuple(embedding_cols),
        topic=topic,
        topic_mapping=topic_mapping,
        degraded_dir=None if degraded_dir is None else str(degraded_dir),
    ).checked()
    paths = find_inputs(inputs)
    if not paths:
        raise InvalidOptionError(f"no CSV files found in {inputs}")
    result = run_local(paths, options, jobs=jobs, progress=progress)
    if output_dir is not None:
        result.write(Path(output_dir) / "training_data.parquet")
    return result


def _columns(value: tuple[str, ...] | str | None) -> str | list[str] | None:
    return list(value) if isinstance(value, tuple) else value


def _rounded(timing: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timing.items()}
