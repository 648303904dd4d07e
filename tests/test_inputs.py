"""Every input is read as written or refused with the reason.

A corpus of malformed and awkward clustering files, written into ``tmp_path`` by the
tests. Each malformed one has its exact error type and message (``{path}`` stands for the
file); each awkward-but-valid one must load with the same values as the plain comma,
UTF-8 version. Line numbers count the header as line 1.
"""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import metricate
from metricate import (
    ColumnNotFoundError,
    InsufficientClustersError,
    InvalidCSVError,
    MetricateError,
    load_clustering,
)
from metricate.io.load import MAX_ABS_COORDINATE
from metricate.training.inputs import find_inputs
from producer.cli import cli

GOOD = (
    "cluster_id,dim_0,dim_1,dim_2\n"
    "0,0.10,0.20,0.30\n"
    "0,0.15,0.25,0.20\n"
    "0,0.05,0.10,0.35\n"
    "0,0.20,0.15,0.25\n"
    "1,5.10,5.20,0.30\n"
    "1,5.05,5.30,0.10\n"
    "1,4.95,5.10,0.20\n"
    "1,5.20,4.90,0.15\n"
    "2,0.10,5.20,5.30\n"
    "2,0.25,4.80,5.10\n"
    "2,-0.10,5.05,4.95\n"
    "2,0.05,5.15,5.25\n"
)
LINES = GOOD.splitlines()  # LINES[0] is the header (line 1), LINES[n - 1] is line n
ROWS = [line.split(",") for line in LINES[1:]]
ARRAY = "cluster,embedding\n" + "".join(f'{r[0]},"[{r[1]}, {r[2]}, {r[3]}]"\n' for r in ROWS)
LABEL_NAMES = (
    "cluster_id, cluster, clusterid, new_cluster, label, labels, class, group, group_id, assignment"
)
NO_LABEL = f"no label column; name one with label_col or use one of {LABEL_NAMES}"
TOO_LARGE = (
    "is too large: coordinates must satisfy |x| <= 1e50 or squared distances overflow "
    "float64; rescale the embeddings"
)


def text(lines: list[str], newline: str = "\n") -> bytes:
    return (newline.join(lines) + newline).encode()


def with_line(n: int, line: str, source: str = GOOD) -> bytes:
    """``source`` with its line ``n`` (header = 1) replaced."""
    lines = source.splitlines()
    lines[n - 1] = line
    return text(lines)


def with_cell(n: int, column: int, value: str) -> bytes:
    """GOOD with the cell of line ``n`` in column ``column`` (0-based) replaced."""
    cells = LINES[n - 1].split(",")
    cells[column] = value
    return with_line(n, ",".join(cells))


def with_labels(labels: list[str]) -> bytes:
    return text([LINES[0]] + [",".join([lab, *r[1:]]) for lab, r in zip(labels, ROWS, strict=True)])


def with_dims(value: str) -> bytes:
    return text([LINES[0]] + [",".join([r[0], value, value, value]) for r in ROWS])


def titled(rows: list[list[str]], titles: list[str]) -> bytes:
    """GOOD with a quoted ``title`` column first (titles may hold commas and newlines)."""
    body = [f'"{t}",' + ",".join(r) for t, r in zip(titles, rows, strict=True)]
    return text(["title," + LINES[0], *body])


MULTILINE_TITLES = ["one", "two,\nlines", "three", "four", *[f"t{i}" for i in range(5, 13)]]


def parquet_bytes() -> bytes:
    sink = io.BytesIO()
    pd.read_csv(io.StringIO(GOOD)).to_parquet(sink)
    return sink.getvalue()


