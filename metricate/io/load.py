"""Loading a clustering from CSV: label column, embeddings, noise and bad rows.

The accepted input (``docs/input.md``): one row per point, an integer label column (-1 = noise)
and embeddings either as numeric columns (``dim_0``, ``x_0``, ``pc_0``...) or as one
string-array column (``"[0.1, 0.2]"`` or ``"[0.1 0.2]"``).

Every file is either read as written (comma, semicolon, tab or ``|`` separated; UTF-8,
UTF-8 with a byte-order mark, UTF-16 or UTF-32 with one; optionally gzip-compressed) or
refused with a one-line message that names the file, and where it helps the column and
the line (line numbers count the header as line 1).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal
from warnings import catch_warnings, simplefilter

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

MAX_ABS_COORDINATE = 1e50
"""Largest accepted |coordinate|. Within it, squared distances and the fourth powers some
indices take (variances of squared distances, in S_Dbw and SD), summed over every point and
dimension, stay far below the float64 maximum (~1.8e308). Larger values overflow into
inf/NaN inside the indices and degradations; real embeddings are many orders smaller."""

SEPARATORS = (",", ";", "\t", "|")
"""Column separators recognised in the header line; the most frequent one is used."""

_GZIP_MAGIC = b"\x1f\x8b"
_BINARY_SIGNATURES = (
    (b"PAR1", "it is a Parquet file"),
    (b"PK\x03\x04", "it is a ZIP archive, e.g. an .xlsx workbook"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "it is an OLE2 document, e.g. an .xls workbook"),
    (b"BZh", "it is bzip2-compressed; only gzip compression is read"),
    (b"\xfd7zXZ\x00", "it is xz-compressed; only gzip compression is read"),
    (b"\x28\xb5\x2f\xfd", "it is zstd-compressed; only gzip compression is read"),
)
_BYTE_ORDER_MARKS = (  # UTF-32 first: its little-endian mark starts like UTF-16's
    (b"\xff\xfe\x00\x00", "utf-32-le", "UTF-32"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "UTF-32"),
    (b"\xff\xfe", "utf-16-le", "UTF-16"),
    (b"\xfe\xff", "utf-16-be", "UTF-16"),
    (b"\xef\xbb\xbf", "utf-8", "UTF-8"),
)
_PARSER_FIELDS = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_PARSER_OPEN_QUOTE = re.compile(r"EOF inside string starting at row (\d+)")
_BOUND = f"{MAX_ABS_COORDINATE:.0e}".replace("e+", "e")
_DECIMAL_COMMA = re.compile(r"[+-]?\d*,\d+(?:[eE][+-]?\d+)?")
_ARRAY_TEXT = re.compile(r"^\s*\[.*\]\s*$")


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
    source = _read_csv(path)
    frame, lines = source.frame, source.lines
    if label_col is None and _looks_like_data(source.header):
        raise ColumnNotFoundError(
            f"{path}: no label column; the first line holds numbers, not column names: add a "
            f"header line that names the columns (a label column such as cluster_id, and "
            f"dim_0, dim_1, ...)"
        )
    _check_unique_names(path, source.header)
    label_name = _find_label_column(path, frame, label_col)
    labels = _parse_labels(path, frame[label_name], lines)
    names, fmt = _find_embedding_columns(path, frame, label_name, embedding_cols)
    warnings: list[str] = []
    if fmt == "array":
        X, separator = _parse_array_column(path, frame[names[0]], lines)
    else:
        separator = ", "
        X = _numeric_block(path, frame, names, lines)
        if embedding_cols is None and not all(
            DIMENSION_COLUMN_PATTERN.match(n.strip()) for n in names
        ):
            warnings.append(
                f"{path}: no embedding columns named like dim_0/x_0/pc_0; "
                f"using all {len(names)} numeric columns except the label as dimensions"
            )
    if X.shape[1] < 2:
        raise InvalidCSVError(f"{path}: embeddings need at least 2 dimensions, found {X.shape[1]}")
    finite = np.isfinite(X).all(axis=1)
    if not finite.any():
        raise InvalidCSVError(
            f"{path}: every row has NaN or infinite embeddings ({finite.size} rows), "
            f"so no point is left"
        )
    _check_magnitude(path, X, names, fmt, lines)
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
        content_hash=source.content_hash,
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


# ---- reading the bytes ------------------------------------------------------------


class _Lines:
    """File line numbers (header = line 1) of what the parser read, worked out on demand.

    A record is one line, or several when a quoted field holds line breaks; blank lines
    are records the parser skips. Every ``"`` is taken to open or close quoting, as in
    every file pandas or a spreadsheet writes (a stray quote inside an unquoted field
    makes the count fall back to "row + 2").
    """

    def __init__(self, text: bytes, separator: str, n_rows: int) -> None:
        self._text = text
        self._separator = separator
        self._n_rows = n_rows
        self._scanned: tuple[np.ndarray, np.ndarray] | None = None
        self._rows: np.ndarray | None = None

    def __call__(self, row: int) -> int:
        """The line on which data row ``row`` (0-based, in file order) starts."""
        if self._rows is None:
            starts, has_content = self._scan()
            rows = starts[has_content][1:]
            fallback = np.arange(self._n_rows) + 2
            self._rows = rows if rows.size == self._n_rows else fallback
        return int(self._rows[row])

    def of_record(self, record: int) -> int:
        """The line on which the parser's record ``record`` (0-based, blank lines counted)
        starts."""
        starts, _ = self._scan()
        return int(starts[record]) if 0 <= record < starts.size else record + 1

    def _scan(self) -> tuple[np.ndarray, np.ndarray]:
        if self._scanned is None:
            self._scanned = _scan_records(self._text, self._separator)
        return self._scanned


def _scan_records(text: bytes, separator: str) -> tuple[np.ndarray, np.ndarray]:
    """The start line of every record and whether it holds anything but blanks."""
    data = np.frombuffer(text, dtype=np.uint8)
    newline = ord("\n") if b"\n" in text else ord("\r")
    breaks = np.flatnonzero(data == newline)
    quotes = np.flatnonzero(data == ord('"'))
    ends = breaks[np.searchsorted(quotes, breaks) % 2 == 0]
    starts = np.concatenate(([0], ends + 1))
    lines = np.concatenate(([1], np.searchsorted(breaks, ends) + 2))
    inside = starts < data.size
    starts, lines = starts[inside], lines[inside]
    blanks = [ord(" "), ord("\r"), ord("\n")] + ([] if separator == "\t" else [ord("\t")])
    content = ~np.isin(data, blanks)
    if starts.size == 0:
        return lines, np.zeros(0, dtype=bool)
    return lines, np.add.reduceat(content, starts, dtype=np.int64) > 0


@dataclass
class _Source:
    frame: pd.DataFrame
    content_hash: str
    header: list[str]
    lines: _Lines


def _read_csv(path: Path) -> _Source:
    """The file's rows, its header as written and the SHA-256 of its bytes (read once,
    parsed from memory)."""
    if not path.exists():
        raise InvalidCSVError(f"{path}: file not found")
    if not path.is_file():
        raise InvalidCSVError(f"{path}: not a regular file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InvalidCSVError(f"{path}: cannot read file ({exc.strerror})") from None
    text = _utf8_text(path, data)
    if re.search(rb"\S", text) is None:
        raise InvalidCSVError(f"{path}: file is empty")
    separator = _detect_separator(text)
    lines = _Lines(text, separator, 0)
    try:
        with catch_warnings():
            # Mixed types in a column are checked below, cell by cell, with their line.
            simplefilter("ignore", pd.errors.DtypeWarning)
            frame = pd.read_csv(io.BytesIO(text), sep=separator)
        first = pd.read_csv(
            io.BytesIO(text), sep=separator, header=None, nrows=1, dtype=str, keep_default_na=False
        )
    except pd.errors.EmptyDataError:
        raise InvalidCSVError(f"{path}: file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidCSVError(f"{path}: cannot parse CSV{_parse_failure(exc, lines)}") from None
    lines = _Lines(text, separator, len(frame))
    if not isinstance(frame.index, pd.RangeIndex):
        # More fields on the first row than in the header: pandas would silently turn the
        # first column(s) into an index and shift every column.
        n_fields = frame.shape[1] + frame.index.nlevels
        raise InvalidCSVError(
            f"{path}: cannot parse CSV: line {lines(0)} has {n_fields} fields, "
            f"the header has {frame.shape[1]}"
        )
    if frame.shape[0] == 0:
        raise InvalidCSVError(f"{path}: file has a header but no rows")
    header = [str(v) for v in first.iloc[0].tolist()]
    return _Source(frame, hashlib.sha256(data).hexdigest(), header, lines)


def _utf8_text(path: Path, data: bytes) -> bytes:
    """The file's text as UTF-8 bytes: gunzipped, decoded from a byte-order-marked
    encoding, or refused with the reason (binary content, not UTF-8)."""
    if data.startswith(_GZIP_MAGIC):
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:
            raise InvalidCSVError(f"{path}: cannot decompress gzip file ({exc})") from None
    for magic, what in _BINARY_SIGNATURES:
        if data.startswith(magic):
            raise InvalidCSVError(f"{path}: not a text CSV file ({what})")
    for mark, codec, name in _BYTE_ORDER_MARKS:
        if data.startswith(mark):
            data = data[len(mark) :]
            if codec == "utf-8":
                break
            try:
                return data.decode(codec).encode("utf-8")
            except UnicodeDecodeError as exc:
                raise InvalidCSVError(
                    f"{path}: starts with a {name} byte-order mark but is not valid {name} "
                    f"({exc.reason} at byte offset {exc.start + len(mark)}); save the file as UTF-8"
                ) from None
    if b"\x00" in data:
        raise InvalidCSVError(f"{path}: {_binary_reason(data)}")
    try:
        if not data.isascii():
            data.decode("utf-8")
    except UnicodeDecodeError as exc:
        control = np.frombuffer(data, dtype=np.uint8)
        if np.isin(control, _CONTROL_BYTES).any():
            raise InvalidCSVError(f"{path}: not a text CSV file (it holds binary data)") from None
        newline = b"\n" if b"\n" in data else b"\r"
        line = data.count(newline, 0, exc.start) + 1
        raise InvalidCSVError(
            f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line} is not "
            f"valid UTF-8); save the file as UTF-8"
        ) from None
    return data


_CONTROL_BYTES = np.array([*range(0, 9), *range(14, 32), 127], dtype=np.uint8)


def _binary_reason(data: bytes) -> str:
    """Why a file holding NUL bytes is refused: UTF-16 without a byte-order mark, or binary."""
    head = data[:4096]
    head = head[: len(head) // 2 * 2]
    for zeros, other, order in (
        (head[1::2], head[0::2], "little"),
        (head[0::2], head[1::2], "big"),
    ):
        if b"\x00" not in other and zeros.count(0) >= 0.9 * len(zeros):
            return (
                f"looks like UTF-16 ({order}-endian) text without a byte-order mark; "
                f"save the file as UTF-8"
            )
    return "not a text CSV file (it holds binary data)"


def _detect_separator(text: bytes) -> str:
    """The separator of the header line: whichever of , ; tab | occurs most often outside
    quotes (comma on a tie or when there is none)."""
    start = re.search(rb"\S", text)
    first = start.start() if start else 0
    begin = max(text.rfind(b"\n", 0, first), text.rfind(b"\r", 0, first)) + 1
    end_match = re.compile(rb"[\r\n]").search(text, begin)
    header = text[begin : end_match.start() if end_match else len(text)]
    header = re.sub(rb'"[^"]*"', b"", header)
    counts = [header.count(sep.encode()) for sep in SEPARATORS]
    return SEPARATORS[int(np.argmax(counts))] if max(counts) else ","


def _parse_failure(exc: Exception, lines: _Lines) -> str:
    """The parser's complaint, with file line numbers where it gives a record number."""
    message = str(exc).strip()
    fields = _PARSER_FIELDS.search(message)
    if fields:
        expected, record, saw = (int(g) for g in fields.groups())
        return f": line {lines.of_record(record - 1)} has {saw} fields, expected {expected}"
    open_quote = _PARSER_OPEN_QUOTE.search(message)
    if open_quote:
        line = lines.of_record(int(open_quote.group(1)))
        return f": a quoted field on line {line} is never closed"
    return f" ({message.splitlines()[0] if message else type(exc).__name__})"


