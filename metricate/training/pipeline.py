"""One input file to its outcome: load, degrade, score every version. Never raises for
bad data: a file that cannot be used becomes an error entry.

Every way of running a run (in-process, the local process pool, Celery workers)
calls ``process_file``; ``assemble_result`` then joins the outcomes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from metricate.degradations import Variant, build_variants, write_variant_csv
from metricate.errors import MetricateError
from metricate.io.load import Clustering, load_clustering
from metricate.metrics import PointSet
from metricate.options import GenerationOptions, clustering_name
from metricate.parallel import blas_threads
from metricate.training.outcome import FileOutcome
from metricate.training.scoring import (
    Progress,
    VersionScorer,
    pair_sample_seed,
    score_versions,
)


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
        with blas_threads(1):
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
        points=PointSet(
            clustering.points,
            large_n=options.large_n,
            memory_budget=options.memory_budget,
            seed=pair_sample_seed(options.plan.random_seed, clustering),
        ),
        base={"clustering_name": clustering_name(path), "topic": options.topic_for(path)},
        exclude=options.exclude,
        force_all=options.force_all,
        progress=progress,
    )
    scored = score_versions(scorer, variants, timing)
    outcome.records.extend(record for record, _ in scored)
    names = ["original", *(v.name for v in variants)]
    outcome.warnings.extend(
        grouped_warnings(str(path), zip(names, (w for _, w in scored), strict=True))
    )
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
    if warnings:
        # One line for the file: every variant not produced, and why.
        reasons = "; ".join(
            "{} ({})".format(*w.removeprefix(f"{clustering.path}: ").split(": not produced, ", 1))
            for w in warnings
        )
        outcome.warnings.append(
            f"{clustering.path}: {len(warnings)} of {options.plan.n_variants} variants "
            f"not produced: {reasons}"
        )
    outcome.variants_attempted = options.plan.n_variants
    outcome.variants_produced = len(variants)
    timing["degrade"] = time.perf_counter() - clock
    return variants


def _write_degraded(
    clustering: Clustering, variants: list[Variant], directory: Path, timing: dict[str, float]
) -> None:
    clock = time.perf_counter()
    for variant in variants:
        folder = directory / clustering_name(clustering.path)
        write_variant_csv(variant, clustering, folder / variant.file_name)
    timing["write_degraded"] = time.perf_counter() - clock


def grouped_warnings(path: str, named: Iterable[tuple[str, list[str]]]) -> list[str]:
    """One line per (file, reason): versions whose warnings differ only in their
    figures share one line, with how many versions it concerns and the first one's
    figures; a lone warning names its version."""
    groups: dict[str, list[tuple[str, str]]] = {}
    total = 0
    for name, warnings in named:
        total += 1
        for warning in warnings:
            groups.setdefault(_FIGURES.sub("#", warning), []).append((name, warning))
    lines = []
    for members in groups.values():
        name, warning = members[0]
        if len(members) == 1:
            lines.append(f"{path}: {name}: {warning}")
        else:
            lines.append(
                f"{path}: {warning} (in {len(members)} of {total} versions; "
                f"the figures are {name}'s)"
            )
    return lines


_FIGURES = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")


def _rounded(timing: Mapping[str, float]) -> dict[str, float]:
    return {k: round(v, 4) for k, v in timing.items()}
