"""The command group: every command listed, loaded only when it runs."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from producer.cli import COMMANDS, cli
from shared.process import AVX512_TARGETS, numpy_settings, slow_compress_store

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    probe: str, *options: str, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run ``probe`` in a fresh interpreter from the project's root."""
    return subprocess.run(
        [sys.executable, *options, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
    )


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
    done = run_python(probe)
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
    done = run_python(probe, env=env, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "exit: 0 loaded: []", done.stderr
    assert (tmp_path / "t.parquet").exists()


@pytest.mark.parametrize(("setting", "expected"), [(None, "False"), ("1", "True")])
def test_the_command_asks_for_no_huge_pages_unless_told_to(setting, expected):
    env = {k: v for k, v in os.environ.items() if k != "NUMPY_MADVISE_HUGEPAGE"}
    if setting is not None:
        env["NUMPY_MADVISE_HUGEPAGE"] = setting
    probe = "import producer.cli, numpy\nprint(numpy._core.multiarray._get_madvise_hugepage())"
    done = run_python(probe, env=env)
    assert done.stdout.strip() == expected, done.stderr


def _cpuinfo(vendor: str, family: int, flags: str) -> str:
    """Two processors' lines as Linux prints them."""
    one = (
        f"processor\t: {{n}}\nvendor_id\t: {vendor}\ncpu family\t: {family}\n"
        f"model\t\t: 17\nflags\t\t: fpu sse2 {flags} avx2\n\n"
    )
    return one.format(n=0) + one.format(n=1)


ZEN4 = _cpuinfo("AuthenticAMD", 25, "avx512f avx512dq avx512bw")


@pytest.mark.parametrize(
    ("cpuinfo", "slow"),
    [
        (ZEN4, True),
        (_cpuinfo("AuthenticAMD", 25, "fma"), False),  # Zen 3: no AVX-512
        (_cpuinfo("AuthenticAMD", 26, "avx512f"), False),  # Zen 5
        (_cpuinfo("AuthenticAMD", 23, "fma"), False),  # Zen 2
        (_cpuinfo("GenuineIntel", 6, "avx512f avx512_fp16"), False),
        ("", False),  # no /proc/cpuinfo
        # A second processor's lines do not count for the first's.
        ("vendor_id\t: AuthenticAMD\ncpu family\t: 25\n\nflags\t\t: avx512f\n", False),
    ],
)
def test_zen4_is_told_from_the_first_processors_lines(cpuinfo, slow):
    assert slow_compress_store(cpuinfo) is slow


def test_numpy_settings_turn_off_avx512_on_zen4_unless_the_variable_is_set():
    assert numpy_settings({}, ZEN4) == {
        "NUMPY_MADVISE_HUGEPAGE": "0",
        "NPY_DISABLE_CPU_FEATURES": AVX512_TARGETS,
    }
    assert numpy_settings({}, _cpuinfo("GenuineIntel", 6, "avx512f")) == {
        "NUMPY_MADVISE_HUGEPAGE": "0"
    }
    # Set, even empty (keep every path), the user's value stands.
    assert (
        numpy_settings({"NPY_DISABLE_CPU_FEATURES": "", "NUMPY_MADVISE_HUGEPAGE": "1"}, ZEN4) == {}
    )
    # Both numpy naming schemes: 2.4's target and the earlier one.
    assert {"X86_V4", "AVX512F", "AVX512_SKX"} <= set(AVX512_TARGETS.split())


@pytest.mark.parametrize("package", ["producer.cli", "worker"])
@pytest.mark.parametrize("setting", [None, ""])
def test_numpy_runs_its_avx512_code_unless_the_processor_is_zen4(package, setting):
    # On this machine, whatever it is: the processor's AVX-512 paths are on in a command
    # or worker process unless it is a Zen 4; an empty variable keeps them on there too.
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    if setting is not None:
        env["NPY_DISABLE_CPU_FEATURES"] = setting
    probe = (
        f"import {package}, numpy, os\n"
        "from numpy._core._multiarray_umath import __cpu_dispatch__, __cpu_features__\n"
        "on = [f for f in __cpu_dispatch__ if __cpu_features__[f]]\n"
        "avx512 = any(f == 'X86_V4' or f.startswith('AVX512') for f in on)\n"
        "print(avx512, repr(os.environ.get('NPY_DISABLE_CPU_FEATURES')))"
    )
    done = run_python(probe, "-W", "error::ImportWarning", env=env)
    assert done.returncode == 0 and not done.stderr, done.stderr
    avx512, variable = done.stdout.split(maxsplit=1)
    has_avx512 = "avx512f" in Path("/proc/cpuinfo").read_text().split()
    zen4 = slow_compress_store(Path("/proc/cpuinfo").read_text())
    turned_off = zen4 and setting is None
    assert avx512 == str(has_avx512 and not turned_off)
    assert variable.strip() == repr(AVX512_TARGETS if turned_off else setting)


@pytest.mark.parametrize("package", ["producer.cli", "worker"])
def test_the_command_and_the_workers_switch_threads_every_millisecond(package):
    # Python's default is 5 ms; see shared/process.py for why 1 ms.
    probe = f"import sys, {package}\nprint(sys.getswitchinterval())"
    done = run_python(probe)
    assert float(done.stdout.strip()) == pytest.approx(0.001), done.stderr


def test_the_command_leaves_its_objects_to_the_system_at_exit():
    # Frozen objects are skipped by the interpreter's garbage collections at exit (the
    # system frees the process at once); exit handlers still run.
    probe = (
        "import atexit, gc, sys\n"
        "from producer.cli import main\n"
        "atexit.register(lambda: print('handlers ran', gc.get_freeze_count() > 1000))\n"
        "sys.argv = ['metricate', 'list', 'metrics']\n"
        "main()\n"
    )
    done = run_python(probe)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "handlers ran True"
