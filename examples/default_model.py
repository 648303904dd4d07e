"""Train the quality model bundled with metricate (metricate/analysis/default_model.json).

Builds the corpus of examples/corpus.py, generates its training table with the default
options, trains the model on it (held out by file) and prints its figures as the
Markdown table the README quotes. Unlike `metricate train`'s default, it learns from
every kind of version, subsets included: a user asks "is this clustering good?" of
clusterings that may leave points out, and the features stay the indices alone.
Nothing is downloaded; the same metricate gives the same model (all but the hash of
its table, which records when it ran). About half a minute on 2 cores.

    python examples/default_model.py            # writes the bundled model
    python examples/default_model.py --keep DIR # also keeps the corpus and its table
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import corpus  # examples/corpus.py, next to this script

from metricate.analysis.model import DEFAULT_MODEL, KINDS, file_sha256, train_model
from metricate.analysis.report import read_training_table
from metricate.training import generate_training_data_batch
from metricate.training.reference import build_reference
from metricate.training.schema import METRIC_COLUMNS

# Knots of the bundled reference: a new clustering's _norm within about 1/KNOTS of the
# full reference's, in a file a tenth of the size.
KNOTS = 257


def figures_table(cv: dict) -> str:
    """The held-out figures as a Markdown table."""
    lines = [
        "| variants | model | best single index | model AUC | index AUC |",
        "|---|---|---|---|---|",
    ]
    parts = [("all", cv), *cv.get("by_kind", {}).items()]
    for kind, part in parts:
        model, best = part["model"], part["best_single_index"]
        lines.append(
            f"| {kind} | {model['pairwise_accuracy']:.3f} | "
            f"{best['pairwise_accuracy']:.3f} ({best['name']}) | "
            f"{model['auc']:.3f} | {best['auc']:.3f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="Keep the corpus and its table here.")
    parser.add_argument("--output", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        folder = args.keep or Path(scratch)
        files = corpus.build(folder / "corpus")
        result = generate_training_data_batch(files, folder / "table")
        if result.errors:
            raise SystemExit(f"the corpus did not generate cleanly: {result.errors}")
        table_path = folder / "table" / "training_data.parquet"
        table = read_training_table(table_path)
        model = train_model(
            table,
            build_reference(table, METRIC_COLUMNS, max_knots=KNOTS),
            kinds=KINDS,
            table_sha256=file_sha256(table_path),
        )
    model.write(args.output)
    cv = model.cv
    print(
        f"{cv['files']} files, {cv['rows']} rows, held out by file in {cv['folds']} folds, "
        f"C={cv['C']:g}; pairwise accuracy:\n"
    )
    print(figures_table(cv))
    print(f"\nwrote {args.output}")


if __name__ == "__main__":
    main()
