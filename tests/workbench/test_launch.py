"""hinge-workbench's command line in this process: what it refuses says so in one line before any window
opens, and without a display it says what to do instead."""
import json
import os
import signal
import subprocess
import sys

import pytest

from workbench import app
from tests.core.helpers import heartbeat, wait_until
from workbench.display import display_problem


@pytest.mark.parametrize("args, words", [(["--set", "loss.margin_real=nan"], "loss.margin_real"),
                                         (["--preset", "nosuch"], "no preset"),
                                         (["--preset", "folder"], "data.root is required"),
                                         (["--max-steps", "-1"], "--max-steps must be >= 0"),
                                         (["--attach", "/no/such/run"], "not a run directory")])
def test_bad_arguments_give_one_line_and_no_window(capsys, args, words):
    assert app.main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("hinge-workbench: error:") and words in err[0]


def test_a_new_run_is_planned_from_the_preset_and_its_settings(tmp_path):
    spec = app.spec_from_args(app.build_parser().parse_args(["--preset", "ring8", "--set", "loss.margin_fake=0.5",
                                                             "--run-dir", str(tmp_path / "r"), "--paused"]))
    assert spec.config["loss"]["margin_fake"] == 0.5 and spec.run_dir == str(tmp_path / "r") and spec.paused
    assert spec.resume is None


def test_no_display_is_noticed():
    assert "no display found" in display_problem({})
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_a_display_whose_xcb_libraries_are_missing_names_the_packages_to_install():
    missing = {"libxcb-icccm.so.4", "libxcb-keysyms.so.1"}
    said = display_problem({"DISPLAY": ":0"}, loads=lambda name: name not in missing)
    assert "missing: libxcb-icccm.so.4, libxcb-keysyms.so.1" in said
    assert "apt-get install libxcb-icccm4 libxcb-keysyms1" in said and "QT_QPA_PLATFORM=offscreen" in said
    assert display_problem({"DISPLAY": ":0"}, loads=lambda name: True) is None
    assert display_problem({"WAYLAND_DISPLAY": "wayland-0", "DISPLAY": ":0"}, loads=lambda name: False) is None


def test_this_machines_own_libraries_are_checked(capsys, monkeypatch):
    """On this machine, for real: the window either opens its display or names what is missing."""
    monkeypatch.setenv("DISPLAY", ":99")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    problem = display_problem()
    if problem is None:
        pytest.skip("every xcb library Qt needs is installed here")
    assert app.main(["--preset", "ring8"]) == 2
    assert capsys.readouterr().err.strip() == f"hinge-workbench: error: {problem}"


@pytest.mark.slow
@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_closes_the_window_as_its_close_button_does(tmp_path, number):
    """Ctrl+C in the terminal it was started from, or a logout's SIGTERM: the run is saved, the engine stops."""
    run = tmp_path / "run"
    window = subprocess.Popen([sys.executable, "-m", "workbench.app", "--preset", "ring8", "--run-dir", str(run),
                               "--set", "train.checkpoint_every=100000"],
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"}, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: heartbeat(run).get("step", 0) > 50, timeout=120)
        window.send_signal(number)
        assert window.wait(60) == 0, window.stderr.read()
    finally:
        window.kill()
    beat = heartbeat(run)
    assert (run / "checkpoints" / "last.pt").is_file() and beat["state"] in ("stopped", "done")
    assert "Traceback" not in window.stderr.read()
    last = json.loads((run / "events.jsonl").read_text().splitlines()[-1])
    assert last["kind"] == "stop" and last["step"] == beat["step"] > 50
