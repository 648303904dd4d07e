"""The command group: every command listed, loaded only when it runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from producer.cli import COMMANDS, cli

ROOT = Path(__file__).resolve().parent.parent


def test_every_listed_command_loads_under_its_name_with_matching_help():
    for name, (_, short) in COMMANDS.items():
        command = cli.get_command(click.Context(cli), name)
        assert command is not None and command.name == name
        # The listing's line and the command's own help start with the same verb.
        assert (command.help or "").split()[0] == short.split()[0], name
    assert cli.get_command(click.Context(cli), "nosuch") is None


def test_help_lists_the_commands_without_loading_the_library():
    probe = (
        "import sys\n"
        "from producer.cli import main\n"
        "sys.argv = ['metricate', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "heavy = sorted(m for m in ('numpy', 'pandas', 'scipy', 'celery', 'metricate')"
        " if m in sys.modules)\n"
        "print('loaded:', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "loaded: []"
    for name in COMMANDS:
        assert f"  {name} " in done.stdout
