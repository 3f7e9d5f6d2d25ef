import csv
import json
import os
import signal

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QSettings, Qt

from core.protocol import commands as C
from core.pictures import write_timelapse
from core.storage.rundir import step_files
from core.training.checkpoint import load_checkpoint
from tests.workbench.conftest import DIGITS, RING, make_spec, wait_for
from workbench.main_window import MainWindow
from core.protocol.engine import RunSpec

DOCKS = {"losses_dock", "margins_dock", "samples_dock", "controls_dock", "run_dock", "quality_dock", "runs_dock",
         "health_dock", "loss_lab_dock", "sweep_dock"}


def events(run_dir):
    path = run_dir / "events.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_window_opens_with_every_dock_and_menu(window):
    from PySide6.QtWidgets import QDockWidget
    assert {d.objectName() for d in window.findChildren(QDockWidget)} == DOCKS
    menus = [a.text() for a in window.menuBar().actions()]
    assert menus == ["&File", "&Run", "&View", "&Help"]
    shortcuts = {a.shortcut().toString() for a in window.findChildren(type(window.export_action))}
    assert {"Space", "Ctrl+S", "Ctrl+E", "Ctrl+N", "Ctrl+Q"} <= shortcuts


@pytest.mark.slow
def test_a_short_run_updates_every_view(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.step > 50 and window.model.samples is not None)
    wait_for(qtbot, lambda: window.losses.curves["d_loss"].getData()[0] is not None
             and len(window.losses.curves["d_loss"].getData()[0]) > 10)
    # docks redraw in turn, each at most twice a second
    wait_for(qtbot, lambda: window.margins.hist_real.getData()[1].sum() > 0)
    wait_for(qtbot, lambda: window.samples.fake_points.data.size > 0)
    assert window.run_info.labels["device"].text() == "cpu"
    assert window.run_info.labels["precision"].text() == "fp32 (set by train.precision)"
    assert "steps/s" in window.status_line.labels["rate"].text()


@pytest.mark.slow
def test_a_dock_behind_a_tab_is_redrawn_once_in_front(window, qtbot, tmp_path):
    window.run_info.raise_()
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.run_info.labels["step"].text() not in ("–", "0"))  # it draws while in front
    window.controls.raise_()  # now Run is behind the Controls tab
    qtbot.wait(600)  # a redraw already under way may land
    hidden, losses = window.run_info.labels["step"].text(), window.losses.widget().grab().toImage()
    qtbot.wait(1500)  # three turns of every dock
    assert window.run_info.labels["step"].text() == hidden
    assert window.losses.widget().grab().toImage() != losses  # the docks in front kept redrawing meanwhile
    window.run_info.raise_()
    wait_for(qtbot, lambda: window.run_info.labels["step"].text() != hidden)


