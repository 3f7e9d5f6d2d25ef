"""The window attached to runs other processes train: watched and steered through the run directory,
left training on close; finished runs read-only; forks trained beside their parent."""
import json
import os
import shutil
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from core.pictures import read_picture
from core.protocol import commands as C
from core.storage.inbox import append_command
from tests.core.helpers import heartbeat, metrics_rows, wait_until
from tests.core.storage.test_remote import HINGE_TRAIN, LOCAL_SSH
from tests.workbench.conftest import DIGITS, wait_for
from tests.workbench.dialogs import answer, choose_file, enter, menu_action, read_message


def events(run):
    return [json.loads(line) for line in (run / "events.jsonl").read_text().splitlines()]


@pytest.fixture
def headless(tmp_path):
    """Start `hinge-train train` on ring8 in its own process; stopped through its inbox at the end."""
    processes = []

    def start(run, *extra, preset="ring8"):
        process = subprocess.Popen([sys.executable, "-m", "core.cli", "train", "--preset", preset, "--steps",
                                    "10000000", "--set", "train.batch_size=32", "--set", "train.threads=1",
                                    "--set", "train.samples_every_s=0.3", *extra, "--run-dir", str(run)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        processes.append((process, run))
        return process

    yield start
    for process, run in processes:
        if process.poll() is None:
            append_command(run, C.Stop())
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.slow
def test_attached_window_watches_steers_and_leaves_the_run_training(window, qtbot, tmp_path, headless):
    run = tmp_path / "headless"
    process = headless(run)
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    menu_action(window, "File", "Attach to run…")
    pending = answer(qtbot, choose_file(run))
    menu_action(window, "File", "Attach to run…").trigger()
    assert pending == [] and window.attached
    wait_for(qtbot, lambda: window.model.step > 50 and window.model.samples is not None
             and window.controls.isEnabled() and len(window.model.history) > 20)
    assert window.model.info["run_dir"] == str(run) and window.model.state == "running"
    window.controls.margin_real.setValue(0.4)  # steered through commands.jsonl; the echo comes back
    wait_for(qtbot, lambda: window.model.settings.margin_real == 0.4)
    assert any(e["kind"] == "set_margins" and e["source"].startswith("commands.jsonl") for e in window.model.log)
    window.grab().save(str(tmp_path / "attached.png"))
    closed_at = heartbeat(run)["step"]
    window.close()
    wait_until(lambda: heartbeat(run)["step"] > closed_at + 20)  # closing the window left the run training
    assert process.poll() is None
    rows = metrics_rows(run)
    assert rows[-1]["margin_real"] == "0.4"


def test_a_finished_run_opens_read_only(window, qtbot, tmp_path):
    from core.cli import main as hinge_train

    run = tmp_path / "done"
    assert hinge_train(["train", "--preset", "ring8", "--steps", "120", "--set", "train.threads=1",
                        "--set", "train.batch_size=32", "--run-dir", str(run)]) == 0
    window.attach(str(run))
    wait_for(qtbot, lambda: window.model.step == 120 and len(window.model.history) == 120)
    assert window.model.state == "done" and window.model.samples is not None
    assert window.banner.isVisible() and "Read-only" in window.banner.label.text()
    before = (run / "commands.jsonl").exists()
    window.controls.pause_button.click()
    assert "read-only" in window.statusBar().currentMessage() and (run / "commands.jsonl").exists() == before


def test_attaching_a_folder_that_is_no_run_says_so(window, qtbot, tmp_path):
    said = []
    pending = answer(qtbot, choose_file(tmp_path), read_message(said))
    menu_action(window, "File", "Attach to run…").trigger()
    assert pending == [] and "not a run directory" in said[0] and not window.attached


@pytest.mark.slow
def test_fork_from_here_trains_a_copy_with_other_settings_beside_the_parent(window, qtbot, tmp_path, headless):
    run = tmp_path / "parent"
    headless(run, "--set", "train.checkpoint_every=100000")
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.attach(str(run))
    wait_for(qtbot, lambda: window.runner.alive and window.model.settings is not None)
    settings = "loss.margin_real=0.3\nloss.margin_fake=0.3\ntrain.threads=1"
    pending = answer(qtbot, enter(settings), enter("pauses"))
    menu_action(window, "File", "Fork from here…").trigger()
    wait_for(qtbot, lambda: pending == [] and bool(window.forks))
    fork_process = window.forks.running[0].process
    try:
        fork = next(p for p in tmp_path.iterdir() if "-fork-" in p.name)
        wait_for(qtbot, lambda: (fork / "live" / "heartbeat.json").exists())
        record = json.loads((fork / "config.json").read_text())
        saved = next(e for e in events(run) if e["kind"] == "save_checkpoint")
        assert record["parent"]["run_dir"] == str(run.resolve()) and record["parent"]["step"] == saved["step"]
        assert record["loss"]["margin_real"] == 0.3
        wait_for(qtbot, lambda: window.model.state == "paused")  # the parent paused, as chosen
    finally:
        append_command(fork, C.Stop())
        fork_process.wait(30)
    forked = next(e for e in events(fork) if e["kind"] == "forked")
    assert forked["changed"]["loss.margin_real"] == [1.0, 0.3]


@pytest.mark.slow
def test_a_run_on_another_machine_is_attached_steered_and_followed_across_a_dropped_link(window, qtbot, tmp_path,
                                                                                          headless):
    run = tmp_path / "headless"
    headless(run)
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.remote = (LOCAL_SSH, HINGE_TRAIN)  # ssh to this machine (tests/core/storage/local_ssh.py)
    pending = answer(qtbot, enter(f"gpu-box:{run}"))
    menu_action(window, "File", "Attach to run on another machine…").trigger()
    assert pending == [] and window.attached
    wait_for(qtbot, lambda: window.model.step > 50 and window.model.samples is not None
             and window.controls.isEnabled() and len(window.model.history) > 20)
    window.controls.margin_real.setValue(0.4)
    wait_for(qtbot, lambda: window.model.settings.margin_real == 0.4)
    os.killpg(window.runner.follower._process.pid, signal.SIGKILL)  # the link drops
    wait_for(qtbot, lambda: "reconnecting" in window.banner.label.text() or window.runner.connection != "connected")
    wait_for(qtbot, lambda: window.runner.connection == "connected" and window.model.step > heartbeat(run)["step"] - 30)
    steps = window.model.history.steps
    assert list(steps) == list(range(int(steps[0]), int(steps[-1]) + 1))  # no step missed across the drop
    window.close()
    assert [e["kind"] for e in events(run)].count("set_margins") == 1


@pytest.mark.slow
def test_a_remote_run_s_real_images_and_exports_come_over_the_channel(window, qtbot, tmp_path, headless):
    """No shared folder: the real images, the metrics, a samples grid and the timelapse of a run on another
    machine reach this one through the ssh channel, to the paths picked here."""
    run, here = tmp_path / "there", tmp_path / "here"
    here.mkdir()
    headless(run, *(f"--set={item}" for item in DIGITS), preset="digits")
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.attach(f"gpu-box:{run}", LOCAL_SSH, HINGE_TRAIN)
    window.samples.raise_()
    wait_for(qtbot, lambda: window.model.samples is not None and window.runner.alive)
    window.samples.real.click()
    wait_for(qtbot, lambda: "real images as D receives them" in window.samples.caption.text())
    assert np.array_equal(window.samples._real, read_picture(run / "real.png"))
    pending = answer(qtbot, choose_file(here))  # each saved under its default name, in the folder opened here
    menu_action(window, "File", "Export metrics CSV…").trigger()
    wait_for(qtbot, lambda: pending == [] and any(here.glob("metrics-*.csv")))
    copied = next(here.glob("metrics-*.csv")).read_text().splitlines()
    assert copied[0] == (run / "metrics.csv").read_text().splitlines()[0] and len(copied) > 2
    pending = answer(qtbot, choose_file(here), enter(16))
    menu_action(window, "File", "Export samples", "As PNG grid…").trigger()
    wait_for(qtbot, lambda: pending == [] and any(here.glob("export-*.png")))
    exported = next(here.glob("export-*.png"))  # written in the run's samples folder there, then fetched
    assert exported.read_bytes() == (run / "samples" / exported.name).read_bytes()
    wait_until(lambda: len(list((run / "samples" / "timelapse").glob("*.png"))) >= 2)
    pending = answer(qtbot, choose_file(here))
    menu_action(window, "File", "Export timelapse GIF…").trigger()
    wait_for(qtbot, lambda: pending == [] and any(here.glob("timelapse-*.gif")))
    assert Image.open(next(here.glob("timelapse-*.gif"))).n_frames >= 2
    wait_for(qtbot, lambda: "wrote" in window.statusBar().currentMessage())
    append_command(run, C.Stop())
    wait_until(lambda: heartbeat(run)["state"] == "stopped")
    shutil.rmtree(run / "samples" / "timelapse")
    for old in here.glob("timelapse-*.gif"):
        old.unlink()
    pending = answer(qtbot, choose_file(here), read_message(said := []))
    menu_action(window, "File", "Export timelapse GIF…").trigger()
    wait_for(qtbot, lambda: pending == [])
    assert "timelapse" in said[0]  # what is missing there is said, in the window


@pytest.mark.slow
def test_a_remote_run_forks_on_its_own_machine_beside_it(window, qtbot, tmp_path, headless):
    run = tmp_path / "there"
    headless(run)
    wait_for(qtbot, lambda: (run / "live" / "heartbeat.json").exists())
    window.attach(f"gpu-box:{run}", LOCAL_SSH, HINGE_TRAIN)
    wait_for(qtbot, lambda: window.runner.alive and window.model.settings is not None)
    pending = answer(qtbot, enter("loss.margin_real=0.3\ntrain.threads=1"), enter("keeps training"))
    menu_action(window, "File", "Fork from here…").trigger()
    wait_for(qtbot, lambda: pending == [])
    wait_until(lambda: any((p / "config.json").exists() for p in tmp_path.glob("there-fork-*")), timeout=60)
    fork = next(p for p in tmp_path.glob("there-fork-*") if p.is_dir())  # beside it, its log: there-fork-*.log
    try:
        wait_until(lambda: (fork / "live" / "heartbeat.json").exists() and heartbeat(fork).get("pid"))
        record = json.loads((fork / "config.json").read_text())
        assert record["parent"]["run_dir"] == str(run.resolve()) and record["loss"]["margin_real"] == 0.3
        wait_for(qtbot, lambda: "File > Attach to run on another machine" in window.statusBar().currentMessage())
        assert window.model.state == "running" and str(window.runner.run_dir) == f"gpu-box:{run}"
    finally:  # detached, as on another machine: ended here
        append_command(fork, C.Stop())
        wait_until(lambda: not (fork / "live" / "heartbeat.json").exists() or heartbeat(fork)["state"] == "stopped")


@pytest.mark.slow
def test_a_new_run_started_on_another_machine_is_attached_and_trains_on_after_the_window_closes(window, qtbot,
                                                                                                tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # its run directory is relative to the remote home: here, this folder
    window.remote = (LOCAL_SSH, HINGE_TRAIN)
    pending = answer(qtbot, enter("gpu-box"), enter("ring8"), enter("train.threads=1\ntrain.batch_size=32"))
    menu_action(window, "File", "New run on another machine…").trigger()
    assert pending == []
    wait_until(lambda: (tmp_path / "runs").is_dir() and any((tmp_path / "runs").iterdir()))
    run = next(path for path in (tmp_path / "runs").iterdir() if path.is_dir())
    try:
        wait_for(qtbot, lambda: window.attached and window.model.step > 20)
        assert run.name.startswith("ring8-") and str(window.runner.run_dir) == f"gpu-box:{run.relative_to(tmp_path)}"
        closed_at = heartbeat(run)["step"]
        window.close()
        wait_until(lambda: heartbeat(run)["step"] > closed_at + 20)  # it trains on without the window
        append_command(run, C.Stop())
        wait_until(lambda: heartbeat(run)["state"] == "stopped")
    finally:  # detached from this test's processes: ended here whatever happened
        if heartbeat(run).get("pid") and heartbeat(run).get("state") != "stopped":
            os.kill(heartbeat(run)["pid"], signal.SIGKILL)
