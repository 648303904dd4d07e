"""Whole-process time and peak memory of `metricate --help` and `metricate evaluate`.

    python bench/bench_evaluate.py              # every case
    python bench/bench_evaluate.py n10000       # some cases

"help" runs `metricate --help` five times and prints the slowest. The other cases
write make_blobs(n, d, k, random_state=0) as a CSV (kept in METRICATE_BENCH_DATA,
default a temporary folder) and run the installed `metricate evaluate FILE --format
json` as its own process, start-up and loading included; peak memory is that
process's maximum resident set. n100000 is above large_n (20,000): its pair-based
indices use a stratified sample of 20,000 points. The targets are issue 8's, for a
2-core machine.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from whole_process import run, write_blobs

# name: (n, d, k, target seconds, target peak GB or None)
CASES = {
    "n1000": (1_000, 16, 8, None, None),
    "n5000": (5_000, 32, 12, None, None),
    "n10000": (10_000, 50, 17, 3.0, 1.5),
    "n100000": (100_000, 32, 20, None, None),
}


def main(argv: list[str]) -> None:
    names = argv or ["help", *CASES]
    folder = Path(os.environ.get("METRICATE_BENCH_DATA") or tempfile.mkdtemp())
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'case':<9} {'n':>7} {'d':>4} {'k':>3} {'wall s':>8} {'peak GB':>8}  target")
    for name in names:
        if name == "help":
            runs = [run(["--help"]) for _ in range(5)]
            slowest = max(r.seconds for r in runs)
            peak = max(r.peak_gb for r in runs)
            print(f"{'help':<9} {'':>7} {'':>4} {'':>3} {slowest:>8.2f} {peak:>8.2f}  <= 0.3 s")
            continue
        n, d, k, seconds, gb = CASES[name]
        path = write_blobs(folder, n, d, k)
        measured = run(["evaluate", str(path), "--format", "json"])
        if measured.returncode != 0:
            raise SystemExit(f"metricate evaluate {path.name} failed ({measured.returncode})")
        target = "" if seconds is None else f"<= {seconds:g} s, <= {gb:g} GB"
        print(
            f"{name:<9} {n:>7} {d:>4} {k:>3} {measured.seconds:>8.2f} "
            f"{measured.peak_gb:>8.2f}  {target}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
