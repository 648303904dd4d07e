import sys
from pathlib import Path

from shared.process import prepare_process

# The tests' own process runs with the command's and the workers' settings (numpy's
# among them, which must be set before numpy is first imported).
prepare_process()

# The reference implementations live next to the tests.
sys.path.insert(0, str(Path(__file__).parent))
