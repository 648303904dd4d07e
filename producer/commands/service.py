"""`metricate status`, `metricate collect` and `metricate worker`: the distributed service."""

from __future__ import annotations

import sys

import click

from producer.distributed import collect as collect_run
from producer.distributed import (
    connect,
    flower_command,
    print_status,
    service_errors,
    worker_command,
)
from producer.options import broker_option, check_output, one_line_errors


@click.command()
@click.argument("run_id")
@broker_option
@one_line_errors
def status(run_id: str, broker: str | None) -> None:
    """Show how far run RUN_ID is: files done, rows so far, output, errors."""
    with service_errors():
        _, app, store = connect(broker)
        code = print_status(store, run_id, app)
    sys.exit(code)


@click.command()
@click.argument("run_id")
@click.option("-o", "--output", required=True, help="Output table: .parquet or .csv.")
@broker_option
@one_line_errors
def collect(run_id: str, output: str, broker: str | None) -> None:
    """Write the result of a finished run RUN_ID (started with --no-wait) to OUTPUT."""
    out = check_output(output)
    with service_errors():
        _, _, store = connect(broker)
        code = collect_run(store, run_id, out)
    sys.exit(code)


@click.command()
@broker_option
@click.option(
    "-c",
    "--concurrency",
    type=click.IntRange(min=1),
    envvar="METRICATE_WORKER_CONCURRENCY",
    help="Worker processes (default: the number of cores; env METRICATE_WORKER_CONCURRENCY).",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    envvar="METRICATE_THREADS",
    help="Library threads per worker process (BLAS stays at one); more only with "
    "--concurrency below the number of cores (env METRICATE_THREADS).",
)
@click.option("--loglevel", default="info", show_default=True, help="Celery log level.")
@one_line_errors
def worker(broker: str | None, concurrency: int | None, threads: int, loglevel: str) -> None:
    """Start a Celery worker with the project's settings (BLAS one thread per process)."""
    worker_command(broker, concurrency, threads, loglevel)


@click.command()
@broker_option
@click.option(
    "--basic-auth",
    envvar="FLOWER_BASIC_AUTH",
    help="user:password that Flower asks for (env FLOWER_BASIC_AUTH); required.",
)
@click.option("--port", type=click.IntRange(1, 65535), default=5555, show_default=True)
@click.option("--address", default="0.0.0.0", show_default=True, help="Address to listen on.")
@one_line_errors
def flower(broker: str | None, basic_auth: str | None, port: int, address: str) -> None:
    """Start Flower, the web monitor of the workers and tasks, behind a password."""
    flower_command(broker, basic_auth, port, address)