def zip_bytes() -> bytes:
    sink = io.BytesIO()
    with zipfile.ZipFile(sink, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
    return sink.getvalue()


def latin1_bytes() -> bytes:
    return titled(ROWS, ["plain", "café", *[f"t{i}" for i in range(3, 13)]]).replace(
        "café".encode(), "café".encode("latin-1")
    )


def utf16_bad_bytes() -> bytes:
    return b"\xff\xfe" + GOOD.encode("utf-16-le") + b"\x00"


# name: (content, error type, message after "{path}: ")
MALFORMED: dict[str, tuple[bytes, type[MetricateError], str]] = {
    "empty": (b"", InvalidCSVError, "file is empty"),
    "blank_lines_only": (b"\n   \n\n", InvalidCSVError, "file is empty"),
    "header_only": (text(LINES[:1]), InvalidCSVError, "file has a header but no rows"),
    "header_and_blank_lines": (
        text([LINES[0], "", ""]),
        InvalidCSVError,
        "file has a header but no rows",
    ),
    "one_cluster": (
        with_labels(["0"] * 12),
        InsufficientClustersError,
        "needs at least 2 clusters after removing noise (label -1), found 1",
    ),
    "all_noise": (
        with_labels(["-1"] * 12),
        InsufficientClustersError,
        "needs at least 2 clusters after removing noise (label -1), found 0",
    ),
    "two_points_one_cluster": (
        text(LINES[:3]),
        InsufficientClustersError,
        "needs at least 2 clusters after removing noise (label -1), found 1",
    ),
    "string_labels": (
        with_labels(["a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"]),
        InvalidCSVError,
        "label column 'cluster_id' must hold integers, found 'a' on line 2",
    ),
    "one_string_label": (
        with_cell(6, 0, "x"),
        InvalidCSVError,
        "label column 'cluster_id' must hold integers, found 'x' on line 6",
    ),
    "fractional_label": (
        with_cell(5, 0, "2.5"),
        InvalidCSVError,
        "label column 'cluster_id' must hold integers, found 2.5 on line 5",
    ),
    "boolean_labels": (
        with_labels(["True", "False"] * 6),
        InvalidCSVError,
        "label column 'cluster_id' must hold integers, found True on line 2",
    ),
    "empty_label": (
        with_cell(4, 0, ""),
        InvalidCSVError,
        "label column 'cluster_id' has 1 empty value, on line 4",
    ),
    "negative_label": (
        with_cell(3, 0, "-2"),
        InvalidCSVError,
        "label column 'cluster_id' has negative labels other than -1 (noise), e.g. -2 on line 3",
    ),
    "label_too_large": (
        with_cell(7, 0, "1e20"),
        InvalidCSVError,
        "label column 'cluster_id' has a label too large for a 64-bit integer, 1e+20 on line 7",
    ),
    "missing_label_column": (
        with_line(1, "topic_id,dim_0,dim_1,dim_2"),
        ColumnNotFoundError,
        NO_LABEL,
    ),
    "no_header": (
        text(LINES[1:]),
        ColumnNotFoundError,
        "no label column; the first line holds numbers, not column names: add a header line "
        "that names the columns (a label column such as cluster_id, and dim_0, dim_1, ...)",
    ),
    "no_header_arrays": (
        ARRAY.split("\n", 1)[1].encode(),
        ColumnNotFoundError,
        "no label column; the first line holds numbers, not column names: add a header line "
        "that names the columns (a label column such as cluster_id, and dim_0, dim_1, ...)",
    ),
    "space_separated": (
        GOOD.replace(",", " ").encode(),
        ColumnNotFoundError,
        f"{NO_LABEL}; the header was read as one column 'cluster_id dim_0 dim_1 dim_2': "
        "separate columns with ',', ';', tab or '|'",
    ),
    "ragged_rows": (
        with_line(5, LINES[4] + ",9.9"),
        InvalidCSVError,
        "cannot parse CSV: line 5 has 5 fields, expected 4",
    ),
    "ragged_rows_after_multiline_field": (
        titled(ROWS[:4] + [ROWS[4] + ["9.9"]] + ROWS[5:], MULTILINE_TITLES),
        InvalidCSVError,
        "cannot parse CSV: line 7 has 6 fields, expected 5",
    ),
    "extra_field_on_first_row": (
        with_line(2, LINES[1] + ",9.9"),
        InvalidCSVError,
        "cannot parse CSV: line 2 has 5 fields, the header has 4",
    ),
    "trailing_commas_on_rows": (
        text([LINES[0]] + [line + "," for line in LINES[1:]]),
        InvalidCSVError,
        "cannot parse CSV: line 2 has 5 fields, the header has 4",
    ),
    "unclosed_quote": (
        with_cell(4, 1, '"0.05'),
        InvalidCSVError,
        "cannot parse CSV: a quoted field on line 4 is never closed",
    ),
    "non_numeric_dimension": (
        with_cell(5, 3, "abc"),
        InvalidCSVError,
        "embedding column 'dim_2' must hold numbers, found 'abc' on line 5",
    ),
    "non_numeric_after_blank_line": (
        text(LINES[:3] + ["", *LINES[3:6], "1,5.05,n/a?,0.10", *LINES[7:]]),
        InvalidCSVError,
        "embedding column 'dim_1' must hold numbers, found 'n/a?' on line 8",
    ),
    "non_numeric_after_multiline_field": (
        titled(ROWS[:3] + [[ROWS[3][0], "oops", *ROWS[3][2:]]] + ROWS[4:], MULTILINE_TITLES),
        InvalidCSVError,
        "embedding column 'dim_0' must hold numbers, found 'oops' on line 6",
    ),
    "decimal_commas": (
        GOOD.replace(",", ";").replace(".", ",").encode(),
        InvalidCSVError,
        "embedding column 'dim_0' must hold numbers, found '0,10' on line 2 "
        "(write decimals with '.', not ',')",
    ),
    "duplicate_dimension_name": (
        with_line(1, "cluster_id,dim_0,dim_1,dim_0"),
        InvalidCSVError,
        "column 'dim_0' appears 2 times in the header (columns 2, 4); column names must be unique",
    ),
    "duplicate_label_name": (
        text(
            ["cluster_id,dim_0,dim_1,dim_2,cluster_id"]
            + [f"{line},{line[0]}" for line in LINES[1:]]
        ),
        InvalidCSVError,
        "column 'cluster_id' appears 2 times in the header (columns 1, 5); column names must "
        "be unique",
    ),
    "all_nan_embeddings": (
        with_dims(""),
        InvalidCSVError,
        "every row has NaN or infinite embeddings (12 rows), so no point is left",
    ),
    "all_infinite_embeddings": (
        with_dims("inf"),
        InvalidCSVError,
        "every row has NaN or infinite embeddings (12 rows), so no point is left",
    ),
    "one_dimension": (
        text([",".join(line.split(",")[:2]) for line in LINES]),
        InvalidCSVError,
        "embeddings need at least 2 dimensions, found 1",
    ),
    "no_embedding_columns": (
        text(["cluster_id,title"] + [f"{r[0]},doc" for r in ROWS]),
        ColumnNotFoundError,
        "no embedding columns; expected an 'embedding' string-array column or numeric "
        "columns like dim_0, dim_1, ...",
    ),
    "array_of_words": (
        text(["cluster,embedding"] + [f'{r[0]},"[a,b]"' for r in ROWS]),
        InvalidCSVError,
        "embedding column 'embedding' holds values that are not numbers, e.g. 'a' on line 2",
    ),
    "array_one_row_of_words": (
        with_line(6, '1,"[a,b]"', ARRAY),
        InvalidCSVError,
        "embedding column 'embedding' holds values that are not numbers, e.g. 'a' on line 6",
    ),
    "array_ragged": (
        with_line(6, '1,"[5.05, 5.30, 0.10, 1.0]"', ARRAY),
        InvalidCSVError,
        "ragged embeddings in column 'embedding': line 2 has 3 values, line 6 has 4",
    ),
    "array_empty_cell": (
        with_line(4, "0,", ARRAY),
        InvalidCSVError,
        "embedding column 'embedding' is empty on line 4",
    ),
    "array_one_dimension": (
        text(["cluster,embedding"] + [f'{r[0]},"[{r[1]}]"' for r in ROWS]),
        InvalidCSVError,
        "embeddings need at least 2 dimensions, found 1",
    ),
    "huge_coordinates": (
        with_cell(3, 2, "1e300"),
        InvalidCSVError,
        f"coordinate 1e+300 in column 'dim_1' on line 3 {TOO_LARGE}",
    ),
    "huge_array_coordinates": (
        with_line(4, '0,"[0.05, -2e60, 0.35]"', ARRAY),
        InvalidCSVError,
        f"coordinate -2e+60 in column 'embedding' on line 4 {TOO_LARGE}",
    ),
    "binary_junk": (
        bytes(range(256)) * 4,
        InvalidCSVError,
        "not a text CSV file (it holds binary data)",
    ),
    "random_bytes": (
        b"\x01" + np.random.default_rng(0).bytes(4095),
        InvalidCSVError,
        "not a text CSV file (it holds binary data)",
    ),
    "parquet_named_csv": (
        parquet_bytes(),
        InvalidCSVError,
        "not a text CSV file (it is a Parquet file)",
    ),
    "xlsx_named_csv": (
        zip_bytes(),
        InvalidCSVError,
        "not a text CSV file (it is a ZIP archive, e.g. an .xlsx workbook)",
    ),
    "bzip2_compressed": (
        bz2.compress(GOOD.encode()),
        InvalidCSVError,
        "not a text CSV file (it is bzip2-compressed; only gzip compression is read)",
    ),
    "latin1_text": (
        latin1_bytes(),
        InvalidCSVError,
        "not UTF-8 text (byte 0xe9 on line 3 is not valid UTF-8); save the file as UTF-8",
    ),
    "utf16_without_bom": (
        GOOD.encode("utf-16-le"),
        InvalidCSVError,
        "looks like UTF-16 (little-endian) text without a byte-order mark; save the file as UTF-8",
    ),
    "utf16_bom_odd_length": (
        utf16_bad_bytes(),
        InvalidCSVError,
        "starts with a UTF-16 byte-order mark but is not valid UTF-16 (truncated data at byte "
        "offset 470); save the file as UTF-8",
    ),
    "truncated_gzip": (
        gzip.compress(GOOD.encode())[:40],
        InvalidCSVError,
        "cannot decompress gzip file (Compressed file ended before the end-of-stream marker "
        "was reached)",
    ),
    "gzip_of_binary": (
        gzip.compress(bytes(range(256)) * 4),
        InvalidCSVError,
        "not a text CSV file (it holds binary data)",
    ),
    "gzip_of_nothing": (gzip.compress(b""), InvalidCSVError, "file is empty"),
    "gzip_of_one_cluster": (
        gzip.compress(with_labels(["3"] * 12)),
        InsufficientClustersError,
        "needs at least 2 clusters after removing noise (label -1), found 1",
    ),
}


def write(tmp_path, name: str, content: bytes, suffix: str = ".csv"):
    path = tmp_path / f"{name}{suffix}"
    path.write_bytes(content)
    return path


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_input_is_refused_with_its_reason(tmp_path, name):
    content, error_type, message = MALFORMED[name]
    path = write(tmp_path, name, content)
    with pytest.raises(MetricateError) as info:
        load_clustering(path)
    assert type(info.value) is error_type
    assert str(info.value) == f"{path}: {message}"


def test_corpus_is_large_enough():
    assert len(MALFORMED) >= 40


def test_the_overflow_bound_is_the_one_the_message_states():
    assert MAX_ABS_COORDINATE == 1e50
    assert "|x| <= 1e50" in TOO_LARGE


# ---- awkward but valid: read as written ------------------------------------------


def titled_text(separator: str) -> bytes:
    body = [
        f'"{t}"{separator}' + separator.join(r) for t, r in zip(MULTILINE_TITLES, ROWS, strict=True)
    ]
    return text([separator.join(["title", *LINES[0].split(",")]), *body])


# name: (content, suffix, the comma UTF-8 file it must read the same as)
AWKWARD: dict[str, tuple[bytes, str, bytes]] = {
    "semicolon": (GOOD.replace(",", ";").encode(), ".csv", GOOD.encode()),
    "tab": (GOOD.replace(",", "\t").encode(), ".csv", GOOD.encode()),
    "pipe": (GOOD.replace(",", "|").encode(), ".csv", GOOD.encode()),
    "gzip": (gzip.compress(GOOD.encode()), ".csv.gz", GOOD.encode()),
    "gzip_named_csv": (gzip.compress(GOOD.encode()), ".csv", GOOD.encode()),
    "gzip_semicolon_bom": (
        gzip.compress(b"\xef\xbb\xbf" + GOOD.replace(",", ";").encode()),
        ".csv.gz",
        GOOD.encode(),
    ),
    "utf8_bom": (b"\xef\xbb\xbf" + GOOD.encode(), ".csv", GOOD.encode()),
    "utf16_le_bom": (GOOD.encode("utf-16"), ".csv", GOOD.encode()),
    "utf16_be_bom": (b"\xfe\xff" + GOOD.encode("utf-16-be"), ".csv", GOOD.encode()),
    "utf16_tab_bom": (GOOD.replace(",", "\t").encode("utf-16"), ".csv", GOOD.encode()),
    "utf32_bom": (GOOD.encode("utf-32"), ".csv", GOOD.encode()),
    "crlf": (GOOD.replace("\n", "\r\n").encode(), ".csv", GOOD.encode()),
    "cr_only": (GOOD.replace("\n", "\r").encode(), ".csv", GOOD.encode()),
    "cr_only_semicolon_after_blank_lines": (
        b"\r\r" + GOOD.replace(",", ";").replace("\n", "\r").encode(),
        ".csv",
        GOOD.encode(),
    ),
    "blank_lines": (
        text(["", "", *LINES[:5], "", "  ", *LINES[5:], "", ""]),
        ".csv",
        GOOD.encode(),
    ),
    "no_final_newline": (GOOD.rstrip("\n").encode(), ".csv", GOOD.encode()),
    "every_field_quoted": (
        text([",".join(f'"{cell}"' for cell in line.split(",")) for line in LINES]),
        ".csv",
        GOOD.encode(),
    ),
    "multiline_text_semicolon": (titled_text(";"), ".csv", titled_text(",")),
    "array_semicolon_unquoted": (
        text(["cluster;embedding"] + [f"{r[0]};[{r[1]}, {r[2]}, {r[3]}]" for r in ROWS]),
        ".csv",
        ARRAY.encode(),
    ),
    "array_tab_gzip": (
        gzip.compress(
            text(["cluster\tembedding"] + [f"{r[0]}\t[{r[1]} {r[2]} {r[3]}]" for r in ROWS])
        ),
        ".csv.gz",
        text(["cluster,embedding"] + [f'{r[0]},"[{r[1]} {r[2]} {r[3]}]"' for r in ROWS]),
    ),
}


@pytest.mark.parametrize("name", list(AWKWARD))
def test_awkward_input_reads_as_the_comma_utf8_version(tmp_path, name):
    content, suffix, reference = AWKWARD[name]
    path = write(tmp_path, name, content, suffix)
    expected = load_clustering(write(tmp_path, "reference", reference))
    c = load_clustering(path)
    np.testing.assert_array_equal(c.X, expected.X)
    np.testing.assert_array_equal(c.labels, expected.labels)
    assert (c.label_col, c.embedding_cols) == (expected.label_col, expected.embedding_cols)
    assert c.embedding_format == expected.embedding_format
    assert c.array_separator == expected.array_separator
    pd.testing.assert_frame_equal(c.frame, expected.frame)
    assert c.warnings == [] and c.n_dropped == 0
    assert c.content_hash == hashlib.sha256(content).hexdigest()


def test_spaces_after_commas_still_find_the_columns(tmp_path):
    c = load_clustering(write(tmp_path, "spaced", GOOD.replace(",", ", ").encode()))
    reference = load_clustering(write(tmp_path, "plain", GOOD.encode()))
    assert c.label_col == "cluster_id"
    assert c.embedding_cols == [" dim_0", " dim_1", " dim_2"]  # kept as written
    np.testing.assert_array_equal(c.X, reference.X)
    np.testing.assert_array_equal(c.labels, reference.labels)
    assert c.warnings == []


def test_integral_float_labels_are_integers(tmp_path):
    c = load_clustering(write(tmp_path, "f", with_labels([f"{r[0]}.0" for r in ROWS])))
    np.testing.assert_array_equal(c.labels, [int(r[0]) for r in ROWS])


def test_a_nan_row_is_dropped_with_a_warning(tmp_path):
    path = write(tmp_path, "nan", with_cell(5, 2, "nan"))
    c = load_clustering(path)
    assert c.X.shape == (11, 3) and c.n_dropped == 1
    assert c.warnings == [f"{path}: dropped 1 of 12 rows with NaN or infinite embeddings"]


@pytest.mark.parametrize(
    ("name", "content", "n_points", "n_clusters"),
    [
        ("identical_points", with_dims("1.5"), 12, 3),
        ("singleton_cluster", with_labels(["0"] * 6 + ["1"] * 5 + ["7"]), 12, 3),
        ("two_points", text([LINES[0], LINES[1], LINES[5]]), 2, 2),
        ("noise_and_two_clusters", with_labels(["-1"] * 4 + ["1"] * 4 + ["2"] * 4), 8, 2),
        ("two_dimensions", text([",".join(line.split(",")[:3]) for line in LINES]), 12, 3),
    ],
)
def test_degenerate_but_valid_clusterings_load(tmp_path, name, content, n_points, n_clusters):
    """The file format is valid; what the indices cannot compute on such data is theirs to
    report (metrics not computed, with reasons), not the loader's."""
    c = load_clustering(write(tmp_path, name, content))
    assert (c.points.shape[0], c.n_clusters) == (n_points, n_clusters)
    assert c.warnings == []


def test_named_embedding_columns_with_a_bad_cell(tmp_path):
    path = write(tmp_path, "named", with_line(1, "cluster_id,a,b,c").replace(b"5.30", b"?"))
    with pytest.raises(InvalidCSVError) as info:
        load_clustering(path, embedding_cols=["a", "b"])
    assert str(info.value) == f"{path}: embedding column 'b' must hold numbers, found '?' on line 7"


def test_a_coordinate_at_the_bound_is_accepted(tmp_path):
    c = load_clustering(write(tmp_path, "edge", with_cell(3, 2, "-1e50")))
    assert c.X[1, 1] == -MAX_ABS_COORDINATE


# ---- a folder of them: find_inputs, the batch, the command line --------------------


def test_find_inputs_takes_csv_and_gzip_files_of_a_folder(tmp_path):
    for name in ("b.csv", "a.csv.gz", "C.CSV", "d.CSV.GZ", "notes.txt", "e.gz", "f.csv.bak"):
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub.csv").mkdir()
    found = [p.name for p in find_inputs(tmp_path)]
    assert found == ["C.CSV", "a.csv.gz", "b.csv", "d.CSV.GZ"]
    assert find_inputs([tmp_path / "notes.txt"]) == [tmp_path / "notes.txt"]


def test_batch_keeps_every_good_file_and_one_error_per_bad_file(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    bad = {name: write(folder, name, content) for name, (content, _, _) in MALFORMED.items()}
    good = [
        write(folder, "good", GOOD.encode()),
        write(folder, "second", gzip.compress(GOOD.replace(",", ";").encode()), ".csv.gz"),
    ]
    result = metricate.generate_training_data_batch(
        folder, tmp_path / "out", levels=["10pct"], types=["label_swap_random"], jobs=2
    )
    expected_errors = sorted(f"{bad[name]}: {MALFORMED[name][2]}" for name in MALFORMED)
    assert sorted(result.errors) == expected_errors
    files = {Path(f["file"]): f for f in result.metadata["files"]}
    assert set(files) == {*bad.values(), *good}
    for path in bad.values():
        assert (files[path]["status"], files[path]["errors"], files[path]["records"]) == (
            "error",
            1,
            0,
        )
    for path in good:
        assert (files[path]["status"], files[path]["records"]) == ("ok", 2)
        assert files[path]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    table = pd.read_parquet(tmp_path / "out" / "training_data.parquet")
    assert len(table) == 4
    # `second.csv.gz` is the clustering `second`, as `second.csv` would be.
    assert set(table["clustering_name"]) == {"good", "second"}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_cli_evaluate_prints_one_error_line_and_exits_2(tmp_path, name):
    content, _, message = MALFORMED[name]
    path = write(tmp_path, name, content)
    out = CliRunner().invoke(cli, ["evaluate", str(path)])
    assert out.exit_code == 2
    assert out.stderr == f"Error: {path}: {message}\n"
    assert out.stdout == ""


def test_cli_degrade_refuses_huge_coordinates_without_a_traceback(tmp_path):
    path = write(tmp_path, "huge", with_cell(3, 2, "1e300"))
    out = CliRunner().invoke(cli, ["degrade", str(path), str(tmp_path / "out")])
    assert out.exit_code == 2
    assert out.stderr == f"Error: {path}: {MALFORMED['huge_coordinates'][2]}\n"
