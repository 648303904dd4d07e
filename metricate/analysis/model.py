"""A quality model learnt from a training table (``metricate train``), and scoring new
clusterings with it (``metricate score``).

The model is a regularized logistic regression (scikit-learn) on the ``_norm``
columns that ranks each original (``quality`` 1) above its degraded versions: it
learns from the differences within each file, then a one-dimensional logistic
regression maps its sum to a score in [0, 1]. Nothing that
encodes a version's size relative to its original is a feature, and ``subset``
versions (fewer points than their original, where indices that grow with n give the
answer away) are left out by default. Its figures are held out by file: grouped
cross-validation, each file's rows in one fold. A model file is JSON, never pickle.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from metricate.analysis.report import couple_figures, couples
from metricate.errors import InvalidOptionError
from metricate.io import atomic_write
from metricate.training.reference import load_reference
from metricate.training.schema import METRIC_COLUMNS
from metricate.version import __version__

MODEL_FORMAT = "metricate-quality-model/1"
KINDS = ("labels", "structure", "subset", "coordinates")
DEFAULT_KINDS = ("labels", "structure", "coordinates")
# A missing _norm value (an index undefined on the clustering) counts as the median.
FILL = 0.5
# The bundled model, trained by examples/default_model.py on examples/corpus.py's files.
DEFAULT_MODEL = Path(__file__).with_name("default_model.json")
_C_GRID = (0.01, 0.1, 1.0, 10.0, 100.0)


@dataclass
class QualityModel:
    """Coefficients over ``features`` (index names; their ``_norm`` values are the
    inputs), the reference distribution that normalizes a new clustering, and how the
    model did held out by file."""

    features: list[str]
    coefficients: list[float]
    intercept: float
    reference: dict[str, Any]
    kinds: list[str]
    cv: dict[str, Any] = field(default_factory=dict)
    table_sha256: str = ""
    version: str = __version__

    def logit(self, normalized: dict[str, float]) -> float:
        pairs = zip(self.features, self.coefficients, strict=True)
        terms = [c * _filled(normalized.get(f)) for f, c in pairs]
        return math.fsum([self.intercept, *terms])

    def score(self, normalized: dict[str, float]) -> float:
        """The quality score in [0, 1] of a clustering's ``_norm`` values."""
        return 1.0 / (1.0 + math.exp(-self.logit(normalized)))

    def contributions(self, normalized: dict[str, float]) -> dict[str, float]:
        """Each feature's push on the logit against a clustering at the median on every
        index (positive: towards a good clustering), largest first."""
        pushes = {
            f: c * (_filled(normalized.get(f)) - FILL)
            for f, c in zip(self.features, self.coefficients, strict=True)
        }
        return dict(sorted(pushes.items(), key=lambda item: -abs(item[1])))

    def to_json(self) -> str:
        """The model file: readable, but for the reference (its knots on one line)."""
        head = json.dumps(
            {
                "format": MODEL_FORMAT,
                "version": self.version,
                "table_sha256": self.table_sha256,
                "kinds": self.kinds,
                "features": self.features,
                "coefficients": self.coefficients,
                "intercept": self.intercept,
                "fill": FILL,
                "cv": self.cv,
            },
            indent=1,
        )
        reference = json.dumps(self.reference, separators=(",", ":"))
        return f'{head[:-2]},\n "reference": {reference}\n}}\n'

    def write(self, path: str | Path) -> None:
        text = self.to_json()
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def default_model() -> QualityModel:
    """The model bundled with metricate (``examples/default_model.py`` trains it)."""
    return read_model(DEFAULT_MODEL)


def _filled(value: float | None) -> float:
    return FILL if value is None or not math.isfinite(value) else float(value)


