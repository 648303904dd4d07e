"""A quality model learnt from a training table (``metricate train``), and scoring new
clusterings with it (``metricate score``).

The model is a regularized logistic regression (scikit-learn) on the ``_norm``
columns that tells originals (``quality`` 1) from their degraded versions. Nothing that
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

from metricate.analysis.report import couple_figures
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
_C_GRID = (0.01, 0.1, 1.0, 10.0)


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
        return json.dumps(
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
                "reference": self.reference,
            },
            indent=1,
        )

    def write(self, path: str | Path) -> None:
        text = self.to_json()
        atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


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
    the best single index's) are held out by file."""
    from sklearn.linear_model import LogisticRegression
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
    splits = list(GroupKFold(n_splits=min(folds, n_files)).split(X, y, files))

    def fitted(c: float, train: np.ndarray) -> Any:
        model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000)
        return model.fit(X[train], y[train])

    def held_out(c: float) -> np.ndarray:
        predicted = np.empty(len(rows))
        for train, test in splits:
            predicted[test] = fitted(c, train).decision_function(X[test])
        return predicted

    # The regularization with the best held-out pairwise accuracy (then the smallest C).
    trials = {c: held_out(c) for c in _C_GRID}
    accuracy = {c: couple_figures(trials[c][:, None], rows)["pairwise_accuracy"][0] for c in trials}
    best_c = max(_C_GRID, key=lambda c: (accuracy[c], -c))
    model_figures = couple_figures(trials[best_c][:, None], rows)
    single = couple_figures(X, rows)
    best = int(np.nanargmax(single["pairwise_accuracy"]))
    final = fitted(best_c, np.arange(len(rows)))
    cv = {
        "folds": len(splits),
        "files": n_files,
        "rows": len(rows),
        "C": best_c,
        "model": {k: float(v[0]) for k, v in model_figures.items()},
        "best_single_index": {
            "name": METRIC_COLUMNS[best],
            **{k: float(v[best]) for k, v in single.items()},
        },
    }
    return QualityModel(
        features=list(METRIC_COLUMNS),
        coefficients=[float(c) for c in final.coef_[0]],
        intercept=float(final.intercept_[0]),
        reference=reference,
        kinds=list(kinds),
        cv=cv,
        table_sha256=table_sha256,
    )


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


def score(path: str | Path, model: QualityModel | str | Path, **evaluate_options: Any) -> Scored:
    """Evaluate the clustering at ``path``, normalize it against the model's reference
    and score it (``evaluate_options`` go to ``metricate.evaluate``)."""
    from metricate.evaluation import evaluate

    if not isinstance(model, QualityModel):
        model = read_model(model)
    result = evaluate(path, reference=model.reference, **evaluate_options)
    normalized = {k: float(v) for k, v in result.normalized.items()}
    return Scored(
        file=str(path),
        score=model.score(normalized),
        contributions=model.contributions(normalized),
        warnings=list(result.warnings),
    )
