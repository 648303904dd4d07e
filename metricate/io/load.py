"""Loading a clustering from CSV: label column, embeddings, noise and bad rows.

The accepted input (``docs/input.md``): one row per point, an integer label column (-1 = noise)
and embeddings either as numeric columns (``dim_0``, ``x_0``, ``pc_0``...) or as one
string-array column (``"[0.1, 0.2]"`` or ``"[0.1 0.2]"``).
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from metricate.defaults import NOISE
from metricate.errors import ColumnNotFoundError, InsufficientClustersError, InvalidCSVError

LABEL_COLUMN_NAMES = (
    "cluster_id",
    "cluster",
    "clusterid",
    "new_cluster",
    "label",
    "labels",
    "class",
    "group",
    "group_id",
    "assignment",
)
ARRAY_COLUMN_NAMES = ("embedding", "embeddings", "reduced_embedding")
DIMENSION_COLUMN_PATTERN = re.compile(
    r"^(dim|x|emb|embedding|pc|umap|tsne|component|reduced)_?(\d+)$", re.IGNORECASE
)

EmbeddingFormat = Literal["columns", "array"]


@dataclass
class Clustering:
    """One clustering as loaded: every usable row of the file, noise included.

    ``frame`` keeps every original column of the kept rows (rows with NaN/inf
    embeddings are dropped), so a degraded copy can be written in the input's own
    format. ``X`` and ``labels`` are aligned with ``frame``'s rows.
    """

    path: Path
    frame: pd.DataFrame
    X: np.ndarray
    labels: np.ndarray
    label_col: str
    embedding_cols: list[str]
    embedding_format: EmbeddingFormat
    array_separator: str = ", "
    content_hash: str = ""
    n_rows_read: int = 0
    n_dropped: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def noise_mask(self) -> np.ndarray:
        return self.labels == NOISE

    @property
    def n_noise(self) -> int:
        return int(np.count_nonzero(self.noise_mask))

    @property
    def n_clusters(self) -> int:
        return int(np.unique(self.labels[~self.noise_mask]).size)

    @property
    def n_dimensions(self) -> int:
        return int(self.X.shape[1])

    @property
    def points(self) -> np.ndarray:
        """Coordinates of the non-noise points, the ones every metric scores."""
        return self.X[~self.noise_mask]

    @property
    def point_labels(self) -> np.ndarray:
        return self.labels[~self.noise_mask]

    def metadata(self) -> dict[str, object]:
        return {
            "file": str(self.path),
            "sha256": self.content_hash,
            "label_col": self.label_col,
            "embedding_cols": list(self.embedding_cols),
            "embedding_format": self.embedding_format,
            "n_rows_read": self.n_rows_read,
            "n_rows_dropped": self.n_dropped,
            "n_noise": self.n_noise,
            "n_samples": int(self.labels.size - self.n_noise),
            "n_clusters": self.n_clusters,
            "n_dimensions": self.n_dimensions,
        }


def load_clustering(
    path: str | Path,
    label_col: str | None = None,
    embedding_cols: str | Sequence[str] | None = None,
) -> Clustering:
    """Read a clustering CSV and check it can be scored.

    Raises ``InvalidCSVError``, ``ColumnNotFoundError`` or
    ``InsufficientClustersError`` with a one-line message naming the file.
    """
    path = Path(path)
    frame, content_hash = _read_csv(path)
    label_name = _find_label_column(path, frame, label_col)
    labels = _parse_labels(path, frame[label_name])
    names, fmt = _find_embedding_columns(path, frame, label_name, embedding_cols)
    warnings: list[str] = []
    if fmt == "array":
        X, separator = _parse_array_column(path, frame[names[0]])
    else:
        separator = ", "
        X = _numeric_block(path, frame, names)
        if embedding_cols is None and not all(DIMENSION_COLUMN_PATTERN.match(n) for n in names):
            warnings.append(
                f"{path}: no embedding columns named like dim_0/x_0/pc_0; "
                f"using all {len(names)} numeric columns except the label as dimensions"
            )
    if X.shape[1] < 2:
        raise InvalidCSVError(f"{path}: embeddings need at least 2 dimensions, found {X.shape[1]}")
    finite = np.isfinite(X).all(axis=1)
    n_dropped = int(X.shape[0] - np.count_nonzero(finite))
    if n_dropped:
        warnings.append(
            f"{path}: dropped {n_dropped} of {X.shape[0]} rows with NaN or infinite embeddings"
        )
        frame = frame.loc[finite].reset_index(drop=True)
        X = X[finite]
        labels = labels[finite]
    clustering = Clustering(
        path=path,
        frame=frame,
        X=np.ascontiguousarray(X, dtype=np.float64),
        labels=labels,
        label_col=label_name,
        embedding_cols=names,
        embedding_format=fmt,
        array_separator=separator,
        content_hash=content_hash,
        n_rows_read=int(finite.size),
        n_dropped=n_dropped,
        warnings=warnings,
    )
    if clustering.n_clusters < 2:
        raise InsufficientClustersError(
            f"{path}: needs at least 2 clusters after removing noise (label -1), "
            f"found {clustering.n_clusters}"
        )
    return clustering


def _read_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """The file's rows and the SHA-256 of its bytes (read once, parsed from memory)."""
    if not path.exists():
        raise InvalidCSVError(f"{path}: file not found")
    if not path.is_file():
        raise InvalidCSVError(f"{path}: not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidCSVError(f"{path}: cannot read file ({exc.strerror})") from None
    try:
        frame = pd.read_csv(io.BytesIO(data))
    except pd.errors.EmptyDataError:
        raise InvalidCSVError(f"{path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InvalidCSVError(f"{path}: cannot parse CSV ({first_line})") from None
    if frame.shape[0] == 0:
        raise InvalidCSVError(f"{path}: file has a header but no rows")
    return frame, hashlib.sha256(data).hexdigest()


def _find_label_column(path: Path, frame: pd.DataFrame, label_col: str | None) -> str:
    if label_col is not None:
        if label_col not in frame.columns:
            raise ColumnNotFoundError(
                f"{path}: label column {label_col!r} not found; columns are {list(frame.columns)}"
            )
        return label_col
    by_lower = {str(c).lower(): str(c) for c in reversed(list(frame.columns))}
    for name in LABEL_COLUMN_NAMES:
        if name in by_lower:
            return by_lower[name]
    raise ColumnNotFoundError(
        f"{path}: no label column; name one with label_col or use one of "
        f"{', '.join(LABEL_COLUMN_NAMES)}"
    )


def _parse_labels(path: Path, column: pd.Series) -> np.ndarray:
    name = column.name
    if column.isna().any():
        raise InvalidCSVError(
            f"{path}: label column {name!r} has {int(column.isna().sum())} empty values"
        )
    if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
        bad = column.astype(str).iloc[0]
        raise InvalidCSVError(
            f"{path}: label column {name!r} must hold integers, found values like {bad!r}"
        )
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.floating):
        integral = np.isfinite(values) & (values == np.round(values))
        if not integral.all():
            bad_value = values[~integral][0]
            raise InvalidCSVError(
                f"{path}: label column {name!r} must hold integers, found {bad_value!r}"
            )
    labels = values.astype(np.int64)
    below = labels < NOISE
    if below.any():
        raise InvalidCSVError(
            f"{path}: label column {name!r} has negative labels other than -1 (noise), "
            f"e.g. {int(labels[below][0])}"
        )
    return labels


def _find_embedding_columns(
    path: Path,
    frame: pd.DataFrame,
    label_name: str,
    embedding_cols: str | Sequence[str] | None,
) -> tuple[list[str], EmbeddingFormat]:
    columns = [str(c) for c in frame.columns]
    if embedding_cols is not None:
        names = [embedding_cols] if isinstance(embedding_cols, str) else list(embedding_cols)
        missing = [n for n in names if n not in columns]
        if missing:
            raise ColumnNotFoundError(
                f"{path}: embedding column(s) {missing} not found; columns are {columns}"
            )
        if len(names) == 1 and not pd.api.types.is_numeric_dtype(frame[names[0]]):
            return names, "array"
        return names, "columns"
    by_lower = {c.lower(): c for c in reversed(columns)}
    for name in ARRAY_COLUMN_NAMES:
        if name in by_lower and not pd.api.types.is_numeric_dtype(frame[by_lower[name]]):
            return [by_lower[name]], "array"
    patterned = []
    for c in columns:
        match = DIMENSION_COLUMN_PATTERN.match(c)
        if match and c != label_name and pd.api.types.is_numeric_dtype(frame[c]):
            patterned.append((match.group(1).lower(), int(match.group(2)), c))
    if patterned:
        # One family of dimension columns: the most common prefix, in index order.
        prefixes = [p for p, _, _ in patterned]
        prefix = max(dict.fromkeys(prefixes), key=prefixes.count)
        return [c for p, _, c in sorted(patterned) if p == prefix], "columns"
    numeric = [
        c
        for c in columns
        if c != label_name
        and pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
    ]
    if not numeric:
        raise ColumnNotFoundError(
            f"{path}: no embedding columns; expected an 'embedding' string-array column or "
            f"numeric columns like dim_0, dim_1, ..."
        )
    return numeric, "columns"


def _numeric_block(path: Path, frame: pd.DataFrame, names: list[str]) -> np.ndarray:
    block = frame[names]
    not_numeric = [n for n in names if not pd.api.types.is_numeric_dtype(block[n])]
    if not_numeric:
        raise InvalidCSVError(f"{path}: embedding column(s) {not_numeric} are not numeric")
    return block.to_numpy(dtype=np.float64, na_value=np.nan)


def _parse_array_column(path: Path, column: pd.Series) -> tuple[np.ndarray, str]:
    """Parse ``"[0.1, 0.2]"`` / ``"[0.1 0.2]"`` strings into a float matrix."""
    name = column.name
    if column.isna().any():
        first = int(np.flatnonzero(column.isna().to_numpy())[0])
        raise InvalidCSVError(f"{path}: embedding column {name!r} is empty on line {first + 2}")
    text = column.astype(str)
    separator = ", " if text.iloc[0].count(",") else " "
    cleaned = text.str.replace(r"[\[\],]", " ", regex=True)
    lengths = cleaned.str.count(r"\S+").to_numpy()
    if lengths.min() != lengths.max():
        row = int(np.flatnonzero(lengths != lengths[0])[0])
        raise InvalidCSVError(
            f"{path}: ragged embeddings in column {name!r}: line 2 has {lengths[0]} values, "
            f"line {row + 2} has {lengths[row]}"
        )
    try:
        values = np.array(" ".join(cleaned.tolist()).split(), dtype=np.float64)
    except ValueError:
        raise InvalidCSVError(
            f"{path}: embedding column {name!r} holds values that are not numbers"
        ) from None
    return values.reshape(len(cleaned), int(lengths[0])), separator
