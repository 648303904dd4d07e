"""Which indices carry the signal in a training table (``metricate report``).

Every figure compares an original with its own degraded versions, never rows of
different files. On the ``_norm`` columns (1 always best), per index:

- ``pairwise_accuracy``: over every (original, degraded version of it) couple where
  both have a value, the share where the original scores higher (ties count 0.5);
- ``auc``: ROC-AUC of the index for ``quality`` (originals against degraded rows),
  all rows of the table;
- ``spearman``: the mean over files of the Spearman correlation between the index and
  ``quality_score`` within the file (files where either is constant are left out);
- ``nan_share``: the share of rows without a raw value;
- ``saturation``: the share of rows (with a value) at the index's most common raw value.

The pairwise accuracy is also given by ``degradation_type`` and by ``variant_kind``,
and indices whose normalized values agree (|Spearman| above ``REDUNDANT``, over all
rows) are grouped.
"""

from __future__ import annotations

import base64
import html
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metricate.errors import InvalidCSVError
from metricate.training.schema import METRIC_COLUMNS

# Indices more correlated than this (absolute Spearman over all rows) are redundant.
REDUNDANT = 0.95
_NEEDED = ("clustering_name", "quality", "quality_score", "degradation_type", "variant_kind")


@dataclass
class IndexReport:
    """The report's tables: ``indices`` (one row per index, best pairwise accuracy
    first), ``by_type`` and ``by_kind`` (pairwise accuracy, index x type or kind),
    ``redundant`` (groups of index names) and counts of what was compared."""

    indices: pd.DataFrame
    by_type: pd.DataFrame
    by_kind: pd.DataFrame
    redundant: list[list[str]]
    n_files: int
    n_rows: int
    n_couples: int

    def to_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> dict[str, dict[str, float | None]]:
            return {
                str(name): {str(k): _number(v) for k, v in row.items()}
                for name, row in frame.iterrows()
            }

        return {
            "n_files": self.n_files,
            "n_rows": self.n_rows,
            "n_couples": self.n_couples,
            "indices": records(self.indices),
            "by_type": records(self.by_type),
            "by_kind": records(self.by_kind),
            "redundant": self.redundant,
        }


def _files(count: int) -> str:
    return f"{count} file" + ("" if count == 1 else "s")


def _number(value: Any) -> float | None:
    value = float(value)
    return None if np.isnan(value) else round(value, 6)


def read_training_table(path: str | Path) -> pd.DataFrame:
    """A training table written by ``metricate generate`` (.parquet or .csv)."""
    path = Path(path)
    if not path.is_file():
        raise InvalidCSVError(f"{path}: no such training table")
    try:
        table = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)
    except Exception as error:  # noqa: BLE001 - any reader failure is one line
        raise InvalidCSVError(f"{path}: not a readable training table ({error})") from None
    missing = [c for c in (*_NEEDED, *METRIC_COLUMNS) if c not in table.columns]
    missing += [f"{m}_norm" for m in METRIC_COLUMNS if f"{m}_norm" not in table.columns]
    if missing:
        raise InvalidCSVError(
            f"{path}: not a metricate training table (missing {len(missing)} columns, "
            f"e.g. {missing[0]!r})"
        )
    if not (table["quality"] == 1).any() or not (table["quality"] == 0).any():
        raise InvalidCSVError(f"{path}: needs originals and degraded versions to compare")
    return table


def index_report(table: pd.DataFrame) -> IndexReport:
    """The report of a training table (see the module's docstring)."""
    norm = table[[f"{m}_norm" for m in METRIC_COLUMNS]].to_numpy(dtype=float)
    raw = table[list(METRIC_COLUMNS)].to_numpy(dtype=float)
    against, degraded, n_files = couples(table)
    score = _couple_scores(norm[against], norm[degraded])  # couples x indices, NaN if absent
    indices = pd.DataFrame(_figures(norm, table, score), index=list(METRIC_COLUMNS))
    indices["nan_share"] = np.isnan(raw).mean(axis=0)
    indices["saturation"] = [_saturation(raw[:, j]) for j in range(raw.shape[1])]
    indices = indices.sort_values("pairwise_accuracy", ascending=False, kind="stable")

    def grouped(column: str) -> pd.DataFrame:
        keys = table[column].astype("string").to_numpy()[degraded]
        frame = pd.DataFrame(score, columns=list(METRIC_COLUMNS))
        frame["group"] = keys
        means = frame.groupby("group", sort=False).mean()  # NaN left out
        return means.T.loc[indices.index]

    return IndexReport(
        indices=indices,
        by_type=grouped("degradation_type"),
        by_kind=grouped("variant_kind"),
        redundant=_redundant_groups(norm),
        n_files=n_files,
        n_rows=len(table),
        n_couples=int(degraded.size),
    )


