"""hinge-workbench launched as a user launches it: a real process with a real (offscreen) window."""
import os
import subprocess
import sys

import pytest

from core.training.checkpoint import load_checkpoint

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]  # every test here starts a process (an engine, the app)


def workbench(tmp_path, *args, timeout=240):
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "XDG_CONFIG_HOME": str(tmp_path / "config")}
    return subprocess.run([sys.executable, "-m", "workbench.app", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout)


def test_exit_when_done_leaves_a_complete_run_directory(tmp_path):
    run = tmp_path / "run"
    result = workbench(tmp_path, "--preset", "ring8", "--max-steps", 300, "--exit-when-done", "--run-dir", run)
    assert result.returncode == 0, result.stderr
    assert {p.name for p in run.iterdir()} >= {"config.json", "metrics.csv", "events.jsonl", "checkpoints", "samples"}
    assert load_checkpoint(run / "checkpoints" / "last.pt")["step"] == 300
    assert len((run / "metrics.csv").read_text().splitlines()) == 301
    assert (tmp_path / "config" / "hinge-workbench" / "hinge-workbench.conf").exists()  # the layout was saved


def test_without_a_display_it_says_what_to_do_instead(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    result = subprocess.run([sys.executable, "-m", "workbench.app", "--preset", "ring8", "--run-dir", tmp_path / "r"],
                            capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "hinge-workbench: error: no display found (DISPLAY and WAYLAND_DISPLAY are unset). Train with "
        "`hinge-train train ...` here, and watch the run from a machine with a display; "
        "QT_QPA_PLATFORM=offscreen runs the window without showing it."]


def test_bad_settings_give_one_line_before_any_window(tmp_path):
    (tmp_path / "x.pt").write_text("not a checkpoint\n")
    for args, words in ((["--set", "loss.margin_real=nan"], "loss.margin_real"),
                        (["--preset", "nosuch"], "no preset"),
                        (["--resume", tmp_path / "missing.pt"], "not found"),
                        (["--resume", tmp_path / "x.pt"], "not a readable checkpoint"),
                        (["--preset", "folder"], "data.root is required")):
        result = workbench(tmp_path, *args, timeout=60)
        assert result.returncode == 2
        assert result.stderr.strip().splitlines()[-1].startswith("hinge-workbench: error:")
        assert words in result.stderr and "Traceback" not in result.stderr