@pytest.mark.slow
def test_quality_is_scored_on_schedule_and_on_request(window, qtbot, tmp_path):
    window.quality.raise_()  # its tab in front: a dock behind another tab is not redrawn
    window.start(make_spec(tmp_path, overrides=RING + ["eval.every=40", "eval.n=200"], max_steps=100))
    wait_for(qtbot, lambda: window.model.state == "done" and window.model.quality
             and window.model.quality[-1]["step"] == 100)
    scheduled = [r["step"] for r in window.model.quality]
    assert set(scheduled) <= {5, 10, 20, 40, 80, 100}  # a step is skipped while one waits to be scored
    assert scheduled == sorted(scheduled) and scheduled[-1] == 100  # the final score is never skipped
    assert {5, 10, 20} & set(scheduled)  # early scores, before the first regular one
    wait_for(qtbot, lambda: window.quality.table.topLevelItemCount() >= 3)
    rows = {window.quality.table.topLevelItem(i).text(0) for i in range(window.quality.table.topLevelItemCount())}
    assert {"modes covered", "high-quality samples", "reverse KL (modes)"} <= rows
    wait_for(qtbot, lambda: len(window.quality.curve.getData()[0]) == len(scheduled))
    window.send(C.Step(5))
    wait_for(qtbot, lambda: window.model.step == 105)
    window.quality.evaluate_button.click()
    wait_for(qtbot, lambda: window.model.quality[-1]["step"] == 105)
    lines = (tmp_path / "run" / "quality.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == scheduled + [105]
    seconds = [json.loads(line)["train_seconds"] for line in lines]
    assert seconds == sorted(seconds) and seconds[-1] > seconds[0] > 0
    window.quality.x_axis.setCurrentIndex(window.quality.x_axis.findData("train_seconds"))
    assert list(window.quality.curve.getData()[0]) == seconds


@pytest.mark.slow
def test_image_scores_show_their_floor_and_their_judge(window, qtbot, tmp_path):
    window.quality.raise_()
    window.start(make_spec(tmp_path, "digits", DIGITS + ["eval.every=20", "eval.n=100"], max_steps=20))
    wait_for(qtbot, lambda: bool(window.model.quality) and "fid_cnn_floor" in window.model.quality[-1], timeout=120_000)
    result = window.model.quality[-1]
    wait_for(qtbot, lambda: window.quality.status.text().startswith(f"Step {result['step']:,}"))
    assert "Judge" in window.quality.status.text()
    assert f"{100 * result['classifier_accuracy']:.1f}% accurate" in window.quality.status.text()
    window.quality.choice.setCurrentIndex(window.quality.choice.findData("fid_cnn"))
    assert window.quality.floor.isVisible() and window.quality.floor.value() == result["fid_cnn_floor"] > 0
    rows = [window.quality.table.topLevelItem(i).text(0) for i in range(window.quality.table.topLevelItemCount())]
    assert rows[rows.index("FID (dataset CNN features)") + 1].strip().startswith("floor: real vs real")
    assert "samples the classifier reads with p >= 0.9" in rows


@pytest.mark.slow
def test_image_samples_show_and_enlarge(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.samples is not None and window.samples.image.image is not None)
    grid = window.samples.image.image
    rows, cols = (grid.shape[0] - 2) / 34, (grid.shape[1] - 2) / 34  # grayscale samples of 32 px, 2 px gutters
    assert grid.ndim == 2 and rows == int(rows) and cols == int(cols)
    assert rows * cols >= 16 > (rows - 1) * cols  # the 16 samples, tiled to fill the view
    dialog = window.samples.show_enlarged(np.ascontiguousarray(grid[2:34, 2:34, None]), "sample 0")
    assert dialog.isVisible()
    dialog.close()


@pytest.mark.slow
def test_margins_from_the_ui_reach_the_engine(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.settings is not None and window.controls.isEnabled())
    window.controls.margin_real.setValue(0.4)
    wait_for(qtbot, lambda: window.model.settings.margin_real == 0.4)
    window.margins.line_fake.setValue(-2.5)
    window.margins.line_fake.sigPositionChangeFinished.emit(window.margins.line_fake)
    wait_for(qtbot, lambda: window.model.settings.margin_fake == 2.5)
    step = window.model.step
    wait_for(qtbot, lambda: window.model.step > step + 20)
    applied = [e for e in events(tmp_path / "run") if e["kind"] == "set_margins"]
    assert applied[-1]["margin_fake"] == 2.5 and applied[0]["margin_real"] == 0.4
    with open(tmp_path / "run" / "metrics.csv") as f:
        rows = list(csv.DictReader(f))
    assert rows[-1]["margin_real"] == "0.4" and rows[-1]["margin_fake"] == "2.5"
    assert any(m["kind"] == "set_margins" for m in window.model.markers)
    wait_for(qtbot, lambda: len(window.losses._markers) >= 2)


@pytest.mark.slow
def test_spectral_norm_switch_reaches_the_engine(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.settings is not None and window.controls.isEnabled())
    assert window.controls.spectral_norm.isChecked()
    window.controls.spectral_norm.click()
    wait_for(qtbot, lambda: window.model.settings.spectral_norm is False)
    toggles = [e for e in events(tmp_path / "run") if e["kind"] == "set_spectral_norm"]
    assert toggles[-1]["enabled"] is False and toggles[-1]["layers"] == []


@pytest.mark.slow
def test_pause_stops_and_step_once_advances_exactly_one(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.state == "running" and window.model.step > 5)
    qtbot.keyClick(window, Qt.Key_Space)
    wait_for(qtbot, lambda: window.model.state == "paused")
    qtbot.wait(300)
    paused_at = window.model.step
    qtbot.wait(500)
    assert window.model.step == paused_at
    window.controls.step_button.click()
    wait_for(qtbot, lambda: window.model.step == paused_at + 1)
    qtbot.wait(400)
    assert window.model.step == paused_at + 1 and window.model.state == "paused"
    window.controls.pause_button.click()
    wait_for(qtbot, lambda: window.model.state == "running")


@pytest.mark.slow
def test_exports_write_valid_files(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.step > 3 and window.model.samples is not None)
    out = tmp_path / "out"
    window.send(C.ExportSamples(str(out / "grid.png"), n=16))
    window.send(C.ExportSamples(str(out / "samples.npy"), n=10))
    window.send(C.ExportSamples(str(out / "files"), n=5))
    wait_for(qtbot, lambda: len([e for e in window.model.log if e["kind"] == "export_samples"]) == 3)
    assert Image.open(out / "grid.png").size[0] > 32
    array = np.load(out / "samples.npy")
    assert array.dtype == np.uint8 and array.shape == (10, 32, 32, 1)
    assert len(list((out / "files").glob("*.png"))) == 5
    wait_for(qtbot, lambda: len(list((tmp_path / "run" / "samples" / "timelapse").glob("*.png"))) >= 2)
    window.file_menu.exports.run_file_action(lambda: write_timelapse(
        step_files(tmp_path / "run" / "samples" / "timelapse", ".png"), out / "timelapse.gif"))
    gif = Image.open(out / "timelapse.gif")
    assert gif.format == "GIF" and gif.n_frames >= 2


@pytest.mark.slow
def test_save_and_resume_from_the_ui(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.step > 20)
    qtbot.keyClick(window, Qt.Key_S, Qt.ControlModifier)
    wait_for(qtbot, lambda: any(e["kind"] == "save_checkpoint" for e in window.model.log))
    saved = next(e for e in window.model.log if e["kind"] == "save_checkpoint")
    assert load_checkpoint(saved["path"])["step"] == saved["step"]
    window.start(RunSpec(None, str(tmp_path / "run"), "cpu", resume=saved["path"], paused=True))
    wait_for(qtbot, lambda: window.model.state == "paused")
    assert window.model.step == saved["step"]


@pytest.mark.slow
def test_engine_killed_mid_run_is_reported_and_restartable(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.step > 10)
    window.send(C.SaveCheckpoint())
    wait_for(qtbot, lambda: (tmp_path / "run" / "checkpoints" / "last.pt").exists())
    os.kill(window.runner.pid, signal.SIGKILL)
    wait_for(qtbot, lambda: window.model.state == "failed", timeout=10_000)
    assert "signal 9" in window.banner.label.text()
    assert window.banner.isVisible() and window.banner.restart_button.isVisible()
    window.banner.restart_button.click()
    wait_for(qtbot, lambda: window.model.state == "paused")
    assert not window.banner.isVisible()


@pytest.mark.slow
def test_a_restart_keeps_one_row_per_step_and_shows_the_whole_history(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path, overrides=RING + ["eval.every=20", "eval.n=200"]))
    wait_for(qtbot, lambda: window.model.step > 45 and len(window.model.quality) >= 2)
    window.send(C.SaveCheckpoint())
    wait_for(qtbot, lambda: any(e["kind"] == "save_checkpoint" for e in window.model.log))
    saved = next(e for e in window.model.log if e["kind"] == "save_checkpoint")["step"]
    wait_for(qtbot, lambda: window.model.step > saved + 100)
    qtbot.wait(300)  # the rows of the doomed branch reach metrics.csv
    os.kill(window.runner.pid, signal.SIGKILL)
    wait_for(qtbot, lambda: window.model.state == "failed", timeout=10_000)
    window.banner.restart_button.click()
    wait_for(qtbot, lambda: window.model.state == "paused")
    assert window.model.history.steps[0] == 1 and window.model.history.steps[-1] == saved
    scored = [json.loads(line)["step"] for line in (tmp_path / "run" / "quality.jsonl").read_text().splitlines()]
    assert len(scored) >= 2 and max(scored) <= saved  # the doomed branch's scores moved out
    assert [r["step"] for r in window.model.quality] == scored
    window.send(C.Resume())
    wait_for(qtbot, lambda: window.model.step > saved + 150)
    window.send(C.Pause())
    wait_for(qtbot, lambda: window.model.state == "paused")
    with open(tmp_path / "run" / "metrics.csv") as f:
        steps = [int(r["step"]) for r in csv.DictReader(f)]
    assert steps == list(range(1, len(steps) + 1))  # one row per step, in order
    (abandoned,) = (tmp_path / "run" / "abandoned").iterdir()
    with open(abandoned / "metrics.csv") as f:
        lost = [int(line.split(",")[0]) for line in f]
    assert lost and lost[0] == saved + 1
    events_steps = [e["step"] for e in events(tmp_path / "run")]
    assert events_steps == sorted(events_steps)


