"""What an evaluation returns: one value per index with its direction, range and reason."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class MetricValue:
    """One index's outcome. ``value`` is NaN when not computed; ``reason`` says why."""

    name: str
    value: float
    direction: str
    range: str
    kind: str
    computed: bool
    reason: str = ""


@dataclass
class EvaluationResult:
    metrics: list[MetricValue]
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    # <metric>_norm against a run's reference (metricate.evaluate(..., reference=...)).
    normalized: dict[str, float] = field(default_factory=dict)
    # Pair-based indices computed on a sample of the points (above large_n).
    sampled: list[str] = field(default_factory=list)

    def __getitem__(self, name: str) -> MetricValue:
        for metric in self.metrics:
            if metric.name == name:
                return metric
        raise KeyError(name)

    def values(self) -> dict[str, float]:
        return {m.name: m.value for m in self.metrics}

    @property
    def metrics_computed(self) -> int:
        return sum(m.computed for m in self.metrics if m.kind == "internal")

    @property
    def metrics_failed(self) -> list[str]:
        return [m.name for m in self.metrics if not m.computed]

    def to_dataframe(self) -> pd.DataFrame:
        frame = pd.DataFrame([asdict(m) for m in self.metrics])
        if self.normalized:
            frame.insert(2, "normalized", [self.normalized.get(m.name) for m in self.metrics])
            frame = frame.astype({"normalized": "float64"})
        return frame.astype({"value": "float64", "computed": "bool"})

    def to_dict(self) -> dict[str, Any]:
        metrics = []
        for m in self.metrics:
            entry = {**asdict(m), "value": _finite(m.value)}
            if self.normalized:
                entry["normalized"] = _finite(self.normalized.get(m.name))
            metrics.append(entry)
        return {
            "metadata": self.metadata,
            "metrics": metrics,
            "metrics_computed": self.metrics_computed,
            "metrics_failed": self.metrics_failed,
            "warnings": list(self.warnings),
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_csv(self) -> str:
        return self.to_dataframe().to_csv(index=False)

    def __str__(self) -> str:
        width = max(len(m.name) for m in self.metrics)
        norm_head = f"  {'normalized':>10}" if self.normalized else ""
        lines = [f"{'metric':<{width}}  {'value':>14}{norm_head}  better  range"]
        for m in self.metrics:
            shown = f"{m.value:14.6g}" if m.computed else f"{'-':>14}"
            if self.normalized:
                norm = _finite(self.normalized.get(m.name))
                shown += f"  {norm:10.3f}" if norm is not None else f"  {'-':>10}"
            note = "" if m.computed else f"  ({m.reason})"
            lines.append(f"{m.name:<{width}}  {shown}  {m.direction:<6}  {m.range}{note}")
        return "\n".join(lines)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None
