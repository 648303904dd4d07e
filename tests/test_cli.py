"""The command group: every command listed, loaded only when it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

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


def test_a_bad_memory_budget_is_a_one_line_usage_error(tmp_path):
    from click.testing import CliRunner

    runner = CliRunner()
    done = runner.invoke(
        cli,
        [
            "generate",
            "examples/digits_clustering.csv",
            "-o",
            str(tmp_path / "t.parquet"),
            "--memory-budget",
            "4 apples",
        ],
    )
    assert done.exit_code == 2
    errors = [line for line in done.output.splitlines() if line.startswith("Error")]
    assert len(errors) == 1 and "memory budget" in errors[0], done.output
    assert not (tmp_path / "t.parquet").exists()


def test_a_local_generate_never_loads_celery_redis_or_the_analysis_libraries(tmp_path):
    # The service's modules and the analysis' (scipy.stats, scikit-learn) cost start-up.
    probe = (
        "import sys\n"
        "from producer.cli import main\n"
        f"sys.argv = ['metricate', 'generate', 'examples/digits_clustering.csv', '-o', "
        f"{str(tmp_path / 't.parquet')!r}, '--types', 'label_swap_random', '--levels', '5pct']\n"
        "code = None\ntry:\n    main()\nexcept SystemExit as stop:\n    code = stop.code\n"
        "heavy = ('celery', 'kombu', 'redis', 'scipy.stats', 'sklearn')\n"
        "service = sorted(m for m in heavy if m in sys.modules)\n"
        "print('exit:', code, 'loaded:', service, file=sys.stderr)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "METRICATE_BROKER_URL"}
    done = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert done.stderr.strip().splitlines()[-1] == "exit: 0 loaded: []", done.stderr
    assert (tmp_path / "t.parquet").exists()


@pytest.mark.parametrize(("setting", "expected"), [(None, "False"), ("1", "True")])
def test_the_command_asks_for_no_huge_pages_unless_told_to(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = setting
    probe = "import producer.cli, numpy\nprint(numpy._core.multiarray._get_madvise_hugepage())"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, env=env
    )
    assert done.stdout.strip() == expected, done.stderr


@pytest.mark.parametrize("package", ["producer.cli", "worker"])
def test_the_command_and_the_workers_switch_threads_every_millisecond(package):
    # Python's default is 5 ms; see shared/process.py for why 1 ms.
    probe = f"import sys, {package}\nprint(sys.getswitchinterval())"
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert float(done.stdout.strip()) == pytest.approx(0.001), done.stderr
