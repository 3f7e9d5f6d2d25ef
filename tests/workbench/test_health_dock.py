"""The Health dock, the status-bar badge and the loss curves' alert markers, driven by a real engine whose D
is made to run away mid-run (its learning rate raised to 0.5); the dock's buttons apply the suggestion
and rewind."""
import json

import pytest

from PySide6.QtCore import Qt

from core.protocol import commands as C
from tests.workbench.conftest import RING, make_spec, wait_for

pytestmark = pytest.mark.slow  # every test here starts a process (an engine, the app, a checker)

SETUP = [*RING, "train.checkpoint_every=100", "eval.every=0"]


def events(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_an_alert_shows_everywhere_and_the_dock_applies_its_suggestion_and_rewinds(window, qtbot, tmp_path):
    window.health.raise_()
    window.start(make_spec(tmp_path, overrides=SETUP))
    wait_for(qtbot, lambda: window.model.step > 300)
    wait_for(qtbot, lambda: window.model.health.get("diverging", {}).get("state") == "ok")
    window.send(C.SetLearningRates(lr_d=0.5))
    wait_for(qtbot, lambda: window.model.health.get("diverging", {}).get("state") == "alert")
    wait_for(qtbot, lambda: "diverging" in window.status_line.health_badge.text())
    wait_for(qtbot, lambda: any(window.health.states.topLevelItem(i).text(1) == "alert"
                                for i in range(window.health.states.topLevelItemCount())))
    assert window.health.history.topLevelItem(0).text(1) == "diverging"
    wait_for(qtbot, lambda: any(line.toolTip().startswith(f"step {a['step']}: ALERT diverging")
                                for line in window.losses._markers for a in window.model.alerts))

    assert window.health.apply_button.isEnabled()
    lr_g = window.model.settings.lr_g
    qtbot.mouseClick(window.health.apply_button, Qt.LeftButton)  # halve both learning rates
    wait_for(qtbot, lambda: (window.model.settings.lr_g, window.model.settings.lr_d) == (lr_g / 2, 0.25))

    window.send(C.Pause())  # the view after the rewind is read before training moves on
    wait_for(qtbot, lambda: window.model.state == "paused" and window.health.rewind_button.isEnabled())
    qtbot.mouseClick(window.health.rewind_button, Qt.LeftButton)
    wait_for(qtbot, lambda: any(e["kind"] == "rewind" for e in window.model.log))
    run_dir = tmp_path / "run"
    rewind = next(e for e in events(run_dir / "events.jsonl") if e["kind"] == "rewind")
    alert = next(e for e in events(run_dir / rewind["abandoned"] / "events.jsonl") if e["kind"] == "alert")
    assert rewind["to_step"] < alert["since"] and rewind["to_step"] % 100 == 0
    # the abandoned branch is out of every view: its curves, its alert and markers, the step axis it reached
    assert window.model.history.steps.max() <= rewind["to_step"] and window.model.step == rewind["to_step"]
    assert not [a for a in window.model.alerts if a["step"] > rewind["to_step"]]
    window.losses.raise_()
    wait_for(qtbot, lambda: window.losses._drawn[2] == window.model.rewinds == 1)
    assert all(line.value() <= rewind["to_step"] for line in window.losses._markers)
    qtbot.wait(200)
    assert window.losses.plot.viewRange()[0][1] < rewind["from_step"]
    wait_for(qtbot, lambda: window.model.settings.lr_d == 0.25)  # the rewind kept the settings in force


def test_rewind_and_apply_goes_back_before_the_alert_with_the_suggestion_in_force(window, qtbot, tmp_path):
    window.health.raise_()
    window.start(make_spec(tmp_path, overrides=SETUP))
    wait_for(qtbot, lambda: window.model.step > 300 and window.model.settings is not None)
    lr_g = window.model.settings.lr_g
    window.send(C.SetLearningRates(lr_d=0.5))
    wait_for(qtbot, lambda: window.model.health.get("diverging", {}).get("state") == "alert")
    window.send(C.Pause())  # the alert stays active while the dock is read (running, it can clear again)
    wait_for(qtbot, lambda: window.model.state == "paused" and window.health.rewind_apply_button.isEnabled())
    assert "lr D 0.5" in window.health.after_rewind.text()  # what a plain rewind would keep in force
    qtbot.mouseClick(window.health.rewind_apply_button, Qt.LeftButton)
    wait_for(qtbot, lambda: window.model.settings.lr_d == 0.25)
    run_dir = tmp_path / "run"
    wait_for(qtbot, lambda: any(e["kind"] == "rewind" for e in events(run_dir / "events.jsonl")))
    after = events(run_dir / "events.jsonl")
    rewind = next(i for i, e in enumerate(after) if e["kind"] == "rewind")
    kept, applied = [e for e in after[rewind:] if e["kind"] == "set_learning_rates"][-2:]
    assert (kept["lr_g"], kept["lr_d"]) == (lr_g, 0.5)  # the rewind keeps the settings in force, recorded
    assert (applied["lr_g"], applied["lr_d"]) == (lr_g / 2, 0.25)  # then the suggestion halves them
    assert applied["step"] == after[rewind]["to_step"] < after[rewind]["from_step"]