@pytest.mark.slow
def test_closing_mid_run_saves_last_checkpoint(qtbot, settings, tmp_path):
    import multiprocessing
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: w.model.step > 10)
    w.close()
    assert multiprocessing.active_children() == []
    last_row = (tmp_path / "run" / "metrics.csv").read_text().splitlines()[-1]
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert saved["step"] == int(last_row.split(",")[0]) > 10  # saved where training stopped
    assert saved["events"][-1]["kind"] == "stop"


SLOW_STEP = ["data.n_samples=300", "data.image_size=64", "train.batch_size=256", "model.g_width=64",
             "model.d_width=64", "train.threads=1"]  # about 5 s a step on one core


@pytest.mark.slow
def test_closing_waits_for_a_slow_step_and_its_save(qtbot, settings, tmp_path):
    import multiprocessing
    w = MainWindow(settings=settings)
    qtbot.addWidget(w)
    w.show()
    w.start(make_spec(tmp_path, "digits", SLOW_STEP))
    wait_for(qtbot, lambda: w.model.step >= 1)
    w.close()  # mid-step: the engine finishes the step, saves, and only then goes
    assert multiprocessing.active_children() == []
    saved = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert saved["step"] >= 1 and saved["events"][-1]["kind"] == "stop"


def test_layout_is_saved_restored_and_reset(qtbot, tmp_path):
    path = str(tmp_path / "layout.ini")
    first = MainWindow(settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(first)
    first.show()
    first.samples.setFloating(True)
    first.margins.hide()
    first.close()
    second = MainWindow(settings=QSettings(path, QSettings.IniFormat))
    qtbot.addWidget(second)
    second.show()
    assert second.samples.isFloating() and not second.margins.isVisible()
    second.reset_layout()
    assert not second.samples.isFloating() and second.margins.isVisible()
    second.close()


@pytest.mark.slow
def test_many_frames_of_every_dock_paint_without_crashing(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.samples is not None)
    first = [dock.widget().grab().toImage() for dock in window.docks]
    for _ in range(60):
        qtbot.wait(30)
        last = [dock.widget().grab().toImage() for dock in window.docks]
    changed = [dock.windowTitle() for dock, a, b in zip(window.docks, first, last) if a != b]
    assert {"Losses", "Margins", "Samples"} <= set(changed)


def type_into(qtbot, box, text):
    """Type as a user does: focus, select all, type, Enter."""
    box.setFocus()
    box.selectAll()
    qtbot.keyClicks(box, text)
    qtbot.keyClick(box, Qt.Key_Return)


@pytest.mark.slow
def test_controls_edits_reach_the_engine_and_refusals_are_said(window, qtbot, tmp_path):
    window.controls.raise_()
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.settings is not None and window.controls.isEnabled())
    c = window.controls
    type_into(qtbot, c.lr_d, "0.001")
    wait_for(qtbot, lambda: window.model.settings.lr_d == 0.001)
    type_into(qtbot, c.n_dis, "3")
    wait_for(qtbot, lambda: window.model.settings.n_dis == 3)
    type_into(qtbot, c.lr_g, "0")
    wait_for(qtbot, lambda: "lr_g must be" in window.statusBar().currentMessage())
    type_into(qtbot, c.margin_real, "-1")
    wait_for(qtbot, lambda: "margin_real must be" in window.statusBar().currentMessage())
    c.link.click()
    type_into(qtbot, c.margin_real, "0.7")
    wait_for(qtbot, lambda: (window.model.settings.margin_real, window.model.settings.margin_fake) == (0.7, 0.7))
    window.margins.line_fake.setValue(-1.5)  # a drag honours link too
    window.margins.line_fake.sigPositionChangeFinished.emit(window.margins.line_fake)
    wait_for(qtbot, lambda: (window.model.settings.margin_real, window.model.settings.margin_fake) == (1.5, 1.5))
    kinds = [(e["kind"], e.get("command")) for e in events(tmp_path / "run")]
    assert ("rejected", "set_learning_rates") in kinds and ("rejected", "set_margins") in kinds
    assert window.model.settings.lr_g == 5e-4  # the refused rate never took effect


