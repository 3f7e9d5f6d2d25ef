"""The File menu's dialogs driven as a user drives them: the real dialog opens, is filled in and accepted."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.workbench.conftest import RING, make_spec, wait_for
from tests.workbench.dialogs import answer, choose_file, enter, menu_action, new_run, read_message

pytestmark = pytest.mark.slow  # every test here starts a process (an engine, the app, a checker)


def test_new_run_of_the_folder_preset_asks_for_its_folder(window, qtbot, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # where a new run's directory goes
    action = menu_action(window, "File", "New run from preset…")
    pending = answer(qtbot, new_run("folder"), choose_file(None))
    action.trigger()
    assert pending == [] and not window.runner.alive
    assert "needs its data folder" in window.statusBar().currentMessage()

    images = tmp_path / "pictures"
    images.mkdir()
    for i in range(70):  # more than one batch of the preset
        Image.new("RGB", (40, 30), (3 * i, 100, 200)).save(images / f"{i}.png")
    pending = answer(qtbot, new_run("folder"), choose_file(images))
    action.trigger()
    assert pending == []
    wait_for(qtbot, lambda: window.model.state == "running")
    config = json.loads((next((tmp_path / "runs").iterdir()) / "config.json").read_text())
    assert config["data"]["root"] == str(images)


def test_a_new_run_ticked_for_tensorboard_streams_to_it_and_the_choice_is_remembered(window, qtbot, tmp_path,
                                                                                     monkeypatch):
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(tmp_path)
    pending = answer(qtbot, new_run("ring8", tensorboard=True))
    menu_action(window, "File", "New run from preset…").trigger()
    assert pending == []
    wait_for(qtbot, lambda: window.model.step > 50)
    run = next((tmp_path / "runs").iterdir())
    assert json.loads((run / "config.json").read_text())["log"]["tensorboard"] is True
    wait_for(qtbot, lambda: any((run / "tensorboard").glob("events.out.tfevents.*")))
    from workbench.new_run_dialog import NewRunDialog
    again = NewRunDialog(["digits", "ring8"], window.settings)
    assert again.ticks["tensorboard"].isChecked() and again.preset.currentText() == "ring8"


def test_a_file_that_is_not_a_checkpoint_is_named_before_anything_stops(tmp_path):
    from workbench.file_menu import checkpoint_problem

    fake = tmp_path / "x.pt"
    fake.write_text("not a checkpoint\n")
    assert "not a readable checkpoint" in checkpoint_problem(str(fake))
    assert "not found" in checkpoint_problem(str(tmp_path / "missing.pt"))


def test_exporting_png_files_of_2d_points_writes_them_and_training_goes_on(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.step > 10)
    folder = tmp_path / "export"
    folder.mkdir()
    pending = answer(qtbot, choose_file(folder), enter(500))
    menu_action(window, "File", "Export samples", "As PNG files…").trigger()
    assert pending == []
    wait_for(qtbot, lambda: any(e["kind"] == "export_samples" for e in window.model.log))
    event = next(e for e in window.model.log if e["kind"] == "export_samples")
    assert event["n"] == 500 and event["path"] == str(folder / f"export-{event['step']}" / "points.png")
    assert Image.open(event["path"]).format == "PNG"  # named after the step it was exported at
    pending = answer(qtbot, choose_file(tmp_path), enter(1234))  # the suggested name, in tmp_path
    menu_action(window, "File", "Export samples", "As .npy array…").trigger()
    wait_for(qtbot, lambda: sum(e["kind"] == "export_samples" for e in window.model.log) == 2)
    event = [e for e in window.model.log if e["kind"] == "export_samples"][-1]
    assert event["path"] == str(tmp_path / f"export-{event['step']}.npy")
    assert np.load(event["path"]).shape == (1234, 2)
    step = window.model.step
    wait_for(qtbot, lambda: window.model.step > step + 20)
    assert window.model.state == "running"


def test_a_run_killed_before_its_first_checkpoint_can_start_again(window, qtbot, tmp_path, monkeypatch):
    import os
    import signal

    monkeypatch.chdir(tmp_path)
    window.start(make_spec(tmp_path, overrides=RING + ["train.checkpoint_every=100000"]))
    wait_for(qtbot, lambda: window.model.step > 10)
    assert not (tmp_path / "run" / "checkpoints" / "last.pt").exists()
    os.kill(window.runner.pid, signal.SIGKILL)
    wait_for(qtbot, lambda: window.model.state == "failed", timeout=10_000)
    assert "No checkpoint was written yet" in window.banner.label.text()
    assert window.banner.restart_button.text() == "Start again" and window.banner.restart_button.isVisible()
    window.banner.restart_button.click()
    wait_for(qtbot, lambda: window.model.state == "running" and window.model.step > 5)
    assert (tmp_path / "runs").is_dir() and not window.banner.isVisible()


def test_help_lists_the_shortcuts_the_tour_and_where_the_files_are(window, qtbot, tmp_path):
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.step > 0)
    said = []
    for page in ("Keyboard shortcuts", "Tour of the window", "Where are my files?"):
        pending = answer(qtbot, read_message(said))
        menu_action(window, "Help", page).trigger()
        assert pending == []
    shortcuts, tour, files = said
    assert "Ctrl+S" in shortcuts and "Save checkpoint" in shortcuts and "Space" in shortcuts
    assert all(dock.windowTitle() in tour for dock in window.docks)
    assert str((tmp_path / "run").resolve()) in files and "metrics.csv" in files


def test_the_guide_is_the_readme_from_the_source_or_from_the_installed_package(window, monkeypatch):
    from workbench import help as help_pages

    readme = (Path(help_pages.core.__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    title = readme.splitlines()[0].lstrip("# ")
    dialog = help_pages.show_guide(window)
    assert dialog.browser.toPlainText().startswith(title) and dialog.windowTitle().endswith("README.md")
    dialog.close()
    monkeypatch.setattr(help_pages, "_readme", lambda: None)  # as from a wheel: no source tree beside the package
    dialog = help_pages.show_guide(window)
    assert dialog.browser.toPlainText().startswith(title) and "installed package" in dialog.windowTitle()
    assert "Help &gt; Guide" in help_pages.files_html(None)
    dialog.close()


def test_idle_controls_show_no_made_up_values_and_space_works_in_a_number_box(window, qtbot, tmp_path):
    c = window.controls
    assert {box.text() for box in (c.margin_real, c.margin_fake, c.lr_g, c.lr_d, c.n_dis)} == {"–"}
    window.controls.raise_()
    window.start(make_spec(tmp_path))
    wait_for(qtbot, lambda: window.model.state == "running" and c.lr_g.text() != "–")
    c.lr_g.setFocus()
    qtbot.keyClick(c.lr_g, " ")
    wait_for(qtbot, lambda: window.model.state == "paused")
    assert window.status_line.labels["rate"].text() == ""  # no speed is shown for a paused run
    qtbot.keyClick(c.lr_g, " ")
    wait_for(qtbot, lambda: window.model.state == "running")
    window.controls.step_n_button.click()  # Step N while running: it pauses after N, and says so
    wait_for(qtbot, lambda: "paused: it was running" in window.statusBar().currentMessage())


def test_a_tracker_that_fails_is_said_once_in_the_window_and_the_run_goes_on(window, qtbot, tmp_path):
    pytest.importorskip("tensorboard")
    from PySide6.QtWidgets import QApplication, QMessageBox

    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder")
    window.start(make_spec(tmp_path, "ring8", [*RING, "log.tensorboard=true", f"log.tensorboard_dir={blocked}"]))
    said = lambda: [w for w in QApplication.topLevelWidgets()  # noqa: E731
                    if isinstance(w, QMessageBox) and w.isVisible() and w.windowTitle() == "A tracker stopped"]
    wait_for(qtbot, lambda: bool(said()))
    assert "stopped publishing to tensorboard" in said()[0].text()
    step = window.model.step
    wait_for(qtbot, lambda: window.model.step > step + 50)  # training goes on
    said()[0].accept()