def couple_figures(scores: np.ndarray, table: pd.DataFrame) -> dict[str, np.ndarray]:
    """For each column of ``scores`` (one row per table row, higher = better): the
    pairwise accuracy, ROC-AUC for ``quality`` and mean within-file Spearman with
    ``quality_score`` (see the module's docstring)."""
    against, degraded, _ = couples(table)
    return _figures(scores, table, _couple_scores(scores[against], scores[degraded]))


def _figures(scores: np.ndarray, table: pd.DataFrame, score: np.ndarray) -> dict[str, np.ndarray]:
    """``couple_figures``, given the couples' scores."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a column without any value
        accuracy = np.nanmean(score, axis=0) if score.size else np.full(scores.shape[1], np.nan)
    is_original = table["quality"].to_numpy() == 1
    files = table["clustering_name"].astype(str).to_numpy()
    return {
        "pairwise_accuracy": accuracy,
        "auc": np.array([_auc(scores[:, j], is_original) for j in range(scores.shape[1])]),
        "spearman": _within_file_spearman(scores, table["quality_score"].to_numpy(float), files),
    }


def couples(table: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Row positions of each degraded row's original (the first of its file) and of the
    degraded rows, and how many files have an original."""
    files = table["clustering_name"].astype(str).to_numpy()
    is_original = table["quality"].to_numpy() == 1
    originals = pd.Series(np.flatnonzero(is_original), index=files[is_original])
    originals = originals[~originals.index.duplicated()]
    degraded = np.flatnonzero(~is_original & pd.Series(files).isin(originals.index).to_numpy())
    against = originals.loc[list(files[degraded])].to_numpy()
    return against, degraded, int(originals.size)


def _couple_scores(original: np.ndarray, version: np.ndarray) -> np.ndarray:
    """1 where the original scores higher, 0.5 on a tie, 0 below, NaN without a value."""
    return (np.sign(original - version) + 1) / 2


def _auc(values: np.ndarray, positive: np.ndarray) -> float:
    """ROC-AUC of ``values`` for ``positive`` (ties 0.5), rows without a value left out."""
    from sklearn.metrics import roc_auc_score  # loaded when used: slow to import

    present = ~np.isnan(values)
    if np.unique(positive[present]).size < 2:
        return float("nan")
    return float(roc_auc_score(positive[present], values[present]))


def _within_file_spearman(norm: np.ndarray, quality: np.ndarray, files: np.ndarray) -> np.ndarray:
    """Per index, the mean over files of Spearman(index, quality_score) in the file, on
    the rows where the index has a value (NaN for a file where either is constant)."""
    frame = pd.DataFrame(norm)
    groups = pd.Series(files).groupby(files).indices.values()
    if not groups:
        return np.full(norm.shape[1], np.nan)
    with warnings.catch_warnings():
        # An index constant within a file, a column without any value.
        warnings.simplefilter("ignore", RuntimeWarning)
        per_file = [
            frame.iloc[rows]
            .reset_index(drop=True)
            .corrwith(pd.Series(quality[rows]), method="spearman", drop=True)
            .to_numpy()
            for rows in groups
        ]
        return np.nanmean(np.array(per_file, dtype=float), axis=0)


def _saturation(values: np.ndarray) -> float:
    values = values[~np.isnan(values)]
    if values.size == 0:
        return float("nan")
    _, counts = np.unique(values, return_counts=True)
    return float(counts.max() / values.size)


def _redundant_groups(norm: np.ndarray) -> list[list[str]]:
    """Groups (connected by |Spearman| > REDUNDANT over the rows where both have a value)
    of two or more indices, in registry order."""
    rho = pd.DataFrame(norm, columns=list(METRIC_COLUMNS)).corr(method="spearman").to_numpy()
    linked = np.abs(np.nan_to_num(rho)) > REDUNDANT
    from scipy.sparse.csgraph import connected_components

    _, component = connected_components(linked, directed=False)
    groups = [
        [METRIC_COLUMNS[i] for i in np.flatnonzero(component == c)] for c in np.unique(component)
    ]
    return [g for g in groups if len(g) > 1]


