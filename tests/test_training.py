"""Training-data generation, locally: schema, normalization, batches, bad files, CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import rankdata
from sklearn.datasets import make_blobs

import metricate
from metricate.metrics import METRICS_BY_NAME
from metricate.options import GenerationOptions, topic_from_name
from metricate.training import (
    COLUMNS,
    METRIC_COLUMNS,
    normalize_metrics,
    process_file,
    read_audit,
)
from metricate.training.normalize import percentile_rank
from metricate.training.reference import MAX_KNOTS, build_reference
from producer.cli import cli

SPEC_LEADING = [
    "clustering_name",
    "topic",
    "n_clusters",
    "n_samples",
    "quality",
    "quality_score",
    "degradation_type",
    "degradation_level",
]
TYPES_IN_ORDER = [
    "label_swap_random",
    "label_swap_neighboring",
    "label_swap_distant",
    "merge_random",
    "merge_nearest",
    "merge_farthest",
    "split_random",
    "split_largest",
    "split_loosest",
    "noise_injection",
    "random_removal",
    "core_removal",
    "boundary_reassignment",
    "remove_smallest_clusters",
    "remove_largest_clusters",
    "remove_tightest_clusters",
    "embedding_perturbation",
    "centroid_displacement",
]


def write_blobs(path, seed=0, n=160, d=4, k=5, noise=0):
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=seed)
    y = y.copy()
    if noise:
        y[:noise] = -1
    frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(d)])
    frame.insert(0, "cluster_id", y)
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def one_file_result(tmp_path_factory):
    # 12 clusters of 50: every type gives four distinct clusterings at the default levels.
    folder = tmp_path_factory.mktemp("one")
    path = write_blobs(folder / "news_clustering.csv", n=600, k=12, noise=5)
    return metricate.generate_training_data(path)


# ---- schema and rows ----------------------------------------------------------------


def test_one_clean_file_gives_73_rows_and_80_columns_in_spec_order(one_file_result):
    frame = one_file_result.to_dataframe()
    assert frame.shape == (73, 80)
    assert list(frame.columns) == SPEC_LEADING + list(METRIC_COLUMNS) + [
        "metrics_computed",
        "metrics_failed",
    ] + [f"{m}_norm" for m in METRIC_COLUMNS] + [
        "achieved_fraction",
        "points_affected",
        "n_dims",
        "variant_kind",
        "metrics_sampled",
        "pair_sample_size",
    ]
    assert list(frame.columns) == list(COLUMNS)
    assert one_file_result.n_originals == 1 and one_file_result.n_degraded == 72
    assert one_file_result.errors == []


def test_rows_ordered_original_then_types_then_levels(one_file_result):
    frame = one_file_result.to_dataframe()
    assert frame["degradation_type"].isna().iloc[0]
    expected = [(t, lv) for t in TYPES_IN_ORDER for lv in ("5pct", "10pct", "25pct", "50pct")]
    got = list(zip(frame["degradation_type"][1:], frame["degradation_level"][1:], strict=True))
    assert got == expected


def test_quality_and_quality_score(one_file_result):
    frame = one_file_result.to_dataframe()
    assert frame["quality"].tolist() == [1] + [0] * 72
    assert frame["quality_score"].iloc[0] == 1.0
    # Labelled with what was done: 1 - the achieved fraction, exactly.
    assert (frame["quality_score"] == 1.0 - frame["achieved_fraction"]).all()
    # Label swaps relabel exactly the budget, round(f * 595) points.
    swaps = frame[frame["degradation_type"] == "label_swap_random"]
    assert swaps["points_affected"].tolist() == [30, 60, 149, 298]
    assert swaps["quality_score"].tolist() == [1 - m / 595 for m in (30, 60, 149, 298)]
    # A merge moves whole clusters of 50: 5pct asks for 30 points, relabels 50.
    merge = frame[(frame["degradation_type"] == "merge_nearest")].iloc[0]
    assert merge["degradation_level"] == "5pct" and merge["points_affected"] == 50
    assert merge["quality_score"] == 1 - 50 / 595


def test_audit_columns_say_what_each_version_is(one_file_result):
    frame = one_file_result.to_dataframe()
    first = frame.iloc[0]
    assert (first["achieved_fraction"], first["points_affected"]) == (0.0, 0)
    assert first["variant_kind"] == "original"
    assert (frame["n_dims"] == 4).all()
    kinds = dict(zip(frame["degradation_type"][1:], frame["variant_kind"][1:], strict=True))
    assert kinds["label_swap_distant"] == "labels" and kinds["boundary_reassignment"] == "labels"
    assert kinds["merge_random"] == "structure" and kinds["split_loosest"] == "structure"
    assert kinds["core_removal"] == "subset" and kinds["remove_largest_clusters"] == "subset"
    assert kinds["noise_injection"] == "coordinates"
    assert kinds["centroid_displacement"] == "coordinates"
    assert str(frame.dtypes["points_affected"]) == "Int64"
    assert str(frame.dtypes["variant_kind"]) == "string"


def test_no_two_versions_of_a_file_share_all_raw_values(tmp_path):
    # Small clusters make merges, splits and removals coincide across levels.
    paths = [
        write_blobs(tmp_path / "coarse.csv", n=160, k=5),
        write_blobs(tmp_path / "two.csv", n=200, k=2, seed=3),
    ]
    batch = metricate.generate_training_data_batch(paths)
    frame = batch.to_dataframe()
    for name, rows in frame.groupby("clustering_name"):
        assert not rows.duplicated(list(METRIC_COLUMNS)).any(), name
    dropped = [w for w in batch.warnings if "it gives the same clustering as @" in w]
    assert dropped and all(w.split(": ")[0] in map(str, paths) for w in dropped)


def test_original_row_counts_exclude_noise(one_file_result):
    first = one_file_result.to_dataframe().iloc[0]
    assert first["n_samples"] == 595 and first["n_clusters"] == 12
    assert first["clustering_name"] == "news_clustering" and first["topic"] == "news"


def test_column_types(one_file_result):
    dtypes = one_file_result.to_dataframe().dtypes
    assert str(dtypes["n_clusters"]) == "Int64" and str(dtypes["quality"]) == "Int64"
    assert str(dtypes["Silhouette"]) == "float64" and str(dtypes["Silhouette_norm"]) == "float64"
    assert str(dtypes["topic"]) == "string"


def test_norm_columns_in_unit_interval_best_raw_value_at_one(one_file_result):
    frame = one_file_result.to_dataframe()
    for name in METRIC_COLUMNS:
        raw, norm = frame[name], frame[f"{name}_norm"]
        assert (raw.isna() == norm.isna()).all(), name
        if raw.notna().sum() < 2:
            continue
        assert norm.min() >= 0.0 and norm.max() <= 1.0, name
        higher = METRICS_BY_NAME[name].direction == "higher"
        best_value = raw.max() if higher else raw.min()
        at_best = raw == best_value
        assert (norm[at_best] == norm.max()).all(), name
        if at_best.sum() == 1:
            assert norm[at_best].iloc[0] == 1.0, name


def test_metrics_failed_and_computed_agree(one_file_result):
    frame = one_file_result.to_dataframe()
    for _, row in frame.iterrows():
        failed = [n for n in METRIC_COLUMNS if pd.isna(row[n])]
        assert row["metrics_failed"] == ",".join(failed)
        assert row["metrics_computed"] == 32 - len(failed)


# ---- normalization ----------------------------------------------------------------


def test_normalize_exact_percentile_ranks_with_ties_and_direction():
    df = pd.DataFrame(
        {
            "Silhouette": [0.1, 0.5, 0.5, np.nan, 0.9],
            "Davies-Bouldin": [3.0, 1.0, 2.0, 2.0, np.nan],
            "SSE": [np.nan, 7.0, np.nan, np.nan, np.nan],
            "Dunn Index": [np.nan] * 5,
        }
    )
    out = normalize_metrics(df, ["Silhouette", "Davies-Bouldin", "SSE", "Dunn Index"])
    # Silhouette ranks 1, 2.5, 2.5, -, 4 of m = 4 -> (r - 1) / 3
    assert out["Silhouette_norm"].tolist()[:3] == [0.0, 0.5, 0.5]
    assert np.isnan(out["Silhouette_norm"][3]) and out["Silhouette_norm"][4] == 1.0
    # Davies-Bouldin (lower is better): ranks 4, 1, 2.5, 2.5 -> 1 - (r - 1) / 3
    assert out["Davies-Bouldin_norm"].tolist()[:4] == [0.0, 1.0, 0.5, 0.5]
    # one value -> 0.5
    assert out["SSE_norm"][1] == 0.5 and out["SSE_norm"].isna().sum() == 4
    # no value -> none
    assert out["Dunn Index_norm"].isna().all()
    # every column as ranked alone
    for name in ["Silhouette", "Davies-Bouldin", "SSE", "Dunn Index"]:
        higher = METRICS_BY_NAME[name].direction == "higher"
        alone = percentile_rank(df[name], higher)
        assert alone.equals(out[f"{name}_norm"].rename(name))


def test_normalization_ranks_each_row_among_every_file_of_the_run(tmp_path):
    for i in range(2):
        write_blobs(tmp_path / f"f{i}.csv", seed=i)
    batch = metricate.generate_training_data_batch(tmp_path, levels=["10pct"])
    frame = batch.to_dataframe()
    assert len(frame) == 2 + batch.metadata["variants_produced"]
    # Reference: scipy's average ranks over all present values of the run, scaled to
    # [0, 1] and turned around for lower-is-better indices.
    for name in METRIC_COLUMNS:
        values = frame[name].to_numpy(dtype=float)
        present = ~np.isnan(values)
        ranks = rankdata(values[present])
        scaled = (ranks - 1) / (present.sum() - 1)
        if METRICS_BY_NAME[name].direction == "lower":
            scaled = 1 - scaled
        np.testing.assert_allclose(frame[f"{name}_norm"].to_numpy()[present], scaled, rtol=1e-12)
        assert frame[f"{name}_norm"][~present].isna().all()
    # Ranked within one file alone, f0's values would differ: the run is the reference.
    alone = metricate.generate_training_data_batch(tmp_path / "f0.csv", levels=["10pct"])
    first = frame[frame["clustering_name"] == "f0"].reset_index(drop=True)
    assert not np.allclose(
        alone.to_dataframe()["Silhouette_norm"].to_numpy(), first["Silhouette_norm"].to_numpy()
    )


# ---- determinism ---------------------------------------------------------------------


def test_same_output_with_one_or_two_jobs_and_any_file_order(tmp_path):
    paths = [write_blobs(tmp_path / f"set{i}.csv", seed=i) for i in range(3)]
    kwargs = {"levels": ["5pct", "50pct"]}
    one = metricate.generate_training_data_batch(paths, jobs=1, **kwargs).to_dataframe()
    two = metricate.generate_training_data_batch(paths[::-1], jobs=2, **kwargs).to_dataframe()
    pd.testing.assert_frame_equal(one, two)


# ---- bad files ------------------------------------------------------------------------


def test_bad_files_become_errors_and_good_rows_stay(tmp_path):
    good = write_blobs(tmp_path / "good.csv")
    (tmp_path / "empty.csv").write_text("")
    X, _ = make_blobs(n_samples=30, n_features=3, centers=1, random_state=0)
    one = pd.DataFrame(X, columns=["dim_0", "dim_1", "dim_2"])
    one["cluster_id"] = 0
    one.to_csv(tmp_path / "one_cluster.csv", index=False)
    one.drop(columns="cluster_id").to_csv(tmp_path / "no_label.csv", index=False)
    batch = metricate.generate_training_data_batch(tmp_path, levels=["25pct"])
    assert len(batch.records) == 19
    assert {r["clustering_name"] for r in batch.records} == {"good"}
    assert len(batch.errors) == 3
    for name, problem in (
        ("empty", "empty"),
        ("one_cluster", "at least 2 clusters"),
        ("no_label", "no label column"),
    ):
        (line,) = [e for e in batch.errors if f"{name}.csv" in e]
        assert problem in line
    statuses = {f["file"].split("/")[-1]: f["status"] for f in batch.metadata["files"]}
    assert statuses == {
        "good.csv": "ok",
        "empty.csv": "error",
        "one_cluster.csv": "error",
        "no_label.csv": "error",
    }
    assert str(good) in [f["file"] for f in batch.metadata["files"]]


def test_cli_batch_with_bad_file_exits_nonzero_and_writes_whole_output(tmp_path):
    write_blobs(tmp_path / "good.csv")
    (tmp_path / "empty.csv").write_text("")
    out = tmp_path / "out" / "train.parquet"
    run = CliRunner().invoke(
        cli, ["generate", str(tmp_path), "-o", str(out), "--levels", "50pct", "--jobs", "1"]
    )
    assert run.exit_code == 1, run.output
    table = pd.read_parquet(out)
    assert len(table) == 19
    audit = json.loads((out.parent / "train.parquet.run.json").read_text())
    assert audit == read_audit(out)
    assert any("empty.csv" in e for e in audit["errors"])
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(".")] == []


def test_cli_missing_input_is_a_one_line_error(tmp_path):
    run = CliRunner().invoke(cli, ["generate", str(tmp_path / "nope.csv"), "-o", "x.parquet"])
    assert run.exit_code == 2
    assert run.stderr.strip().startswith("Error: input not found")


def test_cli_csv_output_and_plain_progress_lines(tmp_path):
    write_blobs(tmp_path / "a.csv", n=600, k=12)  # every type gives a variant at 5pct
    out = tmp_path / "a_out.csv"
    run = CliRunner().invoke(
        cli, ["generate", str(tmp_path / "a.csv"), "-o", str(out), "--levels", "5pct"]
    )
    assert run.exit_code == 0, run.output
    assert "[1/1] " in run.stderr and "ok, 19 rows" in run.stderr
    assert "19 rows: 1 original, 18 degraded versions" in run.stdout
    assert "1 of 1 file processed" in run.stdout
    assert run.stdout.strip().endswith(f"wrote {out} and {out}.run.json")
    assert "running 1 file here on " in run.stderr
    frame = pd.read_csv(out)
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 19


# ---- topics and metadata ----------------------------------------------------------------


@pytest.mark.parametrize(
    "stem,topic",
    [
        ("politics_clustering", "politics"),
        ("sports_data_v2", "sports"),
        ("a_dataset_clusters", "a"),
        ("plain", "plain"),
        ("x_clusters_data", "x"),
    ],
)
def test_topic_from_file_name(stem, topic):
    assert topic_from_name(f"/some/dir/{stem}.csv") == topic


def test_topic_given_explicitly_or_from_a_map(tmp_path):
    a = write_blobs(tmp_path / "a_clustering.csv")
    b = write_blobs(tmp_path / "b_clustering.csv", seed=1)
    batch = metricate.generate_training_data_batch(
        [a, b], levels=["50pct"], topic_mapping={"a_clustering.csv": "politics"}
    )
    topics = {r["clustering_name"]: r["topic"] for r in batch.records}
    assert topics == {"a_clustering": "politics", "b_clustering": "b"}
    single = metricate.generate_training_data(a, levels=["50pct"], topic="economy")
    assert {r["topic"] for r in single.records} == {"economy"}


def test_metadata_can_reproduce_and_audit_the_run(tmp_path):
    path = write_blobs(tmp_path / "m.csv")
    result = metricate.generate_training_data(
        path, tmp_path / "out", levels=["50pct"], exclude=["SSE"], random_seed=7
    )
    meta = read_audit(tmp_path / "out" / "training_data.parquet")["metadata"]
    assert meta["parameters"]["random_seed"] == 7
    assert meta["parameters"]["exclude"] == ["SSE"]
    assert meta["parameters"]["levels"] == ["50pct"]
    assert meta["version"] == metricate.__version__
    (entry,) = meta["files"]
    assert len(entry["sha256"]) == 64 and entry["records"] == 19
    assert set(entry["timing"]) >= {"load", "degrade", "evaluate", "total"}
    assert meta["variants_attempted"] == 18
    assert result.metadata["run_id"] == meta["run_id"]
    assert all(np.isnan(r["SSE"]) for r in result.records)


def test_process_file_never_raises_for_bad_data(tmp_path):
    (tmp_path / "bad.csv").write_text("a,b\n1,2\n")
    outcome = process_file(tmp_path / "bad.csv", GenerationOptions.parse())
    assert outcome.status == "error" and outcome.records == []
    assert "no label column" in outcome.errors[0]


def test_file_outcome_round_trips_through_json(tmp_path):
    path = write_blobs(tmp_path / "j.csv")
    outcome = process_file(path, GenerationOptions.parse(levels="50pct"))
    again = type(outcome).from_dict(json.loads(json.dumps(outcome.to_dict())))
    assert again.file == outcome.file and len(again.records) == len(outcome.records)
    for a, b in zip(again.records, outcome.records, strict=True):
        for key, value in b.items():
            if isinstance(value, float) and np.isnan(value):
                assert np.isnan(a[key])
            else:
                assert a[key] == value


def test_outputs_get_the_usual_file_mode(tmp_path):
    import os
    import stat

    path = write_blobs(tmp_path / "p.csv")
    metricate.generate_training_data(path, tmp_path / "out", levels=["50pct"])
    umask = os.umask(0)
    os.umask(umask)
    for name in ("training_data.parquet", "training_data.parquet.run.json"):
        mode = stat.S_IMODE((tmp_path / "out" / name).stat().st_mode)
        assert mode == 0o666 & ~umask


# ---- normalization against a stored reference -----------------------------------------


def test_a_runs_own_rows_normalized_against_its_reference_get_their_norm_back(tmp_path):
    for i in range(2):
        write_blobs(tmp_path / f"r{i}.csv", seed=i, n=300, k=6)
    out = tmp_path / "run.parquet"
    metricate.generate_training_data_batch(tmp_path, levels=["10pct", "50pct"]).write(out)
    table = pd.read_parquet(out)
    for source in (out, tmp_path / "run.parquet.run.json"):
        again = normalize_metrics(table[list(METRIC_COLUMNS)], reference=source)
        for name in METRIC_COLUMNS:
            np.testing.assert_allclose(
                again[f"{name}_norm"].to_numpy(dtype=float),
                table[f"{name}_norm"].to_numpy(dtype=float),
                rtol=0,
                atol=1e-12,
                err_msg=name,
            )


def test_a_lone_clustering_is_ranked_against_a_reference_run(tmp_path):
    for i in range(2):
        write_blobs(tmp_path / f"r{i}.csv", seed=i, n=300, k=6)
    out = tmp_path / "run.parquet"
    metricate.generate_training_data_batch(tmp_path, levels=["10pct", "50pct"]).write(out)
    table = pd.read_parquet(out)
    new = write_blobs(tmp_path / "new.csv", seed=7, n=300, k=6)
    alone = metricate.evaluate(new, reference=out)
    silhouette = alone["Silhouette"].value
    values = table["Silhouette"].dropna().sort_values().to_numpy()
    # Between its neighbours in the run, linearly; a good clustering ranks high.
    below, above = values[values < silhouette], values[values > silhouette]
    expected = np.interp(
        silhouette,
        values,
        (np.arange(values.size)) / (values.size - 1),
    )
    assert len(below) and len(above)
    assert alone.normalized["Silhouette"] == pytest.approx(expected, abs=1e-9)
    assert alone.normalized["Silhouette"] > 0.5
    # Davies-Bouldin: lower is better, so the normalized value is turned around too.
    assert 0.0 <= alone.normalized["Davies-Bouldin"] <= 1.0
    run = CliRunner().invoke(
        cli, ["evaluate", str(new), "--reference", str(out), "--format", "json"]
    )
    assert run.exit_code == 0, run.output
    entries = {m["name"]: m for m in json.loads(run.stdout)["metrics"]}
    assert entries["Silhouette"]["normalized"] == pytest.approx(expected, abs=1e-9)
    bad = CliRunner().invoke(cli, ["evaluate", str(new), "--reference", str(new)])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: ")


def test_a_large_runs_reference_reproduces_its_norm_within_a_thousandth():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(size=20_000), np.full(5_000, 0.25)])  # many ties
    table = pd.DataFrame({"Silhouette": values, "Davies-Bouldin": rng.gamma(2.0, size=25_000)})
    own = normalize_metrics(table)
    reference = build_reference(table, ["Silhouette", "Davies-Bouldin"])
    for name in ("Silhouette", "Davies-Bouldin"):
        assert len(reference["metrics"][name]["values"]) <= 2 * MAX_KNOTS
        again = normalize_metrics(table, [name], reference=reference)[f"{name}_norm"]
        assert np.abs(again.to_numpy() - own[f"{name}_norm"].to_numpy()).max() < 1e-3


def test_a_closed_pipe_ends_the_command_quietly_with_exit_0():
    for command in ("list metrics", "list degradations"):
        done = subprocess.run(
            [
                "bash",
                "-c",
                f"{sys.executable} -m producer.cli {command} | head -1 >/dev/null;"
                " echo ${PIPESTATUS[0]}",
            ],
            cwd=Path(__file__).resolve().parent.parent,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.stdout.strip(), done.stderr) == ("0", ""), command


# ---- above large_n --------------------------------------------------------------------


def test_above_large_n_the_table_says_which_values_come_from_the_shared_sample(tmp_path):
    from metricate.degradations import VariantPlan, build_variants
    from metricate.degradations.seeding import file_identity, pair_sample_seed
    from metricate.io.load import load_clustering
    from metricate.metrics import INTERNAL_METRICS, PointSet
    from metricate.metrics.sampling import stratified_sample

    path = write_blobs(tmp_path / "big.csv", n=300, k=5)
    types = ["label_swap_random", "random_removal", "noise_injection", "embedding_perturbation"]
    frame = metricate.generate_training_data_batch(
        path, types=types, levels=["10pct"], large_n=200
    ).to_dataframe()
    pair_based = [m.name for m in INTERNAL_METRICS if m.needs_pairs]
    assert len(pair_based) == 12
    assert (frame["metrics_sampled"] == ",".join(pair_based)).all()
    by_type = frame.set_index(frame["degradation_type"].fillna("original"))
    assert by_type.loc["original", "pair_sample_size"] == 200
    assert by_type.loc["embedding_perturbation", "pair_sample_size"] == 200
    assert by_type.loc["noise_injection", "pair_sample_size"] == 200
    assert 150 < by_type.loc["random_removal", "pair_sample_size"] < 200

    # The sample is drawn once, from the run seed and the file, and the versions on the
    # original's points (moved or not) are scored on those same points.
    clustering = load_clustering(path)
    identity = file_identity(clustering.content_hash, clustering.X, clustering.labels)
    sample = stratified_sample(clustering.labels, 200, pair_sample_seed(42, identity))
    variants, _ = build_variants(clustering, VariantPlan.parse(types, ["10pct"]))
    by_name = {v.type: v for v in variants}
    X, y = clustering.X, clustering.labels
    expected = {
        "original": PointSet(X[sample]).evaluate(y[sample]),
        "label_swap_random": PointSet(X[sample]).evaluate(
            by_name["label_swap_random"].labels[sample]
        ),
        "embedding_perturbation": PointSet(by_name["embedding_perturbation"].X[sample]).evaluate(
            by_name["embedding_perturbation"].labels[sample]
        ),
    }
    for version, result in expected.items():
        for name in ("Silhouette", "Gamma", "Dunn Index", "Tau"):
            assert by_type.loc[version, name] == result[name].value, (version, name)
    # Indices that need no pairs stay exact on every point.
    everything = PointSet(X).evaluate(y)
    assert by_type.loc["original", "Calinski-Harabasz"] == everything["Calinski-Harabasz"].value
    # `evaluate` samples the same points as `generate` with the default seed.
    alone = metricate.evaluate(path, large_n=200)
    assert alone.metadata["pair_sample_size"] == 200
    assert alone.metadata["metrics_sampled"] == pair_based
    for name in pair_based:
        assert alone[name].value == by_type.loc["original", name] or (
            np.isnan(alone[name].value) and np.isnan(by_type.loc["original", name])
        ), name
