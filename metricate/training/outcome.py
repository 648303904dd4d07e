"""``FileOutcome``: one input file's raw records, warnings and errors, and its JSON form."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from metricate.training.schema import METRIC_COLUMNS


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
