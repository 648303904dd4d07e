"""`metricate`: the command line. One group, verbs as subcommands (``producer/commands``).

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import os
import sys

import click

from producer.commands.degrade import degrade
from producer.commands.evaluate import evaluate
from producer.commands.generate import generate
from producer.commands.listing import list_group
from producer.commands.service import collect, flower, status, worker


class MetricateGroup(click.Group):
    """The command group; a reader that goes away (`metricate list metrics | head`)
    ends the command quietly with exit code 0 (click would say 1)."""

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


for command in (evaluate, list_group, degrade, generate, status, collect, worker, flower):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
