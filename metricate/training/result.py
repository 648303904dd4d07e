"""``TrainingDataResult``: the run's rows, metadata, warnings and errors, and writing them."""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from metricate.errors import InvalidOptionError
from metricate.io.write import atomic_write
from metricate.training.schema import COLUMNS, INTEGER_COLUMNS, STRING_COLUMNS

PARQUET_METADATA_KEY = b"metricate"


@dataclass
class TrainingDataResult:
    """One row per original and degraded version, all files of a run together."""

    records: list[dict[str, Any]]
    metadata: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def n_originals(self) -> int:
        return sum(1 for r in self.records if r.get("quality") == 1)

    @property
    def n_degraded(self) -> int:
        return sum(1 for r in self.records if r.get("quality") == 0)

    def to_dataframe(self) -> pd.DataFrame:
        frame = pd.DataFrame.from_records(self.records, columns=list(COLUMNS))
        types: dict[str, Any] = {c: "float64" for c in COLUMNS}
        types.update({c: "Int64" for c in INTEGER_COLUMNS})
        types.update({c: "string" for c in STRING_COLUMNS})
        return frame.astype(types)

    def to_csv(self, path: str | Path) -> Path:
        """Write the table as CSV (missing values empty), whole or not at all."""
        return atomic_write(Path(path), lambda tmp: self.to_dataframe().to_csv(tmp, index=False))

    def to_parquet(self, path: str | Path) -> Path:
        """Write the table as Parquet with metadata, warnings and errors in its file
        metadata, whole or not at all."""
        table = self._arrow_table()
        return atomic_write(Path(path), lambda tmp: pq.write_table(table, tmp))

    def to_parquet_bytes(self) -> bytes:
        """The Parquet file ``to_parquet`` writes, as bytes (to store or send)."""
        sink = io.BytesIO()
        pq.write_table(self._arrow_table(), sink)
        return sink.getvalue()

    def _arrow_table(self) -> pa.Table:
        table = pa.Table.from_pandas(self.to_dataframe(), preserve_index=False)
        existing = table.schema.metadata or {}
        return table.replace_schema_metadata(
            {**existing, PARQUET_METADATA_KEY: json.dumps(self.audit()).encode()}
        )

    def write(self, path: str | Path) -> Path:
        """Write ``path`` (.parquet or .csv by extension) and ``<path>.run.json``."""
        path = Path(path)
        suffix = output_suffix(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".parquet":
            self.to_parquet(path)
        else:
            self.to_csv(path)
        _write_run_json(path, self.audit())
        return path

    def audit(self) -> dict[str, Any]:
        return {
            "metadata": _finite(self.metadata),
            "warnings": list(self.warnings),
            "errors": list(self.errors),
        }

    def summary(self) -> str:
        meta = self.metadata
        files = meta.get("files", [])
        failed = [f for f in files if f.get("status") != "ok"]
        lines = [
            f"{_count(len(self.records), 'row')}: {_count(self.n_originals, 'original')}, "
            f"{_count(self.n_degraded, 'degraded version')}",
            f"{len(files) - len(failed)} of {_count(len(files), 'file')} processed"
            + (f", {len(failed)} failed" if failed else ""),
            f"{_count(len(self.warnings), 'warning')}, {_count(len(self.errors), 'error')}",
        ]
        if "seconds" in meta:
            lines.append(f"{meta['seconds']:.1f} s in total")
        lines.extend(f"error: {e}" for e in self.errors)
        return "\n".join(lines)


def output_suffix(path: str | Path) -> str:
    """``.parquet`` or ``.csv``, the formats a table is written in; else an error."""
    suffix = Path(path).suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise InvalidOptionError(f"{path}: output must end in .parquet or .csv")
    return suffix


def write_parquet_bytes(data: bytes, path: str | Path) -> Path:
    """Write a table stored with ``to_parquet_bytes`` to ``path`` (.parquet as is, .csv
    converted) and ``<path>.run.json``: the same files ``TrainingDataResult.write`` gives."""
    path = Path(path)
    suffix = output_suffix(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if suffix == ".parquet":
        atomic_write(path, lambda tmp: tmp.write_bytes(data))
    else:
        frame = pd.read_parquet(io.BytesIO(data))
        atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))
    raw = pq.read_schema(io.BytesIO(data)).metadata or {}
    _write_run_json(path, json.loads(raw[PARQUET_METADATA_KEY]))
    return path


def _write_run_json(path: Path, audit: dict[str, Any]) -> None:
    run_json = path.with_name(path.name + ".run.json")
    text = json.dumps(audit, indent=2, default=str, allow_nan=False)
    atomic_write(run_json, lambda tmp: tmp.write_text(text + "\n"))


def read_audit(path: str | Path) -> dict[str, Any]:
    """The metadata, warnings and errors stored in a Parquet file written by metricate."""
    raw = pq.read_schema(path).metadata or {}
    return json.loads(raw[PARQUET_METADATA_KEY])


def _count(n: int, noun: str) -> str:
    """``1 row``, ``2 rows``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def _finite(value: Any) -> Any:
    """JSON-safe copy: NaN and infinities become null."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
