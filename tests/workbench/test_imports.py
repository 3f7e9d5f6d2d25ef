import subprocess
import sys


def test_the_window_process_stays_free_of_torch():
    """The engine runs in a child; the GUI process needs neither torch's import time nor its memory."""
    code = "import sys, workbench.app, workbench.main_window; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], timeout=120).returncode == 0
