"""`metricate train` and `metricate score`: the model, its file, its scores."""

from __future__ import annotations

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