# ---- columns -----------------------------------------------------------------------


def _looks_like_data(header: Sequence[str]) -> bool:
    """Whether the header line holds only numbers or arrays: a data row, not names."""
    fields = pd.Series([h for h in header if h.strip()], dtype=object)
    if fields.empty:
        return False
    numbers = pd.to_numeric(fields, errors="coerce").notna()
    arrays = fields.str.match(_ARRAY_TEXT)
    return bool((numbers | arrays).all())


def _check_unique_names(path: Path, header: Sequence[str]) -> None:
    names = pd.Series(list(header), dtype=object)
    named = names[names.str.strip() != ""]
    repeated = named[named.duplicated()]
    if repeated.size:
        name = repeated.iloc[0]
        positions = [str(i + 1) for i in np.flatnonzero(names.to_numpy() == name)]
        raise InvalidCSVError(
            f"{path}: column {name!r} appears {len(positions)} times in the header "
            f"(columns {', '.join(positions)}); column names must be unique"
        )


def _find_label_column(path: Path, frame: pd.DataFrame, label_col: str | None) -> str:
    if label_col is not None:
        if label_col not in frame.columns:
            raise ColumnNotFoundError(
                f"{path}: label column {label_col!r} not found; columns are {list(frame.columns)}"
            )
        return label_col
    # Names are matched without surrounding spaces ("a, b" headers) but kept as written.
    by_lower = {str(c).strip().lower(): str(c) for c in reversed(list(frame.columns))}
    for name in LABEL_COLUMN_NAMES:
        if name in by_lower:
            return by_lower[name]
    hint = ""
    if frame.shape[1] == 1:
        hint = (
            f"; the header was read as one column {_show(str(frame.columns[0]))}: separate "
            f"columns with ',', ';', tab or '|'"
        )
    raise ColumnNotFoundError(
        f"{path}: no label column; name one with label_col or use one of "
        f"{', '.join(LABEL_COLUMN_NAMES)}{hint}"
    )


