"""`metricate report`: per-index figures on a hand-computed table, and the command."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from metricate.analysis import index_report, read_training_table
from metricate.errors import InvalidCSVError
from metricate.training import COLUMNS, METRIC_COLUMNS
from producer.cli import cli

SIL = [0.9, 0.5, 0.9, 1.0, 0.8, 0.1, 0.2]
QUALITY_SCORE = [1.0, 0.9, 0.95, 0.8, 1.0, 0.9, 0.95]


def small_table() -> pd.DataFrame:
    rows = 7
    table = pd.DataFrame({c: [np.nan] * rows for c in COLUMNS})
    table["clustering_name"] = ["a", "a", "a", "a", "b", "b", "b"]
    table["quality"] = [1, 0, 0, 0, 1, 0, 0]
    table["quality_score"] = QUALITY_SCORE
    types = [None, "label_swap_random", "merge_random", "random_removal"]
    table["degradation_type"] = types + [None, "label_swap_random", "merge_random"]
    kinds = ["original", "labels", "structure", "subset"]
    table["variant_kind"] = kinds + ["original", "labels", "structure"]
    table["Silhouette"] = table["Silhouette_norm"] = SIL
    table["Calinski-Harabasz_norm"] = np.array(SIL) * 2  # the same order: redundant
    table["Calinski-Harabasz"] = table["Calinski-Harabasz_norm"]
    dunn = [3.0, 2.0, np.nan, 1.0, 3.0, 2.0, 1.0]
    table["Dunn Index"] = dunn
    table["Dunn Index_norm"] = pd.Series(dunn).rank(pct=True)
    return table


def test_figures_match_hand_computed_and_reference_values():
    report = index_report(small_table())
    sil = report.indices.loc["Silhouette"]
    # a: original 0.9 against 0.5 (1), 0.9 (tie, 0.5), 1.0 (0); b: 0.8 against 0.1, 0.2.
    assert sil["pairwise_accuracy"] == pytest.approx((1 + 0.5 + 0 + 1 + 1) / 5)
    expected_auc = roc_auc_score([1, 0, 0, 0, 1, 0, 0], SIL)
    assert sil["auc"] == pytest.approx(expected_auc) and expected_auc == pytest.approx(0.65)
    rho_a = spearmanr(SIL[:4], QUALITY_SCORE[:4]).statistic
    rho_b = spearmanr(SIL[4:], QUALITY_SCORE[4:]).statistic
    assert sil["spearman"] == pytest.approx((rho_a + rho_b) / 2)
    assert sil["nan_share"] == 0 and sil["saturation"] == pytest.approx(2 / 7)
    dunn = report.indices.loc["Dunn Index"]
    assert dunn["nan_share"] == pytest.approx(1 / 7)
    # The couple whose version has no value is left out: 4 couples, all won.
    assert dunn["pairwise_accuracy"] == 1.0
    # Indices without any value have no figures but their NaN share.
    empty = report.indices.loc["Gamma"]
    assert empty["nan_share"] == 1 and np.isnan(empty["pairwise_accuracy"])
    assert report.by_type.loc["Silhouette"].to_dict() == pytest.approx(
        {"label_swap_random": 1.0, "merge_random": 0.75, "random_removal": 0.0}
    )
    assert report.by_kind.loc["Silhouette", "structure"] == 0.75
    assert report.redundant == [["Silhouette", "Calinski-Harabasz"]]
    assert (report.n_files, report.n_rows, report.n_couples) == (2, 7, 5)
    assert list(report.indices.index[:3]) == ["Dunn Index", "Silhouette", "Calinski-Harabasz"]


def test_a_table_that_is_not_a_training_table_is_a_one_line_error(tmp_path):
    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InvalidCSVError, match="not a metricate training table"):
        read_training_table(tmp_path / "x.csv")
    only_originals = small_table()
    only_originals["quality"] = 1
    only_originals.to_csv(tmp_path / "o.csv", index=False)
    with pytest.raises(InvalidCSVError, match="originals and degraded versions"):
        read_training_table(tmp_path / "o.csv")


def test_the_command_prints_the_table_and_writes_one_html_page(tmp_path):
    table = small_table()
    table.to_csv(tmp_path / "t.csv", index=False)
    runner = CliRunner()
    done = runner.invoke(cli, ["report", str(tmp_path / "t.csv"), "-o", str(tmp_path / "r.html")])
    assert done.exit_code == 0, done.output
    assert "2 files, 7 rows, 5 (original, degraded) couples" in done.output
    assert "redundant (|Spearman| > 0.95): Silhouette, Calinski-Harabasz" in done.output
    page = (tmp_path / "r.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page
    assert "Pairwise accuracy by degradation type" in page and "random_removal" in page
    as_json = runner.invoke(cli, ["report", str(tmp_path / "t.csv"), "--format", "json"])
    figures = json.loads(as_json.output)
    assert figures["indices"]["Silhouette"]["pairwise_accuracy"] == 0.7
    assert figures["indices"]["Gamma"]["pairwise_accuracy"] is None
    bad = runner.invoke(cli, ["report", str(tmp_path / "missing.parquet")])
    assert bad.exit_code == 2 and "no such training table" in bad.output
    assert list(METRIC_COLUMNS)[0] == "Silhouette"


def _page(tmp_path) -> Path:
    small_table().to_csv(tmp_path / "t.csv", index=False)
    done = CliRunner().invoke(
        cli, ["report", str(tmp_path / "t.csv"), "-o", str(tmp_path / "r.html")]
    )
    assert done.exit_code == 0, done.output
    return tmp_path / "r.html"


def test_the_page_embeds_its_figures_as_png_images(tmp_path):
    import matplotlib.image

    page = _page(tmp_path).read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 2  # the bar chart and the heatmap
    for encoded in images:
        picture = matplotlib.image.imread(io.BytesIO(base64.b64decode(encoded)), format="png")
        assert picture.shape[0] > 100 and picture.shape[1] > 100
        assert picture[..., :3].std() > 0.05  # not a blank image


def test_the_page_renders_in_headless_chromium_with_its_heatmap(tmp_path):
    import matplotlib.image

    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        message = "no chromium to render the report (apt-get install chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    page = _page(tmp_path)
    shot = tmp_path / "shot.png"
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--window-size=1200,2000",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0 and shot.exists(), done.stderr[-2000:]
    pixels = (matplotlib.image.imread(shot)[..., :3] * 255).astype(int)

    # The heatmap's extremes: RdYlGn's dark green (accuracy 1) and dark red (accuracy
    # 0) cells, drawn by the embedded image; the page itself has neither colour.
    def share(rgb: tuple[int, int, int]) -> float:
        return float((np.abs(pixels - np.array(rgb)).sum(axis=-1) < 40).mean())

    assert share((0, 104, 55)) > 0.001, "no dark green heatmap cell in the screenshot"
    assert share((165, 0, 38)) > 0.0005, "no dark red heatmap cell in the screenshot"
