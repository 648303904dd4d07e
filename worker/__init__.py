"""The Celery tasks of the distributed service.

Each worker process runs BLAS single-threaded: the pool's processes already use every
core, and threads inside each would only contend. The variables must be set before
numpy is first imported, which is why they are set here, on the package's import,
with the command's own process settings (see ``shared/process.py``).
"""

import os

from shared.process import prepare_process

for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"
prepare_process()
