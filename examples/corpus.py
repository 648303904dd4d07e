"""The training corpus of metricate's bundled quality model: known-good clusterings from
data that scikit-learn ships and from synthetic sets, written as metricate input CSVs.

Nothing is downloaded; the same seed gives the same files. The "good" clustering of a
real dataset is its true classes; of a synthetic one, the components it was drawn
from. The sets are chosen to be hard for any single index: overlapping clusters,
unequal sizes and spreads, stretched clusters, and embedding-like data (many
dimensions, low intrinsic rank, unit norm).

    python examples/corpus.py DIR        # writes DIR/*.csv and prints how many
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn import datasets
from sklearn.decomposition import PCA
from sklearn.preprocessing import StandardScaler

SEED = 7


def _frame(name: str, X: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    frame = pd.DataFrame(np.round(X, 6), columns=[f"dim_{i}" for i in range(X.shape[1])])
    frame.insert(0, "sample_id", [f"{name}-{i:05d}" for i in range(len(frame))])
    frame.insert(1, "cluster_id", pd.factorize(labels, sort=True)[0])
    return frame


def _shipped() -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    """scikit-learn's bundled labelled datasets, standardized or reduced."""
    for name, loader in (
        ("iris", datasets.load_iris),
        ("wine", datasets.load_wine),
        ("breast_cancer", datasets.load_breast_cancer),
    ):
        data = loader()
        yield name, StandardScaler().fit_transform(data.data), data.target
    digits = datasets.load_digits()
    yield "digits_pixels", digits.data, digits.target
    yield "digits_pca16", PCA(16, random_state=0).fit_transform(digits.data), digits.target
    yield "iris_raw", datasets.load_iris().data, datasets.load_iris().target


def _sizes(rng: np.random.Generator, n: int, k: int, unequal: bool) -> np.ndarray:
    weights = rng.dirichlet(np.full(k, 1.5 if unequal else 50.0))
    sizes = np.maximum(15, np.round(weights * n).astype(int))
    return sizes


def _mixture(
    rng: np.random.Generator,
    n: int,
    d: int,
    k: int,
    separation: float,
    unequal: bool,
    stretched: bool,
    rank: int | None = None,
    unit_norm: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """k Gaussian clusters in d dimensions, their centres ``separation`` apart on
    average (in units of a cluster's spread), spreads varying by up to 3x; ``rank``:
    the centres and shapes live in a subspace of that many dimensions, with a little
    noise in all of them; ``unit_norm``: the points are normalized as sentence
    embeddings often are."""
    inner = rank or d
    sizes = _sizes(rng, n, k, unequal)
    centres = rng.normal(size=(k, inner)) * separation / np.sqrt(2.0)
    parts = []
    for c, size in enumerate(sizes):
        spread = rng.uniform(0.6, 1.8)
        shape = np.eye(inner)
        if stretched:
            shape = rng.normal(size=(inner, inner)) / np.sqrt(inner) + np.eye(inner) * 0.3
        parts.append(centres[c] + spread * rng.normal(size=(size, inner)) @ shape)
    X = np.vstack(parts)
    labels = np.repeat(np.arange(k), sizes)
    if rank is not None:
        basis = np.linalg.qr(rng.normal(size=(d, inner)))[0]
        X = X @ basis.T + 0.15 * rng.normal(size=(X.shape[0], d))
    if unit_norm:
        X = X + rng.normal(size=d) * 3.0  # away from the origin, as embeddings are
        X /= np.linalg.norm(X, axis=1, keepdims=True)
    return X, labels


def _synthetic(rng: np.random.Generator) -> Iterator[tuple[str, np.ndarray, np.ndarray]]:
    index = 0
    # Plain and overlapping blobs, equal and unequal sizes, round and stretched.
    for separation in (6.0, 4.0, 3.0, 2.5):
        for unequal, stretched in ((False, False), (True, False), (False, True), (True, True)):
            n = int(rng.integers(400, 1200))
            d = int(rng.choice([2, 5, 10, 30]))
            k = int(rng.integers(3, 11))
            X, y = _mixture(rng, n, d, k, separation, unequal, stretched)
            index += 1
            yield f"mixture{index:02d}_sep{separation:g}_d{d}_k{k}", X, y
    # Embedding-like: wide, low intrinsic rank, unit norm.
    for d, rank, separation in (
        (64, 6, 4.0),
        (128, 8, 4.0),
        (256, 10, 3.0),
        (384, 12, 3.0),
        (384, 16, 2.5),
        (768, 10, 3.5),
    ):
        n = int(rng.integers(500, 1200))
        k = int(rng.integers(4, 13))
        X, y = _mixture(rng, n, d, k, separation, True, True, rank=rank, unit_norm=True)
        index += 1
        yield f"embedding{index:02d}_d{d}_k{k}", X, y
    # Classes of make_classification: a few informative dimensions among noise ones.
    for informative, noise in ((4, 10), (8, 24), (6, 6), (10, 40)):
        X, y = datasets.make_classification(
            n_samples=int(rng.integers(500, 1000)),
            n_features=informative + noise,
            n_informative=informative,
            n_redundant=0,
            n_classes=int(rng.integers(3, 7)),
            n_clusters_per_class=1,
            class_sep=2.0,
            random_state=int(rng.integers(1 << 30)),
        )
        index += 1
        yield f"classes{index:02d}_inf{informative}_d{informative + noise}", X, y


def build(folder: Path, seed: int = SEED) -> list[Path]:
    """Write the corpus under ``folder``; returns the files."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    written = []
    for name, X, labels in [*_shipped(), *_synthetic(rng)]:
        path = folder / f"{name}.csv"
        _frame(name, X, labels).to_csv(path, index=False)
        written.append(path)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python examples/corpus.py DIR")
    files = build(Path(sys.argv[1]))
    print(f"wrote {len(files)} clusterings to {sys.argv[1]}")
