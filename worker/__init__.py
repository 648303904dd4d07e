"""The Celery tasks of the distributed service.

Each worker process runs BLAS single-threaded: the pool's processes already use every
core, and threads inside each would only contend. The variables must be set before
numpy is first imported, which is why they are set here, on the package's import.
"""

import os

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
# As for the command (see producer/__init__.py): no huge-page requests for numpy's
# arrays unless asked for.
os.environ.setdefault("NUMPY_MADVISE_HUGEPAGE", "0")
