"""A run's reference distribution: what normalizes a clustering that was not in the run.

``_norm`` is a percentile rank within a run, so one new clustering cannot be ranked
alone. Every run stores, per index, the knots of its percentile-rank function: the
sorted distinct raw values and the rank each gets. A value from a run's own rows
sits on a knot and gets exactly its ``_norm``; a new value is interpolated between
its neighbours, and below the lowest (above the highest) value it gets the end rank.
Runs with more distinct values than ``MAX_KNOTS`` keep at most twice that many knots,
evenly spaced in rank, so their own rows are reproduced within 1 / (``MAX_KNOTS`` - 1).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metricate.errors import InvalidOptionError
from metricate.metrics import METRICS_BY_NAME
from metricate.training.result import read_audit

REFERENCE_FORMAT = 1
MAX_KNOTS = 2001


def build_reference(
    table: pd.DataFrame, metric_cols: Iterable[str], max_knots: int = MAX_KNOTS
) -> dict[str, Any]:
    """The reference of ``table``'s raw metric columns (JSON values), with at most
    about twice ``max_knots`` knots an index."""
    metrics: dict[str, Any] = {}
    for name in metric_cols:
        values = pd.to_numeric(table[name], errors="coerce").to_numpy(dtype=np.float64)
        values = np.sort(values[np.isfinite(values)])
        m = values.size
        if m == 0:
            metrics[name] = {"n": 0, "values": [], "ranks": []}
            continue
        distinct, first = np.unique(values, return_index=True)
        counts = np.diff(np.append(first, m))
        # Average rank of each distinct value, scaled as in normalize_metrics.
        ranks = (first + (counts - 1) / 2.0) / (m - 1) if m > 1 else np.array([0.5])
        if distinct.size > max_knots:
            # Knots evenly spaced in rank, each with its left neighbour, so that a jump
            # in rank (a value many rows share) is bracketed by two exact knots; and
            # always the first and the last value.
            steps = np.searchsorted(ranks, np.linspace(0.0, 1.0, max_knots))
            both = np.concatenate(([0], steps - 1, steps, [ranks.size - 1]))
            keep = np.unique(np.clip(both, 0, ranks.size - 1))
            distinct, ranks = distinct[keep], ranks[keep]
        metrics[name] = {"n": int(m), "values": distinct.tolist(), "ranks": ranks.tolist()}
    return {"format": REFERENCE_FORMAT, "metrics": metrics}


def normalize_against(
    values: pd.Series | np.ndarray, name: str, reference: Mapping[str, Any]
) -> np.ndarray:
    """``<name>_norm`` of ``values`` against a stored reference: 1 is always best."""
    knots = _knots(reference, name)
    raw = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    out = np.full(raw.shape, np.nan)
    present = np.isfinite(raw)
    if knots is None or not present.any():
        return out
    xs, ranks = knots
    ranked = np.interp(raw[present], xs, ranks) if xs.size > 1 else np.full(present.sum(), 0.5)
    higher = METRICS_BY_NAME[name].direction == "higher"
    out[present] = ranked if higher else 1.0 - ranked
    return out


def load_reference(source: str | Path | Mapping[str, Any]) -> dict[str, Any]:
    """A reference from a run's table (.parquet), its ``.run.json``, or the dict itself."""
    if isinstance(source, Mapping):
        data: Any = dict(source)
    else:
        path = Path(source)
        if path.suffix.lower() == ".csv":
            raise InvalidOptionError(
                f"{path}: a CSV table does not carry its run's reference; pass the "
                f"{path.name}.run.json written next to it"
            )
        try:
            if path.suffix.lower() == ".parquet":
                data = read_audit(path)
            else:
                data = json.loads(path.read_text())
        except (OSError, ValueError, KeyError) as exc:
            raise InvalidOptionError(f"{path}: cannot read a reference from it ({exc})") from None
    if "metadata" in data:  # an audit: metadata, warnings, errors
        data = data["metadata"]
    if "reference" in data:
        data = data["reference"]
    if not isinstance(data, dict) or data.get("format") != REFERENCE_FORMAT:
        where = source if not isinstance(source, Mapping) else "the given reference"
        raise InvalidOptionError(
            f"{where}: no reference distribution (written by metricate 0.1 or later)"
        )
    return data


def _knots(reference: Mapping[str, Any], name: str) -> tuple[np.ndarray, np.ndarray] | None:
    entry = reference.get("metrics", {}).get(name)
    if entry is None:
        raise InvalidOptionError(f"the reference has no distribution for {name!r}")
    if not entry["values"]:
        return None
    return np.asarray(entry["values"], dtype=np.float64), np.asarray(entry["ranks"])
