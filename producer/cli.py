"""`metricate`: the command line. One group, verbs as subcommands (``producer/commands``).

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import gc
import importlib
import os
import sys

import click

# Each command, where it lives, and its one-line help. A command's module (and with it
# numpy, pandas, Celery...) is imported only when that command runs, so `metricate
# --help` starts at once; tests/test_cli.py checks these lines against the commands.
COMMANDS: dict[str, tuple[str, str]] = {
    "evaluate": (
        "producer.commands.evaluate:evaluate",
        "Score one clustering CSV on every validity index.",
    ),
    "list": (
        "producer.commands.listing:list_group",
        "List what metricate knows: metrics or degradations.",
    ),
    "degrade": (
        "producer.commands.degrade:degrade",
        "Write degraded versions of one clustering CSV to OUTDIR.",
    ),
    "generate": (
        "producer.commands.generate:generate",
        "Degrade and score clusterings into one training table.",
    ),
    "report": (
        "producer.commands.report:report",
        "Report which indices tell originals from their degraded versions.",
    ),
    "train": (
        "producer.commands.model:train",
        "Learn a quality model from a training table.",
    ),
    "score": (
        "producer.commands.model:score_command",
        "Score clusterings with a quality model.",
    ),
    "status": ("producer.commands.service:status", "Show how far a distributed run is."),
    "collect": (
        "producer.commands.service:collect",
        "Write a finished run's table from Redis to OUTPUT.",
    ),
    "worker": (
        "producer.commands.service:worker",
        "Start a Celery worker with the project's settings.",
    ),
    "flower": (
        "producer.commands.service:flower",
        "Start Flower, the monitor of workers and tasks.",
    ),
}


class MetricateGroup(click.Group):
    """The command group: commands loaded when they run (see ``COMMANDS``); a reader that
    goes away (`metricate list metrics | head`) ends a command quietly with exit code 0
    (click would say 1)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute = COMMANDS[name][0].split(":")
        command = getattr(importlib.import_module(module), attribute)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, short) for name, (_, short) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> object:
        try:
            try:
                return super().invoke(ctx)
            finally:
                sys.stdout.flush()  # a closed pipe shows here at the latest
        except BrokenPipeError:
            # Keep Python from reporting the same closed pipe when it flushes at exit.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            ctx.exit(0)


@click.group(cls=MetricateGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metricate")
def cli() -> None:
    """Turn good clusterings into labelled training data about clustering quality."""


def main() -> None:
    try:
        cli()
    finally:
        # At exit the interpreter's last garbage collections walk, and free one by one,
        # the hundreds of thousands of objects the libraries made (pandas, scipy,
        # pyarrow): 0.15 s of a 1.4 s run. Frozen, they are left to the system, which
        # takes the whole process back at once; exit handlers still run.
        gc.freeze()


if __name__ == "__main__":
    main()
