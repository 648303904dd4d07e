"""The `metricate` command line.

Importing it prepares the process (no huge-page requests for numpy's arrays, a short
thread switch interval; see ``shared/process.py``) before numpy is first imported.
"""

from shared.process import prepare_process

prepare_process()