def _show(value: object) -> str:
    """A cell as a message shows it: numbers plain (``2.5``), text quoted and cut short."""
    if isinstance(value, str):
        return repr(value if len(value) <= 40 else value[:37] + "...")
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    if isinstance(value, float | np.floating):
        return repr(float(value))
    return repr(value)


def _first(mask: np.ndarray) -> int:
    return int(np.flatnonzero(mask)[0])


def _parse_labels(path: Path, column: pd.Series, lines: _Lines) -> np.ndarray:
    name = column.name
    empty = column.isna().to_numpy()
    if empty.any():
        line, n_empty = lines(_first(empty)), int(empty.sum())
        where = f"values, the first on line {line}" if n_empty > 1 else f"value, on line {line}"
        raise InvalidCSVError(f"{path}: label column {name!r} has {n_empty} empty {where}")

    def not_integer(row: int, value: object) -> InvalidCSVError:
        return InvalidCSVError(
            f"{path}: label column {name!r} must hold integers, "
            f"found {_show(value)} on line {lines(row)}"
        )

    if pd.api.types.is_bool_dtype(column):
        raise not_integer(0, column.iloc[0])
    if not pd.api.types.is_numeric_dtype(column):
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna().to_numpy()
        if bad.any():
            raise not_integer(_first(bad), column.iloc[_first(bad)])
        column = numbers
    values = column.to_numpy()
    if np.issubdtype(values.dtype, np.floating):
        integral = np.isfinite(values) & (values == np.round(values))
        if not integral.all():
            row = _first(~integral)
            raise not_integer(row, values[row])
        too_large = np.abs(values) >= 2.0**63
    else:
        too_large = values > np.iinfo(np.int64).max
    if too_large.any():
        row = _first(too_large)
        raise InvalidCSVError(
            f"{path}: label column {name!r} has a label too large for a 64-bit integer, "
            f"{_show(values[row])} on line {lines(row)}"
        )
    labels = values.astype(np.int64)
    below = labels < NOISE
    if below.any():
        row = _first(below)
        raise InvalidCSVError(
            f"{path}: label column {name!r} has negative labels other than -1 (noise), "
            f"e.g. {int(labels[row])} on line {lines(row)}"
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
    by_lower = {c.strip().lower(): c for c in reversed(columns)}
    for name in ARRAY_COLUMN_NAMES:
        if name in by_lower and not pd.api.types.is_numeric_dtype(frame[by_lower[name]]):
            return [by_lower[name]], "array"
    # Named like a dimension is enough: a column read as text because of one bad cell is
    # still a dimension, and reported as such, not silently left out.
    patterned = []
    for c in columns:
        match = DIMENSION_COLUMN_PATTERN.match(c.strip())
        if match and c != label_name:
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


def _numeric_block(path: Path, frame: pd.DataFrame, names: list[str], lines: _Lines) -> np.ndarray:
    block = frame[names]
    if all(pd.api.types.is_numeric_dtype(block[n]) for n in names):
        return block.to_numpy(dtype=np.float64, na_value=np.nan)
    columns = []
    for position, name in enumerate(names):
        column = block.iloc[:, position]
        if not pd.api.types.is_numeric_dtype(column):
            numbers = pd.to_numeric(column, errors="coerce")
            bad = (numbers.isna() & column.notna()).to_numpy()
            if bad.any():
                row = _first(bad)
                value = column.iloc[row]
                hint = ""
                if isinstance(value, str) and _DECIMAL_COMMA.fullmatch(value.strip()):
                    hint = " (write decimals with '.', not ',')"
                raise InvalidCSVError(
                    f"{path}: embedding column {name!r} must hold numbers, "
                    f"found {_show(value)} on line {lines(row)}{hint}"
                )
            column = numbers
        columns.append(column.to_numpy(dtype=np.float64, na_value=np.nan))
    return np.column_stack(columns)


def _parse_array_column(path: Path, column: pd.Series, lines: _Lines) -> tuple[np.ndarray, str]:
    """Parse ``"[0.1, 0.2]"`` / ``"[0.1 0.2]"`` strings into a float matrix."""
    name = column.name
    empty = column.isna().to_numpy()
    if empty.any():
        raise InvalidCSVError(
            f"{path}: embedding column {name!r} is empty on line {lines(_first(empty))}"
        )
    text = column.astype(str)
    separator = ", " if text.iloc[0].count(",") else " "
    cleaned = text.str.replace(r"[\[\],]", " ", regex=True)
    try:
        values = np.array(" ".join(cleaned.tolist()).split(), dtype=np.float64)
    except ValueError:
        raise _not_numbers(path, name, cleaned, lines) from None
    lengths = cleaned.str.count(r"\S+").to_numpy()
    if lengths.min() != lengths.max():
        row = _first(lengths != lengths[0])
        raise InvalidCSVError(
            f"{path}: ragged embeddings in column {name!r}: line {lines(0)} has {lengths[0]} "
            f"values, line {lines(row)} has {lengths[row]}"
        )
    return values.reshape(len(cleaned), int(lengths[0])), separator


def _not_numbers(path: Path, name: object, cleaned: pd.Series, lines: _Lines) -> InvalidCSVError:
    """The first value of a string-array column that is not a number, and its line."""
    message = f"{path}: embedding column {name!r} holds values that are not numbers"
    values = cleaned.str.split().explode()
    numbers = pd.to_numeric(values, errors="coerce")
    spelled_nan = values.str.fullmatch(r"[+-]?nan", case=False).fillna(False)
    bad = (numbers.isna() & values.notna() & ~spelled_nan.astype(bool)).to_numpy()
    if not bad.any():
        return InvalidCSVError(message)
    first = _first(bad)
    row = int(values.index[first])  # the column's own index: its row position
    return InvalidCSVError(f"{message}, e.g. {_show(values.iloc[first])} on line {lines(row)}")


def _check_magnitude(
    path: Path, X: np.ndarray, names: list[str], fmt: EmbeddingFormat, lines: _Lines
) -> None:
    """Refuse finite coordinates so large that squared distances overflow float64."""
    with np.errstate(invalid="ignore"):
        too_large = np.isfinite(X) & (np.abs(X) > MAX_ABS_COORDINATE)
    if not too_large.any():
        return
    row, dim = divmod(_first(too_large.ravel()), X.shape[1])
    where = f"column {names[dim]!r}" if fmt == "columns" else f"column {names[0]!r}"
    raise InvalidCSVError(
        f"{path}: coordinate {_show(X[row, dim])} in {where} on line {lines(row)} is too large: "
        f"coordinates must satisfy |x| <= {_BOUND} or squared distances "
        f"overflow float64; rescale the embeddings"
    )
