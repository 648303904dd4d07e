"""The `metricate` command line.

numpy asks Linux for transparent huge pages on every large array (``madvise``). Where
the kernel then compacts memory to find them (``defrag`` at its common default,
``madvise``), each new array of pair distances stalls on it: a run allocates and frees
many such arrays, and spent about a tenth of its time in the kernel on a 10,000-point
file. The command turns that request off unless ``NUMPY_MADVISE_HUGEPAGE`` is set (1
turns it back on). It must be set before numpy is first imported, hence here.
"""

import os

os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
