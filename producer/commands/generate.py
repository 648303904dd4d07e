"""`metricate generate`: good clusterings in, one normalized training table out."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click
import pandas as pd

from metricate.errors import InvalidOptionError
from metricate.options import GenerationOptions
from metricate.training import find_inputs, run_local
from producer.options import (
    broker_option,
    check_output,
    one_line_errors,
    reading_options,
    scoring_options,
    variant_options,
)
from producer.progress import RunProgress


@click.command()
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=str))
@click.option("-o", "--output", required=True, help="Output table: .parquet or .csv.")
@variant_options
@scoring_options
@click.option("--topic", help="Topic for every input (default: from the file name).")
@click.option(
    "--topic-map",
    type=click.Path(dir_okay=False),
    help="JSON object or CSV (file,topic) mapping file names to topics.",
)
@reading_options
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
@broker_option
@click.option("--run-id", help="With --broker: name the run, or resume it (only missing files).")
@click.option("--no-wait", is_flag=True, help="With --broker: submit and exit (see `status`).")
@click.option(
    "--shared-storage",
    is_flag=True,
    help="With --broker: workers open the inputs by path and write the output themselves, "
    "on a volume they all mount (for corpora too big for Redis). Default: inputs and "
    "output travel through Redis.",
)
@one_line_errors
def generate(
    inputs: tuple[str, ...],
    output: str,
    types: tuple[str, ...] | None,
    levels: tuple[str, ...] | None,
    seed: int,
    exclude: tuple[str, ...] | None,
    force_all: bool,
    large_n: int,
    memory_budget: int,
    topic: str | None,
    topic_map: str | None,
    label_col: str | None,
    embedding_cols: tuple[str, ...] | None,
    degraded_dir: str | None,
    jobs: int,
    broker: str | None,
    run_id: str | None,
    no_wait: bool,
    shared_storage: bool,
) -> None:
    """Degrade and score every clustering in INPUTS (CSV files or directories of them)
    and write one normalized training table."""
    out = check_output(output)
    options = GenerationOptions.parse(
        types=types,
        levels=levels,
        random_seed=seed,
        exclude=exclude,
        force_all=force_all,
        large_n=large_n,
        memory_budget=memory_budget,
        label_col=label_col,
        embedding_cols=embedding_cols,
        topic=topic,
        topic_mapping=load_topic_map(topic_map) if topic_map else None,
        degraded_dir=degraded_dir,
    )
    paths = validated_inputs(inputs)
    if broker:
        if os.environ.get("METRICATE_BROKER_URL") == broker and "--broker" not in sys.argv:
            click.echo("METRICATE_BROKER_URL is set: sending the files to workers", err=True)
        command = " ".join(["metricate", *sys.argv[1:]])
        command = command.replace(f" --run-id {run_id}", "").replace(f" --run-id={run_id}", "")
        # Celery and Redis load only when the run goes to workers.
        from producer.distributed import run_distributed, service_errors

        with service_errors():
            code = run_distributed(
                paths,
                options,
                out,
                broker=broker,
                run_id=run_id,
                wait=not no_wait,
                command=command,
                shared_storage=shared_storage,
            )
        sys.exit(code)
    if run_id or no_wait or shared_storage:
        raise InvalidOptionError(
            "--run-id, --no-wait and --shared-storage need a broker (--broker)"
        )
    click.echo(
        f"running {len(paths)} file{'s' if len(paths) != 1 else ''} here on {jobs} "
        f"core{'s' if jobs != 1 else ''} (no broker; --broker or METRICATE_BROKER_URL "
        "sends them to workers)",
        err=True,
    )
    with RunProgress(len(paths), options.versions_per_file) as progress:
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
    run_json = out.with_name(out.name + ".run.json")
    click.echo(f"wrote {out.absolute()} and {run_json.absolute()}")
    if result.errors:
        sys.exit(1)


def load_topic_map(path: str) -> dict[str, str]:
    """A JSON object {"file.csv": "topic"} or a CSV with columns file,topic."""
    source = Path(path)
    try:
        if source.suffix.lower() == ".json":
            data = json.loads(source.read_text())
            if not isinstance(data, dict):
                raise InvalidOptionError(f"{path}: topic map must be a JSON object")
            return {str(k): str(v) for k, v in data.items()}
        frame = pd.read_csv(source)
    except (OSError, ValueError) as exc:
        raise InvalidOptionError(f"{path}: cannot read topic map ({exc})") from None
    if not {"file", "topic"} <= set(frame.columns):
        raise InvalidOptionError(f"{path}: topic map CSV needs columns 'file' and 'topic'")
    return dict(zip(frame["file"].astype(str), frame["topic"].astype(str), strict=True))


def validated_inputs(inputs: tuple[str, ...]) -> list[Path]:
    """Every input must exist; directories contribute their *.csv files."""
    missing = [i for i in inputs if not Path(i).exists()]
    if missing:
        raise InvalidOptionError(f"input not found: {', '.join(missing)}")
    paths = find_inputs(list(inputs))
    if not paths:
        raise InvalidOptionError(f"no CSV files in {', '.join(inputs)}")
    return paths
