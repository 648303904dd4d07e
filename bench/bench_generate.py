"""Training-data generation, one benchmark file at a time, default settings.

    python bench/bench_generate.py               # n=1,000 / 5,000 / 10,000
    python bench/bench_generate.py n10000        # one case

Each case writes make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
as a CSV, then runs `metricate.generate_training_data` on it in a fresh process
(so its peak memory is its own) with --jobs 1, and prints wall time, peak memory and
the time split: loading, degrading, evaluating, normalizing, writing.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from sklearn.datasets import make_blobs

BENCHMARKS = {"n1000": (1_000, 16, 8), "n5000": (5_000, 32, 12), "n10000": (10_000, 50, 17)}


def write_benchmark(case: str, directory: Path) -> Path:
    n, d, k = BENCHMARKS[case]
    X, y = make_blobs(n_samples=n, n_features=d, centers=k, random_state=0)
    frame = pd.DataFrame(X, columns=[f"dim_{i}" for i in range(d)])
    frame.insert(0, "cluster_id", y)
    path = directory / f"blobs_{case}.csv"
    frame.to_csv(path, index=False)
    return path


def run_case(path: str) -> dict[str, object]:
    import metricate

    started = time.perf_counter()
    result = metricate.generate_training_data(path)
    total_generate = time.perf_counter() - started
    out = Path(path).with_suffix(".parquet")
    clock = time.perf_counter()
    result.write(out)
    write_seconds = time.perf_counter() - clock
    (entry,) = result.metadata["files"]
    timing = entry["timing"]
    return {
        "rows": len(result.records),
        "seconds": round(total_generate + write_seconds, 2),
        "load": timing["load"],
        "degrade": timing["degrade"],
        "evaluate": timing["evaluate"],
        "by_point_set": {
            k.removeprefix("evaluate_"): v for k, v in timing.items() if k.startswith("evaluate_")
        },
        "normalize": result.metadata["normalize_seconds"],
        "write": round(write_seconds, 3),
        "peak_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2, 2),
    }


def main(argv: list[str]) -> None:
    if len(argv) == 2 and argv[0] == "--child":
        print(json.dumps(run_case(argv[1])))
        return
    cases = argv or list(BENCHMARKS)
    header = f"{'case':<8} {'rows':>5} {'wall s':>7} {'peak GB':>7}  split (s)"
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for case in cases:
            path = write_benchmark(case, Path(tmp))
            proc = subprocess.run(
                [sys.executable, __file__, "--child", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(proc.stdout.strip().splitlines()[-1])
            print(
                f"{case:<8} {r['rows']:>5} {r['seconds']:>7.2f} {r['peak_gb']:>7.2f}  "
                f"load {r['load']:.2f}, degrade {r['degrade']:.2f}, "
                f"evaluate {r['evaluate']:.2f}, normalize {r['normalize']:.2f}, "
                f"write {r['write']:.2f}"
            )
            by_set = ", ".join(f"{k} {v:.2f}" for k, v in r["by_point_set"].items())
            print(f"{'':<8} {'':>5} {'':>7} {'':>7}  evaluate by point set: {by_set}")


if __name__ == "__main__":
    main(sys.argv[1:])
