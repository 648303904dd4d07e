"""`metricate generate`: good clusterings in, one normalized training table out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from metricate.errors import InvalidOptionError
from producer.cli import embedding_columns, one_line_errors, split_names


def load_topic_map(path: str) -> dict[str, str]:
    """A JSON object {"file.csv": "topic"} or a CSV with columns file,topic."""
    source = Path(path)
    try:
        if source.suffix.lower() == ".json":
            data = json.loads(source.read_text())
            if not isinstance(data, dict):
                raise InvalidOptionError(f"{path}: topic map must be a JSON object")
            return {str(k): str(v) for k, v in data.items()}
        import pandas as pd

        frame = pd.read_csv(source)
    except (OSError, ValueError) as exc:
        raise InvalidOptionError(f"{path}: cannot read topic map ({exc})") from None
    if not {"file", "topic"} <= set(frame.columns):
        raise InvalidOptionError(f"{path}: topic map CSV needs columns 'file' and 'topic'")
    return dict(zip(frame["file"].astype(str), frame["topic"].astype(str), strict=True))


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, help="Output table: .parquet (default) or .csv.")
@click.option("--types", multiple=True, help="Degradation types (default: all 18).")
@click.option("--levels", multiple=True, help="Levels like 5pct,10pct (default: 5,10,25,50pct).")
@click.option("--exclude", multiple=True, help="Metric name(s) to leave out.")
@click.option("--force-all", is_flag=True, help="Compute pair-based metrics above --large-n.")
@click.option(
    "--large-n",
    type=click.IntRange(min=2),
    default=50_000,
    show_default=True,
    help="Above this many points, pair-based metrics are skipped.",
)
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--topic", help="Topic for every input (default: from the file name).")
@click.option(
    "--topic-map",
    type=click.Path(dir_okay=False),
    help="JSON object or CSV (file,topic) mapping file names to topics.",
)
@click.option("--label-col", help="Label column (default: detected by name).")
@click.option("--embedding-cols", help="Embedding column(s), comma-separated (default: detected).")
@click.option(
    "--degraded-dir",
    type=click.Path(file_okay=False),
    help="Also write every degraded version as CSV under this directory.",
)
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=os.cpu_count() or 1,
    show_default="number of cores",
    help="Local mode: cores to use. Files run in min(jobs, files) processes, each with "
    "jobs // processes threads.",
)
@click.option(
    "--broker",
    envvar="METRICATE_BROKER_URL",
    help="Run on Celery workers through this broker (env METRICATE_BROKER_URL).",
)
@click.option("--run-id", help="With --broker: name the run, or resume it (only missing files).")
@click.option("--no-wait", is_flag=True, help="With --broker: submit and exit (see `status`).")
@one_line_errors
def generate(
    inputs: tuple[str, ...],
    output: str,
    types: tuple[str, ...],
    levels: tuple[str, ...],
    exclude: tuple[str, ...],
    force_all: bool,
    large_n: int,
    seed: int,
    topic: str | None,
    topic_map: str | None,
    label_col: str | None,
    embedding_cols: str | None,
    degraded_dir: str | None,
    jobs: int,
    broker: str | None,
    run_id: str | None,
    no_wait: bool,
) -> None:
    """Degrade and score every clustering in INPUTS (CSV files or directories of them)
    and write one normalized training table."""
    from metricate.training import GenerationOptions, find_inputs
    from metricate.training.local import run_local
    from producer.progress import RunProgress

    out = Path(output)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise InvalidOptionError(f"{output}: output must end in .parquet or .csv")
    columns = embedding_columns(embedding_cols)
    options = GenerationOptions(
        types=tuple(split_names(types)) or None,
        levels=tuple(split_names(levels)) or None,
        exclude=tuple(split_names(exclude)),
        force_all=force_all,
        large_n=large_n,
        random_seed=seed,
        label_col=label_col,
        embedding_cols=columns,
        topic=topic,
        topic_mapping=load_topic_map(topic_map) if topic_map else None,
        degraded_dir=degraded_dir,
    ).checked()
    paths = validated_inputs(inputs, find_inputs)
    if broker:
        from producer.distributed import run_distributed, service_errors

        command = " ".join(["metricate", *sys.argv[1:]]).replace(f" --run-id {run_id}", "")
        with service_errors():
            code = run_distributed(
                paths, options, out, broker=broker, run_id=run_id, wait=not no_wait, command=command
            )
        sys.exit(code)
    if run_id or no_wait:
        raise InvalidOptionError("--run-id and --no-wait need a broker (--broker)")
    with RunProgress(len(paths), options.variants_per_file) as progress:
        result = run_local(
            paths,
            options,
            jobs=jobs,
            progress=progress.versions,
            on_file=lambda o: progress.file_done(
                o.file, o.status, len(o.records), o.timing.get("total")
            ),
        )
    result.write(out)
    click.echo(result.summary())
    click.echo(f"wrote {out} and {out.name}.run.json")
    if result.errors:
        sys.exit(1)


def validated_inputs(inputs: tuple[str, ...], find_inputs) -> list[Path]:  # type: ignore[no-untyped-def]
    """Every input must exist; directories contribute their *.csv files."""
    missing = [i for i in inputs if not Path(i).exists()]
    if missing:
        raise InvalidOptionError(f"input not found: {', '.join(missing)}")
    paths = find_inputs(list(inputs))
    if not paths:
        raise InvalidOptionError(f"no CSV files in {', '.join(inputs)}")
    return paths
