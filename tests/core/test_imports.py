import subprocess
import sys


def test_core_never_imports_qt():
    code = ("import sys, core.cli, core.session, core.engine, core.export, core.metrics, core.data;"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('PySide6', 'pyqtgraph', 'workbench')];"
            "print(bad); sys.exit(1 if bad else 0)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
