"""``degrade``: write every variant of one clustering CSV in the input's own format.

Each variant becomes ``<type>_<level>.csv`` with every original column in order:
numeric embedding columns stay numeric columns, a string-array column stays a
string-array column with the input's separator. ``manifest.json`` records what was
written. Every file is written whole or not at all (temporary name, then rename).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from metricate.defaults import DEFAULT_SEED
from metricate.degradations.levels import Level
from metricate.degradations.plan import VariantPlan
from metricate.degradations.variants import Variant, build_variants
from metricate.io.load import Clustering, load_clustering
from metricate.io.write import atomic_write

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class DegradedFile:
    """One written variant, as the manifest lists it."""

    file: str
    type: str
    level: str
    fraction: float
    quality_score: float
    rows: int
    original_rows: int
    clusters: int
    points_affected: int
    achieved_fraction: float
    description: str


@dataclass
class DegradationResult:
    """What ``degrade`` wrote: one entry per variant file, and the warnings."""

    input: Path
    output_dir: Path
    random_seed: int
    types: list[str]
    levels: list[str]
    entries: list[DegradedFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def manifest_path(self) -> Path:
        return self.output_dir / MANIFEST_NAME

    def summary(self) -> str:
        """A few lines: how many variants were written where, and per type which levels."""
        attempted = len(self.types) * len(self.levels)
        written = {(e.type, e.level) for e in self.entries}
        width = max(len(name) for name in self.types)
        lines = [
            f"{self.input}: {len(self.entries)} of {attempted} variants written to "
            f"{self.output_dir} (seed {self.random_seed})"
        ]
        for name in self.types:
            shown = [level if (name, level) in written else "-" for level in self.levels]
            lines.append(f"  {name.ljust(width)}  {' '.join(shown)}")
        if self.warnings:
            count = len(self.warnings)
            lines.append(f"{count} warning{'' if count == 1 else 's'}")
        return "\n".join(lines)


def degrade(
    csv: str | Path,
    output_dir: str | Path,
    types: str | Iterable[str] | None = None,
    levels: str | Iterable[str | Level] | None = None,
    random_seed: int = DEFAULT_SEED,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
) -> DegradationResult:
    """Write every variant of the clustering in ``csv`` to ``output_dir``.

    Types default to all 18 (registry order), levels to 5pct, 10pct, 25pct, 50pct.
    Writes ``<type>_<level>.csv`` per produced variant and ``manifest.json`` (input
    file, seed, types, levels, and per variant its file, rows, clusters, points
    affected, achieved fraction and description).
    """
    # Options are checked before the file is read, so a typo fails fast.
    plan = VariantPlan.parse(types, levels, random_seed)
    clustering = load_clustering(csv, label_col=label_col, embedding_cols=embedding_cols)
    variants, warnings = build_variants(clustering, plan)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = DegradationResult(
        input=clustering.path,
        output_dir=out,
        random_seed=plan.random_seed,
        types=list(plan.types),
        levels=list(plan.level_texts),
        warnings=clustering.warnings + warnings,
    )
    for variant in variants:
        write_variant_csv(variant, clustering, out / variant.file_name)
        result.entries.append(
            DegradedFile(
                file=variant.file_name,
                type=variant.type,
                level=variant.level,
                fraction=variant.fraction,
                quality_score=variant.quality_score,
                rows=variant.n_rows,
                original_rows=int(clustering.labels.size),
                clusters=variant.n_clusters,
                points_affected=variant.points_affected,
                achieved_fraction=variant.achieved_fraction,
                description=variant.description,
            )
        )
    manifest = {
        "input": str(clustering.path),
        "sha256": clustering.content_hash,
        "seed": plan.random_seed,
        "types": result.types,
        "levels": result.levels,
        "variants": [asdict(entry) for entry in result.entries],
        "warnings": result.warnings,
    }
    text = json.dumps(manifest, indent=2) + "\n"
    atomic_write(result.manifest_path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return result


def write_variant_csv(variant: Variant, clustering: Clustering, path: str | Path) -> None:
    """Write one variant as CSV in the input's format, whole or not at all."""
    frame = variant_frame(variant, clustering)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: frame.to_csv(tmp, index=False))


def variant_frame(variant: Variant, clustering: Clustering) -> pd.DataFrame:
    """The variant's rows with every original column, in the input's format."""
    original = clustering.frame.reset_index(drop=True)
    if variant.X is None:
        assert variant.rows is not None
        frame = original.iloc[variant.rows].reset_index(drop=True)
    else:
        frame = _with_empty_rows(original, variant.n_rows - len(original))
        frame = _with_embeddings(frame, clustering, variant.X)
    frame[clustering.label_col] = variant.labels
    return frame


def _with_empty_rows(frame: pd.DataFrame, count: int) -> pd.DataFrame:
    """``frame`` with ``count`` rows appended, empty in every column.

    Integer and boolean columns become their nullable types first, so the original
    rows still read ``7`` and ``True`` rather than ``7.0`` once empty cells exist.
    """
    if count == 0:
        return frame.copy()
    columns = {}
    for name in frame.columns:
        column = frame[name]
        if pd.api.types.is_bool_dtype(column) and column.dtype == np.bool_:
            column = column.astype("boolean")
        elif pd.api.types.is_integer_dtype(column) and isinstance(column.dtype, np.dtype):
            column = column.astype("Int64")
        columns[name] = column
    return pd.DataFrame(columns).reindex(pd.RangeIndex(len(frame) + count))


def _with_embeddings(frame: pd.DataFrame, clustering: Clustering, X: np.ndarray) -> pd.DataFrame:
    if clustering.embedding_format == "array":
        frame[clustering.embedding_cols[0]] = format_arrays(X, clustering.array_separator)
        return frame
    return frame.assign(**{name: X[:, j] for j, name in enumerate(clustering.embedding_cols)})


def format_arrays(X: np.ndarray, separator: str) -> pd.Series:
    """Rows of ``X`` as ``"[0.1, 0.2]"`` strings (or ``"[0.1 0.2]"``).

    numpy's float-to-text gives the shortest digits that read back to the same
    float, so the written points load bit for bit.
    """
    text = X.astype(str)
    first = pd.Series(text[:, 0])
    rest = pd.DataFrame(text[:, 1:])
    return "[" + first.str.cat(rest, sep=separator) + "]"
