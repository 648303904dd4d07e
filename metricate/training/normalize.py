"""Cross-dataset normalization: percentile rank of each metric over the whole run."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metricate.errors import InvalidOptionError
from metricate.metrics import INTERNAL_METRICS, METRICS_BY_NAME
from metricate.training.reference import load_reference, normalize_against


def percentile_rank(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """(rank - 1) / (m - 1) over the m non-missing values, average rank for ties,
    inverted for lower-is-better metrics so 1 is always best. One value -> 0.5;
    missing values stay missing."""
    present = values.notna()
    m = int(present.sum())
    out = pd.Series(np.nan, index=values.index, dtype="float64")
    if m == 1:
        out[present] = 0.5
    elif m > 1:
        ranks = values[present].rank(method="average").to_numpy(dtype=np.float64)
        scaled = (ranks - 1.0) / (m - 1)
        out[present] = scaled if higher_is_better else 1.0 - scaled
    return out


def normalize_metrics(
    df: pd.DataFrame,
    metric_cols: Iterable[str] | None = None,
    *,
    reference: str | Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """A copy of ``df`` with a ``<metric>_norm`` column for each metric column (default:
    the 32 internal indices present in ``df``).

    Without ``reference`` the ranking spans every row of ``df``: pass the whole run's
    table, not one file's, so that the values do not depend on how the work was split.
    With ``reference`` (a run's table or ``.run.json``, or its stored reference), each
    value is ranked against that run instead: a lone clustering gets meaningful values,
    and a run's own rows get back their ``_norm`` values.
    """
    if metric_cols is None:
        metric_cols = [m.name for m in INTERNAL_METRICS if m.name in df.columns]
    stored = None if reference is None else load_reference(reference)
    out = df.copy()
    for name in metric_cols:
        if name not in METRICS_BY_NAME:
            raise InvalidOptionError(f"unknown metric column {name!r}")
        if name not in df.columns:
            raise InvalidOptionError(f"metric column {name!r} is not in the table")
        if stored is not None:
            out[f"{name}_norm"] = normalize_against(df[name], name, stored)
            continue
        higher = METRICS_BY_NAME[name].direction == "higher"
        out[f"{name}_norm"] = percentile_rank(pd.to_numeric(df[name], errors="coerce"), higher)
    return out