@pytest.mark.slow
def test_augmentation_ticks_steer_the_run_and_show_what_the_engine_applied(window, qtbot, tmp_path):
    window.controls.raise_()
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.settings is not None and window.controls.augment.isEnabled())
    ticks = window.controls.augment.ticks
    assert not any(tick.isChecked() for tick in ticks.values())  # the digits train without augmentation
    qtbot.mouseClick(ticks["cutout"], Qt.LeftButton)
    wait_for(qtbot, lambda: window.model.settings.augment == "cutout")
    qtbot.mouseClick(ticks["color"], Qt.LeftButton)
    wait_for(qtbot, lambda: window.model.settings.augment == "color,cutout")
    qtbot.mouseClick(ticks["cutout"], Qt.LeftButton)
    wait_for(qtbot, lambda: window.model.settings.augment == "color" and not ticks["cutout"].isChecked())
    changes = [e["policies"] for e in events(tmp_path / "run") if e["kind"] == "set_augment"]
    assert changes == ["cutout", "color,cutout", "color"]


@pytest.mark.slow
def test_run_menu_switches_spectral_norm_from_the_engines_state(window, qtbot, tmp_path):
    window.run_info.raise_()  # the Controls dock, behind a tab, is not redrawn
    window.start(make_spec(tmp_path, "digits", DIGITS))
    wait_for(qtbot, lambda: window.model.settings is not None)
    action = next(a for a in window.menuBar().actions()[1].menu().actions() if a.text() == "Spectral norm on/off")
    action.trigger()
    wait_for(qtbot, lambda: window.model.settings.spectral_norm is False)
    action.trigger()
    wait_for(qtbot, lambda: window.model.settings.spectral_norm is True)
    toggles = [e["enabled"] for e in events(tmp_path / "run") if e["kind"] == "set_spectral_norm"]
    assert toggles == [False, True]


@pytest.mark.slow
def test_a_classifier_in_training_is_shown_as_progress_and_kept_when_the_window_closes(window, qtbot, tmp_path,
                                                                                   monkeypatch):
    """A labelled set without a shipped classifier: the first score waits for one to train (minutes on a
    laptop); the Quality dock says how far it is, and closing the window keeps the work for the next run."""
    monkeypatch.setenv("HINGE_CACHE_DIR", str(tmp_path / "cache"))  # the engine process inherits it: empty
    window.quality.raise_()
    window.start(make_spec(tmp_path, "digits", DIGITS + ["eval.every=20", "eval.early=0"]))
    wait_for(qtbot, lambda: "Training the classifier" in window.quality.status.text())
    first = window.quality.status.text()
    wait_for(qtbot, lambda: window.quality.status.text() != first and "% done" in window.quality.status.text())
    wait_for(qtbot, lambda: any((tmp_path / "cache").rglob("*.partial.pt")), timeout=90_000)
    window.close()
    assert list((tmp_path / "cache" / "classifiers").glob("*.partial.pt"))

