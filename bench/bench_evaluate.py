"""Wall time and peak memory of metric evaluation on the benchmark clusterings.

Each case runs in its own process so its peak resident memory is its own.

    python bench/bench_evaluate.py            # all cases
    python bench/bench_evaluate.py n10000     # one case

Cases: one evaluation of make_blobs(n_samples=n, n_features=d, centers=k,
random_state=0) at n=1,000 (d=16, k=8), 5,000 (d=32, k=12), 10,000 (d=50, k=17);
40 labellings of the 10,000-point set through one PointSet; and a 60,000-point set
above large_n (pair-based indices skipped, memory proportional to n).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import make_blobs

BENCHMARKS = {"n1000": (1_000, 16, 8), "n5000": (5_000, 32, 12), "n10000": (10_000, 50, 17)}
CASES = ["n1000", "n5000", "n10000", "labellings40", "n60000"]


def labellings(y: np.ndarray, count: int, seed: int = 0) -> list[np.ndarray]:
    """The original, then reassignments of 2%..78% of the points and cluster merges."""
    rng = np.random.default_rng(seed)
    k = int(y.max()) + 1
    out = [y]
    for i in range(1, count):
        labels = y.copy()
        if i % 4 == 0:
            labels[labels == (i // 4) % k] = (i // 4 + 1) % k  # merge two clusters
        else:
            idx = rng.choice(y.size, int(0.02 * i * y.size), replace=False)
            labels[idx] = rng.integers(0, k, idx.size)
        out.append(labels)
    return out


def run_case(case: str) -> dict[str, object]:
    from metricate import PointSet

    if case == "n60000":
        X, y = make_blobs(n_samples=60_000, n_features=50, centers=17, random_state=0)
        started = time.perf_counter()
        result = PointSet(X).evaluate(y)
        seconds = time.perf_counter() - started
        detail = f"{result.metrics_computed} computed; {result.warnings[0][:60]}..."
    elif case == "labellings40":
        n, d, k = BENCHMARKS["n10000"]
        X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
        started = time.perf_counter()
        points = PointSet(X)
        results = [points.evaluate(labels) for labels in labellings(y, 40)]
        seconds = time.perf_counter() - started
        detail = f"40 labellings, {seconds / 40:.3f} s each on average"
        assert len(results) == 40
    else:
        n, d, k = BENCHMARKS[case]
        X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
        started = time.perf_counter()
        result = PointSet(X).evaluate(y)
        seconds = time.perf_counter() - started
        detail = f"{result.metrics_computed} of 32 computed"
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2
    return {
        "case": case,
        "seconds": round(seconds, 3),
        "peak_gb": round(peak_gb, 3),
        "detail": detail,
    }


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "--child":
        print(json.dumps(run_case(argv[1])))
        return
    cases = argv or CASES
    print(f"{'case':<14} {'wall s':>8} {'peak GB':>8}  detail")
    for case in cases:
        proc = subprocess.run(
            [sys.executable, __file__, "--child", case], capture_output=True, text=True, check=True
        )
        row = json.loads(proc.stdout.strip().splitlines()[-1])
        print(f"{row['case']:<14} {row['seconds']:>8.2f} {row['peak_gb']:>8.2f}  {row['detail']}")


if __name__ == "__main__":
    main(sys.argv[1:])
