"""`metricate`: the command line. One group, verbs as subcommands (``producer/commands``).

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import click

from producer.commands.degrade import degrade
from producer.commands.evaluate import evaluate
from producer.commands.generate import generate
from producer.commands.listing import list_group
from producer.commands.service import collect, flower, status, worker


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="metricate")
def cli() -> None:
    """Turn good clusterings into labelled training data about clustering quality."""


for command in (evaluate, list_group, degrade, generate, status, collect, worker, flower):
    cli.add_command(command)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
