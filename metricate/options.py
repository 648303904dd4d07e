"""``GenerationOptions``: everything that decides a run's output, parsed and checked once.

The command line, the Python API and a worker reading a task message all build the
options with ``GenerationOptions.parse`` (or ``from_dict``, which parses); everything
downstream receives the frozen object and trusts it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metricate.defaults import DEFAULT_LARGE_N, DEFAULT_MEMORY_BUDGET, DEFAULT_SEED
from metricate.degradations.levels import Level
from metricate.degradations.plan import VariantPlan
from metricate.errors import InvalidOptionError
from metricate.memory import parse_size
from metricate.metrics import METRICS, MetricNames, check_metric_names

TOPIC_SUFFIXES = ("_clustering", "_dataset", "_clusters", "_data")


@dataclass(frozen=True)
class GenerationOptions:
    """What to make of every input file and how to read and score it."""

    plan: VariantPlan
    exclude: MetricNames = MetricNames()
    force_all: bool = False
    large_n: int = DEFAULT_LARGE_N
    # Bytes one file's scoring may hold (the whole process counted).
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    label_col: str | None = None
    # None: detected. One name may be a string-array column.
    embedding_cols: tuple[str, ...] | None = None
    topic: str | None = None
    topic_mapping: Mapping[str, str] | None = None
    degraded_dir: str | None = None

    @classmethod
    def parse(
        cls,
        *,
        types: str | Iterable[str] | None = None,
        levels: str | Iterable[str | Level] | None = None,
        random_seed: object = DEFAULT_SEED,
        exclude: Iterable[str] | None = None,
        force_all: bool = False,
        large_n: int = DEFAULT_LARGE_N,
        memory_budget: int | str = DEFAULT_MEMORY_BUDGET,
        label_col: str | None = None,
        embedding_cols: str | Iterable[str] | None = None,
        topic: str | None = None,
        topic_mapping: Mapping[str, str] | None = None,
        degraded_dir: str | Path | None = None,
    ) -> GenerationOptions:
        """Check every option; the first bad one is an ``InvalidOptionError``."""
        if isinstance(large_n, bool) or not isinstance(large_n, int) or large_n < 2:
            raise InvalidOptionError(f"large_n must be an integer of at least 2, got {large_n!r}")
        if embedding_cols is not None:
            names = (embedding_cols,) if isinstance(embedding_cols, str) else tuple(embedding_cols)
            if not names or not all(isinstance(n, str) and n for n in names):
                raise InvalidOptionError(
                    f"embedding_cols must name columns, got {embedding_cols!r}"
                )
            embedding_cols = names
        if topic_mapping is not None:
            topic_mapping = {str(k): str(v) for k, v in topic_mapping.items()}
        return cls(
            plan=VariantPlan.parse(types, levels, random_seed),
            exclude=check_metric_names(exclude),
            force_all=bool(force_all),
            large_n=large_n,
            memory_budget=parse_size(memory_budget),
            label_col=label_col,
            embedding_cols=embedding_cols,
            topic=topic,
            topic_mapping=topic_mapping or None,
            degraded_dir=None if degraded_dir is None else str(degraded_dir),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON values: the run's parameters and the task messages."""
        return {
            "types": list(self.plan.types),
            "levels": list(self.plan.level_texts),
            "random_seed": self.plan.random_seed,
            "exclude": [m.name for m in METRICS if m.name in self.exclude],
            "force_all": self.force_all,
            "large_n": self.large_n,
            "memory_budget": self.memory_budget,
            "label_col": self.label_col,
            "embedding_cols": None if self.embedding_cols is None else list(self.embedding_cols),
            "topic": self.topic,
            "topic_mapping": None if self.topic_mapping is None else dict(self.topic_mapping),
            "degraded_dir": self.degraded_dir,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GenerationOptions:
        """The inverse of ``to_dict``; checked like any other input."""
        try:
            return cls.parse(**data)
        except TypeError as exc:
            raise InvalidOptionError(f"malformed options: {exc}") from None

    def topic_for(self, path: str | Path) -> str:
        """Given explicitly, else from the topic map (by file name, stem or path),
        else from the file name."""
        if self.topic is not None:
            return self.topic
        path = Path(path)
        mapping = self.topic_mapping or {}
        for key in (path.name, clustering_name(path), str(path)):
            if key in mapping:
                return mapping[key]
        return topic_from_name(path)

    @property
    def versions_per_file(self) -> int:
        """Rows a file gives at most: its original and every planned variant."""
        return 1 + self.plan.n_variants


def clustering_name(path: str | Path) -> str:
    """The file's name without its extension: ``news.csv`` and ``news.csv.gz`` are ``news``."""
    path = Path(path)
    return Path(path.stem).stem if path.suffix.lower() == ".gz" else path.stem


def topic_from_name(path: str | Path) -> str:
    """The file stem cut before the earliest of _clustering, _dataset, _clusters, _data."""
    stem = clustering_name(path)
    cuts = [stem.find(suffix) for suffix in TOPIC_SUFFIXES if stem.find(suffix) > 0]
    return stem[: min(cuts)] if cuts else stem