def report_html(report: IndexReport, title: str) -> str:
    """One self-contained HTML page: a bar chart of each index's pairwise accuracy and
    the index x (type, kind) heatmap as embedded PNG images, the per-index table, the
    by-type and by-kind tables (cells coloured by value), the redundant groups."""

    def cell(value: float, heat: bool) -> str:
        if np.isnan(value):
            return "<td class='na'>-</td>"
        if not heat:
            return f"<td>{value:.3f}</td>"
        # 0.5 (chance) white, 1 green, 0 red.
        strength = int(min(1.0, abs(value - 0.5) * 2) * 160)
        colour = (
            f"rgb({255 - strength},255,{255 - strength})"
            if value >= 0.5
            else f"rgb(255,{255 - strength},{255 - strength})"
        )
        return f"<td style='background:{colour}'>{value:.3f}</td>"

    def table(frame: pd.DataFrame, heat: bool) -> str:
        head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
        rows = "".join(
            f"<tr><th>{html.escape(str(name))}</th>"
            + "".join(cell(float(v), heat) for v in row)
            + "</tr>"
            for name, row in frame.iterrows()
        )
        return f"<table><tr><th>index</th>{head}</tr>{rows}</table>"

    heatmap = _png_image(
        _heatmap_png(pd.concat([report.by_type, report.by_kind], axis=1), report.by_type.shape[1]),
        "pairwise accuracy, index x degradation type and variant kind",
    )
    bars = _png_image(_accuracy_png(report.indices), "pairwise accuracy of each index")
    groups = "".join(f"<li>{html.escape(', '.join(g))}</li>" for g in report.redundant)
    style = (
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;"
        "margin-bottom:2em}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}"
        "th{background:#f4f4f4}td.na{color:#999}"
    )
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{style}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p>{_files(report.n_files)}, {report.n_rows} rows, {report.n_couples} "
        "(original, degraded version) couples. Pairwise accuracy: the share of couples "
        "where the original scores higher (ties 0.5); 0.5 is chance.</p>"
        f"<h2>Pairwise accuracy by index</h2>{bars}"
        f"<h2>Heatmap: index x degradation type and variant kind</h2>{heatmap}"
        f"<h2>Indices</h2>{table(report.indices, heat=False)}"
        f"<h2>Pairwise accuracy by degradation type</h2>{table(report.by_type, heat=True)}"
        f"<h2>Pairwise accuracy by variant kind</h2>{table(report.by_kind, heat=True)}"
        f"<h2>Redundant indices (|Spearman| &gt; {REDUNDANT})</h2><ul>{groups}</ul>"
        "</body></html>"
    )


def _png_image(png: bytes, alt: str) -> str:
    encoded = base64.b64encode(png).decode("ascii")
    return f"<p><img alt='{html.escape(alt)}' src='data:image/png;base64,{encoded}'></p>"


def _figure_png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    return buffer.getvalue()


def _pyplot() -> Any:
    """matplotlib's pyplot on the file-only backend (no screen needed), loaded when a
    page is drawn: it is slow to import."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _heatmap_png(frame: pd.DataFrame, split: int) -> bytes:
    """Indices down, columns across (a line before column ``split``), pairwise accuracy
    from red (0) through yellow (0.5, chance) to green (1); each cell written, missing
    cells grey."""
    plt = _pyplot()
    values = frame.to_numpy(dtype=float)
    figure, axes = plt.subplots(
        figsize=(1.0 + 0.55 * values.shape[1], 1.2 + 0.28 * values.shape[0])
    )
    colours = plt.get_cmap("RdYlGn").with_extremes(bad="#dddddd")
    image = axes.imshow(np.ma.masked_invalid(values), cmap=colours, vmin=0, vmax=1, aspect="auto")
    axes.set_xticks(
        range(values.shape[1]), [str(c) for c in frame.columns], rotation=60, ha="right"
    )
    axes.set_yticks(range(values.shape[0]), [str(i) for i in frame.index])
    for (row, column), value in np.ndenumerate(values):
        if np.isfinite(value):
            axes.text(column, row, f"{value:.2f}", ha="center", va="center", fontsize=6)
    if 0 < split < values.shape[1]:
        axes.axvline(split - 0.5, color="black", linewidth=2)
    figure.colorbar(image, ax=axes, fraction=0.03, label="pairwise accuracy")
    try:
        return _figure_png(figure)
    finally:
        plt.close(figure)


def _accuracy_png(indices: pd.DataFrame) -> bytes:
    """Each index's pairwise accuracy as a horizontal bar, best on top, chance marked."""
    plt = _pyplot()
    ordered = indices["pairwise_accuracy"].sort_values()
    figure, axes = plt.subplots(figsize=(7, 1.0 + 0.25 * len(ordered)))
    axes.barh([str(i) for i in ordered.index], ordered.to_numpy(dtype=float), color="#4a7fb5")
    axes.axvline(0.5, color="#aa3333", linestyle="--", linewidth=1, label="chance")
    axes.set_xlim(0, 1)
    axes.set_xlabel("pairwise accuracy (original above its degraded version)")
    axes.legend(loc="lower right")
    try:
        return _figure_png(figure)
    finally:
        plt.close(figure)