def read_model(path: str | Path) -> QualityModel:
    """A model file written by ``metricate train``; anything else is one line of error."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidOptionError(f"{path}: no such model file") from None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise InvalidOptionError(f"{path}: not a metricate model (not JSON: {error})") from None
    if not isinstance(data, dict) or data.get("format") != MODEL_FORMAT:
        raise InvalidOptionError(f"{path}: not a metricate model (format is not {MODEL_FORMAT})")
    try:
        features = [str(f) for f in data["features"]]
        coefficients = [float(c) for c in data["coefficients"]]
        intercept = float(data["intercept"])
        reference = load_reference(data["reference"])
    except (KeyError, TypeError, ValueError, InvalidOptionError) as error:
        raise InvalidOptionError(f"{path}: a damaged metricate model ({error})") from None
    unknown = [f for f in features if f not in METRIC_COLUMNS]
    if len(features) != len(coefficients) or unknown or not features:
        raise InvalidOptionError(
            f"{path}: a damaged metricate model (features and coefficients do not match)"
        )
    if not all(math.isfinite(c) for c in [*coefficients, intercept]):
        raise InvalidOptionError(f"{path}: a damaged metricate model (non-finite coefficients)")
    return QualityModel(
        features=features,
        coefficients=coefficients,
        intercept=intercept,
        reference=reference,
        kinds=[str(k) for k in data.get("kinds", [])],
        cv=dict(data.get("cv", {})),
        table_sha256=str(data.get("table_sha256", "")),
        version=str(data.get("version", "")),
    )


def train_model(
    table: pd.DataFrame,
    reference: dict[str, Any],
    kinds: tuple[str, ...] = DEFAULT_KINDS,
    table_sha256: str = "",
    folds: int = 5,
) -> QualityModel:
    """Fit the model on the originals and the versions of ``kinds``; its figures (and
    the best single index's, overall and on each kind alone) are held out by file.

    The weights are learnt from couples: a logistic regression without intercept on the
    differences original minus version (and the reverse), within each file, so that
    what it learns is to rank a file's versions, not to tell files apart. A second,
    one-dimensional logistic regression then turns the weighted sum into a score in
    [0, 1] (an original against a degraded version, classes balanced); it keeps the
    order, so the figures are those of the weighted sum."""
    from sklearn.model_selection import GroupKFold

    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InvalidOptionError(f"--kinds: choose among {', '.join(KINDS)}, got {unknown}")
    rows = table[(table["quality"] == 1) | table["variant_kind"].isin(kinds)].reset_index(drop=True)
    files = rows["clustering_name"].astype(str).to_numpy()
    n_files = int(np.unique(files).size)
    if n_files < 2:
        raise InvalidOptionError(
            "training needs at least 2 files (the figures are held out by file)"
        )
    X = np.nan_to_num(rows[[f"{m}_norm" for m in METRIC_COLUMNS]].to_numpy(float), nan=FILL)
    y = (rows["quality"].to_numpy() == 1).astype(int)
    against, degraded, _ = couples(rows)
    if degraded.size == 0:
        raise InvalidOptionError("training needs degraded versions beside their originals")
    splits = list(GroupKFold(n_splits=min(folds, n_files)).split(X, y, files))

    def held_out(c: float) -> np.ndarray:
        predicted = np.empty(len(rows))
        for train, test in splits:
            predicted[test] = X[test] @ _couple_weights(X, against, degraded, train, c)
        return predicted

    # The regularization with the best held-out pairwise accuracy (then the smallest C).
    trials = {c: held_out(c) for c in _C_GRID}
    accuracy = {c: couple_figures(trials[c][:, None], rows)["pairwise_accuracy"][0] for c in trials}
    best_c = max(_C_GRID, key=lambda c: (accuracy[c], -c))
    weights = _couple_weights(X, against, degraded, np.arange(len(rows)), best_c)
    slope, intercept = _calibration(X @ weights, y)
    cv = {
        "folds": len(splits),
        "files": n_files,
        "rows": len(rows),
        "C": best_c,
        **_held_out_figures(trials[best_c], X, rows, ("all", *kinds)),
    }
    return QualityModel(
        features=list(METRIC_COLUMNS),
        coefficients=[float(slope * w) for w in weights],
        intercept=float(intercept),
        reference=reference,
        kinds=list(kinds),
        cv=cv,
        table_sha256=table_sha256,
    )


def _couple_weights(
    X: np.ndarray, against: np.ndarray, degraded: np.ndarray, train: np.ndarray, c: float
) -> np.ndarray:
    """Weights from the couples (original, version) whose version is in ``train``."""
    from sklearn.linear_model import LogisticRegression

    chosen = np.isin(degraded, train)
    difference = X[against[chosen]] - X[degraded[chosen]]
    couples = np.vstack((difference, -difference))
    above = np.repeat([1, 0], difference.shape[0])
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=10_000)
    return np.asarray(model.fit(couples, above).coef_[0], dtype=float)


def _calibration(summed: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Slope and intercept that turn the weighted sum into P(original), classes
    balanced; the slope is kept positive so the order stays the weights'."""
    from sklearn.linear_model import LogisticRegression

    fit = LogisticRegression(C=1e6, class_weight="balanced", max_iter=10_000)
    fit.fit(summed[:, None], y)
    slope = max(float(fit.coef_[0, 0]), 1e-9)
    return slope, float(fit.intercept_[0])


def _held_out_figures(
    predicted: np.ndarray, X: np.ndarray, rows: pd.DataFrame, kinds: tuple[str, ...]
) -> dict[str, Any]:
    """The model's held-out figures and the best single index's, on all the rows
    ("all") and on the originals with each kind's versions alone. The best single index
    of a kind is the best of all indices on that kind: the strictest comparison."""
    figures: dict[str, Any] = {}
    for kind in kinds:
        chosen = (rows["quality"] == 1) | (rows["variant_kind"] == kind) if kind != "all" else None
        part = rows if chosen is None else rows[chosen.to_numpy()].reset_index(drop=True)
        mask = slice(None) if chosen is None else chosen.to_numpy()
        model = couple_figures(predicted[mask][:, None], part)
        single = couple_figures(X[mask], part)
        accuracy = np.nan_to_num(single["pairwise_accuracy"], nan=-1.0)
        best = int(np.argmax(accuracy))
        entry = {
            "model": {k: float(v[0]) for k, v in model.items()},
            "best_single_index": {
                "name": METRIC_COLUMNS[best],
                **{k: float(v[best]) for k, v in single.items()},
            },
        }
        if kind == "all":
            figures.update(entry)
        else:
            figures.setdefault("by_kind", {})[kind] = entry
    return figures


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class Scored:
    """One clustering's quality score and the indices that moved it most."""

    file: str
    score: float
    contributions: dict[str, float]
    warnings: list[str]

    def to_dict(self, top: int = 5) -> dict[str, Any]:
        moved = dict(list(self.contributions.items())[:top])
        return {"file": self.file, "score": self.score, "moved_by": moved}


def score(
    path: str | Path, model: QualityModel | str | Path | None = None, **evaluate_options: Any
) -> Scored:
    """Evaluate the clustering at ``path``, normalize it against the model's reference
    and score it (``model``: a model or its file, default the bundled model;
    ``evaluate_options`` go to ``metricate.evaluate``)."""
    from metricate.evaluation import evaluate

    if model is None:
        model = default_model()
    elif not isinstance(model, QualityModel):
        model = read_model(model)
    result = evaluate(path, reference=model.reference, **evaluate_options)
    normalized = {k: float(v) for k, v in result.normalized.items()}
    return Scored(
        file=str(path),
        score=model.score(normalized),
        contributions=model.contributions(normalized),
        warnings=list(result.warnings),
    )
