"""Wall time of building every default degradation variant of the benchmark clustering.

    python bench/bench_degrade.py            # 18 types x 4 levels, in memory
    python bench/bench_degrade.py --write    # also time writing them as CSV

The clustering is make_blobs(n_samples=10000, n_features=50, centers=17,
random_state=0), labels = the blobs. Acceptance: all 72 variants in memory in under
5 s. The total is one ``build_variants`` call; the per-type times are separate
calls, so each includes the shared statistics of the original (a few ms).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import make_blobs

from metricate.degradations import DEGRADATION_NAMES, VariantPlan, build_variants, write_variant_csv
from metricate.io.load import Clustering

N, D, K = 10_000, 50, 17


def benchmark_clustering() -> Clustering:
    X, y = make_blobs(n_samples=N, n_features=D, centers=K, random_state=0)
    columns = [f"dim_{j}" for j in range(D)]
    frame = pd.DataFrame(X, columns=columns)
    frame["cluster_id"] = y
    return Clustering(
        path=Path(f"make_blobs_{N}x{D}_k{K}"),
        frame=frame,
        X=np.ascontiguousarray(X),
        labels=y.astype(np.int64),
        label_col="cluster_id",
        embedding_cols=columns,
        embedding_format="columns",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="also time writing the CSVs")
    args = parser.parse_args()
    clustering = benchmark_clustering()

    started = time.perf_counter()
    variants, warnings = build_variants(clustering)
    total = time.perf_counter() - started
    print(f"{len(variants)} variants of {N} points x {D} dims, {K} clusters: {total:.2f} s total")
    for warning in warnings:
        print(f"  warning: {warning}")

    for name in DEGRADATION_NAMES:
        started = time.perf_counter()
        build_variants(clustering, VariantPlan.parse(types=[name]))
        print(f"  {name:<26} {time.perf_counter() - started:7.3f} s")

    if args.write:
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            for variant in variants:
                write_variant_csv(variant, clustering, Path(directory) / variant.file_name)
            seconds = time.perf_counter() - started
        print(f"writing {len(variants)} CSV files: {seconds:.2f} s")


if __name__ == "__main__":
    main()
