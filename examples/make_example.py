"""Build examples/digits_clustering.csv from scikit-learn's bundled digits dataset.

The clustering is the true digit classes, a known-good clustering, with the 64 pixel
features reduced to 16 principal components (columns dim_0..dim_15). Nothing is
downloaded. Run: python examples/make_example.py
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA


def build() -> pd.DataFrame:
    digits = load_digits()
    reduced = PCA(n_components=16, random_state=0).fit_transform(digits.data)
    frame = pd.DataFrame(np.round(reduced, 6), columns=[f"dim_{i}" for i in range(16)])
    frame.insert(0, "sample_id", [f"digit-{i:04d}" for i in range(len(frame))])
    frame.insert(1, "cluster_id", digits.target.astype(int))
    return frame


if __name__ == "__main__":
    out = Path(__file__).with_name("digits_clustering.csv")
    build().to_csv(out, index=False)
    print(f"wrote {out}")
