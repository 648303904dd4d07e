"""`metricate train` and `metricate score`: the model, its file, its scores."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.datasets import make_blobs

import metricate
from metricate.analysis import index_report, read_model, read_training_table, score, train_model
from metricate.errors import InvalidOptionError
from metricate.training import METRIC_COLUMNS
from metricate.training.reference import load_reference
from producer.cli import cli

TYPES = ["label_swap_random", "merge_random", "random_removal", "embedding_perturbation"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    for seed in range(4):
        X, y = make_blobs(n_samples=200, n_features=4, centers=5, random_state=seed)
        frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(4)])
        frame.insert(0, "cluster_id", y)
        frame.to_csv(folder / f"set{seed}_clustering.csv", index=False)
    batch = metricate.generate_training_data_batch(
        sorted(folder.glob("*.csv")),
        types=TYPES,
        levels=["10pct", "50pct"],
        degraded_dir=folder / "degraded",
    )
    batch.write(folder / "training.parquet")
    return folder


def test_the_model_is_held_out_by_file_and_leaves_subsets_out(corpus):
    table = read_training_table(corpus / "training.parquet")
    model = train_model(table, load_reference(corpus / "training.parquet"))
    used = table[table["variant_kind"] != "subset"].reset_index(drop=True)
    assert model.cv["rows"] == len(used) and model.cv["files"] == 4 and model.cv["folds"] == 4
    assert model.features == list(METRIC_COLUMNS) and len(model.coefficients) == 32
    for figure in ("pairwise_accuracy", "auc", "spearman"):
        assert 0 <= model.cv["model"][figure] <= 1 or figure == "spearman"
    # The best single index's figures are the report's on the same rows.
    best = model.cv["best_single_index"]
    report = index_report(used)
    assert best["pairwise_accuracy"] == report.indices["pairwise_accuracy"].max()
    assert best["auc"] == pytest.approx(report.indices.loc[best["name"], "auc"])
    everything = train_model(table, model.reference, kinds=("labels", "structure", "subset"))
    assert everything.cv["rows"] == int((table["variant_kind"] != "coordinates").sum())


def test_a_model_file_scores_the_same_after_a_round_trip(corpus, tmp_path):
    table = read_training_table(corpus / "training.parquet")
    model = train_model(table, load_reference(corpus / "training.parquet"))
    model.write(tmp_path / "m.json")
    again = read_model(tmp_path / "m.json")
    assert again.coefficients == model.coefficients and again.intercept == model.intercept
    path = corpus / "set0_clustering.csv"
    first, second = score(path, model), metricate.score(path, tmp_path / "m.json")
    assert first.score == second.score
    # The score is the logistic of intercept + coefficients . _norm values, checked
    # against evaluate's own normalized values.
    normalized = metricate.evaluate(path, reference=model.reference).normalized
    x = np.array([normalized[f] for f in model.features], dtype=float)
    x = np.where(np.isfinite(x), x, 0.5)
    logit = model.intercept + float(np.dot(model.coefficients, x))
    assert first.score == pytest.approx(1 / (1 + math.exp(-logit)), rel=1e-12)
    assert list(first.contributions)[0] in model.features


def test_an_original_scores_above_its_half_relabelled_version(corpus, tmp_path):
    table = read_training_table(corpus / "training.parquet")
    model = train_model(table, load_reference(corpus / "training.parquet"))
    for seed in range(4):
        original = score(corpus / f"set{seed}_clustering.csv", model).score
        swapped = corpus / "degraded" / f"set{seed}_clustering" / "label_swap_random_50pct.csv"
        assert original > score(swapped, model).score, seed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ('{"format": "other"}', "format is not"),
        ('{"format": "metricate-quality-model/1", "features": ["Silhouette"]}', "damaged"),
    ],
)
def test_bad_model_files_are_one_line_errors(tmp_path, text, message):
    (tmp_path / "m.json").write_text(text)
    with pytest.raises(InvalidOptionError, match=message):
        read_model(tmp_path / "m.json")
    done = CliRunner().invoke(
        cli, ["score", "examples/digits_clustering.csv", "--model", str(tmp_path / "m.json")]
    )
    assert done.exit_code == 2
    assert [line for line in done.output.splitlines() if line.startswith("Error")], done.output


def test_train_and_score_commands(corpus, tmp_path):
    runner = CliRunner()
    trained = runner.invoke(
        cli, ["train", str(corpus / "training.parquet"), "-o", str(tmp_path / "m.json")]
    )
    assert trained.exit_code == 0, trained.output
    assert "4 files" in trained.output and "best index (" in trained.output
    model = json.loads((tmp_path / "m.json").read_text())
    assert model["format"] == "metricate-quality-model/1" and len(model["table_sha256"]) == 64
    scored = runner.invoke(
        cli,
        [
            "score",
            str(corpus / "set1_clustering.csv"),
            "--model",
            str(tmp_path / "m.json"),
            "--format",
            "json",
        ],
    )
    assert scored.exit_code == 0, scored.output
    (entry,) = json.loads(scored.output[scored.output.index("[") :])
    assert 0 <= entry["score"] <= 1 and len(entry["moved_by"]) == 5
    one = runner.invoke(cli, ["train", str(corpus / "training.parquet"), "-o", "m.pkl"])
    assert one.exit_code == 2 and "must end in .json" in one.output


EXAMPLE = "examples/digits_clustering.csv"


def test_the_bundled_model_scores_the_example_above_every_half_degraded_version(tmp_path):
    from metricate.analysis.model import DEFAULT_MODEL, default_model

    model = default_model()
    assert model.kinds == ["labels", "structure", "subset", "coordinates"]
    assert model.cv["files"] >= 30 and set(model.cv["by_kind"]) == set(model.kinds)
    done = CliRunner().invoke(cli, ["degrade", EXAMPLE, str(tmp_path), "--levels", "50pct"])
    assert done.exit_code == 0, done.output
    versions = sorted(tmp_path.glob("*_50pct.csv"))
    assert len(versions) == 18
    original = metricate.score(EXAMPLE)  # no model: the bundled one
    assert original.score == score(EXAMPLE, DEFAULT_MODEL).score
    below = {v.name: score(v, model).score for v in versions}
    assert all(value < original.score for value in below.values()), (original.score, below)


def test_score_without_a_model_uses_the_bundled_one():
    done = CliRunner().invoke(cli, ["score", EXAMPLE, "--format", "csv"])
    assert done.exit_code == 0, done.output
    line = next(row for row in done.output.splitlines() if row.startswith(EXAMPLE))
    assert float(line.split(",")[1]) == pytest.approx(metricate.score(EXAMPLE).score, abs=1e-6)


def test_training_figures_cover_every_kind_and_the_model_keeps_its_order(corpus):
    table = read_training_table(corpus / "training.parquet")
    model = train_model(table, load_reference(corpus / "training.parquet"))
    assert set(model.cv["by_kind"]) == {"labels", "structure", "coordinates"}
    for part in model.cv["by_kind"].values():
        assert 0 <= part["model"]["pairwise_accuracy"] <= 1
        assert part["best_single_index"]["name"] in METRIC_COLUMNS


def test_the_model_learns_within_files_only_and_calibrates_without_reordering():
    # Eight files: an original and six degraded versions each. Silhouette is higher in
    # every original than in its versions; Calinski-Harabasz is one value per file, high
    # where the files' Silhouette is low (across files it tells nothing of quality, and
    # a model that compared rows across files could lean on it); the rest is faint noise.
    rng = np.random.default_rng(0)
    rows = []
    for f in range(8):
        offset = rng.uniform(0, 0.6)
        for v in range(7):
            norm = {f"{m}_norm": rng.uniform(0.45, 0.55) for m in METRIC_COLUMNS}
            norm["Silhouette_norm"] = offset + (0.3 if v == 0 else rng.uniform(0, 0.25))
            norm["Calinski-Harabasz_norm"] = 1 - offset
            rows.append(
                {
                    "clustering_name": f"f{f}",
                    "quality": int(v == 0),
                    "quality_score": 1.0 if v == 0 else 0.5,
                    "degradation_type": "original" if v == 0 else "label_swap_random",
                    "variant_kind": "original" if v == 0 else "labels",
                    **{m: norm[f"{m}_norm"] for m in METRIC_COLUMNS},
                    **norm,
                }
            )
    table = pd.DataFrame(rows)
    reference = {
        "format": 1,
        "metrics": {m: {"n": 0, "values": [], "ranks": []} for m in METRIC_COLUMNS},
    }
    model = train_model(table, reference, kinds=("labels",), folds=4)
    weights = dict(zip(model.features, model.coefficients, strict=True))
    assert weights["Calinski-Harabasz"] == 0.0  # never differs within a file
    assert max(weights, key=weights.get) == "Silhouette"
    assert model.cv["model"]["pairwise_accuracy"] == 1.0
    # The calibration only scales and shifts the learnt sum: the scores of the rows rank
    # as the held-out figures say, every original above its versions.
    X = table[[f"{m}_norm" for m in METRIC_COLUMNS]].to_numpy(float)
    logits = X @ np.array(model.coefficients) + model.intercept
    for f in range(8):
        own = logits[table["clustering_name"].to_numpy() == f"f{f}"]
        assert own[0] > own[1:].max()


def test_score_reports_a_bad_file_and_still_scores_the_others(tmp_path):
    bad = tmp_path / "no_labels.csv"
    bad.write_text("a,b\n1,2\n3,4\n")
    odd = tmp_path / "with,comma.csv"
    odd.write_text(open(EXAMPLE).read())
    done = CliRunner().invoke(cli, ["score", EXAMPLE, str(bad), str(odd), "--format", "csv"])
    assert done.exit_code == 1
    errors = [line for line in done.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "no_labels.csv" in errors[0] and "no label column" in errors[0]
    rows = list(
        csv.reader(line for line in done.output.splitlines() if not line.startswith("Error"))
    )
    assert rows[0] == ["file", "score", "moved_by"]
    assert [r[0] for r in rows[1:]] == [EXAMPLE, str(odd)]
    assert rows[1][1] == rows[2][1]  # the same clustering, the same score
