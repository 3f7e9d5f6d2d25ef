"""The engine fails in every way we know; the window stays up and says why."""
import os
import subprocess
import sys
import time

import pytest

from tests.workbench.conftest import RING, make_spec, wait_for

pytestmark = pytest.mark.slow  # every test here starts a process (an engine, the app, a checker)


def test_engine_error_at_start_is_shown(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, "folder", ["data.root=" + str(tmp_path / "missing")]))
    wait_for(qtbot, lambda: window.model.state == "failed", timeout=30_000)
    assert "data folder not found" in window.banner.label.text()
    assert window.banner.isVisible() and not window.banner.restart_button.isVisible()  # nothing to restart from


def test_out_of_memory_on_the_cpu_is_shown(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, "ring8", RING + ["train.batch_size=20000000000"]))
    wait_for(qtbot, lambda: window.model.state == "failed", timeout=30_000)
    assert "out of memory" in window.banner.label.text()
    window.start(make_spec(tmp_path, "ring8", RING))  # the window is still usable
    wait_for(qtbot, lambda: window.model.step > 5)
    assert not window.banner.isVisible()


ORPHAN = """
import sys, time
from core.config import resolve
from core.protocol.engine import Failure, RunSpec
from workbench.runner import Runner

if __name__ == "__main__":
    runner = Runner()
    cfg = resolve("ring8", overrides=["train.batch_size=16"])
    runner.start(RunSpec(cfg.to_dict(), sys.argv[1], "cpu"))
    while not any(not isinstance(x, Failure) for x in runner.poll()):
        time.sleep(0.1)
    print(runner.pid, flush=True)
    time.sleep(600)
"""


def _gone(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            return "\nState:\tZ" in f.read()
    except FileNotFoundError:
        return True


def test_engine_exits_by_itself_when_the_gui_process_dies(tmp_path):
    gui = subprocess.Popen([sys.executable, "-c", ORPHAN, str(tmp_path / "run")], stdout=subprocess.PIPE, text=True)
    child = int(gui.stdout.readline())
    assert not _gone(child)
    gui.kill()
    gui.wait(10)
    deadline = time.monotonic() + 5
    try:
        while not _gone(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _gone(child), "the engine process outlived its parent"
    finally:
        if not _gone(child):
            os.kill(child, 9)
