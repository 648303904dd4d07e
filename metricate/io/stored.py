"""A loaded clustering as compact bytes, for a record store shared by many machines.

What travels is the parsed clustering (coordinates, labels and how they were read),
compressed, not the CSV text: a worker that receives it scores exactly what the
producer loaded. The file's other columns do not travel, so a clustering read back
cannot be written again in its input's own format.
"""

from __future__ import annotations

import hashlib
import io
import json
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from metricate.io.load import Clustering

_FORMAT = 1


def input_key(content_hash: str, label_col: str | None, columns: Sequence[str] | None) -> str:
    """The content address of a loaded file: its bytes and how they were read."""
    how = json.dumps([content_hash, label_col, None if columns is None else list(columns)])
    return hashlib.sha256(how.encode()).hexdigest()


def clustering_to_bytes(clustering: Clustering) -> bytes:
    """Coordinates (float64) and labels (int64) after a JSON header, zlib-compressed."""
    header = {
        "format": _FORMAT,
        "path": str(clustering.path),
        "label_col": clustering.label_col,
        "embedding_cols": list(clustering.embedding_cols),
        "embedding_format": clustering.embedding_format,
        "array_separator": clustering.array_separator,
        "content_hash": clustering.content_hash,
        "n_rows_read": clustering.n_rows_read,
        "n_dropped": clustering.n_dropped,
        "warnings": list(clustering.warnings),
        "shape": list(clustering.X.shape),
    }
    text = json.dumps(header).encode()
    body = io.BytesIO()
    body.write(len(text).to_bytes(8, "little"))
    body.write(text)
    body.write(np.ascontiguousarray(clustering.X, dtype="<f8").tobytes())
    body.write(np.ascontiguousarray(clustering.labels, dtype="<i8").tobytes())
    return zlib.compress(body.getvalue(), level=6)


def clustering_from_bytes(data: bytes) -> Clustering:
    """The inverse of ``clustering_to_bytes``: the same coordinates and labels, bit for bit."""
    raw = zlib.decompress(data)
    size = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8 : 8 + size])
    if header.get("format") != _FORMAT:
        raise ValueError(f"stored clustering of unknown format {header.get('format')!r}")
    n, d = header["shape"]
    start = 8 + size
    X = np.frombuffer(raw, dtype="<f8", count=n * d, offset=start).reshape(n, d).copy()
    labels = np.frombuffer(raw, dtype="<i8", count=n, offset=start + 8 * n * d).copy()
    columns = header["embedding_cols"]
    frame = pd.DataFrame({header["label_col"]: labels})
    if header["embedding_format"] == "columns":
        frame = pd.concat([frame, pd.DataFrame(X, columns=columns)], axis=1)
    return Clustering(
        path=Path(header["path"]),
        frame=frame,
        X=X.astype(np.float64),
        labels=labels.astype(np.int64),
        label_col=header["label_col"],
        embedding_cols=columns,
        embedding_format=header["embedding_format"],
        array_separator=header["array_separator"],
        content_hash=header["content_hash"],
        n_rows_read=header["n_rows_read"],
        n_dropped=header["n_dropped"],
        warnings=header["warnings"],
    )
