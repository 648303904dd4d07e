"""Process-wide settings of a `metricate` process: the command and the workers.

- numpy asks Linux for transparent huge pages on every large array (``madvise``). Where
  the kernel then compacts memory to find them (``defrag`` at its common default,
  ``madvise``), each new array of pair distances stalls on it: a run allocates and
  frees many such arrays, and spent about a tenth of its time in the kernel on a
  10,000-point file. That request is turned off unless ``NUMPY_MADVISE_HUGEPAGE`` is
  set (1 turns it back on). It must be set before numpy is first imported.
- How long a thread runs Python code before another thread waiting for the
  interpreter may take over (Python's default: 5 ms). With two threads on one file, a
  thread back from numpy work (done without the interpreter lock) otherwise waits up
  to that long while the other runs Python code: at 1 ms, ``--jobs 2`` ran 5% faster on
  a 5,000-point file and 7% on a 1,000-point one, with half the context switches.
- On AMD's Zen 4 processors (family 0x19 with AVX-512) numpy's AVX-512 sort is several
  times slower than its AVX2 one: its partition step stores with ``vcompresspd`` to
  memory, which Zen 4 runs as microcode (a known numpy / x86-simd-sort issue; Zen 5
  fixed it). Measured on a Zen 4 EPYC: 69 against 10.5 ns a value for 16M float64, and
  a 10,000-point ``generate`` 30.1-33.1 against 24.2-26.0 s. There numpy's AVX-512
  code paths are turned off (``NPY_DISABLE_CPU_FEATURES``) unless that variable is set
  already (set it empty to keep them). AVX-512 runs at half width on Zen 4: the AVX2
  paths of the other operations are as fast. Only the last bits of numpy's exp and
  log may differ between the two paths.

This module imports nothing heavy: `metricate --help` stays fast.
"""

from __future__ import annotations

import os
import sys
import warnings
from collections.abc import Mapping

SWITCH_INTERVAL = 0.001  # seconds
CPU_FEATURES_ENV = "NPY_DISABLE_CPU_FEATURES"
# numpy's names for its AVX-512 targets: from 2.4 on (X86_V4 and after), and before.
# numpy warns of the names it does not know (an ImportWarning, hidden by default; the
# filter below hides it where warnings are shown) and turns off the others.
AVX512_TARGETS = (
    "X86_V4 AVX512_ICL AVX512_SPR "
    "AVX512F AVX512CD AVX512_KNL AVX512_KNM AVX512_SKX AVX512_CLX AVX512_CNL"
)
_ZEN4_FAMILY = 0x19  # Zen 3 too, which has no AVX-512; Zen 5 is 0x1A


def slow_compress_store(cpuinfo: str) -> bool:
    """Whether ``/proc/cpuinfo``'s text describes a Zen 4 processor: AMD, family 0x19,
    with AVX-512 (read from its first processor)."""
    fields: dict[str, str] = {}
    for line in cpuinfo.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        name, _, value = line.partition(":")
        fields[name.strip()] = value.strip()
    return (
        fields.get("vendor_id") == "AuthenticAMD"
        and fields.get("cpu family") == str(_ZEN4_FAMILY)
        and "avx512f" in fields.get("flags", "").split()
    )


def _cpuinfo() -> str:
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as file:
            return file.read(1 << 16)  # the first processor's lines
    except OSError:  # not Linux
        return ""


def numpy_settings(environ: Mapping[str, str], cpuinfo: str) -> dict[str, str]:
    """The variables to set for numpy, given the environment and ``/proc/cpuinfo``'s
    text: none that is set already."""
    settings = {"NUMPY_MADVISE_HUGEPAGE": "0"}
    if slow_compress_store(cpuinfo):
        settings[CPU_FEATURES_ENV] = AVX512_TARGETS
    return {name: value for name, value in settings.items() if name not in environ}


def prepare_process() -> None:
    """Apply the settings above to this process (numpy's only before it is imported)."""
    if "numpy" not in sys.modules:
        settings = numpy_settings(os.environ, _cpuinfo())
        os.environ.update(settings)
        if CPU_FEATURES_ENV in settings:  # numpy's warning of the names it does not know
            warnings.filterwarnings(
                "ignore", f"During parsing environment variable: '{CPU_FEATURES_ENV}'"
            )
    sys.setswitchinterval(SWITCH_INTERVAL)
