"""One input file to its outcome: load, degrade, score every version. Never raises for
bad data: a file that cannot be used becomes an error entry.

Every way of running a run (in-process, the local process pool, Celery workers)
calls ``process_file``; ``assemble_result`` then joins the outcomes.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path

from metricate.degradations import (
    DEGRADATIONS_BY_NAME,
    Variant,
    VariantPlan,
    build_variants,
    write_variant_csv,
)
from metricate.degradations.seeding import file_identity, pair_sample_seed
from metricate.errors import MetricateError
from metricate.io.load import Clustering, load_clustering
from metricate.metrics import PointSet
from metricate.options import GenerationOptions, clustering_name
from metricate.parallel import blas_threads
from metricate.training.outcome import FileOutcome
from metricate.training.scoring import (
    Progress,
    VersionScorer,
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

    # Variants with new coordinates are built once the others are scored: their
    # coordinates are then not held beside the original's pair distances.
    plan = options.plan
    moved_types = tuple(t for t in plan.types if DEGRADATIONS_BY_NAME[t].changes == "coordinates")
    stages = [
        replace(plan, types=tuple(t for t in plan.types if t not in moved_types)),
        replace(plan, types=moved_types),
    ]
    not_produced: list[str] = []
    identity = file_identity(clustering.content_hash, clustering.X, clustering.labels)
    points = PointSet(
        clustering.points,
        large_n=options.large_n,
        memory_budget=options.memory_budget,
        seed=pair_sample_seed(plan.random_seed, identity),
    )
    # The original's distances are computed while its variants are built.
    points.start_distances(exclude=options.exclude)
    try:
        variants = _degrade(clustering, stages[0], not_produced, timing)
    except BaseException:
        points.release()  # no batch will take them
        raise
    scorer = VersionScorer(
        clustering=clustering,
        points=points,
        base={"clustering_name": clustering_name(path), "topic": options.topic_for(path)},
        exclude=options.exclude,
        force_all=options.force_all,
        progress=progress,
    )
    moved: list[Variant] = []

    def build_moved() -> list[Variant]:
        moved.extend(_degrade(clustering, stages[1], not_produced, timing))
        return moved

    scored = score_versions(scorer, variants, timing, build_moved)
    variants = variants + moved
    # Records in the plan's order of types (levels as given), the original first.
    position = {name: i for i, name in enumerate(plan.types)}
    order = sorted(range(len(variants)), key=lambda i: position[variants[i].type])
    variants = [variants[i] for i in order]
    scored = [scored[0], *(scored[1 + i] for i in order)]
    outcome.variants_attempted = plan.n_variants
    outcome.variants_produced = len(variants)
    if not_produced:
        # One line for the file: every variant not produced, and why.
        named = [w.removeprefix(f"{clustering.path}: ") for w in not_produced]
        named.sort(key=lambda w: position[w.split("@", 1)[0]])
        reasons = "; ".join("{} ({})".format(*w.split(": not produced, ", 1)) for w in named)
        outcome.warnings.append(
            f"{clustering.path}: {len(not_produced)} of {plan.n_variants} variants "
            f"not produced: {reasons}"
        )
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
    plan: VariantPlan,
    not_produced: list[str],
    timing: dict[str, float],
) -> list[Variant]:
    """The plan's variants; adds the warnings for those not produced to
    ``not_produced`` and the time taken to ``timing["degrade"]``."""
    clock = time.perf_counter()
    variants, warnings = build_variants(clustering, plan) if plan.types else ([], [])
    not_produced.extend(warnings)
    timing["degrade"] = timing.get("degrade", 0.0) + time.perf_counter() - clock
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
