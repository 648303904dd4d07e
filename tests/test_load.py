"""Loading clusterings: formats, detection, and every bad-input case of the spec."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import make_blobs

import metricate
from metricate import (
    ColumnNotFoundError,
    InsufficientClustersError,
    InvalidCSVError,
    MetricateError,
    load_clustering,
)
from producer.cli import cli


@pytest.fixture
def points():
    X, y = make_blobs(n_samples=60, n_features=3, centers=3, random_state=0)
    return X, y


def write_columns(path, X, y, label="cluster_id", prefix="dim_", extra=True):
    frame = pd.DataFrame(X, columns=[f"{prefix}{i}" for i in range(X.shape[1])])
    frame.insert(0, label, y)
    if extra:
        frame.insert(0, "title", [f"doc {i}" for i in range(len(y))])
        frame["score"] = np.arange(len(y), dtype=float)
    frame.to_csv(path, index=False)
    return path


def write_array(path, X, y, separator=", ", column="embedding"):
    texts = ["[" + separator.join(repr(float(v)) for v in row) + "]" for row in X]
    pd.DataFrame({"cluster": y, column: texts}).to_csv(path, index=False)
    return path


def test_numeric_columns_detected_and_other_numeric_columns_ignored(tmp_path, points):
    X, y = points
    c = load_clustering(write_columns(tmp_path / "a.csv", X, y))
    assert c.embedding_cols == ["dim_0", "dim_1", "dim_2"]
    assert c.embedding_format == "columns"
    assert c.label_col == "cluster_id"
    np.testing.assert_array_equal(c.X, X)
    np.testing.assert_array_equal(c.labels, y)
    assert c.warnings == []


@pytest.mark.parametrize("separator", [", ", " ", ","])
def test_string_array_embeddings_with_commas_or_spaces(tmp_path, points, separator):
    X, y = points
    c = load_clustering(write_array(tmp_path / "a.csv", X, y, separator))
    assert c.embedding_format == "array" and c.embedding_cols == ["embedding"]
    np.testing.assert_array_equal(c.X, X)
    np.testing.assert_array_equal(c.labels, y)


@pytest.mark.parametrize("name", ["Cluster_ID", "LABEL", "group_id", "assignment", "new_cluster"])
def test_label_column_detected_case_insensitively(tmp_path, points, name):
    X, y = points
    assert load_clustering(write_columns(tmp_path / "a.csv", X, y, label=name)).label_col == name


def test_label_detection_follows_the_spec_order(tmp_path, points):
    X, y = points
    frame = pd.DataFrame(X, columns=["x_0", "x_1", "x_2"])
    frame["label"] = y
    frame["cluster"] = y
    frame.to_csv(tmp_path / "a.csv", index=False)
    assert load_clustering(tmp_path / "a.csv").label_col == "cluster"


@pytest.mark.parametrize("prefix", ["x_", "emb", "pc_", "umap_", "tsne_", "component_", "reduced_"])
def test_dimension_column_patterns(tmp_path, points, prefix):
    X, y = points
    c = load_clustering(write_columns(tmp_path / "a.csv", X, y, prefix=prefix))
    assert c.embedding_cols == [f"{prefix}{i}" for i in range(3)]


def test_dimension_columns_ordered_by_index(tmp_path, points):
    X, y = make_blobs(n_samples=30, n_features=12, centers=2, random_state=0)
    frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(12)])
    frame = frame[[f"dim_{i}" for i in (10, 2, 11, 0, 1, 3, 4, 5, 6, 7, 8, 9)]]
    frame["label"] = y
    frame.to_csv(tmp_path / "a.csv", index=False)
    c = load_clustering(tmp_path / "a.csv")
    assert c.embedding_cols == [f"dim_{i}" for i in range(12)]
    np.testing.assert_array_equal(c.X, X)


def test_unnamed_numeric_columns_used_with_a_warning(tmp_path, points):
    X, y = points
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    frame["label"] = y
    frame.to_csv(tmp_path / "a.csv", index=False)
    c = load_clustering(tmp_path / "a.csv")
    assert c.embedding_cols == ["a", "b", "c"]
    assert "using all 3 numeric columns" in c.warnings[0]


def test_explicit_columns(tmp_path, points):
    X, y = points
    path = write_columns(tmp_path / "a.csv", X, y)
    c = load_clustering(path, label_col="cluster_id", embedding_cols=["dim_2", "dim_0"])
    np.testing.assert_array_equal(c.X, X[:, [2, 0]])


def test_noise_kept_in_rows_and_counted(tmp_path, points):
    X, y = points
    y = y.copy()
    y[:5] = -1
    c = load_clustering(write_columns(tmp_path / "a.csv", X, y))
    assert c.n_noise == 5 and c.points.shape == (55, 3)
    result = metricate.evaluate(tmp_path / "a.csv")
    assert result.metadata["n_noise"] == 5 and result.metadata["n_samples"] == 55


def test_nan_and_inf_rows_dropped_with_a_counting_warning(tmp_path, points):
    X, y = points
    X = X.copy()
    X[3, 1] = np.nan
    X[7, 0] = np.inf
    c = load_clustering(write_columns(tmp_path / "a.csv", X, y))
    assert c.X.shape == (58, 3) and c.n_dropped == 2 and len(c.frame) == 58
    assert "dropped 2 of 60 rows with NaN or infinite embeddings" in c.warnings[0]
    assert str(tmp_path / "a.csv") in c.warnings[0]


# ---- bad input: type and one-line message naming the file ------------------------


def check_error(error_type, pattern, path, **kw):
    with pytest.raises(error_type, match=pattern) as info:
        load_clustering(path, **kw)
    message = str(info.value)
    assert str(path) in message and "\n" not in message
    assert isinstance(info.value, MetricateError)


def test_missing_file(tmp_path):
    check_error(InvalidCSVError, "file not found", tmp_path / "nope.csv")


def test_empty_file(tmp_path):
    (tmp_path / "e.csv").write_text("")
    check_error(InvalidCSVError, "file is empty", tmp_path / "e.csv")


def test_header_only(tmp_path):
    (tmp_path / "h.csv").write_text("cluster_id,dim_0,dim_1\n")
    check_error(InvalidCSVError, "no rows", tmp_path / "h.csv")


def test_unparsable_csv(tmp_path):
    (tmp_path / "u.csv").write_text('cluster_id,dim_0,dim_1\n1,2,3\n1,"2,3\n4,5,6,7,8\n')
    check_error(InvalidCSVError, "cannot parse CSV", tmp_path / "u.csv")


def test_binary_file(tmp_path):
    (tmp_path / "b.csv").write_bytes(bytes(range(256)) * 4)
    check_error(InvalidCSVError, "not a text CSV file", tmp_path / "b.csv")


def test_no_label_column(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", X, y, label="topic_id")
    check_error(ColumnNotFoundError, "no label column", tmp_path / "a.csv")


def test_named_label_column_missing(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", X, y)
    check_error(ColumnNotFoundError, "'kmeans' not found", tmp_path / "a.csv", label_col="kmeans")


def test_non_integer_labels(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", X, y + 0.5)
    check_error(InvalidCSVError, "must hold integers", tmp_path / "a.csv")


def test_text_labels(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", X, np.array(["a", "b", "c"])[y])
    check_error(InvalidCSVError, "must hold integers", tmp_path / "a.csv")


def test_fewer_than_two_dimensions(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", X[:, :1], y, extra=False)
    check_error(InvalidCSVError, "at least 2 dimensions, found 1", tmp_path / "a.csv")


def test_no_embedding_columns(tmp_path, points):
    _, y = points
    pd.DataFrame({"cluster_id": y, "title": ["t"] * len(y)}).to_csv(tmp_path / "a.csv", index=False)
    check_error(ColumnNotFoundError, "no embedding columns", tmp_path / "a.csv")


def test_fewer_than_two_clusters_after_noise(tmp_path, points):
    X, y = points
    labels = np.where(y == 0, 0, -1)
    write_columns(tmp_path / "a.csv", X, labels)
    check_error(InsufficientClustersError, "at least 2 clusters.*found 1", tmp_path / "a.csv")


def test_ragged_string_arrays(tmp_path, points):
    X, y = points
    write_array(tmp_path / "a.csv", X, y)
    text = (tmp_path / "a.csv").read_text().splitlines()
    text[5] = text[5].replace("]", ", 1.0]")
    (tmp_path / "a.csv").write_text("\n".join(text) + "\n")
    check_error(
        InvalidCSVError, "ragged embeddings.*line 2 has 3 values, line 6 has 4", tmp_path / "a.csv"
    )


def test_all_rows_non_finite(tmp_path, points):
    X, y = points
    write_columns(tmp_path / "a.csv", np.full_like(X, np.nan), y)
    check_error(
        InvalidCSVError,
        "every row has NaN or infinite embeddings \\(60 rows\\)",
        tmp_path / "a.csv",
    )


# ---- evaluate() and the CLI --------------------------------------------------------


def test_evaluate_returns_metadata_and_serialises(tmp_path, points):
    X, y = points
    path = write_columns(tmp_path / "a.csv", X, y)
    result = metricate.evaluate(path)
    meta = result.metadata
    assert meta["n_samples"] == 60 and meta["n_clusters"] == 3 and meta["n_dimensions"] == 3
    assert len(meta["sha256"]) == 64
    frame = result.to_dataframe()
    assert list(frame.columns) == [
        "name",
        "value",
        "direction",
        "range",
        "kind",
        "computed",
        "reason",
    ]
    assert len(frame) == 32
    data = json.loads(result.to_json())
    assert data["metrics"][0]["name"] == "Silhouette"
    assert data["metrics_computed"] == result.metrics_computed


def test_evaluate_with_reference_column_adds_external_indices(tmp_path, points):
    X, y = points
    path = write_columns(tmp_path / "a.csv", X, y)
    frame = pd.read_csv(path)
    frame["truth"] = y
    frame.to_csv(path, index=False)
    result = metricate.evaluate(path, reference_col="truth")
    assert result["Adjusted Rand Index"].value == 1.0
    assert len(result.metrics) == 36


def test_cli_evaluate_json(tmp_path, points):
    X, y = points
    path = write_columns(tmp_path / "a.csv", X, y)
    out = CliRunner().invoke(
        cli, ["evaluate", str(path), "--format", "json", "--exclude", "SSE,Gamma"]
    )
    assert out.exit_code == 0, out.output
    data = json.loads(out.stdout)
    assert data["metrics_failed"] == ["SSE", "Gamma"]


def test_cli_evaluate_csv_and_table(tmp_path, points):
    X, y = points
    path = write_columns(tmp_path / "a.csv", X, y)
    out = CliRunner().invoke(cli, ["evaluate", str(path), "--format", "csv"])
    assert out.exit_code == 0 and out.stdout.splitlines()[1].startswith("Silhouette,")
    out = CliRunner().invoke(cli, ["evaluate", str(path)])
    assert out.exit_code == 0 and "Calinski-Harabasz" in out.stdout


def test_cli_bad_input_is_one_line_and_nonzero(tmp_path):
    out = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "missing.csv")])
    assert out.exit_code == 2
    assert out.stderr.strip() == f"Error: {tmp_path / 'missing.csv'}: file not found"


def test_cli_list_metrics_lists_all_36_in_order():
    out = CliRunner().invoke(cli, ["list", "metrics"])
    assert out.exit_code == 0
    lines = out.stdout.splitlines()[1:]
    assert len(lines) == 36
    assert lines[0].split()[1] == "Silhouette" and "Omega" in lines[-1]
