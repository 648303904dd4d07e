"""One input file to its outcome: load, degrade, score every version. Never raises for
bad data: a file that cannot be used becomes an error entry.

Every way of running a run (in-process, the local process pool, Celery workers)
calls ``process_file``; ``assemble_result`` then joins the outcomes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

from metricate.degradations import Variant, build_variants, write_variant_csv
from metricate.errors import MetricateError
from metricate.io.load import Clustering, load_clustering
from metricate.metrics import PointSet
from metricate.options import GenerationOptions
from metricate.training.outcome import FileOutcome
from metricate.training.scoring import Progress, VersionScorer, score_versions


def process_file(
    path: str | Path,
    options: GenerationOptions,
    progress: Progress | None = None,
    *,
    reraise: tuple[type[BaseException], ...] = (),
    loaded: Clustering | None = None,
) -> FileOutcome:
    """Turn one clustering CSV into its raw records, warnings and errors.

    ``loaded``: the file's clustering as loaded elsewhere (a worker receives it from
    the record store); ``path`` then only names it. ``progress(n)`` is called after
    each version (original or variant) is scored.
    Nothing that goes wrong inside one file is raised: bad data (unreadable file, one
    cluster, no label column...) and any failure while degrading or scoring it become
    the file's error entry, with no records, so one file cannot break a run. Only
    the exception types in ``reraise`` (a worker's time limit) pass through.
    """
    started = time.perf_counter()
    try:
        return _process(path, options, progress, started, loaded)
    except reraise:
        raise
    except MetricateError as error:
        return _failed(path, str(error), started)
    except Exception as error:  # noqa: BLE001 - whatever broke, it is this file's error
        reason = f"{path}: failed while processing ({type(error).__name__}: {error})"
        return _failed(path, reason, started)


def _failed(path: str | Path, reason: str, started: float) -> FileOutcome:
    seconds = round(time.perf_counter() - started, 4)
    timing = {"total": seconds}
    return FileOutcome(file=str(path), status="error", errors=[reason], timing=timing)


def _process(
    path: str | Path,
    options: GenerationOptions,
    progress: Progress | None,
    started: float,
    loaded: Clustering | None,
) -> FileOutcome:
    outcome = FileOutcome(file=str(path))
    timing: dict[str, float] = {}
    clustering = loaded or load_clustering(
        path, label_col=options.label_col, embedding_cols=options.embedding_cols
    )
    outcome.sha256 = clustering.content_hash
    outcome.warnings.extend(clustering.warnings)
    timing["load"] = time.perf_counter() - started

    variants = _degrade(clustering, options, outcome, timing)
    scorer = VersionScorer(
        clustering=clustering,
        points=PointSet(clustering.points, large_n=options.large_n),
        base={"clustering_name": Path(path).stem, "topic": options.topic_for(path)},
        exclude=options.exclude,
        force_all=options.force_all,
        progress=progress,
    )
    for record, warnings in score_versions(scorer, variants, timing):
        outcome.records.append(record)
        outcome.warnings.extend(warnings)
    if options.degraded_dir is not None:
        _write_degraded(clustering, variants, Path(options.degraded_dir), timing)
    timing["total"] = time.perf_counter() - started
    outcome.timing = _rounded(timing)
    return outcome


def _degrade(
    clustering: Clustering,
    options: GenerationOptions,
    outcome: FileOutcome,
    timing: dict[str, float],
) -> list[Variant]:
    clock = time.perf_counter()
    variants, warnings = build_variants(clustering, options.plan)
    outcome.warnings.extend(warnings)
    outcome.variants_attempted = options.plan.n_variants
    outcome.variants_produced = len(variants)
    timing["degrade"] = time.perf_counter() - clock
    return variants


def _write_degraded(
    clustering: Clustering, variants: list[Variant], directory: Path, timing: dict[str, float]
) -> None:
    clock = time.perf_counter()
    for variant in variants:
        write_variant_csv(variant, clustering, directory / clustering.path.stem / variant.file_name)
    timing["write_degraded"] = time.perf_counter() - clock


def _rounded(timing: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timing.items()}
